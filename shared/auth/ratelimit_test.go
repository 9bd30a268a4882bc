package auth

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/problem"
)

func TestRateLimitsAdmit(t *testing.T) {
	t0 := time.Unix(1_764_000_000, 0)
	kiosk := AppRecord{ID: "kiosk", RatePerSecond: 2, RateBurst: 3}
	steps := []struct {
		at        time.Duration // after t0
		app       AppRecord
		admitted  bool
		retryHint time.Duration // Retry-After when refused
	}{
		{0, kiosk, true, 0},
		{0, kiosk, true, 0},
		{0, kiosk, true, 0}, // the burst of 3 is spent
		{0, kiosk, false, time.Second},
		{100 * time.Millisecond, kiosk, false, time.Second}, // refusals do not push the refill back
		{500 * time.Millisecond, kiosk, true, 0},            // 2/s: one token back after 500 ms
		{500 * time.Millisecond, kiosk, false, time.Second},
		{0, AppRecord{ID: "portal"}, true, 0}, // no limit
		// The registry re-read a raised limit: the same bucket refills faster.
		{600 * time.Millisecond, AppRecord{ID: "kiosk", RatePerSecond: 100, RateBurst: 3}, false, time.Second},
		{610 * time.Millisecond, AppRecord{ID: "kiosk", RatePerSecond: 100, RateBurst: 3}, true, 0},
		{4 * time.Second, AppRecord{ID: "kiosk", RatePerSecond: 0.25, RateBurst: 1}, true, 0},
		{4 * time.Second, AppRecord{ID: "kiosk", RatePerSecond: 0.25, RateBurst: 1}, false, 4 * time.Second},
	}
	l := NewRateLimits()
	for i, s := range steps {
		err := l.Admit(s.app, t0.Add(s.at))
		if s.admitted {
			if err != nil {
				t.Fatalf("step %d (%s at +%s): refused: %v", i, s.app.ID, s.at, err)
			}
			continue
		}
		p, ok := problem.As(err)
		if !ok || p.Status != http.StatusTooManyRequests || p.Code != CodeRateLimited {
			t.Fatalf("step %d: Admit = %v, want 429 %s", i, err, CodeRateLimited)
		}
		if p.RetryAfter != s.retryHint {
			t.Errorf("step %d: Retry-After %s, want %s", i, p.RetryAfter, s.retryHint)
		}
	}
}

// A refused request is refused before its nonce is remembered: the client
// may resend it once the Retry-After has passed.
func TestVerifyRateLimitedBeforeNonce(t *testing.T) {
	now := time.Unix(1_764_000_000, 0)
	apps := fakeApps{"hebei-portal": {ID: "hebei-portal", Secret: secret, Roles: []Role{RolePlatform},
		RatePerSecond: 1, RateBurst: 1}}
	nonces := &memNonces{}
	v := &Verifier{Apps: apps, Nonces: nonces, Limits: NewRateLimits(), Now: func() time.Time { return now }}
	ctx := context.Background()
	if _, err := v.Verify(ctx, signedRequest(now, "POST", "/cases", "", "nonce-0001", nil)); err != nil {
		t.Fatalf("first request: %v", err)
	}
	second := signedRequest(now, "POST", "/cases", "", "nonce-0002", nil)
	_, err := v.Verify(ctx, second)
	if p, ok := problem.As(err); !ok || p.Status != http.StatusTooManyRequests || p.RetryAfter != time.Second {
		t.Fatalf("second request: %v, want 429 with Retry-After 1s", err)
	}
	now = now.Add(time.Second)
	if _, err := v.Verify(ctx, second); err != nil {
		t.Fatalf("the refused request sent again after Retry-After: %v", err)
	}
}

func TestAppRecordValidateRates(t *testing.T) {
	good := AppRecord{ID: "kiosk", Secret: "0123456789abcdef", Roles: []Role{RolePlatform}, RatePerSecond: 5, RateBurst: 10}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid record: %v", err)
	}
	for _, bad := range []AppRecord{
		{ID: "kiosk", Secret: "0123456789abcdef", Roles: []Role{RolePlatform}, RatePerSecond: -1},
		{ID: "kiosk", Secret: "0123456789abcdef", Roles: []Role{RolePlatform}, RateBurst: -1},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", bad)
		}
	}
}
