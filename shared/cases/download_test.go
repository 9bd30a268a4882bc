package cases_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/calendar"
	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/objects"
	"github.com/onewindow/onewindow/shared/serial"
	"github.com/onewindow/onewindow/shared/testenv"
	"github.com/onewindow/onewindow/shared/webhook"
)

var (
	admin   = auth.App{ID: "ops", Roles: []auth.Role{auth.RoleAdmin}}
	courier = auth.App{ID: "ems", Roles: []auth.Role{auth.RoleLogisticsProvider}}
)

// get fetches a presigned URL as a client would.
func get(t *testing.T, url string) (int, []byte, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body, resp.Header
}

// attachmentsOf lists the attachment ids of a case as its submitter sees them.
func (h *harness) attachmentsOf(app auth.App, serialNo string) []string {
	h.t.Helper()
	v, err := h.desk.Get(h.ctx, app, serialNo)
	if err != nil {
		h.t.Fatal(err)
	}
	var ids []string
	for _, m := range v.Materials {
		for _, a := range m.Attachments {
			ids = append(ids, a.AttachmentID)
		}
	}
	return ids
}

// Who may fetch an attachment: exactly who may see its case, for every
// role; everyone else gets the 404 an absent attachment gets. Every
// granted fetch is logged.
func TestFetchAttachmentVisibility(t *testing.T) {
	h := newHarness(t)
	item, err := h.desk.Submit(h.ctx, portal, h.itemSubmission(portal))
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := h.desk.Submit(h.ctx, culture, cases.Submission{BundleCode: "HOMESTAY", Channel: "onsite", Region: "130102",
		Applicant: person, Form: json.RawMessage(`{"rooms":2}`),
		Materials: []cases.MaterialInput{
			{Code: "M-ID", UploadIDs: []string{h.upload(culture, "application/pdf", pdfBytes)}},
			{Code: "M-LEASE", UploadIDs: []string{h.upload(culture, "application/pdf", pdfBytes)}},
			{Code: "M-FIRE", UploadIDs: []string{h.upload(culture, "application/pdf", pdfBytes)}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	itemFile := h.attachmentsOf(portal, item.Serial)[0]
	bundleFile := h.attachmentsOf(culture, bundle.Serial)[0]
	wlChildFile := h.attachmentsOf(culture, bundle.Children[0].Serial)[0] // HS-WL-01, D-WL
	gaChildFile := h.attachmentsOf(culture, bundle.Children[1].Serial)[0] // HS-GA-01, D-GA

	tests := []struct {
		name       string
		app        auth.App
		attachment string
		visible    bool
	}{
		{"submitting platform", portal, itemFile, true},
		{"another platform", portal2, itemFile, false},
		{"the item's department", culture, itemFile, true},
		{"another department", police, itemFile, false},
		{"supervisor", supervisor, itemFile, true},
		{"admin", admin, itemFile, true},
		{"a provider", courier, itemFile, false},
		{"a child's department sees the bundle", police, bundleFile, true},
		{"and its own child", police, gaChildFile, true},
		{"but not the other child", police, wlChildFile, false},
		{"a platform not the submitter", portal, bundleFile, false},
		{"unknown attachment", supervisor, uuid.NewString(), false},
		{"malformed id", supervisor, "not-a-uuid", false},
	}
	granted := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dl, err := h.desk.FetchAttachment(h.ctx, tt.app, tt.attachment, 0)
			if !tt.visible {
				wantProblem(t, err, 404, "not_found")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			granted++
			if dl.ContentType != "application/pdf" || dl.SizeBytes != int64(len(pdfBytes)) || dl.FileName != "材料.bin" || dl.SHA256 == "" {
				t.Errorf("download %+v", dl)
			}
			if d := time.Until(dl.ExpiresAt); d <= 0 || d > objects.MaxGetExpiry {
				t.Errorf("URL lives %v, want at most %v", d, objects.MaxGetExpiry)
			}
			status, body, header := get(t, dl.URL)
			if status != http.StatusOK || !bytes.Equal(body, pdfBytes) {
				t.Fatalf("GET url = %d %q", status, body)
			}
			if cd := header.Get("Content-Disposition"); !bytes.Contains([]byte(cd), []byte("attachment")) {
				t.Errorf("Content-Disposition %q", cd)
			}
		})
	}

	rows, err := h.db.Query(h.ctx, `SELECT f.app_id FROM attachment_fetches f
		JOIN attachments a ON a.attachment_id = f.attachment_id AND a.case_id = f.case_id ORDER BY f.fetch_id`)
	if err != nil {
		t.Fatal(err)
	}
	apps, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != granted || !slices.Contains(apps, "police-sys") || slices.Contains(apps, "wechat-hall") {
		t.Errorf("logged fetches by %v, want the %d granted ones", apps, granted)
	}
}

// A presigned URL stops working once it expires. Neither SDK lets the
// signing time be chosen, so the URL lives 1 s and the test polls it,
// bounded, as the object store's conformance test does.
// Presigning needs no network, so without asking the store first an outage
// would hand out URLs that cannot work: uploads and fetches answer 503
// (objects.IsUnavailable) instead, and a fetch that failed is not logged.
func TestObjectStoreDown(t *testing.T) {
	h := newHarness(t)
	r, err := h.desk.Submit(h.ctx, portal, h.itemSubmission(portal))
	if err != nil {
		t.Fatal(err)
	}
	file := h.attachmentsOf(portal, r.Serial)[0]

	down := testenv.ObjectStore(t)
	down.Endpoint = closedAddr(t)
	store, err := objects.New(h.ctx, down)
	if err != nil {
		t.Fatal(err)
	}
	cfg := h.cfg
	cfg.Objects = store
	desk, err := cases.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pdfBytes)
	_, err = desk.NewUpload(h.ctx, portal, cases.UploadInput{FileName: "a.pdf", ContentType: "application/pdf",
		SizeBytes: int64(len(pdfBytes)), SHA256: hex.EncodeToString(sum[:])})
	if !objects.IsUnavailable(err) {
		t.Errorf("upload with the store down: %v, want an unavailable store", err)
	}
	_, err = desk.FetchAttachment(h.ctx, portal, file, 0)
	if !objects.IsUnavailable(err) {
		t.Errorf("fetch with the store down: %v, want an unavailable store", err)
	}
	var fetches int
	if err := h.db.QueryRow(h.ctx, `SELECT count(*) FROM attachment_fetches`).Scan(&fetches); err != nil || fetches != 0 {
		t.Errorf("%d fetches logged (%v), want none", fetches, err)
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestFetchedURLExpires(t *testing.T) {
	h := newHarness(t)
	r, err := h.desk.Submit(h.ctx, portal, h.itemSubmission(portal))
	if err != nil {
		t.Fatal(err)
	}
	dl, err := h.desk.FetchAttachment(h.ctx, portal, h.attachmentsOf(portal, r.Serial)[0], time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if status, _, _ := get(t, dl.URL); status != http.StatusOK {
		t.Fatalf("GET before expiry = %d", status)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		status, body, _ := get(t, dl.URL)
		if status == http.StatusForbidden && bytes.Contains(body, []byte("expired")) {
			return
		}
		if status != http.StatusOK || time.Now().After(dl.ExpiresAt.Add(5*time.Second)) {
			t.Fatalf("GET at %v (expiry %v) = %d %s", time.Now(), dl.ExpiresAt, status, body)
		}
		<-tick.C
	}
}

// Uploads checked for a record other than a case (a license's file): the
// submission's checks, per upload; taking and giving them back.
func TestCheckAndTakeUploads(t *testing.T) {
	h := newHarness(t)
	good := h.upload(police, "application/pdf", pdfBytes)
	disguised := h.upload(police, "application/pdf", pngBytes) // announced as a PDF
	others := h.upload(culture, "application/pdf", pdfBytes)
	never, err := h.desk.NewUpload(h.ctx, police, cases.UploadInput{FileName: "x.pdf", ContentType: "application/pdf",
		SizeBytes: 10, SHA256: "0000000000000000000000000000000000000000000000000000000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.desk.Submit(h.ctx, portal, h.itemSubmission(portal)); err != nil {
		t.Fatal(err)
	}
	var attached string
	if err := h.db.QueryRow(h.ctx, `SELECT upload_id FROM uploads WHERE app_id = 'portal' AND attached_at IS NOT NULL LIMIT 1`).Scan(&attached); err != nil {
		t.Fatal(err)
	}
	ids := []string{good, disguised, others, never.UploadID, "nope", attached}
	checks, err := h.desk.CheckUploads(h.ctx, police, ids)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"", cases.CodeTypeMismatch, cases.CodeUploadNotFound, cases.CodeUploadNotFound, cases.CodeUploadNotFound, cases.CodeUploadNotFound}
	for i, c := range checks {
		got := ""
		if c.Problem != nil {
			got = c.Problem.Code
		}
		if got != want[i] {
			t.Errorf("upload %d: problem %q, want %q", i, got, want[i])
		}
	}
	if u := checks[0].Upload; u.UploadID.String() != good || u.SizeBytes != int64(len(pdfBytes)) || u.ObjectKey == "" {
		t.Errorf("checked upload %+v", u)
	}
	// The portal's own attached upload is used, not absent.
	if c, _ := h.desk.CheckUploads(h.ctx, portal, []string{attached}); c[0].Problem == nil || c[0].Problem.Code != cases.CodeUploadUsed {
		t.Errorf("attached upload: %+v", c[0].Problem)
	}

	id := uuid.MustParse(good)
	take := func() bool {
		t.Helper()
		var got bool
		err := pgx.BeginFunc(h.ctx, h.db, func(tx pgx.Tx) error {
			taken, err := cases.TakeUploads(h.ctx, tx, police, []uuid.UUID{id}, h.clock.Now())
			got = taken[id]
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if !take() || take() {
		t.Fatal("an upload is taken once")
	}
	if c, _ := h.desk.CheckUploads(h.ctx, police, []string{good}); c[0].Problem == nil || c[0].Problem.Code != cases.CodeUploadUsed {
		t.Errorf("taken upload checks as %+v", c[0].Problem)
	}
	err = pgx.BeginFunc(h.ctx, h.db, func(tx pgx.Tx) error { return cases.ReleaseUploads(h.ctx, tx, []uuid.UUID{id}) })
	if err != nil || !take() {
		t.Fatalf("released upload not taken again (%v)", err)
	}
}

// BenchmarkFetchAttachment measures GET /attachments/{id} in process
// against the real PostgreSQL and MinIO: read and visibility, presigning,
// and the committed fetch log. It reports the 99th percentile. (The
// scenario harness takes a *testing.T, so the benchmark builds its own
// small desk.)
func BenchmarkFetchAttachment(b *testing.B) {
	ctx := b.Context()
	db := testenv.Pool(b)
	store, err := objects.New(ctx, testenv.ObjectStore(b))
	if err != nil {
		b.Fatal(err)
	}
	if err := store.EnsureBucket(ctx); err != nil {
		b.Fatal(err)
	}
	cat := catalog.Open(db, catalog.Config{})
	b.Cleanup(cat.Close)
	if _, err := cat.PutDepartment(ctx, "bench", "D-WL", catalog.DepartmentInput{Name: "文旅局", Region: "130100"}); err != nil {
		b.Fatal(err)
	}
	var item catalog.ItemInput
	if err := json.Unmarshal([]byte(`{"name":"民宿开办","kind":"行政许可","department":"D-WL","region":"130100",
		"legalDays":20,"promisedDays":5,"materials":[{"code":"M-ID","name":"身份证明","required":true,"contentTypes":["application/pdf"]}]}`), &item); err != nil {
		b.Fatal(err)
	}
	if _, err := cat.PutItem(ctx, "bench", "HS-WL-01", item); err != nil {
		b.Fatal(err)
	}
	alloc, err := serial.NewAllocator(db, serial.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(alloc.Close)
	outbox, err := webhook.New(db, webhook.Config{Endpoints: webhook.EndpointFunc(
		func(context.Context, string) (string, string, error) { return "", "", nil })})
	if err != nil {
		b.Fatal(err)
	}
	desk, err := cases.New(cases.Config{DB: db, Catalog: cat, Objects: store, Serials: alloc,
		Calendars: calendar.NewStore(db, calendar.StoreConfig{}), Outbox: outbox})
	if err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256(pdfBytes)
	up, err := desk.NewUpload(ctx, portal, cases.UploadInput{FileName: "身份证.pdf", ContentType: "application/pdf",
		SizeBytes: int64(len(pdfBytes)), SHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, up.PutURL, bytes.NewReader(pdfBytes))
	for k, v := range up.Headers {
		req.Header.Set(k, v)
	}
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("PUT upload: %v %v", resp, err)
	}
	r, err := desk.Submit(ctx, portal, cases.Submission{ItemCode: "HS-WL-01", Channel: "online", Region: "130102",
		Applicant: person, Materials: []cases.MaterialInput{{Code: "M-ID", UploadIDs: []string{up.UploadID}}}})
	if err != nil {
		b.Fatal(err)
	}
	v, err := desk.Get(ctx, culture, r.Serial)
	if err != nil {
		b.Fatal(err)
	}
	id := v.Materials[0].Attachments[0].AttachmentID
	// One log line per fetch is the production record; here it would
	// drown the figures.
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.DiscardHandler))
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := desk.FetchAttachment(ctx, culture, id, 0); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
