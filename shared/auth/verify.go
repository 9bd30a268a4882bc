package auth

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/onewindow/onewindow/shared/problem"
)

// TimestampWindow is how far X-Timestamp may be from the verifier's clock.
const TimestampWindow = 300 * time.Second

// SignedRequest is an incoming request as the verifier needs it.
type SignedRequest struct {
	Function string
	Method   string
	Subpath  string
	RawQuery string
	Header   http.Header
	Body     []byte
}

// AppLookup finds an enabled app and its secret; *Registry is one.
type AppLookup interface {
	Lookup(ctx context.Context, id string) (rec AppRecord, found bool, err error)
}

// NonceMemory records nonces; *NonceGuard is one.
type NonceMemory interface {
	Remember(ctx context.Context, appID, nonce string) (fresh bool, err error)
}

// Verifier authenticates requests (contract section 1).
type Verifier struct {
	Apps   AppLookup
	Nonces NonceMemory
	// Limits, when set, holds the per-app request rates (429).
	Limits *RateLimits
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// The 401 codes of the contract.
const (
	CodeMissingCredentials = "missing_credentials"
	CodeInvalidSignature   = "invalid_signature"
	CodeStaleTimestamp     = "stale_timestamp"
	CodeReplayedRequest    = "replayed_request"
)

func unauthorized(code, detail string) *problem.Problem {
	return problem.New(http.StatusUnauthorized, code, detail)
}

// Verify returns the app that signed r, or a 401 problem. The checks run in
// the order that reveals least to a stranger: headers present, then the
// signature (an unknown app and a wrong signature look the same), then the
// timestamp window, then the app's request rate, and last, for methods
// other than GET and HEAD, the nonce, so that only authentic requests that
// will be served are remembered.
func (v *Verifier) Verify(ctx context.Context, r SignedRequest) (App, error) {
	appID := r.Header.Get(HeaderAppID)
	ts := r.Header.Get(HeaderTimestamp)
	nonce := r.Header.Get(HeaderNonce)
	sig := r.Header.Get(HeaderSignature)
	if appID == "" || ts == "" || nonce == "" || sig == "" {
		return App{}, unauthorized(CodeMissingCredentials,
			"X-App-Id, X-Timestamp, X-Nonce and X-Signature are required")
	}
	if !ValidNonce(nonce) {
		return App{}, unauthorized(CodeInvalidSignature, "X-Nonce must be 8-64 characters of [A-Za-z0-9_-]")
	}
	rec, found, err := v.Apps.Lookup(ctx, appID)
	if err != nil {
		return App{}, err
	}
	signed := Signed{Function: r.Function, Method: r.Method, Subpath: r.Subpath, RawQuery: r.RawQuery,
		Timestamp: ts, Nonce: nonce, Body: r.Body}
	if !found || !signatureMatches(rec.Secret, signed, sig) {
		return App{}, unauthorized(CodeInvalidSignature, "unknown app or wrong signature")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if err != nil || !within(now(), sec, TimestampWindow) {
		return App{}, unauthorized(CodeStaleTimestamp, "X-Timestamp must be unix seconds within 300 s of now")
	}
	if v.Limits != nil {
		if err := v.Limits.Admit(rec, now()); err != nil {
			return App{}, err
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		fresh, err := v.Nonces.Remember(ctx, appID, nonce)
		if err != nil {
			return App{}, err
		}
		if !fresh {
			return App{}, unauthorized(CodeReplayedRequest, "this X-Nonce was used in the last 10 minutes")
		}
	}
	return rec.App(), nil
}

func within(now time.Time, unix int64, window time.Duration) bool {
	d := now.Unix() - unix
	return d <= int64(window/time.Second) && d >= -int64(window/time.Second)
}
