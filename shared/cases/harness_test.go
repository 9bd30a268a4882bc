package cases_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/calendar"
	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/objects"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/serial"
	"github.com/onewindow/onewindow/shared/testenv"
	"github.com/onewindow/onewindow/shared/webhook"
)

// The apps of the scenarios.
var (
	portal     = auth.App{ID: "portal", Roles: []auth.Role{auth.RolePlatform}}
	portal2    = auth.App{ID: "wechat-hall", Roles: []auth.Role{auth.RolePlatform}}
	culture    = auth.App{ID: "culture-sys", Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{"D-WL"}}
	police     = auth.App{ID: "police-sys", Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{"D-GA"}}
	supervisor = auth.App{ID: "supervision", Roles: []auth.Role{auth.RoleSupervisor}}
)

// A real PDF and PNG head; the rest of a file does not matter to the checks.
var (
	pdfBytes = []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
	pngBytes = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0}, 40)...)
)

// clock is the desk's time, moved by tests.
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

// receiver is a department system: it checks every signature and keeps
// what it got, per department.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret string
	mu     sync.Mutex
	got    map[string][]delivered
	fail   map[string]bool // departments answering 500
}

type delivered struct {
	ID     string
	Type   string
	Serial string
	Status cases.Status
	Event  cases.EventType
	Body   map[string]any
}

func newReceiver(t *testing.T) *receiver {
	key := make([]byte, 32)
	rand.Read(key)
	r := &receiver{t: t, secret: "whsec_" + base64.StdEncoding.EncodeToString(key), got: map[string][]delivered{}, fail: map[string]bool{}}
	wh, err := standardwebhooks.NewWebhook(r.secret)
	if err != nil {
		t.Fatal(err)
	}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		// The desk's clock is the test's, far from the receiver's: the
		// signature is what matters here.
		if err := wh.VerifyIgnoringTimestamp(body, req.Header); err != nil {
			t.Errorf("delivery with a bad signature: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		dept := strings.TrimPrefix(req.URL.Path, "/")
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fail[dept] {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var n struct {
			Type string         `json:"type"`
			Case cases.View     `json:"case"`
			Ev   cases.Event    `json:"event"`
			Raw  map[string]any `json:"-"`
		}
		if err := json.Unmarshal(body, &n); err != nil {
			t.Errorf("delivery body: %v", err)
		}
		var raw map[string]any
		json.Unmarshal(body, &raw)
		r.got[dept] = append(r.got[dept], delivered{ID: req.Header.Get("webhook-id"), Type: n.Type, Serial: n.Case.Serial,
			Status: n.Case.Status, Event: n.Ev.Type, Body: raw})
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) deliveries(dept string) []delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivered(nil), r.got[dept]...)
}

func (r *receiver) setFailing(dept string, fail bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail[dept] = fail
}

type harness struct {
	t      *testing.T
	ctx    context.Context
	db     *pgxpool.Pool
	store  objects.Store
	desk   *cases.Desk
	cfg    cases.Config // desk's, for tests that build a variant
	outbox *webhook.Deliverer
	recv   *receiver
	clock  *clock
}

// newHarness builds a desk over a fresh database and bucket, with the
// catalogue of the scenarios: a homestay-like bundle of two items in two
// departments, and an abolished item.
func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	db := testenv.Pool(t)
	store, err := objects.New(ctx, testenv.ObjectStore(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, ctx: ctx, db: db, store: store, recv: newReceiver(t),
		clock: &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, serial.Shanghai)}}
	cat := catalog.Open(db, catalog.Config{})
	t.Cleanup(cat.Close)
	h.seedCatalog(cat)
	alloc, err := serial.NewAllocator(db, serial.Config{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(alloc.Close)
	h.outbox, err = webhook.New(db, webhook.Config{Now: h.clock.Now, Endpoints: webhook.EndpointFunc(
		func(ctx context.Context, code string) (string, string, error) {
			d, ok, err := cat.Department(ctx, code)
			if err != nil || !ok {
				return "", "", err
			}
			return d.WebhookURL, d.WebhookSecret, nil
		})})
	if err != nil {
		t.Fatal(err)
	}
	h.cfg = cases.Config{DB: db, Catalog: cat, Objects: store, Serials: alloc,
		Calendars: calendar.NewStore(db, calendar.StoreConfig{}), Outbox: h.outbox, Now: h.clock.Now}
	h.desk, err = cases.New(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

var bundleDays = 15

func (h *harness) seedCatalog(cat *catalog.Catalog) {
	t := h.t
	for _, d := range []string{"D-WL", "D-GA", "D-SW"} {
		secret := h.recv.secret
		if _, err := cat.PutDepartment(h.ctx, "test", d, catalog.DepartmentInput{Name: "部门 " + d, Region: "130100",
			WebhookURL: h.recv.srv.URL + "/" + d, WebhookSecret: &secret}); err != nil {
			t.Fatal(err)
		}
	}
	items := map[string]string{
		"HS-WL-01": `{"name":"民宿开办文化许可","kind":"行政许可","department":"D-WL","region":"130100",
			"legalDays":20,"promisedDays":5,"acceptDays":2,
			"materials":[{"code":"M-ID","name":"身份证明","required":true,"contentTypes":["application/pdf","image/png"]},
				{"code":"M-LEASE","name":"房屋租赁合同","required":true,"maxBytes":1000,"contentTypes":["application/pdf"]},
				{"code":"M-PHOTO","name":"现场照片","contentTypes":["image/png","image/jpeg"]}],
			"formSchema":{"type":"object","required":["rooms"],"properties":{"rooms":{"type":"integer","minimum":1},
				"name":{"type":"string"}}}}`,
		"HS-GA-01": `{"name":"特种行业许可证核发（旅馆业）","kind":"行政许可","department":"D-GA","region":"130100",
			"legalDays":20,"promisedDays":10,
			"materials":[{"code":"M-ID","name":"身份证明","required":true},
				{"code":"M-FIRE","name":"消防安全检查合格证明","required":true,"contentTypes":["application/pdf"]}]}`,
		"OLD-01": `{"name":"已取消的事项","kind":"其他","department":"D-SW","region":"130100","legalDays":5,"promisedDays":5,"status":"abolished"}`,
		"NOW-01": `{"name":"即办事项","kind":"公共服务","department":"D-SW","region":"130100","immediate":true,"legalDays":0,"promisedDays":0}`,
	}
	for code, body := range items {
		var in catalog.ItemInput
		if err := json.Unmarshal([]byte(body), &in); err != nil {
			t.Fatal(code, err)
		}
		if _, err := cat.PutItem(h.ctx, "test", code, in); err != nil {
			p, _ := problem.As(err)
			t.Fatalf("%s: %v %+v", code, err, p.Errors)
		}
	}
	if _, err := cat.PutBundle(h.ctx, "test", "HOMESTAY", catalog.BundleInput{Name: "民宿一件事", LeadDepartment: "D-WL",
		Items: []string{"HS-WL-01", "HS-GA-01"}, PromisedDays: &bundleDays}); err != nil {
		p, _ := problem.As(err)
		t.Fatalf("HOMESTAY: %v %+v", err, p.Errors)
	}
}

// upload announces a file and PUTs its bytes to the presigned URL.
func (h *harness) upload(app auth.App, contentType string, data []byte) string {
	h.t.Helper()
	sum := sha256.Sum256(data)
	up, err := h.desk.NewUpload(h.ctx, app, cases.UploadInput{FileName: "材料.bin", ContentType: contentType,
		SizeBytes: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		h.t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(h.ctx, http.MethodPut, up.PutURL, bytes.NewReader(data))
	for k, v := range up.Headers {
		req.Header.Set(k, v)
	}
	req.ContentLength = int64(len(data))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("PUT upload: %s", resp.Status)
	}
	return up.UploadID
}

// person is a valid applicant (GB 11643 check digit correct).
var person = cases.Applicant{Type: "person", Name: "张三", IDType: "resident_id", IDNumber: "11010519491231002X", Phone: "13800138000"}

// itemSubmission is a complete online application for HS-WL-01.
func (h *harness) itemSubmission(app auth.App) cases.Submission {
	return cases.Submission{ItemCode: "HS-WL-01", Channel: "online", Region: "130102", Applicant: person,
		Form: json.RawMessage(`{"rooms":4,"name":"山居"}`),
		Materials: []cases.MaterialInput{
			{Code: "M-ID", UploadIDs: []string{h.upload(app, "application/pdf", pdfBytes)}},
			{Code: "M-LEASE", UploadIDs: []string{h.upload(app, "application/pdf", pdfBytes)}},
		}}
}

// drain delivers everything due.
func (h *harness) drain() webhook.Counts {
	h.t.Helper()
	c, err := h.outbox.RunDue(h.ctx, 1000)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

func (h *harness) post(app auth.App, serialNo string, typ cases.EventType) (cases.EventReceipt, error) {
	h.clock.Add(time.Minute)
	return h.desk.Post(h.ctx, app, serialNo, cases.EventInput{Type: typ, Operator: "王五"})
}

func (h *harness) mustPost(app auth.App, serialNo string, typ cases.EventType) cases.EventReceipt {
	h.t.Helper()
	r, err := h.post(app, serialNo, typ)
	if err != nil {
		h.t.Fatalf("%s on %s: %v", typ, serialNo, err)
	}
	return r
}

// wantProblem checks err is a problem with this status and code and, for
// validation_failed, that these field/code pairs are among its errors.
func wantProblem(t *testing.T, err error, status int, code string, fields ...string) {
	t.Helper()
	p, ok := problem.As(err)
	if !ok {
		t.Fatalf("err = %v, want a %d %s problem", err, status, code)
	}
	if p.Status != status || p.Code != code {
		t.Fatalf("problem = %d %s (%s), want %d %s", p.Status, p.Code, p.Detail, status, code)
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
