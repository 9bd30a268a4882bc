package shipments_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/serial"
	"github.com/onewindow/onewindow/shared/shipments"
	"github.com/onewindow/onewindow/shared/store"
	"github.com/onewindow/onewindow/shared/testenv"
	"github.com/onewindow/onewindow/shared/webhook"
)

// The apps of the scenarios.
var (
	portal  = auth.App{ID: "portal", Roles: []auth.Role{auth.RolePlatform}}
	culture = auth.App{ID: "culture-sys", Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{"D-WL"}}
	police  = auth.App{ID: "police-sys", Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{"D-GA"}}
	ems     = auth.App{ID: "ems-courier", Roles: []auth.Role{auth.RoleLogisticsProvider}, Channels: []string{"EMS"}}
	sf      = auth.App{ID: "sf-courier", Roles: []auth.Role{auth.RoleLogisticsProvider}, Channels: []string{"SF"}}
	hub     = auth.App{ID: "courier-hub", Roles: []auth.Role{auth.RoleLogisticsProvider}}                                   // bound to none: any carrier
	multi   = auth.App{ID: "two-carriers", Roles: []auth.Role{auth.RoleLogisticsProvider}, Channels: []string{"EMS", "SF"}} // bound to two
)

// now is the desk's clock: every event of the scenarios lies before it.
var now = time.Date(2026, 11, 23, 12, 0, 0, 0, serial.Shanghai)

// at is an event time minutes after 08:00 of the scenarios' day.
func at(minutes int) string {
	return time.Date(2026, 11, 23, 8, minutes, 0, 0, serial.Shanghai).Format(time.RFC3339)
}

// visibility is the case desk's rule, enough of it for these tests: the
// submitting app and department apps of the case's department.
type visibility struct{ db *pgxpool.Pool }

func (v visibility) Visible(ctx context.Context, app auth.App, serialNo string) (bool, error) {
	var owner string
	var dept *string
	err := v.db.QueryRow(ctx, `SELECT app_id, department FROM cases WHERE serial = $1`, serialNo).Scan(&owner, &dept)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return app.ID == owner || (dept != nil && app.ActsFor(*dept)), nil
}

type harness struct {
	t      *testing.T
	ctx    context.Context
	db     *pgxpool.Pool
	desk   *shipments.Desk
	serial *atomic.Int64 // shared by the scenarios of one database
}

// with is h for another (sub)test.
func (h *harness) with(t *testing.T) *harness {
	c := *h
	c.t = t
	return &c
}

// newHarness is a desk over a fresh database. The outbox only queues:
// the tests read what it holds.
func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, ctx: context.Background(), db: testenv.Pool(t), serial: new(atomic.Int64)}
	h.desk = h.newDesk(h.db)
	return h
}

// newDesk is another replica's desk over db.
func (h *harness) newDesk(db *pgxpool.Pool) *shipments.Desk {
	h.t.Helper()
	outbox, err := webhook.New(db, webhook.Config{Now: func() time.Time { return now },
		Endpoints: webhook.EndpointFunc(func(context.Context, string) (string, string, error) { return "", "", nil })})
	if err != nil {
		h.t.Fatal(err)
	}
	d, err := shipments.New(shipments.Config{DB: db, Cases: visibility{db}, Outbox: outbox, Now: func() time.Time { return now }})
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

// replica opens a second pool on the harness's database, as another
// replica of the function would.
func (h *harness) replica() *shipments.Desk {
	h.t.Helper()
	pool, err := store.Open(h.ctx, h.db.Config().ConnString(), store.PoolOptions{MaxConns: 4})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(pool.Close)
	return h.newDesk(pool)
}

// newCase writes an item case of department dept submitted by app, and
// returns its serial.
func (h *harness) newCase(app auth.App, dept string) string {
	h.t.Helper()
	s := fmt.Sprintf("13010012026112300%06d", h.serial.Add(1))
	if _, err := h.db.Exec(h.ctx, `INSERT INTO cases (case_id, serial, item_code, department, region, channel, status,
			app_id, holder_id, applicant, received_at, last_event_at, events, created_at, updated_at)
		VALUES ($1, $2, 'HS-WL-01', $3, '130100', 'online', 'approved', $4, 'H', '{}', $5, $5, 1, $5, $5)`,
		uuid.New(), s, dept, app.ID, now); err != nil {
		h.t.Fatal(err)
	}
	return s
}

// newBundleCase writes a bundle case (no department of its own) whose
// catalogue record names lead as its lead department.
func (h *harness) newBundleCase(app auth.App, lead string) string {
	h.t.Helper()
	if _, err := h.db.Exec(h.ctx, `INSERT INTO catalog_bundles (code, version, revision, doc, updated_at, updated_by)
		VALUES ('HOMESTAY', 1, 1, $1, $2, 'test') ON CONFLICT DO NOTHING`,
		`{"code":"HOMESTAY","leadDepartment":"`+lead+`"}`, now); err != nil {
		h.t.Fatal(err)
	}
	s := fmt.Sprintf("13010012026112300%06d", h.serial.Add(1))
	if _, err := h.db.Exec(h.ctx, `INSERT INTO cases (case_id, serial, bundle_code, region, channel, status,
			app_id, holder_id, applicant, received_at, last_event_at, events, created_at, updated_at)
		VALUES ($1, $2, 'HOMESTAY', '130100', 'online', 'accepted', $3, 'H', '{}', $4, $4, 1, $4, $4)`,
		uuid.New(), s, app.ID, now); err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *harness) register(app auth.App, caseSerial, carrier, waybill string) shipments.Shipment {
	h.t.Helper()
	s, err := h.desk.Register(h.ctx, app, shipments.Registration{CaseSerial: caseSerial, Direction: shipments.Outbound,
		Carrier: carrier, WaybillNo: waybill, Recipient: json.RawMessage(`{"name":"张三","phone":"13800138000"}`)})
	if err != nil {
		h.t.Fatalf("register %s/%s: %v", carrier, waybill, err)
	}
	return s
}

// push sends a notification of events "id:status:minutes" for waybill.
func push(waybill, carrier string, events ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"waybillNo":%q`, waybill)
	if carrier != "" {
		fmt.Fprintf(&b, `,"carrier":%q`, carrier)
	}
	b.WriteString(`,"events":[`)
	for i, e := range events {
		var id, status string
		var minutes int
		parts := strings.Split(e, ":")
		id, status = parts[0], parts[1]
		fmt.Sscan(parts[2], &minutes)
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"eventId":%q,"status":%q,"at":%q,"location":"石家庄"}`, id, status, at(minutes))
	}
	b.WriteString("]}")
	return []byte(b.String())
}

func (h *harness) receive(app auth.App, body []byte) shipments.Receipt {
	h.t.Helper()
	r, err := h.desk.Receive(h.ctx, app, "req-"+uuid.NewString(), body)
	if err != nil {
		h.t.Fatalf("receive %s: %v", body, err)
	}
	return r
}

func (h *harness) get(app auth.App, waybill, carrier string) shipments.Shipment {
	h.t.Helper()
	s, err := h.desk.Get(h.ctx, app, waybill, carrier)
	if err != nil {
		h.t.Fatalf("get %s: %v", waybill, err)
	}
	return s
}

// notices are the shipment notices queued for a case, in order.
func (h *harness) notices(caseSerial string) []webhook.Delivery {
	h.t.Helper()
	list, err := webhook.List(h.ctx, h.db, caseSerial)
	if err != nil {
		h.t.Fatal(err)
	}
	return list
}

func ids(events []shipments.Event) string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.EventID
	}
	return strings.Join(out, ",")
}

// wantProblem checks err is a problem with this status and code.
func wantProblem(t *testing.T, err error, status int, code string) {
	t.Helper()
	p, ok := problem.As(err)
	if !ok || p.Status != status || p.Code != code {
		t.Fatalf("err = %v, want %d %s", err, status, code)
	}
}
