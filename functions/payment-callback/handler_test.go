package function

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/calendar"
	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/config"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/objects"
	"github.com/onewindow/onewindow/shared/payments"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/serial"
	"github.com/onewindow/onewindow/shared/service"
	"github.com/onewindow/onewindow/shared/service/servicetest"
	"github.com/onewindow/onewindow/shared/testenv"
	"github.com/onewindow/onewindow/shared/webhook"
)

// Without a database (no DATABASE_URL in unit tests) requests through
// Handle stop at authentication (401) or at the 503 of a misconfigured
// function: a problem, never a 500.
func TestUnsignedRequestsAreProblems(t *testing.T) {
	servicetest.UnsignedAreProblems(t, Handle, []servicetest.Unsigned{
		{"POST", "/", `{"notifyId":"1","paymentSerial":"13010292026112300000019","amountFen":1,"status":"paid"}`},
		{"GET", "/orders/13010292026112300000019", ""},
		{"GET", "/reconciliation", ""},
		{"GET", "/nope", ""},
	})
}

var (
	providerApp   = auth.AppRecord{ID: "unionpay-gateway", Secret: "unionpay-secret-0123456789", Roles: []auth.Role{auth.RolePaymentProvider}, Channels: []string{"unionpay"}}
	otherProvider = auth.AppRecord{ID: "alipay-gateway", Secret: "alipay-secret-0123456789", Roles: []auth.Role{auth.RolePaymentProvider}, Channels: []string{"alipay"}}
	portalApp     = auth.AppRecord{ID: "hebei-portal", Secret: "portal-secret-0123456789", Roles: []auth.Role{auth.RolePlatform}}
	strangerApp   = auth.AppRecord{ID: "wechat-hall", Secret: "wechat-secret-0123456789", Roles: []auth.Role{auth.RolePlatform}}
	deptApp       = auth.AppRecord{ID: "sjz-tax", Secret: "tax-secret-0123456789", Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{"130100-SW"}}
	supervisorApp = auth.AppRecord{ID: "sjz-supervisor", Secret: "super-secret-0123456789", Roles: []auth.Role{auth.RoleSupervisor}}
)

// fn is the function over a fresh database, as the template would run it,
// next to a case desk that opens payment orders as case-submit's does.
type fn struct {
	t    *testing.T
	ctx  context.Context
	svc  *service.Service
	desk *cases.Desk
}

func newFn(t *testing.T) *fn {
	t.Helper()
	if os.Getenv(testenv.EnvPostgresURL) == "" {
		// The template's image build runs these tests without servers;
		// `make test` always provides them.
		t.Skip("needs the test PostgreSQL: run with `make test`")
	}
	f := &fn{t: t, ctx: context.Background()}
	cfg := config.Config{Function: "payment-callback", DatabaseURL: testenv.DatabaseURL(t), DBMaxConns: 4, // the production default
		Objects: testenv.ObjectStore(t)}
	f.svc = service.NewWithConfig(cfg, func(s *service.Service, r *httpx.Router) {
		routes(r, newLedger(s, payments.Config{RedriveEvery: -1}))
	})
	t.Cleanup(f.svc.DB().Close)
	if err := auth.SaveApps(f.ctx, f.svc.DB(), []auth.AppRecord{providerApp, otherProvider, portalApp, strangerApp, deptApp, supervisorApp}); err != nil {
		t.Fatal(err)
	}
	f.desk = f.caseDesk(cfg.Objects)
	return f
}

// caseDesk is case-submit's side: a desk whose payment_requested opens orders.
func (f *fn) caseDesk(store config.ObjectStore) *cases.Desk {
	t, db := f.t, f.svc.DB()
	cat := catalog.Open(db, catalog.Config{})
	t.Cleanup(cat.Close)
	key := make([]byte, 32)
	rand.Read(key)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	if _, err := cat.PutDepartment(f.ctx, "test", "130100-SW", catalog.DepartmentInput{Name: "税务局", Region: "130100",
		WebhookURL: "http://127.0.0.1:9/hook", WebhookSecret: &secret}); err != nil {
		t.Fatal(err)
	}
	var item catalog.ItemInput
	if err := json.Unmarshal([]byte(`{"name":"契税缴纳","kind":"公共服务","department":"130100-SW","region":"130100",
		"legalDays":10,"promisedDays":5,"fee":{"required":true}}`), &item); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.PutItem(f.ctx, "test", "TAX-01", item); err != nil {
		t.Fatal(err)
	}
	objs, err := objects.New(f.ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	alloc, err := serial.NewAllocator(db, serial.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(alloc.Close)
	outbox, err := webhook.New(db, webhook.Config{Endpoints: webhook.EndpointFunc(
		func(context.Context, string) (string, string, error) { return "", "", nil })})
	if err != nil {
		t.Fatal(err)
	}
	orders := payments.NewOrders(nil)
	desk, err := cases.New(cases.Config{DB: db, Catalog: cat, Objects: objs, Serials: alloc,
		Calendars: calendar.NewStore(db, calendar.StoreConfig{}), Outbox: outbox,
		Payments: orders, Extensions: []cases.Extension{orders}})
	if err != nil {
		t.Fatal(err)
	}
	return desk
}

// awaiting makes a case of hebei-portal await amountFen and returns the
// case and order serials.
func (f *fn) awaiting(amountFen int64) (string, string) {
	f.t.Helper()
	portal, dept := portalApp.App(), deptApp.App()
	r, err := f.desk.Submit(f.ctx, portal, cases.Submission{ItemCode: "TAX-01", Channel: "online", Region: "130102",
		Applicant: cases.Applicant{Type: "person", Name: "张三", IDType: "resident_id", IDNumber: "11010519491231002X", Phone: "13800138000"}})
	if err != nil {
		f.t.Fatalf("submit: %v", err)
	}
	for _, in := range []cases.EventInput{{Type: cases.EventAccepted}, {Type: cases.EventPaymentRequested, AmountFen: &amountFen}} {
		if _, err := f.desk.Post(f.ctx, dept, r.Serial, in); err != nil {
			f.t.Fatalf("%s: %v", in.Type, err)
		}
	}
	v, err := f.desk.Get(f.ctx, portal, r.Serial)
	if err != nil {
		f.t.Fatal(err)
	}
	var p payments.Summary
	if err := json.Unmarshal(v.Payment, &p); err != nil {
		f.t.Fatalf("payment %s: %v", v.Payment, err)
	}
	return r.Serial, p.PaymentSerial
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) problemCode(t *testing.T) string {
	t.Helper()
	var p problem.Problem
	if a.header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(a.body, &p) != nil {
		t.Fatalf("not a problem: %d %s", a.status, a.body)
	}
	return p.Code
}

// call signs a request as app and serves it; edit may change the headers.
func (f *fn) call(app auth.AppRecord, method, pathAndQuery, body string, edit func(http.Header)) answer {
	f.t.Helper()
	resp := f.svc.Handle(servicetest.Signed(f.t, "payment-callback", app, method, pathAndQuery, body, edit))
	return answer{resp.StatusCode, resp.Header, resp.Body}
}

func notification(notifyID, paymentSerial string, amountFen int64, status string) string {
	return fmt.Sprintf(`{"notifyId":%q,"paymentSerial":%q,"amountFen":%d,"status":%q,"paidAt":"2026-11-23T10:30:00+08:00","providerTxnId":"U%s"}`,
		notifyID, paymentSerial, amountFen, status, notifyID)
}

func TestNotifications(t *testing.T) {
	f := newFn(t)
	caseSerial, paymentSerial := f.awaiting(5_000)
	_, mismatchSerial := f.awaiting(5_000)
	paidBody := notification("n-1", paymentSerial, 5_000, "paid")
	tests := []struct {
		name   string
		app    auth.AppRecord
		body   string
		edit   func(http.Header)
		status int
		code   string // of a problem
	}{
		{"paid", providerApp, paidBody, nil, 200, ""},
		{"the provider's retry, a new nonce", providerApp, paidBody, nil, 200, ""},
		{"a retry with an Idempotency-Key is the same", providerApp, paidBody,
			func(h http.Header) { h.Set("Idempotency-Key", "k1") }, 200, ""},
		{"failed after paid", providerApp, notification("n-2", paymentSerial, 5_000, "failed"), nil, 200, ""},
		{"another amount is acknowledged", providerApp, notification("n-3", mismatchSerial, 4_999, "paid"), nil, 200, ""},
		{"unknown order", providerApp, notification("n-4", "13010292026112300099991", 5_000, "paid"), nil, 404, "unknown_order"},
		{"another channel's order", otherProvider, notification("n-5", paymentSerial, 5_000, "paid"), nil, 404, "unknown_order"},
		{"not JSON", providerApp, `notifyId=1`, nil, 400, "invalid_json"},
		{"invalid fields", providerApp, `{"notifyId":"n-6","paymentSerial":"x","amountFen":1.5,"status":"paid"}`, nil, 422, "validation_failed"},
		{"not a provider", portalApp, paidBody, nil, 403, "forbidden"},
		{"a request with a chosen nonce", providerApp, paidBody, withNonce(providerApp, paidBody, "fixed-nonce-1"), 200, ""},
		{"the same request replayed", providerApp, paidBody, withNonce(providerApp, paidBody, "fixed-nonce-1"), 401, "replayed_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := f.call(tt.app, "POST", "/", tt.body, tt.edit)
			if a.status != tt.status {
				t.Fatalf("status %d %s, want %d", a.status, a.body, tt.status)
			}
			if tt.code == "" && string(a.body) != `{"code":"SUCCESS"}` {
				t.Errorf("body %s", a.body)
			}
			if tt.code != "" && a.problemCode(t) != tt.code {
				t.Errorf("code %s, want %s", a.problemCode(t), tt.code)
			}
		})
	}
	v, err := f.desk.Get(f.ctx, portalApp.App(), caseSerial)
	if err != nil {
		t.Fatal(err)
	}
	paid := 0
	for _, e := range v.Events {
		if e.Type == cases.EventPaid {
			paid++
		}
	}
	if v.Status != cases.Accepted || paid != 1 || !strings.Contains(string(v.Payment), `"status":"paid"`) {
		t.Errorf("case %s with %d paid events, payment %s", v.Status, paid, v.Payment)
	}
}

// Providers' duplicates racing through the whole function (signatures,
// nonces, several connections) apply once and are all acknowledged.
func TestConcurrentRetriesThroughTheFunction(t *testing.T) {
	f := newFn(t)
	caseSerial, paymentSerial := f.awaiting(990)
	body := notification("race-1", paymentSerial, 990, "paid")
	var wg sync.WaitGroup
	statuses := make([]int, 20)
	for i := range statuses {
		wg.Add(1)
		go func() { defer wg.Done(); statuses[i] = f.call(providerApp, "POST", "/", body, nil).status }()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != 200 {
			t.Errorf("sender %d: %d", i, s)
		}
	}
	v, err := f.desk.Get(f.ctx, portalApp.App(), caseSerial)
	if err != nil {
		t.Fatal(err)
	}
	paid := 0
	for _, e := range v.Events {
		if e.Type == cases.EventPaid {
			paid++
		}
	}
	if v.Status != cases.Accepted || paid != 1 {
		t.Errorf("case %s with %d paid events", v.Status, paid)
	}
}

func TestOrdersAndReconciliation(t *testing.T) {
	f := newFn(t)
	today := time.Now().In(serial.Shanghai).Format(time.DateOnly) // before the order, which is then of today
	caseSerial, paymentSerial := f.awaiting(1_500)
	if a := f.call(providerApp, "POST", "/", notification("x-1", paymentSerial, 1_400, "paid"), nil); a.status != 200 {
		t.Fatalf("notify: %d %s", a.status, a.body)
	}
	for _, tt := range []struct {
		app    auth.AppRecord
		status int
	}{{portalApp, 200}, {deptApp, 200}, {supervisorApp, 200}, {strangerApp, 404}, {providerApp, 404}} {
		a := f.call(tt.app, "GET", "/orders/"+paymentSerial, "", nil)
		if a.status != tt.status {
			t.Fatalf("GET /orders as %s: %d %s", tt.app.ID, a.status, a.body)
		}
		if tt.status != 200 {
			if a.problemCode(t) != "not_found" {
				t.Errorf("as %s: %s", tt.app.ID, a.body)
			}
			continue
		}
		var v payments.OrderView
		if err := json.Unmarshal(a.body, &v); err != nil {
			t.Fatal(err)
		}
		if v.PaymentSerial != paymentSerial || v.CaseSerial != caseSerial || v.AmountFen != 1_500 ||
			v.Status != payments.AmountMismatch || len(v.Events) != 2 {
			t.Errorf("as %s: %s", tt.app.ID, a.body)
		}
	}
	if a := f.call(portalApp, "GET", "/orders/13010292026112300099991", "", nil); a.status != 404 {
		t.Errorf("unknown order: %d", a.status)
	}

	for _, tt := range []struct {
		app    auth.AppRecord
		query  string
		status int
		code   string
	}{
		{supervisorApp, "date=" + today, 200, ""},
		{portalApp, "date=" + today, 403, "forbidden"},
		{deptApp, "date=" + today, 403, "forbidden"},
		{supervisorApp, "", 422, "validation_failed"},
		{supervisorApp, "date=2026-02-30", 422, "validation_failed"},
		{supervisorApp, "date=" + today + "&limit=0", 400, "invalid_limit"},
	} {
		a := f.call(tt.app, "GET", "/reconciliation?"+tt.query, "", nil)
		if a.status != tt.status {
			t.Fatalf("GET /reconciliation?%s as %s: %d %s", tt.query, tt.app.ID, a.status, a.body)
		}
		if tt.code != "" {
			if a.problemCode(t) != tt.code {
				t.Errorf("?%s: %s", tt.query, a.body)
			}
			continue
		}
		var rec payments.Reconciliation
		if err := json.Unmarshal(a.body, &rec); err != nil {
			t.Fatal(err)
		}
		if len(rec.Items) != 1 || rec.Items[0].PaymentSerial != paymentSerial ||
			strings.Join(rec.Items[0].Reasons, ",") != "amount_mismatch,amounts_disagree" {
			t.Errorf("reconciliation %s", a.body)
		}
	}
}

// withNonce re-signs a POST / with a chosen nonce, so that a second use is
// a replay and nothing else.
func withNonce(app auth.AppRecord, body, nonce string) func(http.Header) {
	return func(h http.Header) {
		h.Set(auth.HeaderNonce, nonce)
		h.Set(auth.HeaderSignature, auth.Sign(app.Secret, auth.Signed{Function: "payment-callback", Method: "POST",
			Subpath: "/", Timestamp: h.Get(auth.HeaderTimestamp), Nonce: nonce, Body: []byte(body)}))
	}
}
