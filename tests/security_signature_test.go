package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onewindow/onewindow/infra/gateway"
	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/client"
)

// issueOne is a valid POST / of serial-issue; each accepted one issues a serial.
var issueOne = []byte(`{"region":"130100","channel":"online","count":1}`)

// signatureChecks: every signed line tampered, a wrong secret, an unknown
// app, timestamps out of the window, and nonces replayed across
// functions and replicas (contract section 1).
func signatureChecks(t *testing.T, f *securityFixture) {
	const app = "hebei-portal"
	// A signed POST to serial-issue with a query string, so that each of
	// the seven lines has something to tamper with.
	base := func() auth.Signed { return freshLines("serial-issue", http.MethodPost, "/", "probe=1", issueOne) }

	tampered := []struct {
		line string
		sent func(s *auth.Signed) // changes what is sent after signing
	}{
		{"function name", func(s *auth.Signed) { s.Function = "document-fetch" }},
		{"method", func(s *auth.Signed) { s.Method = http.MethodPut }},
		{"subpath", func(s *auth.Signed) { s.Subpath = "/verify" }},
		{"query", func(s *auth.Signed) { s.RawQuery = "probe=2" }},
		{"query dropped", func(s *auth.Signed) { s.RawQuery = "" }},
		{"timestamp", func(s *auth.Signed) { s.Timestamp = unixMinusOne(s.Timestamp) }},
		{"nonce", func(s *auth.Signed) { s.Nonce = client.Nonce() }},
		{"body", func(s *auth.Signed) { s.Body = []byte(`{"region":"130100","channel":"online","count":2}`) }},
		{"body emptied", func(s *auth.Signed) { s.Body = nil }},
	}
	for _, c := range tampered {
		t.Run("tampered "+c.line, func(t *testing.T) {
			w := f.signedRequest(app, base())
			c.sent(&w.lines)
			expectProblem(t, "tampered "+c.line, f.send(t, w), http.StatusUnauthorized, "invalid_signature")
		})
	}

	t.Run("an untampered request passes", func(t *testing.T) {
		// The control for the cases above: the same request, unchanged.
		if a := f.send(t, f.signedRequest(app, base())); a.status != http.StatusCreated {
			t.Errorf("untampered: %v, want 201", a)
		}
	})

	t.Run("wrong secret", func(t *testing.T) {
		lines := base()
		w := wireRequest{appID: app, lines: lines, signature: auth.Sign("not-the-secret-of-hebei-portal", lines)}
		expectProblem(t, "wrong secret", f.send(t, w), http.StatusUnauthorized, "invalid_signature")
	})
	t.Run("another app's secret", func(t *testing.T) {
		w := f.signedRequest("wechat-hall", base())
		w.appID = app
		expectProblem(t, "signed by wechat-hall, sent as hebei-portal", f.send(t, w), http.StatusUnauthorized, "invalid_signature")
	})
	t.Run("unknown app", func(t *testing.T) {
		lines := base()
		w := wireRequest{appID: "no-such-app", lines: lines, signature: auth.Sign("any-secret-at-all-16", lines)}
		expectProblem(t, "unknown app", f.send(t, w), http.StatusUnauthorized, "invalid_signature")
	})
	t.Run("signature of another request", func(t *testing.T) {
		other := f.signedRequest(app, freshLines("serial-issue", http.MethodGet, "/verify", "serial="+f.serial, nil))
		w := f.signedRequest(app, base())
		w.signature = other.signature
		expectProblem(t, "borrowed signature", f.send(t, w), http.StatusUnauthorized, "invalid_signature")
	})
	t.Run("missing headers", func(t *testing.T) {
		for _, header := range []string{auth.HeaderAppID, auth.HeaderTimestamp, auth.HeaderNonce, auth.HeaderSignature} {
			w := f.signedRequest(app, base())
			switch header {
			case auth.HeaderAppID:
				w.appID = ""
			case auth.HeaderTimestamp:
				w.lines.Timestamp = ""
			case auth.HeaderNonce:
				w.lines.Nonce = ""
			case auth.HeaderSignature:
				w.signature = ""
			}
			expectProblem(t, "without "+header, f.send(t, w), http.StatusUnauthorized, "missing_credentials")
		}
	})

	t.Run("timestamps", func(t *testing.T) {
		now := time.Now()
		for _, c := range []struct {
			name   string
			at     time.Time
			status int
			code   string
		}{
			{"400 s old", now.Add(-400 * time.Second), http.StatusUnauthorized, "stale_timestamp"},
			{"400 s ahead", now.Add(400 * time.Second), http.StatusUnauthorized, "stale_timestamp"},
			{"a day old", now.Add(-24 * time.Hour), http.StatusUnauthorized, "stale_timestamp"},
			{"200 s old, within the window", now.Add(-200 * time.Second), http.StatusOK, ""},
		} {
			lines := freshLines("serial-issue", http.MethodGet, "/verify", "serial="+f.serial, nil)
			lines.Timestamp = strconv.FormatInt(c.at.Unix(), 10)
			a := f.send(t, f.signedRequest(app, lines))
			if a.status != c.status || a.code() != c.code {
				t.Errorf("%s: %v, want %d %q", c.name, a, c.status, c.code)
			}
		}
	})

	t.Run("a replayed POST", func(t *testing.T) { replayChecks(t, f) })

	t.Run("a GET may reuse its nonce", func(t *testing.T) {
		lines := freshLines("serial-issue", http.MethodGet, "/verify", "serial="+f.serial, nil)
		for i := range 3 {
			if a := f.send(t, f.signedRequest(app, lines)); a.status != http.StatusOK {
				t.Errorf("GET #%d with one nonce: %v, want 200", i+1, a)
			}
		}
	})
}

// replayChecks: an (app, nonce) pair seen on a POST is refused by every
// replica of every function for 10 minutes.
func replayChecks(t *testing.T, f *securityFixture) {
	const app = "hebei-portal"
	upload := func(nonce string) auth.Signed {
		lines := freshLines("case-submit", http.MethodPost, "/uploads", "", []byte(fmt.Sprintf(
			`{"fileName":"a.pdf","contentType":"application/pdf","sizeBytes":%d,"sha256":%q}`, len(demoPDF), hexSHA256(demoPDF))))
		lines.Nonce = nonce
		return lines
	}
	replicas := f.waitReplicas(t, "case-submit", 2)

	first := freshLines("serial-issue", http.MethodPost, "/", "", issueOne)
	if a := f.send(t, f.signedRequest(app, first)); a.status != http.StatusCreated {
		t.Fatalf("first POST: %v", a)
	}
	// A signature is good for 300 s; re-signing with a new timestamp is
	// what a replaying attacker who knows the secret could not do, so the
	// replay is the very same request.
	expectProblem(t, "the same POST again", f.send(t, f.signedRequest(app, first)), http.StatusUnauthorized, "replayed_request")
	// The nonce reused, correctly signed, for another function: every
	// replica of case-submit must refuse it. Requests are spread round
	// robin, so 2 per replica reach each of them.
	for i := range 2 * replicas {
		expectProblem(t, fmt.Sprintf("the nonce on case-submit, call %d", i+1),
			f.send(t, f.signedRequest(app, upload(first.Nonce))), http.StatusUnauthorized, "replayed_request")
	}
	// And a nonce first seen by one replica of case-submit is refused by
	// the others.
	second := upload(client.Nonce())
	if a := f.send(t, f.signedRequest(app, second)); a.status != http.StatusCreated {
		t.Fatalf("POST /uploads: %v", a)
	}
	for i := range 2 * replicas {
		expectProblem(t, fmt.Sprintf("a case-submit POST replayed, call %d", i+1),
			f.send(t, f.signedRequest(app, second)), http.StatusUnauthorized, "replayed_request")
	}
	// The nonce is the app's: another app may use the same one.
	other := freshLines("serial-issue", http.MethodPost, "/", "", issueOne)
	other.Nonce = first.Nonce
	if a := f.send(t, f.signedRequest("wechat-hall", other)); a.status != http.StatusCreated {
		t.Errorf("another app with the same nonce: %v, want 201", a)
	}
}

// waitReplicas waits until fn has at least n available replicas (scaling
// it up if needed) and returns how many it has.
func (f *securityFixture) waitReplicas(t *testing.T, fn string, n int) int {
	t.Helper()
	status := func() gateway.FunctionStatus {
		var st gateway.FunctionStatus
		a, err := readAnswer(http.Get(f.s.url + "/system/function/" + fn))
		if err == nil {
			_ = json.Unmarshal(a.body, &st)
		}
		return st
	}
	if st := status(); st.Replicas < uint64(n) {
		a, err := readAnswer(http.Post(f.s.url+"/system/scale-function/"+fn, "application/json",
			strings.NewReader(fmt.Sprintf(`{"serviceName":%q,"replicas":%d}`, fn, n))))
		if err != nil || a.status != http.StatusAccepted {
			t.Fatalf("scale %s to %d: %v %v", fn, n, a, err)
		}
	}
	var got int
	pollUntil(t, time.Minute, fmt.Sprintf("%d available replicas of %s", n, fn), func() bool {
		st := status()
		got = int(st.AvailableReplicas)
		return got >= n
	})
	return got
}

func unixMinusOne(unix string) string {
	n, _ := strconv.ParseInt(unix, 10, 64)
	return strconv.FormatInt(n-1, 10)
}
