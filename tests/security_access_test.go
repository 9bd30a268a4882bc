package tests

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/auth"
)

// contractAccess is who may call an endpoint, as the contract says it.
type contractAccess struct {
	public bool        // no credentials needed (contract section 1)
	roles  []auth.Role // the roles named; none named means any authenticated app
}

var (
	publicPath = contractAccess{public: true}
	// anyAuthenticatedApp: a record answers 404 to an app that may not see
	// it, which the visibility checks cover.
	anyAuthenticatedApp = contractAccess{}
)

// onlyRoles is the roles of a "Roles"/"who may call" line of the contract.
func onlyRoles(r ...auth.Role) contractAccess { return contractAccess{roles: r} }

func (a contractAccess) allows(r auth.Role) bool {
	return len(a.roles) == 0 || slices.Contains(a.roles, r)
}

// noCredentials is the caller without credentials.
const noCredentials = "none"

// contractEndpoint is one row of the access table: an endpoint of contract
// sections 2-8 with a concrete path and body, and who may call it.
// Placeholders in path and body ({serial}, {attachment}, {payment},
// {waybill}, {license}, {holder}, {now}, {role}) are the fixture's records.
type contractEndpoint struct {
	fn, method, path, body string
	who                    contractAccess
}

// accessRules is the contract's access table, written from CONTRACT.md,
// not from the code.
var accessRules = []contractEndpoint{
	// Section 1: health paths are unauthenticated.
	{"case-submit", "GET", "/_/health", "", publicPath},
	{"serial-issue", "GET", "/_/health", "", publicPath},
	{"document-fetch", "GET", "/_/health", "", publicPath},
	{"warning-scan", "GET", "/_/health", "", publicPath},
	{"catalog-lookup", "GET", "/_/health", "", publicPath},
	{"logistics-callback", "GET", "/_/health", "", publicPath},
	{"payment-callback", "GET", "/_/health", "", publicPath},

	// Section 2: serial-issue.
	{"serial-issue", "POST", "/", `{"region":"130100","channel":"online","count":1}`, onlyRoles(auth.RolePlatform, auth.RoleDepartment, auth.RoleAdmin)},
	{"serial-issue", "GET", "/verify?serial={serial}", "", anyAuthenticatedApp},

	// Section 3: catalog-lookup. Reads: any authenticated app.
	{"catalog-lookup", "GET", "/items/SJZ-XZSP-GGWS-001", "", anyAuthenticatedApp},
	{"catalog-lookup", "GET", "/items?q=%E6%B0%91%E5%AE%BF", "", anyAuthenticatedApp},
	{"catalog-lookup", "GET", "/bundles/SJZ-YJS-MINSU", "", anyAuthenticatedApp},
	{"catalog-lookup", "GET", "/bundles?q=%E6%B0%91%E5%AE%BF", "", anyAuthenticatedApp},
	{"catalog-lookup", "GET", "/scopes?q=%E9%A3%9F%E5%93%81", "", anyAuthenticatedApp},
	{"catalog-lookup", "GET", "/scopes/selection?uscc=91130102MA0D8TQ541", "", anyAuthenticatedApp},
	{"catalog-lookup", "GET", "/scopes/stats?month=2026-11", "", anyAuthenticatedApp},
	{"catalog-lookup", "GET", "/license-types", "", anyAuthenticatedApp},
	{"catalog-lookup", "GET", "/license-types/LT-GGWSXK", "", anyAuthenticatedApp},
	// Writes. The selection written is the demo one again; the admin
	// upserts carry empty bodies so that nothing changes.
	{"catalog-lookup", "PUT", "/scopes/selection?uscc=91130102MA0D8TQ541",
		`{"entries":[{"code":"SC-1301","expressionIds":["SC-1301-A","SC-1301-B"]}]}`, onlyRoles(auth.RolePlatform, auth.RoleAdmin)},
	{"catalog-lookup", "PUT", "/items/SEC-PROBE-001", `{}`, onlyRoles(auth.RoleAdmin)},
	{"catalog-lookup", "PUT", "/bundles/SEC-PROBE-001", `{}`, onlyRoles(auth.RoleAdmin)},
	{"catalog-lookup", "PUT", "/scopes/SEC-PROBE-001", `{}`, onlyRoles(auth.RoleAdmin)},
	{"catalog-lookup", "PUT", "/license-types/SEC-PROBE-001", `{}`, onlyRoles(auth.RoleAdmin)},
	{"catalog-lookup", "PUT", "/departments/SEC-PROBE-001", `{}`, onlyRoles(auth.RoleAdmin)},
	{"catalog-lookup", "GET", "/departments/130100-XZSP", "", onlyRoles(auth.RoleAdmin)},

	// Section 4: case-submit.
	{"case-submit", "POST", "/uploads",
		`{"fileName":"a.pdf","contentType":"application/pdf","sizeBytes":10,"sha256":"` + strings.Repeat("0", 64) + `"}`,
		onlyRoles(auth.RolePlatform, auth.RoleDepartment)},
	{"case-submit", "POST", "/cases", `{}`, onlyRoles(auth.RolePlatform, auth.RoleDepartment)},
	// Visible to the submitter, its department, supervisors and admins;
	// 404 (not 403) to everyone else.
	{"case-submit", "GET", "/cases/{serial}", "", anyAuthenticatedApp},
	// Events come from department apps and the submitting platform app;
	// "paid" only from payment-callback. The body is an unknown type, so
	// the case does not change.
	{"case-submit", "POST", "/cases/{serial}/events", `{"type":"no_such_event"}`, onlyRoles(auth.RolePlatform, auth.RoleDepartment)},

	// Section 5: document-fetch.
	{"document-fetch", "GET", "/attachments/{attachment}", "", anyAuthenticatedApp}, // visibility as the case's
	{"document-fetch", "POST", "/licenses", `{"typeCode":"LT-GGWSXK"}`, onlyRoles(auth.RoleDepartment)},
	{"document-fetch", "GET", "/licenses?holderId={holder}&purpose={serial}", "", onlyRoles(auth.RolePlatform, auth.RoleDepartment, auth.RoleSupervisor)},
	{"document-fetch", "GET", "/licenses/{license}?purpose={serial}", "", onlyRoles(auth.RolePlatform, auth.RoleDepartment, auth.RoleSupervisor)},
	// The contract names no role for verification (证照验真): any app.
	{"document-fetch", "POST", "/licenses/verify", `{"licenseNo":"{license}","holderId":"{holder}","sha256":"` + strings.Repeat("0", 64) + `"}`, anyAuthenticatedApp},
	{"document-fetch", "POST", "/licenses/SEC-NO-SUCH-LICENSE/revoke", `{}`, onlyRoles(auth.RoleDepartment)},
	{"document-fetch", "GET", "/stats/issuance?from=2026-01-01&to=2026-12-31&groupBy=department", "", onlyRoles(auth.RoleSupervisor, auth.RoleAdmin)},
	{"document-fetch", "GET", "/stats/usage?from=2026-01-01&to=2026-12-31&groupBy=department", "", onlyRoles(auth.RoleSupervisor, auth.RoleAdmin)},
	{"document-fetch", "GET", "/materials?holderId={holder}", "", onlyRoles(auth.RolePlatform)},

	// Section 6: warning-scan.
	{"warning-scan", "POST", "/", "", publicPath}, // the scan trigger
	{"warning-scan", "PUT", "/calendar/2099", `{"holidays":[],"workdays":[]}`, onlyRoles(auth.RoleAdmin)},
	{"warning-scan", "GET", "/calendar/2026", "", anyAuthenticatedApp},
	{"warning-scan", "GET", "/cards?caseSerial={serial}", "", onlyRoles(auth.RoleSupervisor, auth.RoleAdmin, auth.RoleDepartment)},
	{"warning-scan", "POST", "/cards/00000000-0000-0000-0000-000000000000/revocation", `{"reason":"probe"}`, onlyRoles(auth.RoleDepartment)},
	{"warning-scan", "POST", "/cards/00000000-0000-0000-0000-000000000000/revocation/decision", `{"approve":false,"note":"probe"}`, onlyRoles(auth.RoleSupervisor)},
	{"warning-scan", "GET", "/stats?from=2026-01-01&to=2026-12-31&groupBy=department", "", onlyRoles(auth.RoleSupervisor, auth.RoleAdmin)},

	// Section 7: payment-callback.
	{"payment-callback", "GET", "/orders/{payment}", "", anyAuthenticatedApp}, // whoever can see the case
	{"payment-callback", "POST", "/", `{"notifyId":"sec-probe-{role}","paymentSerial":"13010092026112200000017","amountFen":1,"status":"paid","paidAt":"{now}","providerTxnId":"sec-probe"}`, onlyRoles(auth.RolePaymentProvider)},
	{"payment-callback", "GET", "/reconciliation?date=2026-11-22", "", onlyRoles(auth.RoleSupervisor, auth.RoleAdmin)},

	// Section 8: logistics-callback.
	{"logistics-callback", "POST", "/shipments", `{"caseSerial":"{serial}","direction":"outbound","carrier":"EMS","waybillNo":"SECACCESS{role}"}`, onlyRoles(auth.RoleDepartment, auth.RolePlatform)},
	{"logistics-callback", "POST", "/", `{"waybillNo":"SECPROBE{role}","events":[{"eventId":"sec-probe","status":"created","at":"{now}"}]}`, onlyRoles(auth.RoleLogisticsProvider)},
	{"logistics-callback", "GET", "/shipments/{waybill}", "", anyAuthenticatedApp}, // whoever can see the case
}

// accessTable calls every endpoint of accessRules as each role and with no
// credentials: a caller without them gets 401 missing_credentials (public paths excepted),
// a role the contract does not name gets 403 forbidden, and a role it
// names gets neither (nor a 5xx).
func accessTable(t *testing.T, f *securityFixture) {
	for _, e := range accessRules {
		var answered []int // the statuses the allowed callers got
		for _, caller := range append([]string{noCredentials}, accessCallers()...) {
			path, body := f.fill(e.path, caller), f.fill(e.body, caller)
			t.Run(fmt.Sprintf("%s/%s %s/%s", e.fn, e.method, e.path, caller), func(t *testing.T) {
				var a stackAnswer
				if caller == noCredentials {
					a = f.unsigned(t, e.method, "/function/"+e.fn+path, body)
				} else {
					a = f.call(t, f.clients[roleApp(auth.Role(caller))], e.fn, e.method, path, body)
				}
				switch {
				case a.status >= 500:
					t.Errorf("server error: %v", a)
				case e.who.public:
					if a.status == http.StatusUnauthorized || a.status == http.StatusForbidden {
						t.Errorf("public path refused: %v", a)
					}
				case caller == noCredentials:
					expectProblem(t, "without credentials", a, http.StatusUnauthorized, "missing_credentials")
				case !e.who.allows(auth.Role(caller)):
					expectProblem(t, "a role the contract does not name", a, http.StatusForbidden, "forbidden")
				default:
					if a.status == http.StatusUnauthorized || a.status == http.StatusForbidden || a.status == http.StatusMethodNotAllowed {
						t.Errorf("a role the contract allows was refused: %v", a)
					}
					answered = append(answered, a.status)
				}
			})
		}
		// A route open to every app proves it exists by an answer other
		// than 404 to someone (the fixture makes every such record visible
		// to its submitter): a mistyped path would otherwise pass.
		if !e.who.public && len(e.who.roles) == 0 && !slices.ContainsFunc(answered, func(s int) bool { return s != http.StatusNotFound }) {
			t.Errorf("%s %s %s: every app got 404 (%v); is the route there?", e.fn, e.method, e.path, answered)
		}
	}

	t.Run("gateway/GET /healthz/"+noCredentials, func(t *testing.T) {
		if a := f.unsigned(t, http.MethodGet, "/healthz", ""); a.status != http.StatusOK {
			t.Errorf("GET /healthz without credentials: %v", a)
		}
	})
}

func accessCallers() []string {
	var out []string
	for _, r := range roleApps {
		out = append(out, string(r.role))
	}
	return out
}

func roleApp(role auth.Role) string {
	for _, r := range roleApps {
		if r.role == role {
			return r.app
		}
	}
	return ""
}

// fill replaces the placeholders of a path or body with the fixture's
// records; {role} keeps bodies that create something apart per caller.
func (f *securityFixture) fill(s, caller string) string {
	return strings.NewReplacer(
		"{serial}", f.serial, "{attachment}", f.attachment, "{payment}", f.payment, "{waybill}", f.waybill,
		"{license}", f.license, "{holder}", fixtureHolder, "{now}", time.Now().Format(time.RFC3339),
		"{role}", strings.ToUpper(caller),
	).Replace(s)
}
