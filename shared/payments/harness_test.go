package payments_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/calendar"
	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/objects"
	"github.com/onewindow/onewindow/shared/payments"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/serial"
	"github.com/onewindow/onewindow/shared/store"
	"github.com/onewindow/onewindow/shared/testenv"
	"github.com/onewindow/onewindow/shared/webhook"
)

// The apps of the scenarios.
var (
	portal     = auth.App{ID: "portal", Roles: []auth.Role{auth.RolePlatform}}
	stranger   = auth.App{ID: "other-portal", Roles: []auth.Role{auth.RolePlatform}}
	taxDept    = auth.App{ID: "tax-sys", Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{"D-SW"}}
	supervisor = auth.App{ID: "supervision", Roles: []auth.Role{auth.RoleSupervisor}}
	unionpay   = auth.App{ID: "unionpay-gw", Roles: []auth.Role{auth.RolePaymentProvider}, Channels: []string{"unionpay"}}
	alipay     = auth.App{ID: "alipay-gw", Roles: []auth.Role{auth.RolePaymentProvider}, Channels: []string{"alipay"}}
	aggregator = auth.App{ID: "aggregator", Roles: []auth.Role{auth.RolePaymentProvider}} // bound to no channel
	twoChannel = auth.App{ID: "bank-gw", Roles: []auth.Role{auth.RolePaymentProvider}, Channels: []string{"bank-a", "bank-b"}}
)

// clock is the time of the desk and the ledger, moved by tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type harness struct {
	t      testing.TB
	ctx    context.Context
	db     *pgxpool.Pool
	desk   *cases.Desk
	ledger *payments.Ledger
	clock  *clock
	// deskConfig is how desk was built, for tests that build another.
	deskConfig cases.Config
}

// newHarness wires, over a fresh database, a case desk that opens payment
// orders (as case-submit's does) and a ledger over it (as
// payment-callback's does), with one catalogue item of department D-SW
// that needs no materials.
func newHarness(t testing.TB) *harness {
	t.Helper()
	ctx := context.Background()
	db := testenv.Pool(t)
	store, err := objects.New(ctx, testenv.ObjectStore(t)) // the desk requires one; no test here touches it
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, ctx: ctx, db: db, clock: &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, serial.Shanghai)}}
	cat := catalog.Open(db, catalog.Config{})
	t.Cleanup(cat.Close)
	key := make([]byte, 32)
	rand.Read(key)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	if _, err := cat.PutDepartment(ctx, "test", "D-SW", catalog.DepartmentInput{Name: "税务", Region: "130100",
		WebhookURL: "http://127.0.0.1:9/D-SW", WebhookSecret: &secret}); err != nil {
		t.Fatal(err)
	}
	var item catalog.ItemInput
	if err := json.Unmarshal([]byte(`{"name":"契税缴纳","kind":"公共服务","department":"D-SW","region":"130100",
		"legalDays":10,"promisedDays":5,"fee":{"required":true}}`), &item); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.PutItem(ctx, "test", "TAX-01", item); err != nil {
		p, _ := problem.As(err)
		t.Fatalf("TAX-01: %v %+v", err, p)
	}
	alloc, err := serial.NewAllocator(db, serial.Config{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(alloc.Close)
	outbox, err := webhook.New(db, webhook.Config{Now: h.clock.Now, Endpoints: webhook.EndpointFunc(
		func(context.Context, string) (string, string, error) { return "", "", nil })})
	if err != nil {
		t.Fatal(err)
	}
	orders := payments.NewOrders(h.clock.Now)
	calendars := calendar.NewStore(db, calendar.StoreConfig{Now: h.clock.Now})
	h.deskConfig = cases.Config{DB: db, Catalog: cat, Objects: store, Serials: alloc,
		Calendars: calendars, Outbox: outbox, Now: h.clock.Now,
		Payments: orders, Extensions: []cases.Extension{orders}}
	h.desk, err = cases.New(h.deskConfig)
	if err != nil {
		t.Fatal(err)
	}
	h.ledger, err = payments.New(payments.Config{DB: db, Cases: h.desk, Now: h.clock.Now, RedriveEvery: -1,
		Warm: func(ctx context.Context) error { _, err := calendars.Calendar(ctx); return err }})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// replicas returns n ledgers over the same database, each with its own
// pool of a few connections and its own in-process locks, as n replicas
// of payment-callback would have.
func (h *harness) replicas(n int) []*payments.Ledger {
	h.t.Helper()
	out := make([]*payments.Ledger, n)
	for i := range out {
		pool, err := store.Open(h.ctx, h.db.Config().ConnString(), store.PoolOptions{MaxConns: 3})
		if err != nil {
			h.t.Fatal(err)
		}
		h.t.Cleanup(pool.Close)
		out[i], err = payments.New(payments.Config{DB: pool, Cases: h.desk, Now: h.clock.Now, RedriveEvery: -1,
			Warm: func(ctx context.Context) error { _, err := h.deskConfig.Calendars.Calendar(ctx); return err }})
		if err != nil {
			h.t.Fatal(err)
		}
	}
	return out
}

// awaiting submits a case, accepts it and requests amountFen: the case
// awaits payment under a new order. It returns the case and order serials.
func (h *harness) awaiting(amountFen int64) (caseSerial, paymentSerial string) {
	h.t.Helper()
	return h.awaitingOn(amountFen, "")
}

// awaitingOn is awaiting with the payment_requested event naming channel.
func (h *harness) awaitingOn(amountFen int64, channel string) (caseSerial, paymentSerial string) {
	h.t.Helper()
	caseSerial = h.accepted()
	h.event(caseSerial, cases.EventInput{Type: cases.EventPaymentRequested, AmountFen: &amountFen, PaymentChannel: channel})
	return caseSerial, h.payment(caseSerial).PaymentSerial
}

// accepted submits a case of TAX-01 and accepts it.
func (h *harness) accepted() string {
	h.t.Helper()
	r, err := h.desk.Submit(h.ctx, portal, cases.Submission{ItemCode: "TAX-01", Channel: "online", Region: "130102",
		Applicant: cases.Applicant{Type: "person", Name: "张三", IDType: "resident_id", IDNumber: "11010519491231002X", Phone: "13800138000"}})
	if err != nil {
		p, _ := problem.As(err)
		h.t.Fatalf("submit: %v %+v", err, p)
	}
	h.event(r.Serial, cases.EventInput{Type: cases.EventAccepted})
	return r.Serial
}

func (h *harness) event(caseSerial string, in cases.EventInput) {
	h.t.Helper()
	h.clock.Add(time.Minute)
	if _, err := h.desk.Post(h.ctx, taxDept, caseSerial, in); err != nil {
		h.t.Fatalf("%s on %s: %v", in.Type, caseSerial, err)
	}
}

// payment is the case's "payment" as GET /cases/{serial} shows it.
func (h *harness) payment(caseSerial string) payments.Summary {
	h.t.Helper()
	v, err := h.desk.Get(h.ctx, supervisor, caseSerial)
	if err != nil {
		h.t.Fatal(err)
	}
	var s payments.Summary
	if err := json.Unmarshal(v.Payment, &s); err != nil {
		h.t.Fatalf("payment %s: %v", v.Payment, err)
	}
	return s
}

// caseState is what the case shows of its payment: status and paid events.
func (h *harness) caseState(caseSerial string) (cases.Status, int) {
	h.t.Helper()
	v, err := h.desk.Get(h.ctx, supervisor, caseSerial)
	if err != nil {
		h.t.Fatal(err)
	}
	paid := 0
	for _, e := range v.Events {
		if e.Type == cases.EventPaid {
			paid++
		}
	}
	return v.Status, paid
}

// orderRow is an order's stored state, for comparisons.
type orderRow struct {
	Status        payments.Status
	CasePaid      bool
	PaidAt        *time.Time
	PaidNotifyID  *string
	ProviderTxnID *string
	Notifications int
}

func (h *harness) order(paymentSerial string) orderRow {
	h.t.Helper()
	var o orderRow
	err := h.db.QueryRow(h.ctx, `SELECT status, case_paid, paid_at, paid_notify_id, provider_txn_id,
			(SELECT count(*) FROM payment_notifications n WHERE n.payment_serial = o.payment_serial)
		FROM payment_orders o WHERE payment_serial = $1`, paymentSerial).
		Scan(&o.Status, &o.CasePaid, &o.PaidAt, &o.PaidNotifyID, &o.ProviderTxnID, &o.Notifications)
	if err != nil {
		h.t.Fatal(err)
	}
	return o
}

// body is a notification's JSON.
type body struct {
	NotifyID      string `json:"notifyId"`
	PaymentSerial string `json:"paymentSerial"`
	AmountFen     int64  `json:"amountFen"`
	Status        string `json:"status"`
	PaidAt        string `json:"paidAt,omitempty"`
	ProviderTxnID string `json:"providerTxnId,omitempty"`
	Channel       string `json:"channel,omitempty"`
}

func (b body) bytes() []byte {
	out, err := json.Marshal(b)
	if err != nil {
		panic(err)
	}
	return out
}

// paid is a right-looking payment notification.
func paid(notifyID, paymentSerial string, amountFen int64) body {
	return body{NotifyID: notifyID, PaymentSerial: paymentSerial, AmountFen: amountFen, Status: "paid",
		PaidAt: "2026-11-23T10:30:00+08:00", ProviderTxnID: "TXN-" + notifyID}
}

func (h *harness) notify(app auth.App, b body) (payments.Outcome, error) {
	return h.ledger.Notify(h.ctx, app, "req-"+b.NotifyID, b.bytes())
}

func (h *harness) mustNotify(app auth.App, b body) payments.Outcome {
	h.t.Helper()
	out, err := h.notify(app, b)
	if err != nil {
		h.t.Fatalf("notify %+v: %v", b, err)
	}
	return out
}

func wantProblem(t *testing.T, err error, status int, code string) {
	t.Helper()
	p, ok := problem.As(err)
	if !ok || p.Status != status || p.Code != code {
		t.Fatalf("err = %v, want %d %s", err, status, code)
	}
}

func (o orderRow) String() string {
	s := fmt.Sprintf("%s casePaid=%v notifications=%d", o.Status, o.CasePaid, o.Notifications)
	if o.PaidAt != nil {
		s += fmt.Sprintf(" paidAt=%s by=%s txn=%s", o.PaidAt.UTC().Format(time.RFC3339), str(o.PaidNotifyID), str(o.ProviderTxnID))
	}
	return s
}

func str(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
