package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/internal/testsignal"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/store"
	"github.com/onewindow/onewindow/shared/testenv"
)

const admin = "test-admin"

var demoSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// openCatalog opens a Catalog over its own pool on dbURL, with test
// signals on and a short poll, closed when the test ends.
func openCatalog(t *testing.T, dbURL string, cfg Config) *Catalog {
	t.Helper()
	pool, err := store.Open(t.Context(), dbURL, store.PoolOptions{MaxConns: 2, ApplicationName: "catalog-test"})
	if err != nil {
		t.Fatal(err)
	}
	c := Open(pool, cfg)
	c.testHook.refreshed.Listen(64)
	c.testHook.polled.Listen(64)
	t.Cleanup(func() { c.Close(); pool.Close() })
	return c
}

// waitFor waits until sig carries a revision >= rev.
func waitFor(t *testing.T, sig *testsignal.Signal[int64], rev int64, what string) {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case got := <-sig.C:
			if got >= rev {
				return
			}
		case <-timeout.C:
			t.Fatalf("%s: revision %d not seen within 10 s", what, rev)
		}
	}
}

// must returns w, and panics (failing the test with a stack) on an error.
func must[T any](w T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("unexpected error: %v", err))
	}
	return w
}

// seed writes two departments, a license type and an item.
func seed(t *testing.T, c *Catalog) {
	t.Helper()
	ctx := t.Context()
	must(c.PutDepartment(ctx, admin, "130100-GA", DepartmentInput{Name: "石家庄市公安局", Region: "130100"}))
	must(c.PutDepartment(ctx, admin, "130000-SCJG", DepartmentInput{Name: "河北省市场监督管理局", Region: "130000"}))
	must(c.PutLicenseType(ctx, admin, "LT-YYZZ", LicenseTypeInput{Name: "营业执照", Department: "130000-SCJG"}))
	must(c.PutItem(ctx, admin, "HB-SCJG-SPJY-001", itemInput("食品经营许可", "130000-SCJG")))
}

func itemInput(name, dept string) ItemInput {
	return ItemInput{Name: name, Kind: "行政许可", Department: RefInput{Code: dept}, Region: "130100",
		LegalDays: ptr(20), PromisedDays: ptr(10),
		Materials: []MaterialInput{{Code: "M-YYZZ", Name: "营业执照", Required: true, LicenseType: "LT-YYZZ"}}}
}

func TestPutVersionsAndHistory(t *testing.T) {
	c := openCatalog(t, testenv.DatabaseURL(t), Config{})
	ctx := t.Context()
	seed(t, c)

	// The same content again changes nothing.
	w := must(c.PutItem(ctx, "other-admin", "HB-SCJG-SPJY-001", itemInput("食品经营许可", "130000-SCJG")))
	if w.Changed || w.Record.Version != 1 || w.Record.Department.Name != "河北省市场监督管理局" {
		t.Fatalf("identical PUT = %+v", w)
	}
	in := itemInput("食品经营许可（新）", "130000-SCJG")
	w = must(c.PutItem(ctx, "other-admin", "HB-SCJG-SPJY-001", in))
	if !w.Changed || w.Record.Version != 2 || w.Record.Name != "食品经营许可（新）" {
		t.Fatalf("changed PUT = %+v", w)
	}
	in.Status = StatusAbolished
	w = must(c.PutItem(ctx, admin, "HB-SCJG-SPJY-001", in))
	if w.Record.Version != 3 || w.Record.Status != StatusAbolished {
		t.Fatalf("abolish = %+v", w.Record)
	}
	if w.Record.UpdatedAt.Format(time.RFC3339)[19:] != "+08:00" {
		t.Errorf("updatedAt %v not in +08:00", w.Record.UpdatedAt)
	}

	hist, err := c.History(ctx, "items", "HB-SCJG-SPJY-001", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 {
		t.Fatalf("%d history rows, want 3", len(hist))
	}
	if h := hist[0]; h.Version != 3 || !slices.Equal(h.Changed, []string{"status"}) || h.ChangedBy != admin {
		t.Errorf("newest = %+v", h)
	}
	if h := hist[1]; h.Version != 2 || !slices.Equal(h.Changed, []string{"name"}) || h.ChangedBy != "other-admin" {
		t.Errorf("second = %+v", h)
	}
	var v1 Item
	if err := json.Unmarshal(hist[2].Record, &v1); err != nil || v1.Name != "食品经营许可" || v1.Version != 1 {
		t.Errorf("version 1 = %+v, %v", v1, err)
	}
	if len(hist[2].Changed) < 5 {
		t.Errorf("version 1 changed %q, want every field", hist[2].Changed)
	}
	older, _ := c.History(ctx, "items", "HB-SCJG-SPJY-001", 2, 10)
	if len(older) != 1 || older[0].Version != 1 {
		t.Errorf("history before 2 = %+v", older)
	}

	// References.
	bad := itemInput("x", "NO-DEPT")
	bad.Materials[0].LicenseType = "LT-NONE"
	_, err = c.PutItem(ctx, admin, "X1", bad)
	if got := fieldCodes(t, err); !slices.Equal(got, []string{"department:unknown_department", "materials.0.licenseType:unknown_license_type"}) {
		t.Errorf("unknown references: %q", got)
	}
	_, err = c.PutBundle(ctx, admin, "B1", BundleInput{Name: "一件事", LeadDepartment: "NO-DEPT", PromisedDays: ptr(5),
		Items: []string{"HB-SCJG-SPJY-001", "NOPE"}})
	if got := fieldCodes(t, err); !slices.Equal(got, []string{"items.0:item_abolished", "items.1:unknown_item", "leadDepartment:unknown_department"}) {
		t.Errorf("bundle references: %q", got)
	}
	_, err = c.PutLicenseType(ctx, admin, "LT-2", LicenseTypeInput{Name: "x", Department: "NO-DEPT"})
	if got := fieldCodes(t, err); !slices.Equal(got, []string{"department:unknown_department"}) {
		t.Errorf("license type references: %q", got)
	}
	if _, err := c.History(ctx, "items", "NOPE", 0, 10); err != nil {
		t.Errorf("history of nothing: %v", err)
	}
}

func TestDepartmentSecretIsWriteOnly(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	c := openCatalog(t, dbURL, Config{})
	ctx := t.Context()
	_, err := c.PutDepartment(ctx, admin, "D1", DepartmentInput{Name: "公安局", Region: "130100", WebhookURL: "https://ga.example/hook"})
	if got := fieldCodes(t, err); !slices.Equal(got, []string{"webhookSecret:webhook_secret_required"}) {
		t.Fatalf("URL without a secret: %q", got)
	}
	w := must(c.PutDepartment(ctx, admin, "D1", DepartmentInput{Name: "公安局", Region: "130100",
		WebhookURL: "https://ga.example/hook", WebhookSecret: &demoSecret}))
	if w.Record.WebhookSecret != demoSecret || !w.Record.WebhookSecretSet || w.Record.Version != 1 {
		t.Fatalf("put = %+v", w.Record)
	}
	// Left out, the secret stays and nothing changes.
	w = must(c.PutDepartment(ctx, admin, "D1", DepartmentInput{Name: "公安局", Region: "130100", WebhookURL: "https://ga.example/hook"}))
	if w.Changed || w.Record.WebhookSecret != demoSecret {
		t.Fatalf("put without secret = %+v", w)
	}
	other := "whsec_" + strings.Repeat("QUJD", 8)
	w = must(c.PutDepartment(ctx, admin, "D1", DepartmentInput{Name: "公安局", Region: "130100",
		WebhookURL: "https://ga.example/hook", WebhookSecret: &other}))
	if !w.Changed || w.Record.Version != 2 {
		t.Fatalf("new secret = %+v", w)
	}
	d, ok, err := c.Department(ctx, "D1")
	if err != nil || !ok || d.WebhookSecret != other {
		t.Fatalf("Department = %+v %v %v", d, ok, err)
	}
	b, _ := json.Marshal(d)
	if strings.Contains(string(b), "whsec_") {
		t.Errorf("JSON shows the secret: %s", b)
	}
	hist, _ := c.History(ctx, "departments", "D1", 0, 10)
	if len(hist) != 2 || !slices.Equal(hist[0].Changed, []string{"webhookSecret"}) {
		t.Errorf("history = %+v", hist)
	}
	var n int
	if err := c.db.QueryRow(ctx, `SELECT count(*) FROM catalog_history WHERE doc::text LIKE '%whsec_%'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d history rows hold a secret (%v)", n, err)
	}
	// "" removes it, which a URL does not allow.
	empty := ""
	_, err = c.PutDepartment(ctx, admin, "D1", DepartmentInput{Name: "公安局", Region: "130100", WebhookURL: "https://ga.example/hook", WebhookSecret: &empty})
	if got := fieldCodes(t, err); !slices.Equal(got, []string{"webhookSecret:webhook_secret_required"}) {
		t.Errorf("clearing the secret of a URL: %q", got)
	}
}

// A write through one Catalog shows in another (another replica) through
// NOTIFY, well within 5 s.
func TestRefreshAcrossReplicas(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	a := openCatalog(t, dbURL, Config{})
	b := openCatalog(t, dbURL, Config{PollInterval: time.Minute}) // no safety net: only NOTIFY can do it
	seed(t, a)
	b.Warm()
	waitFor(t, &b.testHook.refreshed, 1, "first load")
	if it, ok, err := b.Item(t.Context(), "HB-SCJG-SPJY-001"); err != nil || !ok || it.Version != 1 {
		t.Fatalf("B before = %+v %v %v", it, ok, err)
	}

	start := time.Now()
	w := must(a.PutItem(t.Context(), admin, "HB-SCJG-SPJY-001", itemInput("食品经营许可（变更）", "130000-SCJG")))
	waitFor(t, &b.testHook.refreshed, w.Revision, "notified refresh")
	t.Logf("visible on the other replica after %v", time.Since(start))
	it, _, _ := b.Item(t.Context(), "HB-SCJG-SPJY-001")
	if it.Version != 2 || it.Name != "食品经营许可（变更）" {
		t.Errorf("B after = %+v", it)
	}
	res, _ := b.Snapshot(t.Context())
	if got, _ := res.SearchItems(ItemQuery{Q: "变更"}, Page{}); len(got.Items) != 1 {
		t.Errorf("search on B does not find the new name")
	}

	// A department rename shows on its items.
	w2 := must(a.PutDepartment(t.Context(), admin, "130000-SCJG", DepartmentInput{Name: "河北省市场监管局", Region: "130000"}))
	waitFor(t, &b.testHook.refreshed, w2.Revision, "rename")
	if it, _, _ := b.Item(t.Context(), "HB-SCJG-SPJY-001"); it.Department.Name != "河北省市场监管局" {
		t.Errorf("item shows department %q", it.Department.Name)
	}
}

// The writer reads its own write at once.
func TestReadYourWrites(t *testing.T) {
	a := openCatalog(t, testenv.DatabaseURL(t), Config{PollInterval: time.Minute})
	seed(t, a)
	a.Warm()
	waitFor(t, &a.testHook.refreshed, 1, "first load")
	must(a.PutItem(t.Context(), admin, "HB-SCJG-SPJY-001", itemInput("改名", "130000-SCJG")))
	if it, _, _ := a.Item(t.Context(), "HB-SCJG-SPJY-001"); it.Name != "改名" {
		t.Errorf("writer reads %q", it.Name)
	}
}

// Without a notification (written by hand), the periodic check finds the
// change.
func TestPollFindsUnnotifiedChange(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	a := openCatalog(t, dbURL, Config{})
	seed(t, a)
	b := openCatalog(t, dbURL, Config{PollInterval: 100 * time.Millisecond})
	b.Warm()
	waitFor(t, &b.testHook.refreshed, 1, "first load")
	var rev int64
	err := a.db.QueryRow(t.Context(), `
		WITH r AS (UPDATE catalog_revision SET revision = revision + 1 RETURNING revision)
		UPDATE catalog_items SET revision = (SELECT revision FROM r), doc = jsonb_set(doc, '{name}', '"手工修改"')
		WHERE code = 'HB-SCJG-SPJY-001' RETURNING revision`).Scan(&rev)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, &b.testHook.refreshed, rev, "poll")
	if it, _, _ := b.Item(t.Context(), "HB-SCJG-SPJY-001"); it.Name != "手工修改" {
		t.Errorf("B reads %q", it.Name)
	}
}

// Killing the listener's connection: the refresher reconnects and keeps up.
func TestRefresherReconnects(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	a := openCatalog(t, dbURL, Config{})
	seed(t, a)
	b := openCatalog(t, dbURL, Config{PollInterval: time.Minute, RetryMin: 10 * time.Millisecond})
	b.Warm()
	waitFor(t, &b.testHook.refreshed, 1, "first load")
	var killed int
	if err := a.db.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'catalog-test-catalog' AND datname = current_database()`).Scan(&killed); err != nil || killed == 0 {
		t.Fatalf("terminated %d listeners: %v", killed, err)
	}
	w := must(a.PutItem(t.Context(), admin, "HB-SCJG-SPJY-001", itemInput("重连之后", "130000-SCJG")))
	waitFor(t, &b.testHook.refreshed, w.Revision, "after reconnect")
	if s := b.snap.Load(); s.Revision < w.Revision {
		t.Errorf("revision %d < %d", s.Revision, w.Revision)
	}
}

// Open and Warm do not block; nothing connects before Warm or a read.
func TestLazyStart(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	start := time.Now()
	c := openCatalog(t, dbURL, Config{})
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Open took %v", d)
	}
	if c.started {
		t.Fatal("Open started the refresher")
	}
	if _, err := c.Snapshot(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !c.started {
		t.Error("a read did not start the refresher")
	}
}

func TestSelectionsAndStats(t *testing.T) {
	c := openCatalog(t, testenv.DatabaseURL(t), Config{})
	ctx := t.Context()
	for _, e := range fixtureRecords().ScopeEntries {
		must(c.PutScopeEntry(ctx, admin, e.Code, ScopeEntryInput{Name: e.Name, Domain: e.Domain, Expressions: e.Expressions, Status: e.Status}))
	}
	const u1, u2 = "91130100MA0CXK1L28", "91130102MA0D8TQ541"
	sel, err := c.Selection(ctx, u1)
	if err != nil || sel.Version != 0 || len(sel.Entries) != 0 || sel.SelectedAt != nil {
		t.Fatalf("no selection = %+v, %v", sel, err)
	}
	put := func(uscc string, entries ...SelectionEntryInput) Selection {
		t.Helper()
		s, err := c.PutSelection(ctx, "portal", uscc, SelectionInput{Entries: entries})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	put(u1, SelectionEntryInput{Code: "SC-1301", ExpressionIDs: []string{"A"}})
	got := put(u1, SelectionEntryInput{Code: "SC-1301", ExpressionIDs: []string{"A", "B"}}, SelectionEntryInput{Code: "SC-6110", ExpressionIDs: []string{"B"}})
	if got.Version != 2 || len(got.Entries) != 2 || got.Entries[0].Name != "食品销售" || got.Entries[1].Expressions[0].Text != "正定古城精品民宿" {
		t.Errorf("put = %+v", got)
	}
	put(u2, SelectionEntryInput{Code: "SC-1301", ExpressionIDs: []string{"B"}})

	sel, err = c.Selection(ctx, u1)
	if err != nil || sel.Version != 2 || sel.SelectedBy != "portal" || len(sel.Entries) != 2 || sel.Entries[0].Domain != "食品" {
		t.Errorf("read = %+v, %v", sel, err)
	}
	if _, err := c.Selection(ctx, "91130100MA0CXK1L29"); err == nil {
		t.Error("a wrong check character was accepted")
	}
	_, err = c.PutSelection(ctx, "portal", u1, SelectionInput{Entries: []SelectionEntryInput{{Code: "SC-NONE", ExpressionIDs: []string{"A"}}}})
	if p, ok := problem.As(err); !ok || p.Status != 422 {
		t.Errorf("unknown entry: %v", err)
	}

	month, _ := ParseMonth("", time.Now())
	st, err := c.ScopeStats(ctx, month)
	if err != nil {
		t.Fatal(err)
	}
	if st.Enterprises != 2 || st.Saves != 3 {
		t.Errorf("totals = %d enterprises, %d saves", st.Enterprises, st.Saves)
	}
	wantDomains := []DomainStat{{"食品", 2}, {"文化旅游", 1}}
	if !slices.Equal(st.Domains, wantDomains) {
		t.Errorf("domains = %+v", st.Domains)
	}
	if len(st.Entries) != 2 || st.Entries[0].Code != "SC-1301" || st.Entries[0].Selections != 2 ||
		!slices.Equal(st.Entries[0].Expressions, []ExpressionStat{{"B", "藁城宫面销售", 2}, {"A", "赵县雪花梨销售", 1}}) {
		t.Errorf("entries = %+v", st.Entries)
	}

	// Month boundaries are Asia/Shanghai: 16:30 UTC on 30 September is
	// 1 October in Shanghai.
	for _, at := range []string{"2026-09-30T15:59:00Z", "2026-09-30T16:30:00Z"} {
		if _, err := c.db.Exec(ctx, `INSERT INTO scope_selection_log (uscc, entries, selected_at, selected_by)
			VALUES ($1, '[{"code":"SC-1040","domain":"生物医药","expressionIds":["A"]}]', $2, 'portal')`, u2, at); err != nil {
			t.Fatal(err)
		}
	}
	for month, want := range map[string]int{"2026-09": 1, "2026-10": 1, "2026-08": 0} {
		from, _ := ParseMonth(month, time.Now())
		st, err := c.ScopeStats(ctx, from)
		if err != nil || st.Saves != want {
			t.Errorf("%s: %d saves (%v), want %d", month, st.Saves, err, want)
		}
		if want == 1 && (len(st.Entries) != 1 || st.Entries[0].Name != "药品零售" || st.Domains[0].Domain != "生物医药") {
			t.Errorf("%s: %+v", month, st)
		}
	}
}

// The loader reads a snapshot whose revision matches the counter even
// while writers run.
func TestSnapshotMatchesDatabase(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	a := openCatalog(t, dbURL, Config{})
	seed(t, a)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 20 {
			if _, err := a.PutItem(ctx, admin, "HB-SCJG-SPJY-001", itemInput("事项"+string(rune('A'+i)), "130000-SCJG")); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	b := openCatalog(t, dbURL, Config{PollInterval: 50 * time.Millisecond})
	b.Warm()
	<-done
	var rev int64
	_ = a.db.QueryRow(ctx, `SELECT revision FROM catalog_revision`).Scan(&rev)
	waitFor(t, &b.testHook.refreshed, rev, "catch up")
	it, _, _ := b.Item(ctx, "HB-SCJG-SPJY-001")
	if it.Name != "事项T" || it.Version != 21 {
		t.Errorf("B ends at %q v%d", it.Name, it.Version)
	}
}

// A first load that failed (here: the schema is not there yet, as on a
// fresh deployment before the first request migrates) is retried at once
// by the next read, which then succeeds.
func TestFirstLoadRetriedByARead(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	a := openCatalog(t, dbURL, Config{})
	seed(t, a)
	if _, err := a.db.Exec(t.Context(), `ALTER TABLE catalog_revision RENAME TO catalog_revision_away`); err != nil {
		t.Fatal(err)
	}
	b := openCatalog(t, dbURL, Config{RetryMin: time.Hour, RetryMax: time.Hour})
	b.mu.Lock()
	first := b.attempt
	b.mu.Unlock()
	b.Warm()
	select {
	case <-first:
	case <-time.After(10 * time.Second):
		t.Fatal("no first attempt")
	}
	if b.snap.Load() != nil || b.lastErr == nil {
		t.Fatal("the first attempt did not fail")
	}
	if _, err := a.db.Exec(t.Context(), `ALTER TABLE catalog_revision_away RENAME TO catalog_revision`); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	b.lastTry = time.Time{} // as if the failure were older than retryThrottle
	b.mu.Unlock()
	it, ok, err := b.Item(t.Context(), "HB-SCJG-SPJY-001")
	if err != nil || !ok || it.Name != "食品经营许可" {
		t.Fatalf("read after the schema appeared = %+v %v %v", it, ok, err)
	}
}
