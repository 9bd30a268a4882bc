package function

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/config"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/service"
	"github.com/onewindow/onewindow/shared/service/servicetest"
	"github.com/onewindow/onewindow/shared/testenv"
)

// Without a database (no DATABASE_URL in unit tests) requests through
// Handle stop at authentication (401) or at the 503 of a misconfigured
// function: a problem, never a 500.
func TestUnsignedRequestsAreProblems(t *testing.T) {
	servicetest.UnsignedAreProblems(t, Handle, []servicetest.Unsigned{
		{"POST", "/", `{"waybillNo":"EA1","events":[]}`},
		{"POST", "/shipments", `{}`},
		{"GET", "/shipments/EA1", ""},
		{"GET", "/nope", ""},
	})
}

var (
	deptApp    = auth.AppRecord{ID: "sjz-xzsp-window", Secret: "dept-secret-0123456789", Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{"130100-XZSP"}}
	otherDept  = auth.AppRecord{ID: "sjz-police", Secret: "police-secret-0123456789", Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{"130100-GA"}}
	portalApp  = auth.AppRecord{ID: "hebei-portal", Secret: "portal-secret-0123456789", Roles: []auth.Role{auth.RolePlatform}}
	supervisor = auth.AppRecord{ID: "sjz-supervisor", Secret: "super-secret-0123456789", Roles: []auth.Role{auth.RoleSupervisor}}
	emsApp     = auth.AppRecord{ID: "ems-courier", Secret: "ems-secret-0123456789", Roles: []auth.Role{auth.RoleLogisticsProvider}, Channels: []string{"EMS"}}
	sfApp      = auth.AppRecord{ID: "sf-courier", Secret: "sf-secret-0123456789", Roles: []auth.Role{auth.RoleLogisticsProvider}, Channels: []string{"SF"}}
)

// fn is the function over a fresh database, as the template would run it.
type fn struct {
	t    *testing.T
	svc  *service.Service
	desk *desk
}

func newFn(t *testing.T) *fn {
	t.Helper()
	if os.Getenv(testenv.EnvPostgresURL) == "" {
		// The template's image build runs these tests without servers;
		// `make test` always provides them.
		t.Skip("needs the test PostgreSQL: run with `make test`")
	}
	f := &fn{t: t}
	f.svc = service.NewWithConfig(config.Config{Function: "logistics-callback", DatabaseURL: testenv.DatabaseURL(t), DBMaxConns: 4,
		Objects: testenv.ObjectStore(t)}, func(s *service.Service, r *httpx.Router) {
		f.desk = newDesk(s)
		routes(r, f.desk)
	})
	if f.desk.shipments == nil {
		t.Fatal("desk not built")
	}
	t.Cleanup(func() { f.desk.stop(); f.svc.DB().Close() })
	if err := auth.SaveApps(context.Background(), f.svc.DB(), []auth.AppRecord{deptApp, otherDept, portalApp, supervisor, emsApp, sfApp}); err != nil {
		t.Fatal(err)
	}
	return f
}

// newCase writes an item case of 130100-XZSP submitted by the portal.
func (f *fn) newCase(serialNo string) {
	f.t.Helper()
	now := time.Now()
	if _, err := f.svc.DB().Exec(context.Background(), `INSERT INTO cases (case_id, serial, item_code, department, region,
			channel, status, app_id, holder_id, applicant, received_at, last_event_at, events, created_at, updated_at)
		VALUES ($1, $2, 'SJZ-XZSP-001', '130100-XZSP', '130100', 'online', 'approved', $3, 'H', '{}', $4, $4, 1, $4, $4)`,
		uuid.New(), serialNo, portalApp.ID, now); err != nil {
		f.t.Fatal(err)
	}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) problem(t *testing.T) problem.Problem {
	t.Helper()
	var p problem.Problem
	if a.header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(a.body, &p) != nil {
		t.Fatalf("not a problem: %d %s", a.status, a.body)
	}
	return p
}

// call signs a request as app and serves it; edit may change the headers
// after signing.
func (f *fn) call(app auth.AppRecord, method, path, body string, edit func(http.Header)) answer {
	f.t.Helper()
	resp := f.svc.Handle(servicetest.Signed(f.t, "logistics-callback", app, method, path, body, edit))
	return answer{resp.StatusCode, resp.Header, resp.Body}
}

func (f *fn) must(app auth.AppRecord, method, path, body string, status int) answer {
	f.t.Helper()
	a := f.call(app, method, path, body, nil)
	if a.status != status {
		f.t.Fatalf("%s %s as %s = %d %s, want %d", method, path, app.ID, a.status, a.body, status)
	}
	return a
}

func events(waybill string, evs ...string) string {
	out := make([]string, len(evs))
	for i, e := range evs {
		id, status, _ := strings.Cut(e, ":")
		out[i] = `{"eventId":"` + id + `","status":"` + status + `","at":"` + time.Now().Add(time.Duration(i-len(evs))*time.Minute).Format(time.RFC3339) + `","location":"石家庄"}`
	}
	return `{"waybillNo":"` + waybill + `","events":[` + strings.Join(out, ",") + `]}`
}

func TestShipmentsThroughTheService(t *testing.T) {
	f := newFn(t)
	const serialNo = "13010012026112300000017"
	f.newCase(serialNo)
	reg := `{"caseSerial":"` + serialNo + `","direction":"outbound","carrier":"EMS","waybillNo":"EA100000001CN",
		"recipient":{"name":"张三","phone":"13800138000","address":"河北省石家庄市长安区中山东路1号"}}`

	// An event pushed before registration is kept, then attached.
	var receipt map[string]any
	json.Unmarshal(f.must(emsApp, "POST", "/", events("EA100000001CN", "e1:picked_up"), 200).body, &receipt)
	if receipt["code"] != "SUCCESS" || receipt["accepted"] != 1.0 || receipt["duplicates"] != 0.0 {
		t.Errorf("receipt %v", receipt)
	}

	key := func(h http.Header) { h.Set("Idempotency-Key", "reg-1") }
	first := f.call(deptApp, "POST", "/shipments", reg, key)
	again := f.call(deptApp, "POST", "/shipments", reg, key)
	if first.status != 201 || again.status != 201 || string(first.body) != string(again.body) ||
		again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("registration %d %s, replay %d %s", first.status, first.body, again.status, again.body)
	}
	var s struct {
		Status string `json:"status"`
		Events []struct {
			EventID string `json:"eventId"`
		} `json:"events"`
	}
	json.Unmarshal(first.body, &s)
	if s.Status != "picked_up" || len(s.Events) != 1 {
		t.Errorf("registered %s", first.body)
	}
	if p := f.must(deptApp, "POST", "/shipments", reg, 409).problem(t); p.Code != "shipment_exists" {
		t.Errorf("second registration: %+v", p)
	}
	if p := f.must(otherDept, "POST", "/shipments", strings.Replace(reg, "EA100000001CN", "EA2", 1), 404).problem(t); p.Code != "not_found" {
		t.Errorf("registration on another department's case: %+v", p)
	}

	// Pushes: new, duplicate, replayed nonce, refused.
	body := events("EA100000001CN", "e1:picked_up", "e2:in_transit", "e3:delivered")
	json.Unmarshal(f.must(emsApp, "POST", "/", body, 200).body, &receipt)
	if receipt["accepted"] != 2.0 || receipt["duplicates"] != 1.0 {
		t.Errorf("receipt %v", receipt)
	}
	var signed http.Header
	dup := f.call(emsApp, "POST", "/", body, func(h http.Header) { signed = h.Clone() })
	json.Unmarshal(dup.body, &receipt)
	if dup.status != 200 || receipt["accepted"] != 0.0 || receipt["duplicates"] != 3.0 {
		t.Errorf("duplicate push %d %s", dup.status, dup.body)
	}
	// The same signed request again is a replay, whatever its body says.
	resp := f.svc.Handle(handler.Request{Method: "POST", Header: signed, Body: []byte(body)})
	replayed := answer{resp.StatusCode, resp.Header, resp.Body}
	if replayed.status != 401 || replayed.problem(t).Code != auth.CodeReplayedRequest {
		t.Errorf("replayed nonce: %d %s", replayed.status, replayed.body)
	}
	if p := f.must(emsApp, "POST", "/", `{"waybillNo":`, 400).problem(t); p.Code != "invalid_json" {
		t.Errorf("malformed: %+v", p)
	}
	if p := f.must(emsApp, "POST", "/", `{"waybillNo":"EA100000001CN","carrier":"SF","events":[{"eventId":"x","status":"returned","at":"2026-01-01T00:00:00Z"}]}`, 403).problem(t); p.Code != "forbidden" {
		t.Errorf("another carrier: %+v", p)
	}
	f.must(deptApp, "POST", "/", body, 403)
	f.must(emsApp, "POST", "/shipments", reg, 403)
	// SF reporting the number touches nothing of EMS's shipment.
	f.must(sfApp, "POST", "/", events("EA100000001CN", "s1:returned"), 200)

	// Reads: whoever may see the case.
	for _, app := range []auth.AppRecord{portalApp, deptApp, supervisor} {
		a := f.must(app, "GET", "/shipments/EA100000001CN", "", 200)
		json.Unmarshal(a.body, &s)
		if s.Status != "delivered" || len(s.Events) != 3 || s.Events[2].EventID != "e3" {
			t.Errorf("%s sees %s", app.ID, a.body)
		}
	}
	for _, tt := range []struct {
		app  auth.AppRecord
		path string
	}{
		{otherDept, "/shipments/EA100000001CN"}, {emsApp, "/shipments/EA100000001CN"},
		{portalApp, "/shipments/EA404"}, {portalApp, "/shipments/EA100000001CN?carrier=SF"},
	} {
		if p := f.must(tt.app, "GET", tt.path, "", 404).problem(t); p.Code != "not_found" {
			t.Errorf("GET %s as %s: %+v", tt.path, tt.app.ID, p)
		}
	}
}
