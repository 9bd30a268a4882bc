package function

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

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
		{"GET", "/items", ""}, {"GET", "/items/X", ""}, {"GET", "/bundles/SJZ-YJS-MINSU", ""},
		{"GET", "/scopes/selection", ""}, {"GET", "/nope", ""},
	})
}

var (
	adminApp  = auth.AppRecord{ID: "onewindow-admin", Secret: "admin-secret-0123456789", Roles: []auth.Role{auth.RoleAdmin}}
	portalApp = auth.AppRecord{ID: "hebei-portal", Secret: "portal-secret-0123456789", Roles: []auth.Role{auth.RolePlatform}}
	deptApp   = auth.AppRecord{ID: "sjz-police", Secret: "police-secret-0123456789", Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{"130100-GA"}}
)

// fn is the function over a fresh database, as the template would run it.
type fn struct {
	t   *testing.T
	svc *service.Service
	api *api
}

func newFn(t *testing.T) *fn {
	t.Helper()
	if os.Getenv(testenv.EnvPostgresURL) == "" {
		// The template's image build runs these tests without servers;
		// `make test` always provides them.
		t.Skip("needs the test PostgreSQL: run with `make test`")
	}
	f := &fn{t: t}
	f.svc = service.NewWithConfig(config.Config{Function: "catalog-lookup", DatabaseURL: testenv.DatabaseURL(t), DBMaxConns: 4,
		Objects: config.ObjectStore{Driver: "minio"}}, func(s *service.Service, r *httpx.Router) {
		f.api = newAPI(s)
		routes(r, f.api)
	})
	t.Cleanup(func() { f.api.cat.Close(); f.svc.DB().Close() })
	if err := auth.SaveApps(context.Background(), f.svc.DB(), []auth.AppRecord{adminApp, portalApp, deptApp}); err != nil {
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

// call signs a request as app and serves it; edit may add headers.
func (f *fn) call(app auth.AppRecord, method, pathAndQuery, body string, edit func(http.Header)) answer {
	f.t.Helper()
	resp := f.svc.Handle(servicetest.Signed(f.t, "catalog-lookup", app, method, pathAndQuery, body, edit))
	return answer{resp.StatusCode, resp.Header, resp.Body}
}

func (f *fn) must(app auth.AppRecord, method, path, body string, status int) answer {
	f.t.Helper()
	a := f.call(app, method, path, body, nil)
	if a.status != status {
		f.t.Fatalf("%s %s = %d %s, want %d", method, path, a.status, a.body, status)
	}
	return a
}

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// load writes a small catalogue through the API.
func (f *fn) load() {
	f.must(adminApp, "PUT", "/departments/130100-GA", `{"name":"石家庄市公安局","region":"130100","webhookUrl":"https://ga.example/hook","webhookSecret":"`+secret+`"}`, 201)
	f.must(adminApp, "PUT", "/departments/130100-XZSP", `{"name":"石家庄市行政审批局","region":"130100","webhookUrl":""}`, 201)
	f.must(adminApp, "PUT", "/departments/130000-SCJG", `{"name":"河北省市场监督管理局","region":"130000"}`, 201)
	f.must(adminApp, "PUT", "/license-types/LT-YYZZ", `{"name":"营业执照","department":"130000-SCJG"}`, 201)
	item := func(code, name, dept, mats string) {
		f.must(adminApp, "PUT", "/items/"+code, `{"code":"`+code+`","name":"`+name+`","kind":"行政许可","department":{"code":"`+dept+`"},
			"region":"130100","legalDays":20,"promisedDays":5,"fee":{"required":false,"amountFen":0},"mail":true,"materials":[`+mats+`]}`, 201)
	}
	yyzz := `{"code":"M-YYZZ","name":"营业执照","required":true,"maxBytes":5242880,"contentTypes":["application/pdf","image/jpeg"],"licenseType":"LT-YYZZ"}`
	item("SJZ-GA-TZHY-001", "旅馆业特种行业许可证核发", "130100-GA", yyzz+`,{"code":"M-PMT","name":"旅馆平面图","required":true,"contentTypes":["application/pdf"]}`)
	item("HB-SCJG-SPJY-001", "食品经营许可", "130000-SCJG", yyzz)
	item("HB-SCJG-XCY-001", "食品小餐饮登记", "130000-SCJG", `{"code":"M-YYZZ","name":"营业执照","required":false,"maxBytes":2097152,"contentTypes":["image/jpeg"]}`)
	f.must(adminApp, "PUT", "/bundles/SJZ-YJS-MINSU", `{"name":"民宿一件事","leadDepartment":"130100-XZSP","promisedDays":10,
		"items":["SJZ-GA-TZHY-001","HB-SCJG-SPJY-001","HB-SCJG-XCY-001"]}`, 201)
	f.must(adminApp, "PUT", "/scopes/SC-1301", `{"name":"食品销售","domain":"食品","expressions":[{"id":"A","text":"赵县雪花梨销售"},{"id":"B","text":"藁城宫面销售"}]}`, 201)
	f.must(adminApp, "PUT", "/scopes/SC-6110", `{"name":"住宿服务","domain":"文化旅游","expressions":[{"id":"A","text":"乡村民宿经营"}]}`, 201)
}

type itemList struct {
	Items []struct {
		Code, Name string
	} `json:"items"`
	NextCursor string `json:"nextCursor"`
}

func TestCatalogThroughTheFunction(t *testing.T) {
	f := newFn(t)
	f.load()

	t.Run("search", func(t *testing.T) {
		for _, tt := range []struct {
			query string
			want  []string
		}{
			{"q=%E9%A3%9F%E5%93%81", []string{"HB-SCJG-SPJY-001", "HB-SCJG-XCY-001"}}, // 食品
			{"q=" + "旅", []string{"SJZ-GA-TZHY-001"}},
			{"q=%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7", []string{"HB-SCJG-SPJY-001", "HB-SCJG-XCY-001", "SJZ-GA-TZHY-001"}}, // 营业执照: materials only
			{"q=SJZ-GA-TZHY-001", []string{"SJZ-GA-TZHY-001"}},
			{"department=130000-SCJG", []string{"HB-SCJG-SPJY-001", "HB-SCJG-XCY-001"}},
			{"kind=%E8%A1%8C%E6%94%BF%E8%AE%B8%E5%8F%AF&region=130100&limit=500", []string{"HB-SCJG-SPJY-001", "HB-SCJG-XCY-001", "SJZ-GA-TZHY-001"}},
		} {
			var got itemList
			f.must(portalApp, "GET", "/items?"+tt.query, "", 200).decode(t, &got)
			var codes []string
			for _, it := range got.Items {
				codes = append(codes, it.Code)
			}
			if !slices.Equal(codes, tt.want) {
				t.Errorf("GET /items?%s = %q, want %q", tt.query, codes, tt.want)
			}
		}
		var page1, page2 itemList
		f.must(portalApp, "GET", "/items?limit=2", "", 200).decode(t, &page1)
		if len(page1.Items) != 2 || page1.NextCursor == "" {
			t.Fatalf("page 1 = %+v", page1)
		}
		f.must(portalApp, "GET", "/items?limit=2&cursor="+page1.NextCursor, "", 200).decode(t, &page2)
		if len(page2.Items) != 1 || page2.NextCursor != "" || !strings.Contains(string(f.must(portalApp, "GET", "/items?limit=2&cursor="+page1.NextCursor, "", 200).body), `"items"`) {
			t.Errorf("page 2 = %+v", page2)
		}
		if a := f.must(portalApp, "GET", "/items?q=%E4%B8%8D%E5%AD%98%E5%9C%A8", "", 200); string(a.body) != `{"items":[]}` {
			t.Errorf("no match = %s", a.body)
		}
	})

	t.Run("item with ETag", func(t *testing.T) {
		a := f.must(deptApp, "GET", "/items/SJZ-GA-TZHY-001", "", 200)
		etag := a.header.Get("ETag")
		var it struct {
			Code       string
			Version    int
			AcceptDays int
			Department struct{ Code, Name string }
			Status     string
			UpdatedAt  string
			FormSchema json.RawMessage
		}
		a.decode(t, &it)
		if it.Version != 1 || it.AcceptDays != 5 || it.Department.Name != "石家庄市公安局" || it.Status != "published" ||
			!strings.HasSuffix(it.UpdatedAt, "+08:00") || string(it.FormSchema) != "null" || etag == "" {
			t.Errorf("item = %s (ETag %q)", a.body, etag)
		}
		nm := f.call(deptApp, "GET", "/items/SJZ-GA-TZHY-001", "", func(h http.Header) { h.Set("If-None-Match", etag) })
		if nm.status != 304 || len(nm.body) != 0 || nm.header.Get("ETag") != etag {
			t.Errorf("If-None-Match = %d %q %q", nm.status, nm.body, nm.header.Get("ETag"))
		}
		// A change gives a new tag, and the old one no longer matches.
		f.must(adminApp, "PUT", "/items/SJZ-GA-TZHY-001", `{"name":"旅馆业特种行业许可证核发（告知承诺制）","kind":"行政许可","department":"130100-GA",
			"region":"130100","legalDays":20,"promisedDays":3,"materials":[]}`, 200)
		changed := f.call(deptApp, "GET", "/items/SJZ-GA-TZHY-001", "", func(h http.Header) { h.Set("If-None-Match", etag) })
		if changed.status != 200 || changed.header.Get("ETag") == etag || !strings.Contains(string(changed.body), `"version":2`) {
			t.Errorf("after a change = %d %s", changed.status, changed.body)
		}
		// An identical PUT keeps the version.
		same := f.must(adminApp, "PUT", "/items/SJZ-GA-TZHY-001", `{"name":"旅馆业特种行业许可证核发（告知承诺制）","kind":"行政许可","department":"130100-GA",
			"region":"130100","legalDays":20,"promisedDays":3,"materials":[]}`, 200)
		if !strings.Contains(string(same.body), `"version":2`) {
			t.Errorf("identical PUT = %s", same.body)
		}
		// Written back as read.
		f.must(adminApp, "PUT", "/items/SJZ-GA-TZHY-001", string(changed.body), 200)
	})

	t.Run("bundle expanded", func(t *testing.T) {
		var b struct {
			Code      string
			Items     []struct{ Code, Name string }
			ItemCodes []string
			Materials []struct {
				Code         string
				MaxBytes     int64
				ContentTypes []string
				Items        []string
				Required     bool
			}
		}
		a := f.must(portalApp, "GET", "/bundles/SJZ-YJS-MINSU", "", 200)
		a.decode(t, &b)
		if len(b.Items) != 3 || b.Items[1].Name != "食品经营许可" || len(b.ItemCodes) != 3 {
			t.Fatalf("bundle = %s", a.body)
		}
		if len(b.Materials) != 1 || b.Materials[0].Code != "M-YYZZ" || len(b.Materials[0].Items) != 2 ||
			b.Materials[0].MaxBytes != 2097152 || !slices.Equal(b.Materials[0].ContentTypes, []string{"image/jpeg"}) || !b.Materials[0].Required {
			t.Errorf("materials = %+v", b.Materials)
		}
		if a.header.Get("ETag") == "" {
			t.Error("no ETag")
		}
		var l struct {
			Items []struct {
				Code  string
				Items []string
			}
		}
		f.must(portalApp, "GET", "/bundles?q=%E6%B0%91%E5%AE%BF", "", 200).decode(t, &l) // 民宿
		if len(l.Items) != 1 || len(l.Items[0].Items) != 3 {
			t.Errorf("bundles?q=民宿 = %+v", l)
		}
	})

	t.Run("scopes and selections", func(t *testing.T) {
		var l itemList
		f.must(portalApp, "GET", "/scopes?q=%E6%B0%91%E5%AE%BF", "", 200).decode(t, &l) // 民宿, in an expression
		if len(l.Items) != 1 || l.Items[0].Code != "SC-6110" {
			t.Errorf("scopes?q=民宿 = %+v", l)
		}
		f.must(portalApp, "GET", "/scopes?domain=%E9%A3%9F%E5%93%81", "", 200).decode(t, &l)
		if len(l.Items) != 1 || l.Items[0].Code != "SC-1301" {
			t.Errorf("scopes?domain=食品 = %+v", l)
		}
		const uscc = "91130100MA0CXK1L28"
		f.must(portalApp, "PUT", "/scopes/selection?uscc="+uscc, `{"entries":[{"code":"SC-1301","expressionIds":["A","B"]}]}`, 200)
		var sel struct {
			USCC    string
			Version int
			Entries []struct {
				Code        string
				Name        string
				Expressions []struct{ ID, Text string }
			}
		}
		f.must(deptApp, "GET", "/scopes/selection?uscc="+uscc, "", 200).decode(t, &sel)
		if sel.USCC != uscc || sel.Version != 1 || len(sel.Entries) != 1 || sel.Entries[0].Expressions[1].Text != "藁城宫面销售" {
			t.Errorf("selection = %+v", sel)
		}
		p := f.must(portalApp, "PUT", "/scopes/selection?uscc="+uscc, `{"entries":[{"code":"SC-9999","expressionIds":["A"]},{"code":"SC-1301","expressionIds":["Z"]}]}`, 422).problem(t)
		if p.Code != "validation_failed" || len(p.Errors) != 2 || p.Errors[0].Field != "entries.0.code" || p.Errors[1].Field != "entries.1.expressionIds.0" {
			t.Errorf("bad selection = %+v", p)
		}
		for _, path := range []string{"/scopes/selection?uscc=91130100MA0CXK1L29", "/scopes/selection", "/scopes/selection?uscc=x"} {
			if p := f.must(portalApp, "GET", path, "", 400).problem(t); p.Code != "invalid_uscc" {
				t.Errorf("GET %s = %+v", path, p)
			}
		}
		if p := f.must(portalApp, "PUT", "/scopes/selection?uscc=91130100MA0CXK1L29", `{"entries":[]}`, 400).problem(t); p.Code != "invalid_uscc" {
			t.Errorf("PUT bad uscc = %+v", p)
		}
		f.must(deptApp, "PUT", "/scopes/selection?uscc="+uscc, `{"entries":[]}`, 403)

		var st struct {
			Month   string
			Saves   int
			Domains []struct {
				Domain     string
				Selections int
			}
		}
		f.must(portalApp, "GET", "/scopes/stats", "", 200).decode(t, &st)
		if st.Saves != 1 || len(st.Domains) != 1 || st.Domains[0].Domain != "食品" || st.Domains[0].Selections != 1 {
			t.Errorf("stats = %+v", st)
		}
		f.must(portalApp, "GET", "/scopes/stats?month=2020-01", "", 200).decode(t, &st)
		if st.Month != "2020-01" || st.Saves != 0 || st.Domains == nil {
			t.Errorf("empty month = %+v", st)
		}
		if p := f.must(portalApp, "GET", "/scopes/stats?month=2026-13", "", 400).problem(t); p.Code != "invalid_month" {
			t.Errorf("bad month = %+v", p)
		}
		a := f.must(portalApp, "GET", "/scopes/SC-1301", "", 200)
		if a.header.Get("ETag") == "" || !strings.Contains(string(a.body), `"domain":"食品"`) {
			t.Errorf("GET /scopes/SC-1301 = %s", a.body)
		}
	})

	t.Run("license types and departments", func(t *testing.T) {
		var l itemList
		f.must(deptApp, "GET", "/license-types", "", 200).decode(t, &l)
		if len(l.Items) != 1 || l.Items[0].Name != "营业执照" {
			t.Errorf("license types = %+v", l)
		}
		f.must(deptApp, "GET", "/license-types/LT-YYZZ", "", 200)
		a := f.must(adminApp, "GET", "/departments/130100-GA", "", 200)
		if strings.Contains(string(a.body), "whsec_") || !strings.Contains(string(a.body), `"webhookSecretSet":true`) {
			t.Errorf("department = %s", a.body)
		}
		f.must(deptApp, "GET", "/departments/130100-GA", "", 403)
		put := f.must(adminApp, "PUT", "/departments/130100-GA", `{"name":"石家庄市公安局","region":"130100","webhookUrl":"https://ga.example/v2","webhookSecret":"`+secret+`"}`, 200)
		if strings.Contains(string(put.body), "whsec_") {
			t.Errorf("PUT answer shows the secret: %s", put.body)
		}
		var h struct {
			Items []struct {
				Version   int
				Changed   []string
				ChangedBy string
			}
		}
		f.must(adminApp, "GET", "/departments/130100-GA/history", "", 200).decode(t, &h)
		if len(h.Items) != 2 || !slices.Equal(h.Items[0].Changed, []string{"webhookUrl"}) || h.Items[0].ChangedBy != adminApp.ID {
			t.Errorf("history = %+v", h)
		}
		if strings.Contains(string(f.must(adminApp, "GET", "/departments/130100-GA/history?limit=1", "", 200).body), "whsec_") {
			t.Error("history shows the secret")
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tt := range []struct {
			app          auth.AppRecord
			method, path string
			body         string
			status       int
			code         string
		}{
			{portalApp, "GET", "/items/NOPE", "", 404, "not_found"},
			{portalApp, "GET", "/bundles/NOPE", "", 404, "not_found"},
			{portalApp, "GET", "/scopes/NOPE", "", 404, "not_found"},
			{portalApp, "GET", "/license-types/NOPE", "", 404, "not_found"},
			{adminApp, "GET", "/departments/NOPE", "", 404, "not_found"},
			{adminApp, "GET", "/items/NOPE/history", "", 404, "not_found"},
			{portalApp, "PUT", "/items/X1", `{}`, 403, "forbidden"},
			{adminApp, "PUT", "/items/X1", `{"code":"X2","name":"n","kind":"k","department":"130100-GA","region":"130100","legalDays":1,"promisedDays":1}`, 422, "validation_failed"},
			{adminApp, "PUT", "/items/X1", `{"name":"n","kind":"k","department":"NOPE","region":"130100","legalDays":1,"promisedDays":1}`, 422, "validation_failed"},
			{adminApp, "PUT", "/items/X1", `{"name":"n","unknown":1}`, 400, "invalid_json"},
			{adminApp, "PUT", "/items/X1", `{"name":"n","legalDays":"20"}`, 400, "invalid_json"},
			{adminApp, "PUT", "/items/X1", ``, 400, "invalid_json"},
			{adminApp, "PUT", "/bundles/B1", `{"name":"b","leadDepartment":"130100-XZSP","promisedDays":1,"items":["NOPE"]}`, 422, "validation_failed"},
			{adminApp, "PUT", "/departments/D1", `{"name":"d","region":"130100","webhookSecret":"secret"}`, 422, "validation_failed"},
			{portalApp, "GET", "/items?limit=0", "", 400, "invalid_limit"},
			{portalApp, "GET", "/items?limit=501", "", 400, "invalid_limit"},
			{portalApp, "GET", "/items?cursor=%21%21", "", 400, "invalid_cursor"},
			{portalApp, "GET", "/items?status=gone", "", 400, "invalid_status"},
			{adminApp, "GET", "/items/X/history?cursor=abc", "", 400, "invalid_cursor"},
			{portalApp, "DELETE", "/items/X1", "", 405, "method_not_allowed"},
			{portalApp, "GET", "/items/%E2%80%8B%00", "", 404, "not_found"},
		} {
			a := f.call(tt.app, tt.method, tt.path, tt.body, nil)
			if a.status != tt.status {
				t.Errorf("%s %s = %d %s, want %d", tt.method, tt.path, a.status, a.body, tt.status)
				continue
			}
			if p := a.problem(t); p.Code != tt.code {
				t.Errorf("%s %s: code %q, want %q", tt.method, tt.path, p.Code, tt.code)
			}
		}
	})
}
