package auth

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/problem"
)

// The seven lines of contract section 1, and a signature checked with
// printf 'serial-issue\nPOST\n/\n\n1764000000\nabcdefgh12\n<sha256 of body>' | openssl dgst -sha256 -hmac 'local-demo-secret-hebei-portal'
func TestStringToSign(t *testing.T) {
	s := Signed{Function: "serial-issue", Method: "post", Subpath: "", RawQuery: "",
		Timestamp: "1764000000", Nonce: "abcdefgh12", Body: nil}
	want := "serial-issue\nPOST\n/\n\n1764000000\nabcdefgh12\n" +
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if got := s.StringToSign(); got != want {
		t.Fatalf("StringToSign =\n%q\nwant\n%q", got, want)
	}
	// The golden signature was computed with openssl, not with this code.
	const golden = "0ba84e9e3a651db297937ba0451f523773d48a747b1abea1d2a62ef2d9e15af6"
	if got := Sign("local-demo-secret-hebei-portal", s); got != golden {
		t.Fatalf("Sign = %s, want %s", got, golden)
	}
}

type fakeApps map[string]AppRecord

func (f fakeApps) Lookup(_ context.Context, id string) (AppRecord, bool, error) {
	r, ok := f[id]
	return r, ok, nil
}

// memNonces is the NonceGuard's contract in memory, for the pure tests of
// the verifier; the PostgreSQL guard has its own test.
type memNonces struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (m *memNonces) Remember(_ context.Context, app, nonce string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[string]bool{}
	}
	k := app + "/" + nonce
	fresh := !m.seen[k]
	m.seen[k] = true
	return fresh, nil
}

const secret = "local-demo-secret-hebei-portal"

func signedRequest(now time.Time, method, subpath, query, nonce string, body []byte) SignedRequest {
	ts := strconv.FormatInt(now.Unix(), 10)
	h := http.Header{}
	h.Set(HeaderAppID, "hebei-portal")
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderNonce, nonce)
	h.Set(HeaderSignature, Sign(secret, Signed{Function: "case-submit", Method: method, Subpath: subpath,
		RawQuery: query, Timestamp: ts, Nonce: nonce, Body: body}))
	return SignedRequest{Function: "case-submit", Method: method, Subpath: subpath, RawQuery: query, Header: h, Body: body}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_764_000_000, 0)
	apps := fakeApps{"hebei-portal": {ID: "hebei-portal", Secret: secret, Roles: []Role{RolePlatform}}}
	body := []byte(`{"itemCode":"X"}`)
	tests := []struct {
		name   string
		req    func() SignedRequest
		code   string // "" for success
		repeat bool   // send the same request twice; the second gets code
	}{
		{"good POST", func() SignedRequest { return signedRequest(now, "POST", "/cases", "", "nonce-0001", body) }, "", false},
		{"good GET with query", func() SignedRequest {
			return signedRequest(now, "GET", "/cases/1", "a=1&b=%E6%B0%91", "nonce-0002", nil)
		}, "", false},
		{"missing header", func() SignedRequest {
			r := signedRequest(now, "POST", "/cases", "", "nonce-0003", body)
			r.Header.Del(HeaderSignature)
			return r
		}, CodeMissingCredentials, false},
		{"missing app id", func() SignedRequest {
			r := signedRequest(now, "POST", "/cases", "", "nonce-0004", body)
			r.Header.Del(HeaderAppID)
			return r
		}, CodeMissingCredentials, false},
		{"unknown app", func() SignedRequest {
			r := signedRequest(now, "POST", "/cases", "", "nonce-0005", body)
			r.Header.Set(HeaderAppID, "stranger")
			return r
		}, CodeInvalidSignature, false},
		{"tampered body", func() SignedRequest {
			r := signedRequest(now, "POST", "/cases", "", "nonce-0006", body)
			r.Body = []byte(`{"itemCode":"Y"}`)
			return r
		}, CodeInvalidSignature, false},
		{"tampered path", func() SignedRequest {
			r := signedRequest(now, "GET", "/cases/1", "", "nonce-0007", nil)
			r.Subpath = "/cases/2"
			return r
		}, CodeInvalidSignature, false},
		{"tampered query", func() SignedRequest {
			r := signedRequest(now, "GET", "/cases", "status=a", "nonce-0008", nil)
			r.RawQuery = "status=b"
			return r
		}, CodeInvalidSignature, false},
		{"other function", func() SignedRequest {
			r := signedRequest(now, "GET", "/cases", "", "nonce-0009", nil)
			r.Function = "document-fetch"
			return r
		}, CodeInvalidSignature, false},
		{"bad nonce", func() SignedRequest { return signedRequest(now, "POST", "/cases", "", "short", body) }, CodeInvalidSignature, false},
		{"stale past", func() SignedRequest {
			return signedRequest(now.Add(-301*time.Second), "POST", "/cases", "", "nonce-0010", body)
		}, CodeStaleTimestamp, false},
		{"stale future", func() SignedRequest {
			return signedRequest(now.Add(301*time.Second), "POST", "/cases", "", "nonce-0011", body)
		}, CodeStaleTimestamp, false},
		{"edge of window", func() SignedRequest {
			return signedRequest(now.Add(-300*time.Second), "POST", "/cases", "", "nonce-0012", body)
		}, "", false},
		{"replayed POST", func() SignedRequest { return signedRequest(now, "POST", "/cases", "", "nonce-0013", body) }, CodeReplayedRequest, true},
		{"repeated GET is fine", func() SignedRequest { return signedRequest(now, "GET", "/cases", "", "nonce-0014", nil) }, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &Verifier{Apps: apps, Nonces: &memNonces{}, Now: func() time.Time { return now }}
			req := tt.req()
			if tt.repeat {
				if _, err := v.Verify(context.Background(), req); err != nil {
					t.Fatalf("first request: %v", err)
				}
			}
			app, err := v.Verify(context.Background(), req)
			if tt.code == "" {
				if err != nil || app.ID != "hebei-portal" || !app.HasRole(RolePlatform) {
					t.Fatalf("Verify = %+v, %v; want hebei-portal", app, err)
				}
				return
			}
			p, ok := problem.As(err)
			if !ok || p.Status != 401 || p.Code != tt.code {
				t.Fatalf("Verify error = %v, want 401 %s", err, tt.code)
			}
		})
	}
}

func TestAppRoles(t *testing.T) {
	dept := App{ID: "d", Roles: []Role{RoleDepartment}, Departments: []string{"130100-GA"}}
	if !dept.ActsFor("130100-GA") || dept.ActsFor("130100-SCJG") || dept.ActsFor("") {
		t.Error("ActsFor")
	}
	platform := App{ID: "p", Roles: []Role{RolePlatform}, Departments: []string{"130100-GA"}}
	if platform.ActsFor("130100-GA") {
		t.Error("a platform app acts for no department, whatever its record says")
	}
	if !(App{Roles: []Role{RoleSupervisor}}).Oversees() || dept.Oversees() {
		t.Error("Oversees")
	}
}

func TestValidNonce(t *testing.T) {
	for n, want := range map[string]bool{
		"abcdefgh": true, "abc-def_0123": true, "abcdefg": false, "abcdefgh!": false,
		"ééééé": false, string(make([]byte, 65)): false,
	} {
		if ValidNonce(n) != want {
			t.Errorf("ValidNonce(%q) = %v", n, !want)
		}
	}
}

// FuzzVerify: whatever the headers, Verify answers a 401 problem or
// success, never another error and never a panic.
func FuzzVerify(f *testing.F) {
	f.Add("hebei-portal", "1764000000", "nonce-0001", "00", "POST", "/", "", []byte("{}"))
	f.Add("", "", "", "", "GET", "", "a=%zz", []byte(nil))
	f.Add("hebei-portal", "-9223372036854775808", "nonce-0001", "zz", "PUT", "/x", "", []byte("x"))
	apps := fakeApps{"hebei-portal": {ID: "hebei-portal", Secret: secret, Roles: []Role{RolePlatform}}}
	f.Fuzz(func(t *testing.T, app, ts, nonce, sig, method, path, query string, body []byte) {
		v := &Verifier{Apps: apps, Nonces: &memNonces{}}
		h := http.Header{}
		h.Set(HeaderAppID, app)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderNonce, nonce)
		h.Set(HeaderSignature, sig)
		_, err := v.Verify(context.Background(), SignedRequest{Function: "f", Method: method, Subpath: path, RawQuery: query, Header: h, Body: body})
		if err == nil {
			return
		}
		if p, ok := problem.As(err); !ok || p.Status != 401 {
			t.Fatalf("Verify error = %v, want a 401 problem", err)
		}
	})
}
