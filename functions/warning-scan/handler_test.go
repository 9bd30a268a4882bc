package function

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/calendar"
	"github.com/onewindow/onewindow/shared/config"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/service"
	"github.com/onewindow/onewindow/shared/service/servicetest"
	"github.com/onewindow/onewindow/shared/testenv"
)

// Without a database (no DATABASE_URL in unit tests) requests through
// Handle stop at authentication (401) or at the 503 of a misconfigured
// function, the public scan trigger included: a problem, never a 500.
func TestUnconfiguredRequestsAreProblems(t *testing.T) {
	for _, tt := range []struct{ method, path string }{
		{"POST", "/"}, {"GET", "/cards"}, {"GET", "/calendar/2026"}, {"GET", "/stats"}, {"GET", "/nope"},
	} {
		resp, err := Handle(handler.Request{Method: tt.method, Header: http.Header{httpx.PathHeader: {tt.path}}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 401 && resp.StatusCode != 503 {
			t.Errorf("%s %s = %d %s", tt.method, tt.path, resp.StatusCode, resp.Body)
		}
		if resp.Header.Get("Content-Type") != "application/problem+json" || resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s %s: headers %v", tt.method, tt.path, resp.Header)
		}
	}
}

var (
	adminApp      = auth.AppRecord{ID: "onewindow-admin", Secret: "admin-secret-0123456789", Roles: []auth.Role{auth.RoleAdmin}}
	supervisorApp = auth.AppRecord{ID: "supervision", Secret: "supervisor-secret-0123456789", Roles: []auth.Role{auth.RoleSupervisor}}
	portalApp     = auth.AppRecord{ID: "hebei-portal", Secret: "portal-secret-0123456789", Roles: []auth.Role{auth.RolePlatform}}
	dept1App      = auth.AppRecord{ID: "dept-1", Secret: "dept1-secret-0123456789", Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{"D-1"}}
	dept2App      = auth.AppRecord{ID: "dept-2", Secret: "dept2-secret-0123456789", Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{"D-2"}}
	deptNoneApp   = auth.AppRecord{ID: "dept-none", Secret: "deptnone-secret-0123456789", Roles: []auth.Role{auth.RoleDepartment}}
)

// fn is the function over a fresh database, as the template would run it.
type fn struct {
	t   *testing.T
	svc *service.Service
}

func newFn(t *testing.T) *fn {
	t.Helper()
	if os.Getenv(testenv.EnvPostgresURL) == "" {
		// The template's image build runs these tests without servers;
		// `make test` always provides them.
		t.Skip("needs the test PostgreSQL: run with `make test`")
	}
	f := &fn{t: t}
	f.svc = service.NewWithConfig(config.Config{Function: "warning-scan", DatabaseURL: testenv.DatabaseURL(t), DBMaxConns: 4,
		Objects: config.ObjectStore{Driver: "minio"}}, func(s *service.Service, r *httpx.Router) {
		routes(r, newSupervision(s))
	})
	t.Cleanup(func() { f.svc.DB().Close() })
	if err := auth.SaveApps(context.Background(), f.svc.DB(),
		[]auth.AppRecord{adminApp, supervisorApp, portalApp, dept1App, dept2App, deptNoneApp}); err != nil {
		t.Fatal(err)
	}
	return f
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

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
}

// call signs a request as app and serves it.
func (f *fn) call(app auth.AppRecord, method, pathAndQuery, body string) answer {
	f.t.Helper()
	resp := f.svc.Handle(servicetest.Signed(f.t, "warning-scan", app, method, pathAndQuery, body, nil))
	return answer{resp.StatusCode, resp.Header, resp.Body}
}

// cron is the scheduler's unsigned POST / with an empty body.
func (f *fn) cron() answer {
	f.t.Helper()
	resp := f.svc.Handle(handler.Request{Method: "POST", Header: http.Header{httpx.PathHeader: {"/"}}})
	return answer{resp.StatusCode, resp.Header, resp.Body}
}

func (f *fn) must(app auth.AppRecord, method, path, body string, status int) answer {
	f.t.Helper()
	a := f.call(app, method, path, body)
	if a.status != status {
		f.t.Fatalf("%s %s as %s = %d %s, want %d", method, path, app.ID, a.status, a.body, status)
	}
	return a
}

// wantProblem checks a status and code and, for validation_failed, that
// these field/code pairs are among the errors.
func (f *fn) wantProblem(a answer, status int, code string, fields ...string) {
	f.t.Helper()
	p := a.problem(f.t)
	if a.status != status || p.Status != status || p.Code != code {
		f.t.Fatalf("answer %d %s, want %d %s", a.status, a.body, status, code)
	}
	for i := 0; i+1 < len(fields); i += 2 {
		if !slices.ContainsFunc(p.Errors, func(e problem.FieldError) bool { return e.Field == fields[i] && e.Code == fields[i+1] }) {
			f.t.Errorf("no error %s/%s in %s", fields[i], fields[i+1], a.body)
		}
	}
}

// insertCase writes a case of item IT-1 as shared/cases would.
func (f *fn) insertCase(serialNo, department, status string, acceptBy, promised, legal, nextCheck *time.Time) {
	f.t.Helper()
	_, err := f.svc.DB().Exec(context.Background(), `INSERT INTO cases (case_id, serial, item_code, department, region, channel,
			status, app_id, holder_id, applicant, received_at, accept_by, promised_due, legal_due, last_event_at, events,
			created_at, updated_at, next_check_at)
		VALUES (gen_random_uuid(), $1, 'IT-1', $2, '130100', 'online', $3, 'hebei-portal', 'h', '{}', now(), $4, $5, $6,
			now(), 1, now(), now(), $7)`, serialNo, department, status, acceptBy, promised, legal, nextCheck)
	if err != nil {
		f.t.Fatal(err)
	}
}

func ago(d time.Duration) *time.Time { t := time.Now().Add(-d); return &t }

type cardList struct {
	Items []struct {
		CardID     string `json:"cardId"`
		CaseSerial string `json:"caseSerial"`
		Rule       string `json:"rule"`
		Level      string `json:"level"`
		Status     string `json:"status"`
		IssuedAt   string `json:"issuedAt"`
		History    []struct {
			Action string `json:"action"`
		} `json:"history"`
	} `json:"items"`
	NextCursor *string `json:"nextCursor"`
}

func (l cardList) serials() []string {
	var out []string
	for _, c := range l.Items {
		out = append(out, c.CaseSerial)
	}
	slices.Sort(out)
	return out
}

func TestScanTrigger(t *testing.T) {
	f := newFn(t)
	// H1 (D-1) missed its acceptance deadline, H2 (D-2) its promised one;
	// H3 is not due for ten days.
	f.insertCase("H1", "D-1", "submitted", ago(2*time.Hour), nil, nil, ago(2*time.Hour))
	f.insertCase("H2", "D-2", "accepted", ago(50*time.Hour), ago(time.Hour), ago(-30*24*time.Hour), ago(time.Hour))
	f.insertCase("H3", "D-1", "accepted", ago(50*time.Hour), ago(-12*24*time.Hour), ago(-30*24*time.Hour), ago(-10*24*time.Hour))

	type report struct {
		Scanned, Issued, Escalated *int
		DurationMs                 *int64
		Warnings                   []string
	}
	tests := []struct {
		name                       string
		post                       func() answer
		scanned, issued, escalated int
	}{
		{"the cron's unsigned POST", f.cron, 2, 2, 0},
		{"again: nothing due", f.cron, 0, 0, 0},
		{"signed works too", func() answer { return f.call(portalApp, "POST", "/", "") }, 0, 0, 0},
	}
	for _, tt := range tests {
		a := tt.post()
		if a.status != 200 || a.header.Get("X-Request-Id") == "" {
			t.Fatalf("%s = %d %s", tt.name, a.status, a.body)
		}
		var keys map[string]json.RawMessage
		a.decode(t, &keys)
		for k := range keys {
			if !slices.Contains([]string{"scanned", "issued", "escalated", "durationMs", "warnings"}, k) {
				t.Errorf("%s: the answer has %q: %s", tt.name, k, a.body)
			}
		}
		var r report
		a.decode(t, &r)
		if r.Scanned == nil || r.Issued == nil || r.Escalated == nil || r.DurationMs == nil ||
			*r.Scanned != tt.scanned || *r.Issued != tt.issued || *r.Escalated != tt.escalated {
			t.Errorf("%s = %s, want scanned %d issued %d escalated %d", tt.name, a.body, tt.scanned, tt.issued, tt.escalated)
		}
		// A year from now reaches a year without a calendar unless it is shipped.
		now := time.Now()
		wantWarn := !calendar.Official().HasYear(calendar.DateOf(now.AddDate(1, 0, 0)).Year)
		if wantWarn != (len(r.Warnings) > 0) {
			t.Errorf("%s: warnings %q", tt.name, r.Warnings)
		}
	}

	var all cardList
	f.must(supervisorApp, "GET", "/cards", "", 200).decode(t, &all)
	if got := all.serials(); !slices.Equal(got, []string{"H1", "H2"}) || all.NextCursor != nil {
		t.Fatalf("cards = %+v", all)
	}
	for _, c := range all.Items {
		want := map[string][2]string{"H1": {"acceptance_overdue", "red"}, "H2": {"promised_exceeded", "red"}}[c.CaseSerial]
		if c.Rule != want[0] || c.Level != want[1] || c.Status != "active" || len(c.History) != 1 || !strings.HasSuffix(c.IssuedAt, "+08:00") && !strings.HasSuffix(c.IssuedAt, "Z") {
			t.Errorf("card %+v", c)
		}
	}
}

func TestCalendarRoutes(t *testing.T) {
	f := newFn(t)
	type year struct {
		Year      int      `json:"year"`
		Holidays  []string `json:"holidays"`
		Workdays  []string `json:"workdays"`
		Source    string   `json:"source"`
		UpdatedBy string   `json:"updatedBy"`
	}
	// Read by any app: the shipped year, a year nobody published.
	var y year
	f.must(portalApp, "GET", "/calendar/2026", "", 200).decode(t, &y)
	if y.Year != 2026 || y.Source != "official" || !slices.Contains(y.Holidays, "2026-10-01") || !slices.Contains(y.Workdays, "2026-10-10") {
		t.Errorf("2026 = %+v", y)
	}
	a := f.must(dept1App, "GET", "/calendar/2031", "", 200)
	y = year{}
	a.decode(t, &y)
	if y.Year != 2031 || y.Source != "none" || y.Holidays == nil || len(y.Holidays) != 0 || y.Workdays == nil || len(y.Workdays) != 0 {
		t.Errorf("2031 = %s", a.body)
	}
	f.wantProblem(f.call(portalApp, "GET", "/calendar/next", ""), 404, "not_found")

	// A case not due for ten days: a calendar change makes it due now.
	f.insertCase("R1", "D-1", "accepted", ago(50*time.Hour), ago(-12*24*time.Hour), nil, ago(-10*24*time.Hour))

	body := `{"holidays":["2027-01-01","2027-02-06","2027-02-07","2027-02-08"],"workdays":["2027-02-20"]}`
	for _, app := range []auth.AppRecord{supervisorApp, dept1App, portalApp} {
		f.wantProblem(f.call(app, "PUT", "/calendar/2027", body), 403, "forbidden")
	}
	f.wantProblem(f.call(adminApp, "PUT", "/calendar/2027",
		`{"holidays":["2027-13-01","2026-12-31","2027-01-02"],"workdays":["2027-01-04","2027-01-02"]}`), 422, "validation_failed",
		"holidays.0", "invalid_date", "holidays.1", "outside_year", "workdays.0", "not_weekend", "workdays.1", "holiday_and_workday")
	f.wantProblem(f.call(adminApp, "PUT", "/calendar/2027", `{"workdays":[]}`), 422, "validation_failed", "holidays", "required")
	f.wantProblem(f.call(adminApp, "PUT", "/calendar/2027", `{"holidays":[`), 400, "invalid_json")

	f.must(adminApp, "PUT", "/calendar/2027", body, 200).decode(t, &y)
	if y.Source != "stored" || y.UpdatedBy != adminApp.ID || !slices.Equal(y.Workdays, []string{"2027-02-20"}) || len(y.Holidays) != 4 {
		t.Errorf("stored 2027 = %+v", y)
	}
	f.must(dept2App, "GET", "/calendar/2027", "", 200).decode(t, &y)
	if y.Source != "stored" || len(y.Holidays) != 4 {
		t.Errorf("2027 read back = %+v", y)
	}
	var next time.Time
	if err := f.svc.DB().QueryRow(context.Background(), `SELECT next_check_at FROM cases WHERE serial = 'R1'`).Scan(&next); err != nil {
		t.Fatal(err)
	}
	if next.After(time.Now()) {
		t.Errorf("after a calendar change R1 is next checked at %s, want now", next)
	}
	var rep struct {
		Scanned  int
		Warnings []string
	}
	f.cron().decode(t, &rep)
	if rep.Scanned != 1 {
		t.Errorf("scan after the calendar change = %+v, want R1 scanned", rep)
	}
	if y := calendar.DateOf(time.Now().AddDate(1, 0, 0)).Year; y <= 2027 && len(rep.Warnings) != 0 {
		t.Errorf("warnings once 2027 is stored: %q", rep.Warnings)
	}
}

// PUT /calendar/{year} outside 2000-2199 is a 422 naming the year
// (calendar.MinYear's contract, and ParseYear's out_of_range).
func TestPutCalendarOutOfRangeYear(t *testing.T) {
	f := newFn(t)
	for _, y := range []string{"1999", "2200"} {
		f.wantProblem(f.call(adminApp, "PUT", "/calendar/"+y, `{"holidays":[],"workdays":[]}`), 422, "validation_failed", "year", "out_of_range")
	}
}

func TestCardRoutes(t *testing.T) {
	f := newFn(t)
	f.insertCase("K1", "D-1", "submitted", ago(2*time.Hour), nil, nil, ago(2*time.Hour))
	f.insertCase("K2", "D-1", "accepted", ago(50*time.Hour), ago(time.Hour), ago(-30*24*time.Hour), ago(time.Hour))
	f.insertCase("K3", "D-2", "submitted", ago(3*time.Hour), nil, nil, ago(3*time.Hour))
	if a := f.cron(); a.status != 200 || !strings.Contains(string(a.body), `"issued":3`) {
		t.Fatalf("scan = %d %s", a.status, a.body)
	}

	t.Run("who lists what", func(t *testing.T) {
		for _, tt := range []struct {
			app   auth.AppRecord
			query string
			want  []string
		}{
			{supervisorApp, "", []string{"K1", "K2", "K3"}},
			{adminApp, "?department=D-2", []string{"K3"}},
			{dept1App, "", []string{"K1", "K2"}},
			{dept1App, "?department=D-2", nil},
			{dept2App, "?caseSerial=K1", nil},
			{deptNoneApp, "", nil},
			{supervisorApp, "?level=red&status=active&caseSerial=K2", []string{"K2"}},
			{supervisorApp, "?rule=nonsense&level=yellow", nil},
		} {
			var l cardList
			a := f.must(tt.app, "GET", "/cards"+tt.query, "", 200)
			a.decode(t, &l)
			if got := l.serials(); !slices.Equal(got, tt.want) || l.Items == nil {
				t.Errorf("GET /cards%s as %s = %s, want %v", tt.query, tt.app.ID, a.body, tt.want)
			}
		}
		f.wantProblem(f.call(portalApp, "GET", "/cards", ""), 403, "forbidden")
		f.wantProblem(f.call(supervisorApp, "GET", "/cards?level=green", ""), 422, "validation_failed", "level", "invalid")
		f.wantProblem(f.call(supervisorApp, "GET", "/cards?status=gone", ""), 422, "validation_failed", "status", "invalid")
		f.wantProblem(f.call(supervisorApp, "GET", "/cards?limit=0", ""), 400, "invalid_limit")
		f.wantProblem(f.call(supervisorApp, "GET", "/cards?limit=501", ""), 400, "invalid_limit")
		f.wantProblem(f.call(supervisorApp, "GET", "/cards?cursor=bm9wZQ", ""), 400, "invalid_cursor")
	})

	t.Run("pages", func(t *testing.T) {
		var seen []string
		path := "/cards?limit=2"
		for range 5 {
			var l cardList
			f.must(supervisorApp, "GET", path, "", 200).decode(t, &l)
			for _, c := range l.Items {
				seen = append(seen, c.CaseSerial)
			}
			if l.NextCursor == nil {
				break
			}
			path = "/cards?limit=2&cursor=" + *l.NextCursor
		}
		slices.Sort(seen)
		if !slices.Equal(seen, []string{"K1", "K2", "K3"}) {
			t.Errorf("pages walked %v", seen)
		}
	})

	t.Run("revocation", func(t *testing.T) {
		var l cardList
		f.must(supervisorApp, "GET", "/cards?caseSerial=K1", "", 200).decode(t, &l)
		id := l.Items[0].CardID
		req := "/cards/" + id + "/revocation"
		dec := req + "/decision"
		f.wantProblem(f.call(dept2App, "POST", req, `{"reason":"误判"}`), 404, "not_found")
		f.wantProblem(f.call(supervisorApp, "POST", req, `{"reason":"误判"}`), 403, "forbidden")
		f.wantProblem(f.call(dept1App, "POST", req, `{}`), 422, "validation_failed", "reason", "required")
		f.wantProblem(f.call(dept1App, "POST", req, `{"reason":"x","extra":1}`), 400, "invalid_json")
		f.wantProblem(f.call(dept1App, "POST", "/cards/00000000-0000-7000-8000-000000000000/revocation", `{"reason":"误判"}`), 404, "not_found")
		f.wantProblem(f.call(supervisorApp, "POST", dec, `{"approve":true}`), 409, "illegal_transition")

		var c struct{ Status string }
		f.must(dept1App, "POST", req, `{"reason":"系统故障导致超期"}`, 200).decode(t, &c)
		if c.Status != "revocation_requested" {
			t.Errorf("requested: %+v", c)
		}
		f.wantProblem(f.call(dept1App, "POST", req, `{"reason":"again"}`), 409, "illegal_transition")
		for _, app := range []auth.AppRecord{dept1App, adminApp, portalApp} {
			f.wantProblem(f.call(app, "POST", dec, `{"approve":true}`), 403, "forbidden")
		}
		f.wantProblem(f.call(supervisorApp, "POST", dec, `{"note":"?"}`), 422, "validation_failed", "approve", "required")
		f.must(supervisorApp, "POST", dec, `{"approve":false,"note":"证据不足"}`, 200).decode(t, &c)
		if c.Status != "active" {
			t.Errorf("refused: %+v", c)
		}
		f.must(dept1App, "POST", req, `{"reason":"补充证据"}`, 200)
		f.must(supervisorApp, "POST", dec, `{"approve":true,"note":"同意"}`, 200).decode(t, &c)
		if c.Status != "revoked" {
			t.Errorf("approved: %+v", c)
		}
		var revoked cardList
		f.must(dept1App, "GET", "/cards?status=revoked", "", 200).decode(t, &revoked)
		if got := revoked.serials(); !slices.Equal(got, []string{"K1"}) || len(revoked.Items[0].History) != 5 {
			t.Errorf("revoked cards = %+v", revoked)
		}
	})
}

func TestStatsRoute(t *testing.T) {
	f := newFn(t)
	f.insertCase("S1", "D-1", "submitted", ago(2*time.Hour), nil, nil, ago(2*time.Hour))
	f.insertCase("S2", "D-2", "supplement_requested", nil, nil, nil, nil)
	f.cron()
	today := calendar.DateOf(time.Now())
	q := "/stats?from=" + today.AddDays(-1).String() + "&to=" + today.AddDays(1).String() + "&groupBy=department"
	for _, app := range []auth.AppRecord{dept1App, portalApp} {
		f.wantProblem(f.call(app, "GET", q, ""), 403, "forbidden")
	}
	var st struct {
		From, To, GroupBy string
		Groups            []struct {
			Key         string
			Cards       struct{ Yellow, Red, Black int }
			Submissions int
		}
		Items []json.RawMessage
	}
	for _, app := range []auth.AppRecord{supervisorApp, adminApp} {
		f.must(app, "GET", q, "", 200).decode(t, &st)
		if st.GroupBy != "department" || st.From != today.AddDays(-1).String() || len(st.Groups) != 2 || st.Items == nil ||
			st.Groups[0].Key != "D-1" || st.Groups[0].Cards.Red != 1 || st.Groups[0].Submissions != 1 ||
			st.Groups[1].Key != "D-2" || st.Groups[1].Cards.Red != 0 || st.Groups[1].Submissions != 1 {
			t.Errorf("GET %s as %s = %+v", q, app.ID, st)
		}
	}
	f.wantProblem(f.call(supervisorApp, "GET", "/stats", ""), 422, "validation_failed",
		"from", "invalid", "to", "invalid", "groupBy", "invalid")
	f.wantProblem(f.call(supervisorApp, "GET", "/stats?from=2026-11-30&to=2026-11-01&groupBy=item", ""), 422, "validation_failed", "to", "invalid")
	f.wantProblem(f.call(supervisorApp, "GET", "/stats?from=2025-01-01&to=2026-11-30&groupBy=region", ""), 422, "validation_failed", "to", "invalid")
	f.wantProblem(f.call(supervisorApp, "GET", "/stats?from=2026-11-01&to=2026-11-30&groupBy=app", ""), 422, "validation_failed", "groupBy", "invalid")
}

func TestThresholdRoutes(t *testing.T) {
	f := newFn(t)
	var th struct{ YellowDaysBefore int }
	f.must(supervisorApp, "GET", "/thresholds/items/IT-1", "", 200).decode(t, &th)
	if th.YellowDaysBefore != 0 {
		t.Errorf("default threshold = %+v", th)
	}
	f.wantProblem(f.call(supervisorApp, "PUT", "/thresholds/items/IT-1", `{"yellowDaysBefore":2}`), 403, "forbidden")
	f.wantProblem(f.call(dept1App, "GET", "/thresholds/items/IT-1", ""), 403, "forbidden")
	f.wantProblem(f.call(adminApp, "PUT", "/thresholds/items/IT-1", `{"yellowDaysBefore":31}`), 422, "validation_failed", "yellowDaysBefore", "invalid")
	f.wantProblem(f.call(adminApp, "PUT", "/thresholds/cases/IT-1", `{"yellowDaysBefore":1}`), 404, "not_found")
	f.must(adminApp, "PUT", "/thresholds/departments/D-1", `{"yellowDaysBefore":2}`, 200)
	f.must(supervisorApp, "GET", "/thresholds/departments/D-1", "", 200).decode(t, &th)
	if th.YellowDaysBefore != 2 {
		t.Errorf("stored threshold = %+v", th)
	}
}
