package function

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/config"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/licenses"
	"github.com/onewindow/onewindow/shared/objects"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/service"
	"github.com/onewindow/onewindow/shared/service/servicetest"
	"github.com/onewindow/onewindow/shared/store"
	"github.com/onewindow/onewindow/shared/testenv"
)

// Without a database (no DATABASE_URL in unit tests) requests through
// Handle stop at authentication (401) or at the 503 of a misconfigured
// function: a problem, never a 500.
func TestUnsignedRequestsAreProblems(t *testing.T) {
	servicetest.UnsignedAreProblems(t, Handle, []servicetest.Unsigned{
		{"GET", "/attachments/0193a3c4-0000-7000-8000-000000000000", ""},
		{"POST", "/licenses", ""},
		{"GET", "/licenses/X?purpose=1", ""},
		{"POST", "/licenses/verify", ""},
		{"GET", "/stats/usage", ""},
		{"GET", "/nope", ""},
	})
}

func app(id string, role auth.Role, departments ...string) auth.AppRecord {
	return auth.AppRecord{ID: id, Secret: id + "-secret-0123456789", Roles: []auth.Role{role}, Departments: departments}
}

var (
	marketApp  = app("scjg-sys", auth.RoleDepartment, "130000-SCJG")
	policeApp  = app("police-sys", auth.RoleDepartment, "130100-GA")
	cultureApp = app("culture-sys", auth.RoleDepartment, "130100-WL")
	portalApp  = app("hebei-portal", auth.RolePlatform)
	wechatApp  = app("wechat-hall", auth.RolePlatform)
	superApp   = app("supervision", auth.RoleSupervisor)
	adminApp   = app("onewindow-admin", auth.RoleAdmin)
)

// fn is the function over a fresh database and bucket, as the template
// would run it.
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
		t.Skip("needs the test PostgreSQL and MinIO: run with `make test`")
	}
	ctx := context.Background()
	dbURL := testenv.DatabaseURL(t)
	objs := testenv.ObjectStore(t)
	st, err := objects.New(ctx, objs)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	seed(t, dbURL)
	f := &fn{t: t}
	f.svc = service.NewWithConfig(config.Config{Function: "document-fetch", DatabaseURL: dbURL, DBMaxConns: 4, Objects: objs},
		func(s *service.Service, r *httpx.Router) {
			f.desk = newDesk(s, licenses.Config{})
			routes(r, f.desk)
		})
	t.Cleanup(func() { f.svc.DB().Close() })
	return f
}

// seed writes the apps and the catalogue before the function starts, so
// its first catalogue snapshot holds them.
func seed(t *testing.T, dbURL string) {
	ctx := context.Background()
	db, err := store.Open(ctx, dbURL, store.PoolOptions{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := auth.SaveApps(ctx, db, []auth.AppRecord{marketApp, policeApp, cultureApp, portalApp, wechatApp, superApp, adminApp}); err != nil {
		t.Fatal(err)
	}
	cat := catalog.Open(db, catalog.Config{})
	defer cat.Close()
	for code, d := range map[string]catalog.DepartmentInput{
		"130000-SCJG": {Name: "河北省市场监督管理局", Region: "130000"},
		"130100-GA":   {Name: "石家庄市公安局", Region: "130100"},
		"130100-WL":   {Name: "石家庄市文化广电和旅游局", Region: "130100"},
	} {
		if _, err := cat.PutDepartment(ctx, "test", code, d); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cat.PutLicenseType(ctx, "test", "LT-YYZZ", catalog.LicenseTypeInput{Name: "营业执照", Department: "130000-SCJG"}); err != nil {
		t.Fatal(err)
	}
	var item catalog.ItemInput
	if err := json.Unmarshal([]byte(`{"name":"民宿开办文化许可","kind":"行政许可","department":"130100-WL","region":"130100",
		"legalDays":20,"promisedDays":5,"materials":[{"code":"M-ID","name":"身份证明","required":true,"contentTypes":["application/pdf"]}]}`), &item); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.PutItem(ctx, "test", "HS-WL-01", item); err != nil {
		t.Fatal(err)
	}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
}

func (a answer) code(t *testing.T) string {
	t.Helper()
	var p problem.Problem
	if a.header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(a.body, &p) != nil {
		t.Fatalf("not a problem: %d %s", a.status, a.body)
	}
	return p.Code
}

// call signs a request as app and serves it; edit may add headers.
func (f *fn) call(app auth.AppRecord, method, pathAndQuery, body string, edit func(http.Header)) answer {
	f.t.Helper()
	resp := f.svc.Handle(servicetest.Signed(f.t, "document-fetch", app, method, pathAndQuery, body, edit))
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

// problemOf asserts a problem answer with status and code.
func (f *fn) problemOf(app auth.AppRecord, method, path, body string, status int, code string) {
	f.t.Helper()
	a := f.must(app, method, path, body, status)
	if got := a.code(f.t); got != code {
		f.t.Errorf("%s %s as %s: code %s, want %s", method, path, app.ID, got, code)
	}
}

// upload announces and PUTs a file as case-submit's POST /uploads would.
func (f *fn) upload(app auth.AppRecord, data []byte) string {
	f.t.Helper()
	s := sha256.Sum256(data)
	up, err := f.desk.cases.NewUpload(context.Background(), app.App(), cases.UploadInput{FileName: "营业执照.pdf",
		ContentType: "application/pdf", SizeBytes: int64(len(data)), SHA256: hex.EncodeToString(s[:])})
	if err != nil {
		f.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, up.PutURL, bytes.NewReader(data))
	for k, v := range up.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		f.t.Fatalf("PUT upload: %v %v", resp, err)
	}
	resp.Body.Close()
	return up.UploadID
}

var pdf = []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")

// variant is a PDF of its own bytes (its own SHA-256).
func variant(n byte) []byte { return append(bytes.Clone(pdf), n) }

const holder = "11010519491231002X"

// Contract section 5 through the function: roles, issuance, purpose-bound
// use, verification, revocation, attachments, history materials and
// statistics.
func TestDocumentFetchThroughTheFunction(t *testing.T) {
	f := newFn(t)
	ctx := context.Background()
	receipt, err := f.desk.cases.Submit(ctx, portalApp.App(), cases.Submission{ItemCode: "HS-WL-01", Channel: "online", Region: "130102",
		Applicant: cases.Applicant{Type: "person", Name: "张三", IDType: "resident_id", IDNumber: holder},
		Materials: []cases.MaterialInput{{Code: "M-ID", UploadIDs: []string{f.upload(portalApp, pdf)}}}})
	if err != nil {
		t.Fatal(err)
	}
	purpose := receipt.Serial
	shanghai := time.FixedZone("CST", 8*3600)
	issued := time.Now().In(shanghai).AddDate(0, -1, 0).Format(time.DateOnly)
	today := time.Now().In(shanghai).Format(time.DateOnly)
	licenseNo := "冀市监（2026）第0001号"
	escaped := url.PathEscape(licenseNo)
	body := func(no string, upload string) string {
		return fmt.Sprintf(`{"typeCode":"LT-YYZZ","licenseNo":%q,"holder":{"idType":"resident_id","idNumber":%q,"name":"张三"},
			"issuedAt":%q,"validUntil":"2046-01-04","data":{"经营范围":"民宿"},"uploadId":%q}`, no, holder, issued, upload)
	}

	t.Run("roles", func(t *testing.T) {
		f.problemOf(portalApp, "POST", "/licenses", body("X", f.upload(portalApp, pdf)), 403, "forbidden")
		f.problemOf(adminApp, "GET", "/licenses/X?purpose="+purpose, "", 403, "forbidden")
		f.problemOf(portalApp, "GET", "/stats/usage?from=2026-01-01&to=2026-12-31", "", 403, "forbidden")
		f.problemOf(cultureApp, "GET", "/materials?holderId="+holder, "", 403, "forbidden")
		f.problemOf(policeApp, "POST", "/licenses", body("X", f.upload(policeApp, pdf)), 403, "forbidden")
	})

	var fileSHA string
	t.Run("issue", func(t *testing.T) {
		b := body(licenseNo, f.upload(marketApp, variant(1)))
		key := func(h http.Header) { h.Set("Idempotency-Key", "issue-1") }
		first := f.call(marketApp, "POST", "/licenses", b, key)
		again := f.call(marketApp, "POST", "/licenses", b, key)
		if first.status != 201 || again.status != 201 || !bytes.Equal(first.body, again.body) || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("issue = %d %s; replay = %d %s", first.status, first.body, again.status, again.body)
		}
		var l licenses.License
		first.decode(t, &l)
		if l.LicenseNo != licenseNo || l.Status != "valid" || l.Holder.IDNumber != "110105********002X" {
			t.Errorf("issued %s", first.body)
		}
		fileSHA = l.File.SHA256
		f.problemOf(marketApp, "POST", "/licenses", b, 409, "license_exists")
		f.problemOf(marketApp, "POST", "/licenses", `{"typeCode":1}`, 400, "invalid_json")
		f.problemOf(marketApp, "POST", "/licenses", body("Y", "0193a3c4-0000-7000-8000-000000000000"), 422, "validation_failed")
	})

	t.Run("use needs a visible purpose", func(t *testing.T) {
		f.problemOf(portalApp, "GET", "/licenses/"+escaped, "", 422, "purpose_required")
		f.problemOf(portalApp, "GET", "/licenses?holderId="+holder, "", 422, "purpose_required")
		f.problemOf(wechatApp, "GET", "/licenses/"+escaped+"?purpose="+purpose, "", 404, "not_found")
		f.problemOf(policeApp, "GET", "/licenses?holderId="+holder+"&purpose="+purpose, "", 404, "not_found")
		f.problemOf(portalApp, "GET", "/licenses/nope?purpose="+purpose, "", 404, "not_found")
		var l licenses.License
		f.must(cultureApp, "GET", "/licenses/"+escaped+"?purpose="+purpose, "", 200).decode(t, &l)
		if l.URL == "" || l.URLExpiresAt == nil || time.Until(*l.URLExpiresAt) > 300*time.Second {
			t.Errorf("license %+v", l)
		}
		var page licenses.Page
		f.must(superApp, "GET", "/licenses?holderId="+holder+"&typeCode=LT-YYZZ&purpose="+purpose, "", 200).decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].LicenseNo != licenseNo || page.Items[0].URL != "" {
			t.Errorf("list %+v", page)
		}
	})

	t.Run("verify and revoke", func(t *testing.T) {
		verify := func(sha string) string {
			var v licenses.Verdict
			f.must(wechatApp, "POST", "/licenses/verify", fmt.Sprintf(`{"licenseNo":%q,"holderId":%q,"sha256":%q}`, licenseNo, holder, sha), 200).decode(t, &v)
			return string(v.Status)
		}
		if got := verify(fileSHA); got != "valid" {
			t.Errorf("verify = %s", got)
		}
		if got := verify(strings.Repeat("0", 64)); got != "mismatch" {
			t.Errorf("verify another file = %s", got)
		}
		f.problemOf(policeApp, "POST", "/licenses/"+escaped+"/revoke", "", 403, "forbidden")
		f.problemOf(marketApp, "POST", "/licenses/nope/revoke", "", 404, "not_found")
		var l licenses.License
		f.must(marketApp, "POST", "/licenses/"+escaped+"/revoke", `{"reason":"企业注销"}`, 200).decode(t, &l)
		if l.Status != "revoked" {
			t.Errorf("revoked %+v", l)
		}
		if got := verify(fileSHA); got != "revoked" {
			t.Errorf("verify after revocation = %s", got)
		}
	})

	t.Run("batch", func(t *testing.T) {
		var res licenses.BatchResult
		f.must(marketApp, "POST", "/licenses/batch", `{"licenses":[`+body("B-1", f.upload(marketApp, variant(2)))+`,`+
			body(licenseNo, f.upload(marketApp, variant(3)))+`,{"licenseNo":"B-3"}]}`, 200).decode(t, &res)
		if res.Created != 1 || res.Exists != 1 || res.Invalid != 1 || res.Results[2].Status != "invalid" || len(res.Results[2].Errors) == 0 {
			t.Errorf("batch %+v", res)
		}
	})

	t.Run("attachments", func(t *testing.T) {
		v, err := f.desk.cases.Get(ctx, portalApp.App(), purpose)
		if err != nil {
			t.Fatal(err)
		}
		id := v.Materials[0].Attachments[0].AttachmentID
		var dl cases.Download
		f.must(portalApp, "GET", "/attachments/"+id, "", 200).decode(t, &dl)
		if dl.URL == "" || dl.SizeBytes != int64(len(pdf)) || dl.FileName != "营业执照.pdf" {
			t.Errorf("download %+v", dl)
		}
		f.problemOf(wechatApp, "GET", "/attachments/"+id, "", 404, "not_found")
		f.problemOf(policeApp, "GET", "/attachments/"+id, "", 404, "not_found")
		f.must(adminApp, "GET", "/attachments/"+id, "", 200)
	})

	t.Run("history materials", func(t *testing.T) {
		var list struct {
			Items []cases.HistoryMaterial `json:"items"`
		}
		f.must(portalApp, "GET", "/materials?holderId="+strings.ToLower(holder), "", 200).decode(t, &list)
		if len(list.Items) != 1 || list.Items[0].MaterialCode != "M-ID" || list.Items[0].CaseSerial != purpose {
			t.Errorf("materials %+v", list)
		}
		if a := f.must(wechatApp, "GET", "/materials?holderId="+holder, "", 200); string(a.body) != `{"items":[]}` {
			t.Errorf("another app's materials: %s", a.body)
		}
		f.problemOf(portalApp, "GET", "/materials", "", 422, "validation_failed")
	})

	t.Run("stats", func(t *testing.T) {
		var s licenses.Stats
		f.must(superApp, "GET", "/stats/issuance?from="+issued+"&to="+today+"&groupBy=type", "", 200).decode(t, &s)
		if len(s.Items) != 1 || s.Items[0].Key != "LT-YYZZ" || s.Items[0].Count != 2 || s.Items[0].Name != "营业执照" {
			t.Errorf("issuance %+v", s)
		}
		f.must(adminApp, "GET", "/stats/usage?from="+today+"&to="+today+"&groupBy=department", "", 200).decode(t, &s)
		if len(s.Items) != 1 || s.Items[0].Key != "130000-SCJG" || s.Items[0].Count != 2 {
			t.Errorf("usage %+v", s)
		}
		f.problemOf(superApp, "GET", "/stats/usage?from=x&to=y", "", 422, "validation_failed")
	})
}
