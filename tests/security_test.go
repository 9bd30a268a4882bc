package tests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/client"
)

// TestSecurity is the security review of issue 8 written as tests, run
// against one local stack (`onewindow run`) through its gateway: who may
// call what (security_access_test.go), signatures and replays
// (security_signature_test.go), hostile bodies, names and query values
// (security_input_test.go) and other apps' records
// (security_visibility_test.go). Rate limits and audit records are
// tested elsewhere.
func TestSecurity(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole stack: not in -short")
	}
	s := startStack(t)
	// Seven function builds: minutes on a cold build cache, seconds after.
	s.waitHealthy(t, 10*time.Minute)
	f := newSecurityFixture(t, s)

	t.Run("access", func(t *testing.T) { accessTable(t, f) })
	t.Run("signature", func(t *testing.T) { signatureChecks(t, f) })
	t.Run("body", func(t *testing.T) { bodyChecks(t, f) })
	t.Run("traversal", func(t *testing.T) { traversalChecks(t, f) })
	t.Run("sql", func(t *testing.T) { sqlMetacharacterChecks(t, f) })
	t.Run("visibility", func(t *testing.T) { visibilityChecks(t, f) })
}

// The app that stands for each role of contract section 1, from
// infra/local/apps.json. Department apps act for 130100-XZSP, the
// department of the fixture case's item.
var roleApps = []struct {
	role auth.Role
	app  string
}{
	{auth.RolePlatform, "hebei-portal"},
	{auth.RoleDepartment, "sjz-xzsp-window"},
	{auth.RoleSupervisor, "sjz-supervisor"},
	{auth.RoleAdmin, "onewindow-admin"},
	{auth.RolePaymentProvider, "unionpay-gateway"},
	{auth.RoleLogisticsProvider, "ems-courier"},
}

// Demo apps with no claim on the fixture case: another portal and the
// department app of another department.
const (
	otherPortal     = "wechat-hall"
	otherDepartment = "sjz-police-system"
)

// The fixture case's item, its department's license type, and its
// applicant, who is also the holder of the fixture license.
const (
	fixtureItem        = "SJZ-XZSP-GGWS-001"
	fixtureLicenseType = "LT-GGWSXK"
	fixtureHolder      = "11010519491231002X"
)

// securityFixture is the stack and the records the checks read: a case
// submitted by hebei-portal for an item of 130100-XZSP, accepted and
// awaiting a payment, with an inbound shipment and, for its applicant, a
// license issued by 130100-XZSP.
type securityFixture struct {
	s       *runningStack
	apps    map[string]auth.AppRecord
	clients map[string]*client.Client

	serial     string // the case
	attachment string // one of its files
	payment    string // its open payment order
	waybill    string // its shipment
	license    string // its applicant's license
}

func newSecurityFixture(t *testing.T, s *runningStack) *securityFixture {
	t.Helper()
	records, err := auth.ReadAppsFile(filepath.Join(s.root, "infra", "local", "apps.json"))
	if err != nil {
		t.Fatal(err)
	}
	f := &securityFixture{s: s, apps: map[string]auth.AppRecord{}, clients: map[string]*client.Client{}}
	for _, a := range records {
		f.apps[a.ID] = a
		f.clients[a.ID] = client.New(s.url, a.ID, a.Secret)
	}
	portal, window := f.clients["hebei-portal"], f.clients["sjz-xzsp-window"]

	f.serial = submitFixtureCase(t, portal, `"申请人"`)
	view := f.caseView(t, "hebei-portal", f.serial)
	for _, m := range view.Materials {
		if len(m.Attachments) > 0 {
			f.attachment = m.Attachments[0].AttachmentID
			break
		}
	}
	if f.attachment == "" {
		t.Fatalf("fixture case %s has no attachment", f.serial)
	}

	for _, event := range []string{`{"type":"accepted","operator":"窗口一"}`, `{"type":"payment_requested","amountFen":5000}`} {
		f.mustStatus(t, window, "case-submit", http.MethodPost, "/cases/"+f.serial+"/events", event, http.StatusCreated)
	}
	pollUntil(t, 10*time.Second, "the fixture case's payment order", func() bool {
		f.payment = f.caseView(t, "hebei-portal", f.serial).Payment.PaymentSerial
		return f.payment != ""
	})

	f.waybill = "SEC" + stackRandomHex(t, 6)
	f.mustStatus(t, portal, "logistics-callback", http.MethodPost, "/shipments",
		fmt.Sprintf(`{"caseSerial":%q,"direction":"inbound","carrier":"EMS","waybillNo":%q,"recipient":{"name":"窗口一"}}`, f.serial, f.waybill),
		http.StatusCreated)

	f.license = "SEC-LIC-" + stackRandomHex(t, 6)
	upload := uploadThroughStack(t, window, demoPDF)
	f.mustStatus(t, window, "document-fetch", http.MethodPost, "/licenses", fmt.Sprintf(
		`{"typeCode":%q,"licenseNo":%q,"holder":{"idType":"resident_id","idNumber":%q,"name":"张三"},"issuedAt":%q,"data":{},"uploadId":%q}`,
		fixtureLicenseType, f.license, fixtureHolder, time.Now().Add(-time.Hour).Format(time.RFC3339), upload), http.StatusCreated)
	return f
}

// submitFixtureCase applies for fixtureItem as c, with one uploaded PDF
// per required material, and returns the serial. name is the applicant's
// name as a JSON string.
func submitFixtureCase(t *testing.T, c *client.Client, name string) string {
	t.Helper()
	var materials []string
	for _, code := range requiredMaterials(t, c, fixtureItem) {
		materials = append(materials, fmt.Sprintf(`{"code":%q,"uploadIds":[%q]}`, code, uploadThroughStack(t, c, demoPDF)))
	}
	body := fmt.Sprintf(`{"itemCode":%q,"channel":"online","region":"130102",
		"applicant":{"type":"person","name":%s,"idType":"resident_id","idNumber":%q,"phone":"13800138000"},
		"materials":[%s],"delivery":{"method":"pickup"}}`, fixtureItem, name, fixtureHolder, strings.Join(materials, ","))
	a, err := signedCall(context.Background(), c, "case-submit", http.MethodPost, "/cases", []byte(body))
	if err != nil || a.status != http.StatusCreated {
		t.Fatalf("submit: %v %v", a, err)
	}
	var receipt struct {
		Serial string `json:"serial"`
	}
	if err := json.Unmarshal(a.body, &receipt); err != nil || receipt.Serial == "" {
		t.Fatalf("receipt %s: %v", a.body, err)
	}
	return receipt.Serial
}

// fixtureCaseView is the part of GET /cases/{serial} the checks read.
type fixtureCaseView struct {
	Applicant struct {
		Name string `json:"name"`
	} `json:"applicant"`
	Materials []struct {
		Attachments []struct {
			AttachmentID string `json:"attachmentId"`
		} `json:"attachments"`
	} `json:"materials"`
	Events []struct {
		Type    string `json:"type"`
		Opinion string `json:"opinion"`
	} `json:"events"`
	Payment struct {
		PaymentSerial string `json:"paymentSerial"`
	} `json:"payment"`
}

func (f *securityFixture) caseView(t *testing.T, app, serial string) fixtureCaseView {
	t.Helper()
	a := f.mustStatus(t, f.clients[app], "case-submit", http.MethodGet, "/cases/"+serial, "", http.StatusOK)
	var v fixtureCaseView
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("case %s: %v", serial, err)
	}
	return v
}

// mustStatus sends a signed request and fails the test unless it gets want.
func (f *securityFixture) mustStatus(t *testing.T, c *client.Client, fn, method, path, body string, want int) stackAnswer {
	t.Helper()
	a := f.call(t, c, fn, method, path, body)
	if a.status != want {
		t.Fatalf("%s %s %s as %s: %v, want %d", fn, method, path, c.AppID, a, want)
	}
	return a
}

// call sends a signed request with a deadline, so that a hanging function
// fails the test instead of stalling it.
func (f *securityFixture) call(t *testing.T, c *client.Client, fn, method, path, body string) stackAnswer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	a, err := signedCall(ctx, c, fn, method, path, b)
	if err != nil {
		t.Fatalf("%s %s %s as %s: %v", fn, method, path, c.AppID, err)
	}
	return a
}

// wireRequest is a request as it goes on the wire, with the signature
// given rather than computed, so that a check can sign one thing and send
// another.
type wireRequest struct {
	appID     string
	lines     auth.Signed // what is sent: function, method, subpath, query, timestamp, nonce, body
	signature string
}

// signedRequest signs lines as app with its secret.
func (f *securityFixture) signedRequest(app string, lines auth.Signed) wireRequest {
	return wireRequest{appID: app, lines: lines, signature: auth.Sign(f.apps[app].Secret, lines)}
}

// freshLines is a request signed now with a new nonce.
func freshLines(fn, method, subpath, query string, body []byte) auth.Signed {
	return auth.Signed{Function: fn, Method: method, Subpath: subpath, RawQuery: query,
		Timestamp: strconv.FormatInt(time.Now().Unix(), 10), Nonce: client.Nonce(), Body: body}
}

func (f *securityFixture) send(t *testing.T, w wireRequest) stackAnswer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	u := f.s.url + "/function/" + w.lines.Function + w.lines.Subpath
	if w.lines.RawQuery != "" {
		u += "?" + w.lines.RawQuery
	}
	req, err := http.NewRequestWithContext(ctx, w.lines.Method, u, bytes.NewReader(w.lines.Body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(auth.HeaderAppID, w.appID)
	req.Header.Set(auth.HeaderTimestamp, w.lines.Timestamp)
	req.Header.Set(auth.HeaderNonce, w.lines.Nonce)
	req.Header.Set(auth.HeaderSignature, w.signature)
	a, err := readAnswer(http.DefaultClient.Do(req))
	if err != nil {
		t.Fatalf("%s %s: %v", w.lines.Method, u, err)
	}
	return a
}

// unsigned sends a request without any of the four headers.
func (f *securityFixture) unsigned(t *testing.T, method, path, body string) stackAnswer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, f.s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	a, err := readAnswer(http.DefaultClient.Do(req))
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return a
}

// expectProblem checks a problem answer's status and code.
func expectProblem(t *testing.T, what string, a stackAnswer, status int, code string) {
	t.Helper()
	if a.status != status || a.code() != code {
		t.Errorf("%s: %v, want %d %s", what, a, status, code)
	}
}

// expectOneOf checks that a is one of the allowed statuses, and for an
// error, a problem+json with a code; a 5xx is never allowed.
func expectOneOf(t *testing.T, what string, a stackAnswer, allowed ...int) {
	t.Helper()
	ok := false
	for _, s := range allowed {
		ok = ok || a.status == s
	}
	if !ok || a.status >= 500 {
		t.Errorf("%s: %v, want one of %v", what, a, allowed)
		return
	}
	if a.status >= 400 && (a.code() == "" || !strings.HasPrefix(a.header.Get("Content-Type"), "application/problem+json")) {
		t.Errorf("%s: %d without a problem+json code: %v %v", what, a.status, a.header, a)
	}
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
