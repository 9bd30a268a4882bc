package cards_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/calendar"
	"github.com/onewindow/onewindow/shared/cards"
	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/objects"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/serial"
	"github.com/onewindow/onewindow/shared/store"
	"github.com/onewindow/onewindow/shared/testenv"
	"github.com/onewindow/onewindow/shared/webhook"
)

// The apps of the tests.
var (
	supervisor = auth.App{ID: "supervision", Roles: []auth.Role{auth.RoleSupervisor}}
	admin      = auth.App{ID: "admin", Roles: []auth.Role{auth.RoleAdmin}}
	portal     = auth.App{ID: "portal", Roles: []auth.Role{auth.RolePlatform}}
	dept1      = auth.App{ID: "dept-1", Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{"D-1"}}
	dept2      = auth.App{ID: "dept-2", Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{"D-2"}}
	dept12     = auth.App{ID: "dept-12", Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{"D-1", "D-2"}}
	deptNone   = auth.App{ID: "dept-none", Roles: []auth.Role{auth.RoleDepartment}}
)

// clock is the board's time, set by tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// fixture is a board over a fresh database, its clock set by the test.
type fixture struct {
	t      testing.TB
	ctx    context.Context
	db     *pgxpool.Pool
	cals   *calendar.Store
	outbox *webhook.Deliverer
	board  *cards.Board
	clock  *clock
}

// noEndpoints leaves every delivery pending: the tests read the outbox.
var noEndpoints = webhook.EndpointFunc(func(context.Context, string) (string, string, error) { return "", "", nil })

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureOn(t, testenv.DatabaseURL(t))
}

// newFixtureOn is newFixture over the database at url, which other
// processes may use too.
func newFixtureOn(t testing.TB, url string) *fixture {
	t.Helper()
	db, err := store.Open(context.Background(), url, store.PoolOptions{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	f := &fixture{t: t, ctx: context.Background(), db: db, clock: &clock{t: at("2026-11-02 09:00")}}
	f.cals = calendar.NewStore(f.db, calendar.StoreConfig{})
	f.outbox = f.newOutbox(f.clock.Now)
	f.board = f.newBoard(f.outbox)
	return f
}

func (f *fixture) newOutbox(now func() time.Time) *webhook.Deliverer {
	f.t.Helper()
	d, err := webhook.New(f.db, webhook.Config{Endpoints: noEndpoints, Now: now})
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

func (f *fixture) newBoard(outbox *webhook.Deliverer) *cards.Board {
	f.t.Helper()
	b, err := cards.New(cards.Config{DB: f.db, Calendars: f.cals, Outbox: outbox, Now: f.clock.Now})
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

// scanAt runs one scan with the clock at now.
func (f *fixture) scanAt(now time.Time) cards.Report {
	f.t.Helper()
	f.clock.Set(now)
	rep, err := f.board.Scan(f.ctx)
	if err != nil {
		f.t.Fatalf("scan at %s: %v", show(&now), err)
	}
	if rep.Running {
		f.t.Fatalf("scan at %s found another scan running", show(&now))
	}
	return rep
}

// caseSpec is a case row as shared/cases would have written it; only what
// supervision reads is set, with defaults for the rest.
type caseSpec struct {
	Serial     string
	Item       string // empty: a bundle case
	Department string // default D-1
	Region     string // default 130100
	Channel    string // default online
	Status     string // default submitted
	Immediate  bool
	AcceptBy   *time.Time
	Promised   *time.Time
	Legal      *time.Time
	AcceptedAt *time.Time
	// PromisedDays and LegalDays are the item's limits, for a recomputation.
	PromisedDays, LegalDays int
	NextCheck               *time.Time
	Created                 time.Time // default the fixture's clock
}

func (f *fixture) insertCase(s caseSpec) uuid.UUID {
	f.t.Helper()
	id := uuid.Must(uuid.NewV7())
	if s.Region == "" {
		s.Region = "130100"
	}
	if s.Channel == "" {
		s.Channel = "online"
	}
	if s.Status == "" {
		s.Status = "submitted"
	}
	var item, bundle, department *string
	if s.Item != "" {
		item = &s.Item
		if s.Department == "" {
			s.Department = "D-1"
		}
		department = &s.Department
	} else {
		bundle = ptr("BUNDLE-1")
	}
	if s.Created.IsZero() {
		s.Created = f.clock.Now()
	}
	_, err := f.db.Exec(f.ctx, `INSERT INTO cases (case_id, serial, item_code, bundle_code, department, region, channel,
			status, app_id, holder_id, applicant, immediate, accept_days, promised_days, legal_days,
			received_at, accepted_at, accept_by, promised_due, legal_due, last_event_at, events, created_at, updated_at, next_check_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'portal', '11010519491231002X', '{"type":"person","name":"张三"}', $9,
			5, $10, $11, $12, $13, $14, $15, $16, $12, 1, $12, $12, $17)`,
		id, s.Serial, item, bundle, department, s.Region, s.Channel, s.Status, s.Immediate, s.PromisedDays, s.LegalDays,
		s.Created, s.AcceptedAt, s.AcceptBy, s.Promised, s.Legal, s.NextCheck)
	if err != nil {
		f.t.Fatalf("insert case %s: %v", s.Serial, err)
	}
	return id
}

// bulk is what insertMany gives each of its cases.
type bulk struct {
	Status                    string // default submitted
	AcceptBy, Promised, Legal *time.Time
	NextCheck                 time.Time
}

// insertMany writes n cases with serials prefix000000001.. in one
// statement, spread over three departments (D-0..D-2) and ten items.
func insertMany(ctx context.Context, db *pgxpool.Pool, prefix string, n int, b bulk) error {
	if b.Status == "" {
		b.Status = "submitted"
	}
	_, err := db.Exec(ctx, `INSERT INTO cases (case_id, serial, item_code, department, region, channel, status, app_id,
			holder_id, applicant, received_at, accept_by, promised_due, legal_due, last_event_at, events, created_at,
			updated_at, next_check_at)
		SELECT gen_random_uuid(), $1 || lpad(g::text, 9, '0'), 'IT-' || (g % 10), 'D-' || (g % 3), '130100', 'online',
			$2, 'portal', 'h', '{}', $3, $4, $5, $6, $3, 1, $3, $3, $3
		FROM generate_series(1, $7) g`, prefix, b.Status, b.NextCheck, b.AcceptBy, b.Promised, b.Legal, n)
	return err
}

// heldCard is a card with the slot it sits in.
type heldCard struct {
	cards.Card
	Slot cards.Slot
}

// cardsOf reads a case's cards by slot.
func (f *fixture) cardsOf(serialNo string) map[cards.Slot]heldCard {
	f.t.Helper()
	rows, err := f.db.Query(f.ctx, `SELECT card_id, slot, rule, level, status, issued_at, updated_at, department, item_code, history
		FROM cards WHERE case_serial = $1`, serialNo)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[cards.Slot]heldCard{}
	for rows.Next() {
		var c heldCard
		var id uuid.UUID
		var history []byte
		if err := rows.Scan(&id, &c.Slot, &c.Rule, &c.Level, &c.Status, &c.IssuedAt, &c.UpdatedAt, &c.Department,
			&c.ItemCode, &history); err != nil {
			f.t.Fatal(err)
		}
		c.CardID, c.CaseSerial = id.String(), serialNo
		if err := json.Unmarshal(history, &c.History); err != nil {
			f.t.Fatal(err)
		}
		out[c.Slot] = c
	}
	if err := rows.Err(); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// nextCheck reads a case's next_check_at.
func (f *fixture) nextCheck(serialNo string) *time.Time {
	f.t.Helper()
	var next *time.Time
	if err := f.db.QueryRow(f.ctx, `SELECT next_check_at FROM cases WHERE serial = $1`, serialNo).Scan(&next); err != nil {
		f.t.Fatal(err)
	}
	return next
}

// count runs a count(*) query.
func (f *fixture) count(sql string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.QueryRow(f.ctx, sql, args...).Scan(&n); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// outboxEntry is a queued webhook delivery of a card.
type outboxEntry struct {
	Type, Department string
	Body             struct {
		Type string     `json:"type"`
		Card cards.Card `json:"card"`
	}
}

// deliveries reads the outbox of a case's stream, in order.
func (f *fixture) deliveries(serialNo string) []outboxEntry {
	f.t.Helper()
	rows, err := f.db.Query(f.ctx, `SELECT type, department, body::text FROM webhook_deliveries WHERE stream = $1 ORDER BY seq`, serialNo)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []outboxEntry
	for rows.Next() {
		var e outboxEntry
		var body string
		if err := rows.Scan(&e.Type, &e.Department, &body); err != nil {
			f.t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(body), &e.Body); err != nil {
			f.t.Fatalf("delivery body %s: %v", body, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// wantProblem checks that err is the problem with this status and code.
func wantProblem(t testing.TB, err error, status int, code string) *problem.Problem {
	t.Helper()
	p, ok := problem.As(err)
	if !ok || p.Status != status || p.Code != code {
		t.Fatalf("err = %v, want a %d %s problem", err, status, code)
	}
	return p
}

// desk is shared/cases over the fixture's database, clock and calendar,
// with the board as the extension that shows cards in a case view. Its
// catalogue: items IT-A of department D-A (accept 2, promised 3, legal 5
// working days) and IT-B of D-B (accept 5, promised 2, legal 4).
func (f *fixture) desk() *cases.Desk {
	f.t.Helper()
	cat := catalog.Open(f.db, catalog.Config{})
	f.t.Cleanup(cat.Close)
	for _, d := range []string{"D-A", "D-B"} {
		if _, err := cat.PutDepartment(f.ctx, "test", d, catalog.DepartmentInput{Name: "部门 " + d, Region: "130100"}); err != nil {
			f.t.Fatal(err)
		}
	}
	for code, body := range map[string]string{
		"IT-A": `{"name":"民宿开办文化许可","kind":"行政许可","department":"D-A","region":"130100","legalDays":5,"promisedDays":3,"acceptDays":2}`,
		"IT-B": `{"name":"公共场所卫生许可","kind":"行政许可","department":"D-B","region":"130100","legalDays":4,"promisedDays":2}`,
	} {
		var in catalog.ItemInput
		if err := json.Unmarshal([]byte(body), &in); err != nil {
			f.t.Fatal(err)
		}
		if _, err := cat.PutItem(f.ctx, "test", code, in); err != nil {
			p, _ := problem.As(err)
			f.t.Fatalf("item %s: %v %+v", code, err, p)
		}
	}
	alloc, err := serial.NewAllocator(f.db, serial.Config{Now: f.clock.Now})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(alloc.Close)
	store, err := objects.New(f.ctx, testenv.ObjectStore(f.t)) // never reached: no uploads
	if err != nil {
		f.t.Fatal(err)
	}
	d, err := cases.New(cases.Config{DB: f.db, Catalog: cat, Objects: store, Serials: alloc, Calendars: f.cals,
		Outbox: f.outbox, Extensions: []cases.Extension{f.board}, Now: f.clock.Now})
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// Apps of the desk's departments.
var (
	deptA = auth.App{ID: "dept-a", Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{"D-A"}}
	deptB = auth.App{ID: "dept-b", Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{"D-B"}}
)

var applicant = cases.Applicant{Type: "person", Name: "张三", IDType: "resident_id", IDNumber: "11010519491231002X", Phone: "13800138000"}

// submit files an application for item at the clock's now.
func (f *fixture) submit(d *cases.Desk, app auth.App, item, channel, region string) string {
	f.t.Helper()
	r, err := d.Submit(f.ctx, app, cases.Submission{ItemCode: item, Channel: channel, Region: region, Applicant: applicant})
	if err != nil {
		p, _ := problem.As(err)
		f.t.Fatalf("submit %s: %v %+v", item, err, p)
	}
	return r.Serial
}

// post records an event at when (the clock moves there).
func (f *fixture) post(d *cases.Desk, app auth.App, serialNo string, when time.Time, in cases.EventInput) {
	f.t.Helper()
	f.clock.Set(when)
	if in.Type == cases.EventComplaint && in.Opinion == "" {
		in.Opinion = "窗口推诿"
	}
	if _, err := d.Post(f.ctx, app, serialNo, in); err != nil {
		p, _ := problem.As(err)
		f.t.Fatalf("%s on %s: %v %+v", in.Type, serialNo, err, p)
	}
}
