package auth

import (
	"math"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/onewindow/onewindow/shared/problem"
)

// CodeRateLimited is the 429 code for an app over its request rate.
const CodeRateLimited = "rate_limited"

// RateLimits holds one token bucket per app that has a limit
// (AppRecord.RatePerSecond). The buckets live in the replica's memory: a
// check costs no database round trip, so the catalogue's reads stay free of
// the database. The price is that the limit is per replica; the gateway or
// ingress in front of OpenFaaS holds the global one (docs/deploy.md).
type RateLimits struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// NewRateLimits returns an empty set of buckets.
func NewRateLimits() *RateLimits { return &RateLimits{buckets: map[string]*rate.Limiter{}} }

// Admit takes one request from rec's bucket at now. It returns nil when the
// request may go on, else a 429 problem whose Retry-After is when a token is
// back. An app without a limit is always admitted. A changed limit (the
// registry re-reads apps every few seconds) applies to the existing bucket.
func (l *RateLimits) Admit(rec AppRecord, now time.Time) error {
	if rec.RatePerSecond <= 0 {
		return nil
	}
	limit, burst := rate.Limit(rec.RatePerSecond), rec.burst()
	l.mu.Lock()
	b, ok := l.buckets[rec.ID]
	if !ok {
		b = rate.NewLimiter(limit, burst)
		l.buckets[rec.ID] = b
	}
	l.mu.Unlock()
	if b.Limit() != limit {
		b.SetLimitAt(now, limit)
	}
	if b.Burst() != burst {
		b.SetBurstAt(now, burst)
	}
	r := b.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	if wait == 0 {
		return nil
	}
	r.CancelAt(now) // refused requests do not spend the tokens they would have waited for
	p := problem.New(http.StatusTooManyRequests, CodeRateLimited,
		"this app is over its request rate; retry after the time in Retry-After")
	p.RetryAfter = max(time.Second, wait)
	return p
}

// burst is the bucket's size: RateBurst, else one second's worth of requests.
func (r AppRecord) burst() int {
	if r.RateBurst > 0 {
		return r.RateBurst
	}
	return max(1, int(math.Ceil(r.RatePerSecond)))
}
