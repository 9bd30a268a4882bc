package licenses_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/calendar"
	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/licenses"
	"github.com/onewindow/onewindow/shared/objects"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/serial"
	"github.com/onewindow/onewindow/shared/testenv"
	"github.com/onewindow/onewindow/shared/webhook"
)

// The apps of the scenarios. The market regulator issues business
// licenses (LT-YYZZ), the police special-trade permits (LT-TZHY); culture
// handles the homestay item whose cases serve as purposes.
var (
	market     = auth.App{ID: "scjg-sys", Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{"130000-SCJG"}}
	police     = auth.App{ID: "police-sys", Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{"130100-GA"}}
	culture    = auth.App{ID: "culture-sys", Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{"130100-WL"}}
	portal     = auth.App{ID: "portal", Roles: []auth.Role{auth.RolePlatform}}
	portal2    = auth.App{ID: "wechat-hall", Roles: []auth.Role{auth.RolePlatform}}
	supervisor = auth.App{ID: "supervision", Roles: []auth.Role{auth.RoleSupervisor}}
)

// Holders: a person (GB 11643 check digit right) and an enterprise (GB
// 32100 check character right).
var (
	person     = licenses.Holder{IDType: "resident_id", IDNumber: "11010519491231002X", Name: "张三"}
	enterprise = licenses.Holder{IDType: "uscc", IDNumber: "91350100M000100Y43", Name: "石家庄山居民宿有限公司"}
)

var pdfBytes = []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

// clock is the time of the desk and the registry, moved by tests.
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
	tb    testing.TB
	ctx   context.Context
	db    *pgxpool.Pool
	store objects.Store
	desk  *cases.Desk
	reg   *licenses.Registry
	clock *clock
}

// newHarness builds a case desk that accepts licenses as materials and a
// registry over a fresh database and bucket, with the catalogue of the
// scenarios. urlExpiry 0 is the default 300 s.
func newHarness(tb testing.TB, urlExpiry time.Duration) *harness {
	tb.Helper()
	ctx := context.Background()
	db := testenv.Pool(tb)
	store, err := objects.New(ctx, testenv.ObjectStore(tb))
	if err != nil {
		tb.Fatal(err)
	}
	if err := store.EnsureBucket(ctx); err != nil {
		tb.Fatal(err)
	}
	h := &harness{tb: tb, ctx: ctx, db: db, store: store,
		clock: &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, serial.Shanghai)}}
	cat := catalog.Open(db, catalog.Config{})
	tb.Cleanup(cat.Close)
	h.seedCatalog(cat)
	alloc, err := serial.NewAllocator(db, serial.Config{Now: h.clock.Now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(alloc.Close)
	outbox, err := webhook.New(db, webhook.Config{Endpoints: webhook.EndpointFunc(
		func(context.Context, string) (string, string, error) { return "", "", nil })})
	if err != nil {
		tb.Fatal(err)
	}
	h.desk, err = cases.New(cases.Config{DB: db, Catalog: cat, Objects: store, Serials: alloc,
		Calendars: calendar.NewStore(db, calendar.StoreConfig{}), Outbox: outbox,
		Licenses: licenses.ForCases(db), Now: h.clock.Now})
	if err != nil {
		tb.Fatal(err)
	}
	h.reg, err = licenses.New(licenses.Config{DB: db, Catalog: cat, Objects: store, Cases: h.desk,
		URLExpiry: urlExpiry, Now: h.clock.Now})
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

func (h *harness) seedCatalog(cat *catalog.Catalog) {
	for code, d := range map[string]catalog.DepartmentInput{
		"130000-SCJG": {Name: "河北省市场监督管理局", Region: "130000"},
		"130100-GA":   {Name: "石家庄市公安局", Region: "130100"},
		"130100-WL":   {Name: "石家庄市文化广电和旅游局", Region: "130100"},
	} {
		if _, err := cat.PutDepartment(h.ctx, "test", code, d); err != nil {
			h.tb.Fatal(err)
		}
	}
	for code, lt := range map[string]catalog.LicenseTypeInput{
		"LT-YYZZ": {Name: "营业执照", Department: "130000-SCJG"},
		"LT-TZHY": {Name: "特种行业许可证", Department: "130100-GA"},
		"LT-OLD":  {Name: "已废止证照", Department: "130000-SCJG", Status: catalog.StatusAbolished},
	} {
		if _, err := cat.PutLicenseType(h.ctx, "test", code, lt); err != nil {
			h.tb.Fatal(err)
		}
	}
	var item catalog.ItemInput
	if err := json.Unmarshal([]byte(`{"name":"民宿开办文化许可","kind":"行政许可","department":"130100-WL","region":"130100",
		"legalDays":20,"promisedDays":5,
		"materials":[{"code":"M-ID","name":"身份证明","required":true,"contentTypes":["application/pdf"]},
			{"code":"M-YYZZ","name":"营业执照","contentTypes":["application/pdf"],"licenseType":"LT-YYZZ"}]}`), &item); err != nil {
		h.tb.Fatal(err)
	}
	if _, err := cat.PutItem(h.ctx, "test", "HS-WL-01", item); err != nil {
		p, _ := problem.As(err)
		h.tb.Fatalf("item: %v %+v", err, p)
	}
}

func sum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// upload announces a file for app and PUTs its bytes to the presigned URL.
func (h *harness) upload(app auth.App, contentType string, data []byte) string {
	h.tb.Helper()
	id, err := h.tryUpload(app, contentType, data)
	if err != nil {
		h.tb.Fatal(err)
	}
	return id
}

// tryUpload is upload for goroutines other than the test's.
func (h *harness) tryUpload(app auth.App, contentType string, data []byte) (string, error) {
	up, err := h.desk.NewUpload(h.ctx, app, cases.UploadInput{FileName: "营业执照.pdf", ContentType: contentType,
		SizeBytes: int64(len(data)), SHA256: sum(data)})
	if err != nil {
		return "", err
	}
	req, _ := http.NewRequestWithContext(h.ctx, http.MethodPut, up.PutURL, bytes.NewReader(data))
	for k, v := range up.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("PUT upload: %s", resp.Status)
	}
	return up.UploadID, nil
}

// fileOf is a license file whose bytes name the license, so each has its
// own SHA-256.
func fileOf(no string) []byte { return append(append([]byte(nil), pdfBytes...), no...) }

// input is a complete business license for holder with its file uploaded.
func (h *harness) input(no string, holder licenses.Holder) licenses.IssueInput {
	return licenses.IssueInput{TypeCode: "LT-YYZZ", LicenseNo: no, Holder: holder,
		IssuedAt: "2026-01-05", ValidUntil: "2046-01-04", Data: json.RawMessage(`{"注册资本":"100万元"}`),
		UploadID: h.upload(market, "application/pdf", fileOf(no))}
}

// issue issues a business license to holder and fails the test otherwise.
func (h *harness) issue(no string, holder licenses.Holder) licenses.License {
	h.tb.Helper()
	l, err := h.reg.Issue(h.ctx, market, h.input(no, holder))
	if err != nil {
		h.tb.Fatalf("issue %s: %v", no, err)
	}
	return l
}

// submit files a homestay case for applicant through portal; license, when
// set, stands in for the business license material.
func (h *harness) submit(app auth.App, license string) (cases.Receipt, error) {
	in := cases.Submission{ItemCode: "HS-WL-01", Channel: "online", Region: "130102",
		Applicant: cases.Applicant{Type: "person", Name: person.Name, IDType: person.IDType, IDNumber: person.IDNumber},
		Materials: []cases.MaterialInput{{Code: "M-ID", UploadIDs: []string{h.upload(app, "application/pdf", pdfBytes)}}}}
	if license != "" {
		in.Materials = append(in.Materials, cases.MaterialInput{Code: "M-YYZZ", LicenseNo: license})
	}
	return h.desk.Submit(h.ctx, app, in)
}

func (h *harness) mustSubmit(app auth.App) string {
	h.tb.Helper()
	r, err := h.submit(app, "")
	if err != nil {
		h.tb.Fatal(err)
	}
	return r.Serial
}

// download GETs a presigned URL.
func download(tb testing.TB, url string) (int, []byte) {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// wantProblem checks err is a problem with this status and code and, for
// validation_failed, that these field/code pairs are among its errors.
func wantProblem(t testing.TB, err error, status int, code string, fields ...string) {
	t.Helper()
	p, ok := problem.As(err)
	if !ok {
		t.Fatalf("err = %v, want a %d %s problem", err, status, code)
	}
	if p.Status != status || p.Code != code {
		t.Fatalf("problem = %d %s (%s %+v), want %d %s", p.Status, p.Code, p.Detail, p.Errors, status, code)
	}
	for i := 0; i+1 < len(fields); i += 2 {
		found := false
		for _, fe := range p.Errors {
			if fe.Field == fields[i] && fe.Code == fields[i+1] {
				found = true
			}
		}
		if !found {
			t.Errorf("no error %s/%s among %+v", fields[i], fields[i+1], p.Errors)
		}
	}
}
