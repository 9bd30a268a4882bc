package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// Who sees the fixture case (contract section 4): the submitting app,
// department apps of the item's department, supervisors and admins.
// Everyone else gets the 404 of a case that does not exist.
var caseReaders = []struct {
	app  string
	sees bool
}{
	{"hebei-portal", true},    // submitted it
	{"sjz-xzsp-window", true}, // 130100-XZSP, the item's department
	{"sjz-supervisor", true},
	{"onewindow-admin", true},
	{otherPortal, false},           // another platform app
	{otherDepartment, false},       // 130100-GA
	{"hebei-market-system", false}, // 130000-SCJG
	{"unionpay-gateway", false},
	{"ems-courier", false},
}

// visibilityChecks: another app's case, its files, payment order,
// shipment and the licenses used for it are 404, worded like an absent
// record; another app's uploads and files cannot be borrowed.
func visibilityChecks(t *testing.T, f *securityFixture) {
	// Each read, with the same read of a record that does not exist: a
	// hidden record must answer exactly like an absent one.
	reads := []struct {
		fn, path, absent string
	}{
		{"case-submit", "/cases/" + f.serial, "/cases/13010012026112200000013"},
		{"document-fetch", "/attachments/" + f.attachment, "/attachments/00000000-0000-7000-8000-000000000000"},
		{"payment-callback", "/orders/" + f.payment, "/orders/13010092026112200000017"},
		{"logistics-callback", "/shipments/" + f.waybill, "/shipments/SECABSENT000"},
	}
	for _, r := range reads {
		for _, reader := range caseReaders {
			t.Run(fmt.Sprintf("%s/GET %s/%s", r.fn, strings.SplitN(r.path[1:], "/", 2)[0], reader.app), func(t *testing.T) {
				c := f.clients[reader.app]
				a := f.call(t, c, r.fn, http.MethodGet, r.path, "")
				if reader.sees {
					if a.status != http.StatusOK {
						t.Errorf("%s: %v, want 200", r.path, a)
					}
					return
				}
				expectProblem(t, r.path, a, http.StatusNotFound, "not_found")
				absent := f.call(t, c, r.fn, http.MethodGet, r.absent, "")
				if got, want := hideID(a.body, r.path), hideID(absent.body, r.absent); got != want {
					t.Errorf("a hidden record answers unlike an absent one:\n hidden: %s\n absent: %s", got, want)
				}
			})
		}
	}

	// License use names the case it serves: a case the caller cannot see
	// is 404, even for the holder's license.
	for _, path := range []string{"/licenses/" + f.license + "?purpose=" + f.serial, "/licenses?holderId=" + fixtureHolder + "&purpose=" + f.serial} {
		for _, reader := range []struct {
			app    string
			status int
		}{
			{"hebei-portal", http.StatusOK}, {"sjz-xzsp-window", http.StatusOK}, {"sjz-supervisor", http.StatusOK},
			{otherPortal, http.StatusNotFound}, {otherDepartment, http.StatusNotFound},
		} {
			t.Run("document-fetch/GET "+strings.SplitN(path, "?", 2)[0]+"/"+reader.app, func(t *testing.T) {
				a := f.call(t, f.clients[reader.app], "document-fetch", http.MethodGet, path, "")
				if a.status != reader.status {
					t.Errorf("%s: %v, want %d", path, a, reader.status)
				}
				if reader.status == http.StatusNotFound && bytes.Contains(a.body, []byte(f.license)) {
					t.Errorf("the 404 names the license: %v", a)
				}
			})
		}
	}

	t.Run("events on another app's case", func(t *testing.T) {
		for _, c := range []struct{ app, body string }{
			{otherPortal, `{"type":"complaint","opinion":"not mine"}`},
			{otherPortal, `{"type":"withdrawn"}`},
			{otherDepartment, `{"type":"approved"}`},
			{otherDepartment, `{"type":"payment_requested","amountFen":1}`},
		} {
			a := f.call(t, f.clients[c.app], "case-submit", http.MethodPost, "/cases/"+f.serial+"/events", c.body)
			expectProblem(t, c.app+" posts "+c.body, a, http.StatusNotFound, "not_found")
		}
		if got := len(f.caseView(t, "hebei-portal", f.serial).Events); got == 0 {
			t.Fatal("the fixture case lost its events")
		}
	})

	t.Run("a shipment for another app's case", func(t *testing.T) {
		for _, app := range []string{otherPortal, otherDepartment} {
			body := fmt.Sprintf(`{"caseSerial":%q,"direction":"outbound","carrier":"EMS","waybillNo":"SECVIS%s"}`,
				f.serial, strings.ToUpper(strings.ReplaceAll(app, "-", "")))
			a := f.call(t, f.clients[app], "logistics-callback", http.MethodPost, "/shipments", body)
			expectProblem(t, app+" registers a shipment", a, http.StatusNotFound, "not_found")
		}
	})

	t.Run("lists show only the app's own records", func(t *testing.T) {
		a := f.call(t, f.clients[otherPortal], "document-fetch", http.MethodGet, "/materials?holderId="+fixtureHolder, "")
		if a.status != http.StatusOK || bytes.Contains(a.body, []byte(f.attachment)) {
			t.Errorf("another portal's history materials: %v", a)
		}
		a = f.call(t, f.clients["hebei-portal"], "document-fetch", http.MethodGet, "/materials?holderId="+fixtureHolder, "")
		if a.status != http.StatusOK || !bytes.Contains(a.body, []byte(f.attachment)) {
			t.Errorf("the submitter's history materials lack its file: %v", a)
		}
		a = f.call(t, f.clients[otherPortal], "case-submit", http.MethodGet, "/cases", "")
		if a.status != http.StatusOK || bytes.Contains(a.body, []byte(f.serial)) {
			t.Errorf("another portal's case list: %v", a)
		}
		a = f.call(t, f.clients[otherDepartment], "warning-scan", http.MethodGet, "/cards?caseSerial="+f.serial, "")
		if a.status != http.StatusOK || listItemCount(t, a) != 0 {
			t.Errorf("another department's cards: %v", a)
		}
	})

	t.Run("another app's files cannot be borrowed", func(t *testing.T) {
		upload := uploadThroughStack(t, f.clients["hebei-portal"], demoPDF)
		for _, m := range []string{
			fmt.Sprintf(`{"code":"M-GGWS-SQS","historyOf":%q}`, f.attachment), // the portal's earlier file
			fmt.Sprintf(`{"code":"M-GGWS-SQS","uploadIds":[%q]}`, upload),     // the portal's fresh upload
		} {
			body := fmt.Sprintf(`{"itemCode":%q,"channel":"online","region":"130102",
				"applicant":{"type":"person","name":"李四","idType":"resident_id","idNumber":%q,"phone":"13800138000"},
				"materials":[%s],"delivery":{"method":"pickup"}}`, fixtureItem, fixtureHolder, m)
			a := f.call(t, f.clients[otherPortal], "case-submit", http.MethodPost, "/cases", body)
			expectProblem(t, "wechat-hall submits "+m, a, http.StatusUnprocessableEntity, "validation_failed")
			if !hasFieldError(a, "materials.M-GGWS-SQS") {
				t.Errorf("no error for the borrowed file %s: %v", m, a)
			}
		}
	})

	t.Run("licenses of another department", func(t *testing.T) {
		upload := uploadThroughStack(t, f.clients[otherDepartment], demoPDF)
		a := f.call(t, f.clients[otherDepartment], "document-fetch", http.MethodPost, "/licenses", fmt.Sprintf(
			`{"typeCode":%q,"licenseNo":"SEC-FORGED-1","holder":{"idType":"resident_id","idNumber":%q,"name":"张三"},"issuedAt":"2026-01-05","data":{},"uploadId":%q}`,
			fixtureLicenseType, fixtureHolder, upload))
		expectProblem(t, "130100-GA issues a 130100-XZSP license", a, http.StatusForbidden, "forbidden")

		a = f.call(t, f.clients[otherDepartment], "document-fetch", http.MethodPost, "/licenses/"+f.license+"/revoke", `{"reason":"not mine"}`)
		expectOneOf(t, "130100-GA revokes a 130100-XZSP license", a, http.StatusForbidden, http.StatusNotFound)
		verify := fmt.Sprintf(`{"licenseNo":%q,"holderId":%q,"sha256":%q}`, f.license, fixtureHolder, hexSHA256(demoPDF))
		a = f.call(t, f.clients["hebei-portal"], "document-fetch", http.MethodPost, "/licenses/verify", verify)
		if a.status != http.StatusOK || !bytes.Contains(a.body, []byte(`"status":"valid"`)) {
			t.Errorf("the license after another department's revocation: %v", a)
		}
	})
}

// hideID blanks id (the last path segment, without its query) in a problem
// body, so that two 404s can be compared.
func hideID(body []byte, path string) string {
	path, _, _ = strings.Cut(path, "?")
	id := path[strings.LastIndex(path, "/")+1:]
	var p map[string]any
	if json.Unmarshal(body, &p) != nil {
		return string(body)
	}
	delete(p, "instance")
	b, _ := json.Marshal(p)
	return strings.ReplaceAll(string(b), id, "{id}")
}

// hasFieldError reports whether a 422 names field, or a field under it,
// in its errors[].
func hasFieldError(a stackAnswer, field string) bool {
	var p struct {
		Errors []struct {
			Field string `json:"field"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(a.body, &p)
	for _, e := range p.Errors {
		if e.Field == field || strings.HasPrefix(e.Field, field+".") {
			return true
		}
	}
	return false
}
