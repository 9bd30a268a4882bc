package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/auth"
)

// bodyTarget is a JSON-bodied endpoint, called by an app allowed to, with
// a body that it accepts and one of the body's string fields.
type bodyTarget struct {
	fn, method, path, app string
	body                  string // {serial} and {now} are filled in
	field                 string // a top-level string field of body
}

var bodyTargets = []bodyTarget{
	{"serial-issue", "POST", "/", "hebei-portal", `{"region":"130100","channel":"online","count":1}`, "region"},
	{"case-submit", "POST", "/uploads", "hebei-portal",
		`{"fileName":"a.pdf","contentType":"application/pdf","sizeBytes":10,"sha256":"` + strings.Repeat("0", 64) + `"}`, "fileName"},
	{"case-submit", "POST", "/cases", "hebei-portal", `{"itemCode":"SJZ-XZSP-GGWS-001","channel":"online","region":"130102"}`, "itemCode"},
	{"case-submit", "POST", "/cases/{serial}/events", "hebei-portal", `{"type":"complaint","opinion":"probe"}`, "type"},
	{"document-fetch", "POST", "/licenses", "sjz-xzsp-window", `{"typeCode":"LT-GGWSXK","licenseNo":"SEC-BODY-1"}`, "licenseNo"},
	{"document-fetch", "POST", "/licenses/verify", "hebei-portal", `{"licenseNo":"X","holderId":"Y","sha256":"Z"}`, "licenseNo"},
	{"catalog-lookup", "PUT", "/scopes/selection?uscc=91130102MA0D8TQ541", "hebei-portal",
		`{"entries":[{"code":"SC-1301","expressionIds":["SC-1301-A","SC-1301-B"]}]}`, ""},
	{"warning-scan", "PUT", "/calendar/2099", "onewindow-admin", `{"holidays":[],"workdays":[]}`, ""},
	{"payment-callback", "POST", "/", "unionpay-gateway",
		`{"notifyId":"sec-body","paymentSerial":"13010092026112200000017","amountFen":1,"status":"paid","paidAt":"{now}","providerTxnId":"x"}`, "notifyId"},
	{"logistics-callback", "POST", "/", "ems-courier", `{"waybillNo":"SECBODY1","events":[{"eventId":"e1","status":"created","at":"{now}"}]}`, "waybillNo"},
	{"logistics-callback", "POST", "/shipments", "hebei-portal",
		`{"caseSerial":"{serial}","direction":"outbound","carrier":"EMS","waybillNo":"SECBODY2"}`, "waybillNo"},
}

// bodyChecks: a body over 1 MiB is 413 body_too_large on every function;
// deep nesting, invalid UTF-8, duplicate keys and wrong types are 400 (or
// 422 for a wrong type), never a 500 and never a hang.
func bodyChecks(t *testing.T, f *securityFixture) {
	const mib = 1 << 20
	for _, fn := range []string{"case-submit", "serial-issue", "document-fetch", "warning-scan", "catalog-lookup", "logistics-callback", "payment-callback"} {
		t.Run(fn+"/1 MiB + 1 byte", func(t *testing.T) {
			// Signed, so that only the size is wrong; the problem comes
			// from the entrypoint before the signature is looked at.
			body := bytes.Repeat([]byte(" "), mib+1)
			w := f.signedRequest("hebei-portal", freshLines(fn, http.MethodPost, "/", "", body))
			expectProblem(t, "declared length", f.send(t, w), http.StatusRequestEntityTooLarge, "body_too_large")
			expectProblem(t, "chunked", f.sendChunked(t, w), http.StatusRequestEntityTooLarge, "body_too_large")
		})
	}
	t.Run("serial-issue/exactly 1 MiB is read", func(t *testing.T) {
		body := append(bytes.Repeat([]byte(" "), mib-len(issueOne)), issueOne...)
		if a := f.send(t, f.signedRequest("hebei-portal", freshLines("serial-issue", http.MethodPost, "/", "", body))); a.status != http.StatusCreated {
			t.Errorf("a 1 MiB body: %v, want 201", a)
		}
	})

	deep := strings.Repeat("[", 100_000)
	deepObject := strings.Repeat(`{"a":`, 100_000)
	for _, b := range bodyTargets {
		base := strings.ReplaceAll(strings.ReplaceAll(b.body, "{serial}", f.serial), "{now}", time.Now().Format(time.RFC3339))
		path := strings.ReplaceAll(b.path, "{serial}", f.serial)
		cases := []bodyCase{
			{"100,000 [", deep, []int{400}},
			{`100,000 {"a":`, deepObject, []int{400}},
			{"100,000 [ closed", deep + strings.Repeat("]", 100_000), []int{400}},
			{"truncated", base[:len(base)-1], []int{400}},
			{"trailing data", base + `{}`, []int{400}},
			{"not an object", `[` + base + `]`, []int{400}},
		}
		if b.field != "" {
			cases = append(cases,
				bodyCase{"invalid UTF-8", withField(base, b.field, "\xff\xfe"), []int{400}},
				bodyCase{"duplicate key", `{"` + b.field + `":"sec-duplicate",` + base[1:], []int{400}},
				bodyCase{"number for a string", withField(base, b.field, 12345), []int{400, 422}},
			)
		}
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/%s %s/%s", b.fn, b.method, b.path, c.name), func(t *testing.T) {
				start := time.Now()
				a := f.call(t, f.clients[b.app], b.fn, b.method, path, c.body)
				expectOneOf(t, c.name, a, c.want...)
				if a.status == http.StatusBadRequest && a.code() != "invalid_json" {
					t.Errorf("%s: code %q, want invalid_json", c.name, a.code())
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("%s took %s", c.name, d)
				}
			})
		}
	}

	t.Run("deep but parseable JSON inside free-form fields", func(t *testing.T) {
		// form, data and recipient are kept as JSON (jsonb): nesting that
		// the decoder allows must still not reach the database as a 500.
		nested := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
		for _, c := range []struct {
			fn, path, app, body string
		}{
			{"case-submit", "/cases", "hebei-portal", `{"itemCode":"SJZ-XZSP-GGWS-001","channel":"online","region":"130102","form":{"a":` + nested + `}}`},
			{"document-fetch", "/licenses", "sjz-xzsp-window", fmt.Sprintf(`{"typeCode":"LT-GGWSXK","licenseNo":"SEC-DEEP-1","holder":{"idType":"resident_id","idNumber":%q,"name":"张三"},"issuedAt":%q,"data":{"a":%s},"uploadId":"00000000-0000-0000-0000-000000000000"}`, fixtureHolder, time.Now().Format(time.RFC3339), nested)},
			{"logistics-callback", "/shipments", "hebei-portal", fmt.Sprintf(`{"caseSerial":%q,"direction":"outbound","carrier":"EMS","waybillNo":"SECDEEP1","recipient":{"a":%s}}`, f.serial, nested)},
		} {
			a := f.call(t, f.clients[c.app], c.fn, http.MethodPost, c.path, c.body)
			expectOneOf(t, c.fn+" "+c.path, a, http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusNotFound)
		}
	})
}

// bodyCase is a hostile body and the statuses it may get: 400 is
// invalid_json; a 422 (a wrong type read as a bad value) carries
// validation_failed or the one named code of its cause (contract section 0).
type bodyCase struct {
	name string
	body string
	want []int
}

// withField returns the object body with field set to v; a string v is
// written raw, so that it may carry bytes that are not UTF-8.
func withField(body, field string, v any) string {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &obj); err != nil {
		panic(fmt.Sprintf("bodyTargets: %v", err))
	}
	if s, ok := v.(string); ok {
		obj[field] = json.RawMessage(`"@@VALUE@@"`)
		b, _ := json.Marshal(obj)
		return strings.Replace(string(b), "@@VALUE@@", s, 1)
	}
	raw, _ := json.Marshal(v)
	obj[field] = raw
	b, _ := json.Marshal(obj)
	return string(b)
}

// sendChunked sends w with a body of unknown length (chunked encoding).
func (f *securityFixture) sendChunked(t *testing.T, w wireRequest) stackAnswer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, w.lines.Method, f.s.url+"/function/"+w.lines.Function+w.lines.Subpath,
		io.MultiReader(bytes.NewReader(w.lines.Body))) // not a *bytes.Reader: no length
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(auth.HeaderAppID, w.appID)
	req.Header.Set(auth.HeaderTimestamp, w.lines.Timestamp)
	req.Header.Set(auth.HeaderNonce, w.lines.Nonce)
	req.Header.Set(auth.HeaderSignature, w.signature)
	a, err := readAnswer(http.DefaultClient.Do(req))
	if err != nil {
		// The entrypoint may close the connection while the rest of the
		// body is being sent; that is a refusal too, but the contract
		// wants the 413, so say so.
		t.Fatalf("chunked 1 MiB + 1: %v", err)
	}
	return a
}

// traversalChecks: file names and path segments that try to leave their
// place (../, %2e%2e, absolute paths, backslashes, NUL, very long) are
// refused with 400/404/422 and never read another record.
func traversalChecks(t *testing.T, f *securityFixture) {
	portal := f.clients["hebei-portal"]
	t.Run("upload file names", func(t *testing.T) {
		for _, name := range []string{
			"../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/passwd", "C:\\boot.ini", "a\x00.pdf",
			"uploads/../../x.pdf", "..", ".", "%2e%2e%2fetc%2fpasswd.pdf", "申请书\u202efdp.exe",
			strings.Repeat("长", 256) + ".pdf", strings.Repeat("a", 10_000) + ".pdf",
		} {
			body, _ := json.Marshal(map[string]any{"fileName": name, "contentType": "application/pdf",
				"sizeBytes": len(demoPDF), "sha256": hexSHA256(demoPDF)})
			a := f.call(t, portal, "case-submit", http.MethodPost, "/uploads", string(body))
			expectOneOf(t, fmt.Sprintf("fileName %.40q", name), a, http.StatusCreated, http.StatusUnprocessableEntity)
			if a.status != http.StatusCreated {
				continue
			}
			// Accepted: the name must not steer where the bytes go.
			var up struct {
				PutURL string `json:"putUrl"`
			}
			_ = json.Unmarshal(a.body, &up)
			u, err := url.Parse(up.PutURL)
			if err != nil {
				t.Errorf("fileName %q: putUrl %q: %v", name, up.PutURL, err)
				continue
			}
			for _, seg := range strings.Split(u.Path, "/") {
				if seg == ".." || seg == "." || strings.Contains(seg, name) {
					t.Errorf("fileName %q reached the object key: %s", name, u.Path)
				}
			}
		}
	})

	// Path segments, each in place of a record id; none names a record the
	// caller may see, so the answer is 400 or 404.
	segments := []string{
		"..", "%2e%2e", "..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..%5c..%5cwindows",
		"%2fetc%2fpasswd", "%00", "a%00b", "%ff%fe", "%c0%ae%c0%ae", strings.Repeat("a", 5000),
	}
	records := []struct{ fn, pattern, app string }{
		{"case-submit", "/cases/%s", "hebei-portal"},
		{"case-submit", "/cases/%s/events", "hebei-portal"},
		{"document-fetch", "/attachments/%s", "hebei-portal"},
		{"document-fetch", "/licenses/%s?purpose={serial}", "hebei-portal"},
		{"document-fetch", "/licenses?holderId=%s&purpose={serial}", "hebei-portal"},
		{"payment-callback", "/orders/%s", "hebei-portal"},
		{"logistics-callback", "/shipments/%s", "hebei-portal"},
		{"catalog-lookup", "/items/%s", "hebei-portal"},
		{"catalog-lookup", "/license-types/%s", "hebei-portal"},
		{"catalog-lookup", "/departments/%s", "onewindow-admin"},
		{"warning-scan", "/calendar/%s", "hebei-portal"},
		{"warning-scan", "/cards/%s/revocation", "sjz-xzsp-window"},
	}
	for _, r := range records {
		for _, seg := range segments {
			path := strings.ReplaceAll(fmt.Sprintf(r.pattern, seg), "{serial}", f.serial)
			method := http.MethodGet
			body := ""
			if strings.HasSuffix(r.pattern, "/events") || strings.HasSuffix(r.pattern, "/revocation") {
				method, body = http.MethodPost, `{"type":"complaint","opinion":"probe","reason":"probe"}`
			}
			t.Run(fmt.Sprintf("%s/%s %s/%.40s", r.fn, method, r.pattern, seg), func(t *testing.T) {
				a := f.call(t, f.clients[r.app], r.fn, method, path, body)
				if strings.Contains(r.pattern, "holderId") { // a list: empty, or refused
					expectOneOf(t, path, a, http.StatusOK, http.StatusBadRequest, http.StatusUnprocessableEntity)
					if a.status == http.StatusOK && bytes.Contains(a.body, []byte(f.license)) {
						t.Errorf("%s listed the fixture license: %v", path, a)
					}
					return
				}
				expectOneOf(t, path, a, http.StatusBadRequest, http.StatusNotFound, http.StatusUnprocessableEntity)
			})
		}
	}

	// Escaped separators must not turn one record's path into another's.
	t.Run("escaped separators reach no other record", func(t *testing.T) {
		for _, c := range []struct{ fn, path string }{
			{"catalog-lookup", "/items/..%2fbundles%2fSJZ-YJS-MINSU"},
			{"catalog-lookup", "/items/..%2Fbundles%2FSJZ-YJS-MINSU"},
			{"catalog-lookup", "/license-types/..%2fitems%2fSJZ-XZSP-GGWS-001"},
			{"case-submit", "/cases/..%2fcases%2f" + f.serial},
			{"case-submit", "/cases/" + f.serial + "%2f..%2f" + f.serial},
			{"document-fetch", "/attachments/..%2fattachments%2f" + f.attachment},
			{"document-fetch", "/attachments/" + f.attachment + "%2f.."},
			{"document-fetch", "/../case-submit/cases/" + f.serial},
			{"document-fetch", "/attachments/../attachments/" + f.attachment},
			{"case-submit", "/cases/" + f.serial + "/../" + f.serial},
			{"payment-callback", "/orders/..%2forders%2f" + f.payment},
			{"logistics-callback", "/shipments/..%2fshipments%2f" + f.waybill},
			{"case-submit", "/..%2f..%2fetc%2fpasswd"},
			{"case-submit", "/cases/..%2f..%2fetc"},
		} {
			a := f.call(t, portal, c.fn, http.MethodGet, c.path, "")
			expectOneOf(t, c.fn+" "+c.path, a, http.StatusBadRequest, http.StatusNotFound)
		}
		// The function name itself: the gateway must not walk out of it.
		for _, p := range []string{"/function/../system/functions", "/function/%2e%2e/system/functions",
			"/function/case-submit%2f..%2fserial-issue/verify"} {
			a := f.unsigned(t, http.MethodGet, p, "")
			expectOneOf(t, p, a, http.StatusBadRequest, http.StatusNotFound, http.StatusUnauthorized)
		}
	})
}

// sqlMetacharacters go into every string field and query parameter below.
var sqlMetacharacters = []string{
	"'", `"`, ";", "--", `\`, "%", "_", "' OR '1'='1", "'; DROP TABLE cases; --", `%' OR 1=1 --`, `\'`, "$1", "*/ /*",
}

// sqlMetacharacterChecks: no 500 anywhere, and SQL-backed lists whose
// filter is a metacharacter find nothing (no wildcard, no injection).
func sqlMetacharacterChecks(t *testing.T, f *securityFixture) {
	for _, m := range sqlMetacharacters {
		q := url.QueryEscape(m)
		p := url.PathEscape(m)
		calls := []struct {
			fn, method, path, app, body string
			allowed                     []int
		}{
			{"serial-issue", "GET", "/verify?serial=" + q, "hebei-portal", "", []int{200}},
			{"serial-issue", "POST", "/", "hebei-portal", fmt.Sprintf(`{"region":%q,"channel":%q,"count":1}`, m, m), []int{422}},
			{"catalog-lookup", "GET", "/items?q=" + q + "&department=" + q + "&region=" + q + "&kind=" + q, "hebei-portal", "", []int{200, 400, 422}},
			{"catalog-lookup", "GET", "/items?q=" + q, "hebei-portal", "", []int{200}},
			{"catalog-lookup", "GET", "/items?cursor=" + q, "hebei-portal", "", []int{400}},
			{"catalog-lookup", "GET", "/bundles?q=" + q, "hebei-portal", "", []int{200}},
			{"catalog-lookup", "GET", "/scopes?q=" + q + "&domain=" + q, "hebei-portal", "", []int{200, 400, 422}},
			{"catalog-lookup", "GET", "/scopes/selection?uscc=" + q, "hebei-portal", "", []int{400}},
			{"catalog-lookup", "GET", "/scopes/stats?month=" + q, "hebei-portal", "", []int{400, 422}},
			{"catalog-lookup", "GET", "/items/" + p, "hebei-portal", "", []int{400, 404}},
			{"catalog-lookup", "GET", "/departments/" + p, "onewindow-admin", "", []int{400, 404}},
			{"case-submit", "GET", "/cases/" + p, "hebei-portal", "", []int{400, 404}},
			{"case-submit", "GET", "/cases?applicant=" + q + "&status=" + q, "hebei-portal", "", []int{200, 400, 422}},
			{"case-submit", "GET", "/cases?cursor=" + q, "hebei-portal", "", []int{400}},
			{"case-submit", "POST", "/cases", "hebei-portal", fmt.Sprintf(`{"itemCode":%q,"channel":"online","region":"130102"}`, m), []int{422}},
			{"document-fetch", "GET", "/attachments/" + p, "hebei-portal", "", []int{400, 404}},
			{"document-fetch", "GET", "/licenses?holderId=" + q + "&typeCode=" + q + "&purpose=" + f.serial, "hebei-portal", "", []int{200, 400, 422}},
			{"document-fetch", "GET", "/licenses?holderId=" + fixtureHolder + "&purpose=" + q, "hebei-portal", "", []int{404, 400, 422}},
			{"document-fetch", "GET", "/licenses?holderId=" + fixtureHolder + "&purpose=" + f.serial + "&cursor=" + q, "hebei-portal", "", []int{400}},
			{"document-fetch", "GET", "/licenses/" + p + "?purpose=" + f.serial, "hebei-portal", "", []int{400, 404}},
			{"document-fetch", "GET", "/materials?holderId=" + q, "hebei-portal", "", []int{200, 400, 422}},
			{"document-fetch", "POST", "/licenses/verify", "hebei-portal", fmt.Sprintf(`{"licenseNo":%q,"holderId":%q,"sha256":%q}`, m, m, m), []int{200, 400, 422}},
			{"document-fetch", "GET", "/stats/issuance?from=" + q + "&to=" + q + "&groupBy=" + q, "sjz-supervisor", "", []int{400, 422}},
			{"document-fetch", "GET", "/stats/usage?from=2026-01-01&to=2026-12-31&groupBy=" + q, "sjz-supervisor", "", []int{400, 422}},
			{"warning-scan", "GET", "/cards?department=" + q + "&level=" + q + "&status=" + q + "&caseSerial=" + q, "sjz-supervisor", "", []int{200, 400, 422}},
			{"warning-scan", "GET", "/cards?caseSerial=" + q, "sjz-supervisor", "", []int{200, 400, 422}},
			{"warning-scan", "GET", "/calendar/" + p, "hebei-portal", "", []int{400, 404, 422}},
			{"warning-scan", "GET", "/stats?from=" + q + "&to=" + q + "&groupBy=" + q, "sjz-supervisor", "", []int{400, 422}},
			{"warning-scan", "POST", "/cards/" + p + "/revocation", "sjz-xzsp-window", fmt.Sprintf(`{"reason":%q}`, m), []int{400, 404, 422}},
			{"payment-callback", "GET", "/orders/" + p, "hebei-portal", "", []int{400, 404}},
			{"payment-callback", "GET", "/reconciliation?date=" + q, "sjz-supervisor", "", []int{400, 422}},
			{"payment-callback", "GET", "/reconciliation?date=2026-11-22&cursor=" + q, "sjz-supervisor", "", []int{400}},
			{"payment-callback", "POST", "/", "unionpay-gateway", fmt.Sprintf(`{"notifyId":%q,"paymentSerial":%q,"amountFen":1,"status":"paid","paidAt":%q,"providerTxnId":%q}`, m, m, time.Now().Format(time.RFC3339), m), []int{400, 404, 422}},
			{"logistics-callback", "GET", "/shipments/" + p, "hebei-portal", "", []int{400, 404}},
			{"logistics-callback", "GET", "/shipments/" + f.waybill + "?carrier=" + q, "hebei-portal", "", []int{200, 400, 404, 422}},
			{"logistics-callback", "POST", "/", "ems-courier", fmt.Sprintf(`{"waybillNo":%q,"events":[{"eventId":%q,"status":"created","at":%q,"location":%q}]}`, m, m, time.Now().Format(time.RFC3339), m), []int{422}},
			{"logistics-callback", "POST", "/shipments", "hebei-portal", fmt.Sprintf(`{"caseSerial":%q,"direction":"outbound","carrier":%q,"waybillNo":%q}`, m, m, m), []int{404, 422}},
		}
		for _, c := range calls {
			t.Run(fmt.Sprintf("%s/%s %s", c.fn, c.method, c.path), func(t *testing.T) {
				a := f.call(t, f.clients[c.app], c.fn, c.method, c.path, c.body)
				expectOneOf(t, fmt.Sprintf("%q", m), a, c.allowed...)
				// A filter that is a metacharacter matches no record.
				if a.status == http.StatusOK && c.method == http.MethodGet &&
					(strings.Contains(c.path, "holderId=") || strings.Contains(c.path, "applicant=") || strings.Contains(c.path, "caseSerial=")) {
					if n := listItemCount(t, a); n != 0 {
						t.Errorf("%q matched %d records: %v", m, n, a)
					}
				}
			})
		}
	}

	// Free text is stored as sent, metacharacters included.
	t.Run("free text round-trips", func(t *testing.T) {
		text := strings.Join(sqlMetacharacters, " ")
		body, _ := json.Marshal(map[string]any{"type": "complaint", "opinion": text})
		f.mustStatus(t, f.clients["hebei-portal"], "case-submit", http.MethodPost, "/cases/"+f.serial+"/events", string(body), http.StatusCreated)
		events := f.caseView(t, "hebei-portal", f.serial).Events
		if last := events[len(events)-1]; last.Type != "complaint" || last.Opinion != text {
			t.Errorf("the complaint came back as %+v, want opinion %q", last, text)
		}
		name, _ := json.Marshal(`O'Brien "张"; -- \ % _`)
		serial := submitFixtureCase(t, f.clients["hebei-portal"], string(name))
		if got := f.caseView(t, "hebei-portal", serial).Applicant.Name; got != `O'Brien "张"; -- \ % _` {
			t.Errorf("applicant name came back as %q", got)
		}
	})
}

// listItemCount is the length of a list answer's items.
func listItemCount(t *testing.T, a stackAnswer) int {
	t.Helper()
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(a.body, &list); err != nil {
		t.Errorf("not a list: %v", a)
	}
	return len(list.Items)
}
