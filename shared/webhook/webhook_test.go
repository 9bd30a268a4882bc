package webhook

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/onewindow/onewindow/shared/store"
	"github.com/onewindow/onewindow/shared/testenv"
)

// A delivery arrives once, byte for byte, with Standard Webhooks headers
// that the library's own Verify accepts, whichever way the department
// wrote its secret.
func TestSignedDelivery(t *testing.T) {
	db := testenv.Pool(t)
	rcv := newReceiver(t)
	unpadded := strings.TrimRight(rcv.secret, "=")
	if unpadded == rcv.secret {
		t.Fatal("test secret has no padding to drop")
	}
	for _, tc := range []struct{ name, secret string }{
		{"padded base64", rcv.secret},
		{"unpadded base64", unpadded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newClock()
			var eps endpoints
			eps.set("D1", rcv.url("/ok"), tc.secret)
			d := newDeliverer(t, db, clock, &eps, nil)
			stream := "case-" + tc.name
			m := message("D1", stream, 1)
			ids := enqueue(t, d, db, m)
			before := len(rcv.requests())
			runDue(t, d, Counts{Delivered: 1})

			reqs := rcv.requests()[before:]
			if len(reqs) != 1 {
				t.Fatalf("receiver got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if string(r.body) != string(m.Body) {
				t.Errorf("body = %s, want %s", r.body, m.Body)
			}
			if err := rcv.wh.Verify(r.body, r.header); err != nil {
				t.Errorf("Verify: %v", err)
			}
			for h, want := range map[string]string{
				"webhook-id":        ids[0],
				"webhook-timestamp": strconv.FormatInt(clock.Now().Unix(), 10),
				"Content-Type":      "application/json",
			} {
				if got := r.header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if !strings.HasPrefix(r.header.Get("webhook-signature"), "v1,") {
				t.Errorf("webhook-signature = %q, want v1,...", r.header.Get("webhook-signature"))
			}

			got := only(t, db, stream)
			want := Delivery{ID: ids[0], Seq: 1, Type: "case.event", Department: "D1", State: StateDelivered,
				Attempts: 1, CreatedAt: clock.Now(), DeliveredAt: clock.Now()}
			if !sameDelivery(got, want) {
				t.Errorf("List = %+v, want %+v", got, want)
			}
			runDue(t, d, Counts{}) // nothing left, nothing sent twice
		})
	}
}

// Every kind of failure is a failed attempt with a short reason that holds
// no URL or secret, retried within 15 s under the same webhook-id, and the
// delivery goes through once the department is reachable.
func TestFailedAttemptsAreRetried(t *testing.T) {
	db := testenv.Pool(t)
	rcv := newReceiver(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/hook?token=" + urlToken
	dead.Close()
	const timeout = 150 * time.Millisecond

	for _, tc := range []struct {
		name        string
		url, secret string
		want        string // in the stored reason
	}{
		{"server error", rcv.url("/500"), rcv.secret, "HTTP 500"},
		{"redirect not followed", rcv.url("/redirect"), rcv.secret, "HTTP 302"},
		{"no answer in time", rcv.url("/block"), rcv.secret, "no answer within 150ms"},
		{"connection refused", deadURL, rcv.secret, "connection refused"},
		{"no webhook URL yet", "", "", "department has no webhook URL"},
		{"no secret", rcv.url("/ok"), "", "department has no webhook secret"},
		{"secret not base64", rcv.url("/ok"), "whsec_" + urlToken + "!", "webhook secret is not whsec_ followed by base64"},
		{"not an http URL", "ftp://127.0.0.1/hook?token=" + urlToken, rcv.secret, "not an absolute http(s) URL"},
		{"lookup error", "lookup-error", rcv.secret, "webhook endpoint lookup failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newClock()
			var eps endpoints
			dept, stream := "D-"+tc.name, "case-"+tc.name
			if tc.url != "" || tc.secret != "" {
				eps.set(dept, tc.url, tc.secret)
			}
			d := newDeliverer(t, db, clock, &eps, func(c *Config) { c.Timeout = timeout })
			ids := enqueue(t, d, db, message(dept, stream, 1))
			runDue(t, d, Counts{Retried: 1})

			got := only(t, db, stream)
			if got.State != StatePending || got.Attempts != 1 || !strings.Contains(got.LastError, tc.want) {
				t.Fatalf("after a failed attempt: %+v, want pending, 1 attempt, error with %q", got, tc.want)
			}
			checkSecretFree(t, got.LastError, tc.secret)
			wait := got.NextAttemptAt.Sub(clock.Now())
			if wait < 2500*time.Millisecond || wait > 7500*time.Millisecond {
				t.Errorf("first retry in %s, want 2.5-7.5 s (contract: within 15 s)", wait)
			}
			runDue(t, d, Counts{}) // not due yet

			eps.set(dept, rcv.url("/ok"), rcv.secret)
			clock.Set(got.NextAttemptAt)
			runDue(t, d, Counts{Delivered: 1})
			got = only(t, db, stream)
			if got.State != StateDelivered || got.Attempts != 2 || got.LastError == "" {
				t.Errorf("after recovery: %+v, want delivered after 2 attempts, the failure kept", got)
			}
			for _, r := range rcv.requests() {
				if r.msg.Stream == stream && r.header.Get("webhook-id") != ids[0] {
					t.Errorf("%s got webhook-id %q, want %q on every attempt", r.path, r.header.Get("webhook-id"), ids[0])
				}
			}
		})
	}
	okHits := 0
	for _, r := range rcv.requests() {
		if r.path == "/ok" && r.msg.Stream == "case-redirect not followed" {
			okHits++
		}
	}
	if okHits != 1 {
		t.Errorf("/ok reached %d times for the redirected delivery, want once (after recovery): the redirect was followed", okHits)
	}
}

// A receiver that fails at random still sees each stream in order: no
// delivery is sent before the one before it was answered 2xx, and each
// is answered 2xx once.
func TestOrderPerStreamUnderFailures(t *testing.T) {
	db := testenv.Pool(t)
	rcv := newReceiver(t)
	var mu sync.Mutex
	rnd := rand.New(rand.NewPCG(1, 2))
	rcv.setFail(func(testBody) bool { mu.Lock(); defer mu.Unlock(); return rnd.IntN(2) == 0 })
	clock := newClock()
	var eps endpoints
	eps.set("D1", rcv.url("/ok"), rcv.secret)
	d := newDeliverer(t, db, clock, &eps, func(c *Config) {
		c.FirstRetry, c.MaxRetryInterval = time.Second, 2*time.Second
	})

	const streams, perStream = 4, 6
	// Interleaved enqueues, in several transactions, as concurrent cases would.
	for seq := 1; seq <= perStream; seq++ {
		var msgs []Message
		for s := range streams {
			msgs = append(msgs, message("D1", fmt.Sprintf("case-%d", s), seq))
		}
		enqueue(t, d, db, msgs...)
	}
	delivered := 0
	for round := 0; delivered < streams*perStream; round++ {
		if round == 200 {
			t.Fatalf("only %d of %d delivered after 200 rounds", delivered, streams*perStream)
		}
		c, err := d.RunDue(context.Background(), 0)
		if err != nil || c.Failed != 0 {
			t.Fatalf("RunDue = %+v, %v", c, err)
		}
		delivered += c.Delivered
		clock.Add(4 * time.Second) // past every retry, jitter included
	}

	acked := map[string]int{} // stream -> highest seq answered 2xx
	for _, r := range rcv.requests() {
		s, seq := r.msg.Stream, r.msg.Seq
		if seq != acked[s]+1 {
			t.Fatalf("stream %s: seq %d sent while the last acknowledged was %d", s, seq, acked[s])
		}
		if r.status == http.StatusOK {
			acked[s] = seq
		}
	}
	for s := range streams {
		stream := fmt.Sprintf("case-%d", s)
		if acked[stream] != perStream {
			t.Errorf("stream %s: %d acknowledged, want %d", stream, acked[stream], perStream)
		}
		for i, got := range list(t, db, stream) {
			if got.Seq != int64(i+1) || got.State != StateDelivered {
				t.Errorf("stream %s entry %d: %+v", stream, i, got)
			}
		}
	}
}

// A delivery that keeps failing is retried up to 24 h after its creation,
// the last retry at that mark, then parked as failed; the next delivery of
// its stream, held back until then, goes out in the same pass.
func TestParkedAfterRetryForThenStreamMovesOn(t *testing.T) {
	db := testenv.Pool(t)
	rcv := newReceiver(t)
	rcv.setFail(func(b testBody) bool { return b.Seq == 1 })
	clock := newClock()
	created := clock.Now()
	var eps endpoints
	eps.set("D1", rcv.url("/ok"), rcv.secret)
	d := newDeliverer(t, db, clock, &eps, nil)
	ids := enqueue(t, d, db, message("D1", "case", 1), message("D1", "case", 2))

	runDue(t, d, Counts{Retried: 1})
	ds := list(t, db, "case")
	if ds[0].State != StatePending || ds[1].State != StatePending || !ds[1].NextAttemptAt.IsZero() {
		t.Fatalf("after the first failure: %+v; want the second waiting (no next attempt)", ds)
	}

	clock.Set(created.Add(24*time.Hour - time.Second))
	runDue(t, d, Counts{Retried: 1})
	if next := list(t, db, "case")[0].NextAttemptAt; !next.Equal(created.Add(24 * time.Hour)) {
		t.Errorf("last retry at %s, want the 24 h mark %s", next, created.Add(24*time.Hour))
	}
	clock.Set(created.Add(24 * time.Hour))
	runDue(t, d, Counts{Delivered: 1, Failed: 1})

	ds = list(t, db, "case")
	if ds[0].State != StateFailed || ds[0].Attempts != 3 || ds[0].LastError != "HTTP 500" ||
		!ds[0].FailedAt.Equal(clock.Now()) || !ds[0].NextAttemptAt.IsZero() {
		t.Errorf("first: %+v, want failed after 3 attempts at the 24 h mark", ds[0])
	}
	if ds[1].State != StateDelivered || ds[1].Attempts != 1 || ds[1].ID != ids[1] {
		t.Errorf("second: %+v, want delivered at its first attempt", ds[1])
	}
	clock.Add(48 * time.Hour)
	runDue(t, d, Counts{}) // a parked delivery is never retried
}

// Replicas racing over the same rows (each its own pool and Deliverer)
// deliver every row exactly once and keep every stream in order.
func TestRacingDeliverersDeliverOnce(t *testing.T) {
	url := testenv.DatabaseURL(t)
	var pools []*pgxpool.Pool
	for range 3 {
		p, err := store.Open(context.Background(), url, store.PoolOptions{MaxConns: 3})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		pools = append(pools, p)
	}
	rcv := newReceiver(t)
	clock := newClock()
	var eps endpoints
	eps.set("D1", rcv.url("/ok"), rcv.secret)

	const streams, perStream = 20, 8
	loader := newDeliverer(t, pools[0], clock, &eps, nil)
	for seq := 1; seq <= perStream; seq++ {
		var msgs []Message
		for s := range streams {
			msgs = append(msgs, message("D1", fmt.Sprintf("case-%02d", s), seq))
		}
		enqueue(t, loader, pools[0], msgs...)
	}

	start := make(chan struct{})
	var wg sync.WaitGroup
	total := make(chan int, 6)
	for i := range 6 {
		d := newDeliverer(t, pools[i%len(pools)], clock, &eps, func(c *Config) { c.Concurrency = 4 })
		wg.Go(func() {
			<-start
			c, err := d.RunDue(context.Background(), 0)
			if err != nil || c.Retried+c.Failed != 0 {
				t.Errorf("replica %d: RunDue = %+v, %v", i, c, err)
			}
			total <- c.Delivered
		})
	}
	close(start)
	wg.Wait()
	close(total)
	sum := 0
	var perReplica []int
	for n := range total {
		sum += n
		perReplica = append(perReplica, n)
	}

	t.Logf("deliveries per replica: %v", perReplica)
	seen := map[string]int{}
	acked := map[string]int{}
	for _, r := range rcv.requests() {
		seen[r.header.Get("webhook-id")]++
		if r.msg.Seq != acked[r.msg.Stream]+1 {
			t.Errorf("stream %s: seq %d after %d", r.msg.Stream, r.msg.Seq, acked[r.msg.Stream])
		}
		acked[r.msg.Stream] = r.msg.Seq
	}
	if sum != streams*perStream || len(seen) != streams*perStream {
		t.Fatalf("delivered %d (counted), %d distinct ids received; want %d", sum, len(seen), streams*perStream)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s received %d times", id, n)
		}
	}
}

// Enqueues racing with the finishes of the same stream never strand a
// delivery: whichever commits first, the next one becomes due. Two loops
// deliver while two writers each append to their own stream, one
// transaction per event, kicking after each commit.
func TestEnqueueRacingFinish(t *testing.T) {
	db := testenv.Pool(t)
	rcv := newReceiver(t)
	clock := newClock()
	var eps endpoints
	eps.set("D1", rcv.url("/ok"), rcv.secret)
	var loops []*Deliverer
	for range 2 {
		d := newDeliverer(t, db, clock, &eps, func(c *Config) { c.PollInterval = time.Hour })
		d.testSignals.passed.Listen(64)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { d.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		loops = append(loops, d)
	}

	const perStream = 40
	streams := []string{"race-a", "race-b"}
	var wg sync.WaitGroup
	for i, stream := range streams {
		wg.Go(func() {
			for seq := 1; seq <= perStream; seq++ {
				enqueue(t, loops[i], db, message("D1", stream, seq))
				loops[seq%2].Kick()
			}
		})
	}
	wg.Wait()
	// Check after every pass: a stranded delivery would never be done.
	allDelivered := func() bool {
		for _, stream := range streams {
			for _, got := range list(t, db, stream) {
				if got.State != StateDelivered {
					return false
				}
			}
		}
		return true
	}
	for !allDelivered() {
		select {
		case <-loops[0].testSignals.passed.C:
		case <-loops[1].testSignals.passed.C:
		case <-time.After(20 * time.Second):
			t.Fatal("not every delivery done within 20 s: one is stranded")
		}
	}
	for _, stream := range streams {
		for i, got := range list(t, db, stream) {
			if got.Seq != int64(i+1) || got.Attempts != 1 {
				t.Errorf("%s entry %d: %+v", stream, i, got)
			}
		}
	}
	acked := map[string]int{}
	for _, r := range rcv.requests() {
		if r.msg.Seq != acked[r.msg.Stream]+1 {
			t.Errorf("stream %s: seq %d after %d", r.msg.Stream, r.msg.Seq, acked[r.msg.Stream])
		}
		acked[r.msg.Stream] = r.msg.Seq
	}
}

// Nothing is lost to a crash: not between commit and the first attempt,
// not in the middle of an attempt (the lease runs out and another replica
// takes over, same webhook-id), and a replica that comes back after its
// lease was taken over changes nothing.
func TestCrashes(t *testing.T) {
	db := testenv.Pool(t)
	rcv := newReceiver(t)
	var eps endpoints
	eps.set("D1", rcv.url("/ok"), rcv.secret)

	t.Run("between commit and delivery", func(t *testing.T) {
		clock := newClock()
		gone := newDeliverer(t, db, clock, &eps, nil) // enqueues, commits, dies
		ids := enqueue(t, gone, db, message("D1", "crash-1", 1))
		fresh := newDeliverer(t, db, clock, &eps, nil)
		runDue(t, fresh, Counts{Delivered: 1})
		if got := only(t, db, "crash-1"); got.ID != ids[0] || got.State != StateDelivered {
			t.Errorf("%+v", got)
		}
	})

	t.Run("during an attempt", func(t *testing.T) {
		clock := newClock()
		dying := newDeliverer(t, db, clock, &eps, nil)
		ids := enqueue(t, dying, db, message("D1", "crash-2", 1))
		claims, err := dying.claim(context.Background(), 10)
		if err != nil || len(claims) != 1 {
			t.Fatalf("claim = %v, %v", claims, err)
		}
		other := newDeliverer(t, db, clock, &eps, nil)
		runDue(t, other, Counts{}) // leased
		clock.Add(dying.cfg.Lease)
		runDue(t, other, Counts{Delivered: 1})
		got := only(t, db, "crash-2")
		if got.ID != ids[0] || got.State != StateDelivered || got.Attempts != 2 {
			t.Errorf("%+v, want delivered at the 2nd attempt", got)
		}

		// The first replica wakes up: its outcome must not count.
		for _, record := range []func() error{
			func() error { return dying.finish(context.Background(), claims[0], StateFailed, "late") },
			func() error { return dying.reschedule(context.Background(), claims[0], clock.Now(), "late") },
		} {
			if err := record(); !errors.Is(err, errLeaseLost) {
				t.Errorf("late record = %v, want errLeaseLost", err)
			}
		}
		if got := only(t, db, "crash-2"); got.State != StateDelivered || got.LastError != "" {
			t.Errorf("after the late replica: %+v", got)
		}
	})

	t.Run("rolled back", func(t *testing.T) {
		clock := newClock()
		d := newDeliverer(t, db, clock, &eps, nil)
		tx, err := db.Begin(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Enqueue(context.Background(), tx, message("D1", "crash-3", 1)); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := list(t, db, "crash-3"); len(got) != 0 {
			t.Errorf("rolled back delivery listed: %+v", got)
		}
		// The stream's numbering did not move: the next one is seq 1.
		enqueue(t, d, db, message("D1", "crash-3", 1))
		if got := only(t, db, "crash-3"); got.Seq != 1 {
			t.Errorf("seq after a rollback = %d, want 1", got.Seq)
		}
	})
}

// Run sends at a Kick, finds due retries by polling, and on shutdown
// abandons the attempt in flight so that it is due again at once.
func TestRun(t *testing.T) {
	db := testenv.Pool(t)
	rcv := newReceiver(t)
	var eps endpoints
	eps.set("D1", rcv.url("/ok"), rcv.secret)
	eps.set("slow", rcv.url("/block"), rcv.secret)

	start := func(t *testing.T, d *Deliverer) (stop func()) {
		d.testSignals.passed.Listen(64)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { d.Run(ctx); close(done) }()
		within(t, d.testSignals.passed.C, "first pass")
		stop = func() { cancel(); within(t, done, "Run to return") }
		t.Cleanup(stop)
		return stop
	}
	waitPass := func(t *testing.T, d *Deliverer, want Counts) {
		t.Helper()
		for {
			p := within(t, d.testSignals.passed.C, fmt.Sprintf("a pass with %+v", want))
			if p.err != nil {
				t.Fatalf("pass: %v", p.err)
			}
			if p.counts == want {
				return
			}
			if p.counts != (Counts{}) {
				t.Fatalf("pass = %+v, want %+v", p.counts, want)
			}
		}
	}

	t.Run("kick", func(t *testing.T) {
		clock := newClock()
		d := newDeliverer(t, db, clock, &eps, func(c *Config) { c.PollInterval = time.Hour })
		start(t, d)
		enqueue(t, d, db, message("D1", "run-kick", 1))
		d.Kick()
		waitPass(t, d, Counts{Delivered: 1})
	})

	t.Run("poll", func(t *testing.T) {
		clock := newClock()
		var failed sync.Once
		rcv.setFail(func(b testBody) bool {
			first := false
			if b.Stream == "run-poll" {
				failed.Do(func() { first = true })
			}
			return first
		})
		t.Cleanup(func() { rcv.setFail(nil) })
		d := newDeliverer(t, db, clock, &eps, func(c *Config) { c.PollInterval = 10 * time.Millisecond })
		start(t, d)
		enqueue(t, d, db, message("D1", "run-poll", 1))
		d.Kick()
		waitPass(t, d, Counts{Retried: 1})
		clock.Set(only(t, db, "run-poll").NextAttemptAt)
		waitPass(t, d, Counts{Delivered: 1}) // no Kick: the poll found it
	})

	t.Run("shutdown abandons the attempt in flight", func(t *testing.T) {
		clock := newClock()
		d := newDeliverer(t, db, clock, &eps, func(c *Config) { c.PollInterval = time.Hour })
		stop := start(t, d)
		ids := enqueue(t, d, db, message("slow", "run-stop", 1))
		d.Kick()
		for within(t, rcv.entered, "the slow request").msg.Stream != "run-stop" {
		}
		stop()
		got := only(t, db, "run-stop")
		if got.State != StatePending || got.Attempts != 1 || got.LastError != "abandoned: deliverer stopped" ||
			!got.NextAttemptAt.Equal(clock.Now()) {
			t.Fatalf("after shutdown: %+v, want pending and due now", got)
		}
		eps.set("slow", rcv.url("/ok"), rcv.secret)
		runDue(t, newDeliverer(t, db, clock, &eps, nil), Counts{Delivered: 1})
		if got := only(t, db, "run-stop"); got.ID != ids[0] || got.State != StateDelivered {
			t.Errorf("after restart: %+v", got)
		}
	})
}

// RunDue stops after its limit; the rest stays due.
func TestRunDueLimit(t *testing.T) {
	db := testenv.Pool(t)
	rcv := newReceiver(t)
	var eps endpoints
	eps.set("D1", rcv.url("/ok"), rcv.secret)
	clock := newClock()
	d := newDeliverer(t, db, clock, &eps, func(c *Config) { c.Concurrency = 2 })
	for s := range 5 {
		enqueue(t, d, db, message("D1", fmt.Sprintf("limit-%d", s), 1))
	}
	for _, want := range []int{3, 2, 0} {
		c, err := d.RunDue(context.Background(), 3)
		if err != nil || c != (Counts{Delivered: want}) {
			t.Fatalf("RunDue(3) = %+v, %v; want %d delivered", c, err, want)
		}
	}
}

// Retry delays double from 5 s up to 30 min, each within ± 50 % jitter.
func TestRetryDelayBounds(t *testing.T) {
	cfg := Config{Endpoints: &endpoints{}}.withDefaults()
	for _, tc := range []struct {
		attempts int
		mean     time.Duration
	}{
		{1, 5 * time.Second},
		{2, 10 * time.Second},
		{3, 20 * time.Second},
		{6, 160 * time.Second},
		{9, 1280 * time.Second},
		{10, 30 * time.Minute},
		{40, 30 * time.Minute},
		{1000, 30 * time.Minute},
	} {
		lo, hi := tc.mean/2, tc.mean*3/2
		var minSeen, maxSeen time.Duration = hi, lo
		for range 500 {
			d := cfg.retryDelay(tc.attempts)
			if d < lo || d > hi+time.Nanosecond {
				t.Fatalf("retryDelay(%d) = %s, want %s..%s", tc.attempts, d, lo, hi)
			}
			minSeen, maxSeen = min(minSeen, d), max(maxSeen, d)
		}
		// Jitter, not a constant: 500 draws span most of the range.
		if maxSeen-minSeen < tc.mean/2 {
			t.Errorf("retryDelay(%d) spans only %s..%s", tc.attempts, minSeen, maxSeen)
		}
	}
	if first := cfg.retryDelay(1); first > 15*time.Second {
		t.Errorf("first retry after %s, contract says within 15 s", first)
	}
}

func TestEnqueueRejects(t *testing.T) {
	d := newDeliverer(t, &pgxpool.Pool{}, newClock(), &endpoints{}, nil)
	good := message("D1", "case", 1)
	for _, tc := range []struct {
		name string
		edit func(*Message)
	}{
		{"no stream", func(m *Message) { m.Stream = "" }},
		{"long stream", func(m *Message) { m.Stream = strings.Repeat("x", 129) }},
		{"no department", func(m *Message) { m.Department = "" }},
		{"no type", func(m *Message) { m.Type = "" }},
		{"body not JSON", func(m *Message) { m.Body = []byte(`{"a":`) }},
		{"no body", func(m *Message) { m.Body = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := good
			tc.edit(&m)
			// Rejected before the transaction is touched: a nil one will do.
			if _, err := d.Enqueue(context.Background(), pgx.Tx(nil), m); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	db := &pgxpool.Pool{}
	for _, tc := range []struct {
		name string
		db   *pgxpool.Pool
		cfg  Config
	}{
		{"nil database", nil, Config{Endpoints: &endpoints{}}},
		{"no endpoints", db, Config{}},
		{"lease shorter than two timeouts", db, Config{Endpoints: &endpoints{}, Timeout: time.Minute, Lease: time.Minute}},
		{"max interval below first", db, Config{Endpoints: &endpoints{}, FirstRetry: time.Hour, MaxRetryInterval: time.Minute}},
		{"negative concurrency", db, Config{Endpoints: &endpoints{}, Concurrency: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.db, tc.cfg); err == nil {
				t.Error("accepted")
			}
		})
	}
}

// The signer takes the catalogue's secret forms and produces what the
// library verifies with the canonical form.
func TestNewSigner(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef!")
	canonical, err := standardwebhooks.NewWebhook("whsec_" + base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	for _, tc := range []struct {
		secret string
		ok     bool
	}{
		{"whsec_" + base64.StdEncoding.EncodeToString(key), true},
		{"whsec_" + base64.RawStdEncoding.EncodeToString(key), true},
		{base64.StdEncoding.EncodeToString(key), true}, // the library's prefix is optional
		{"whsec_not*base64", false},
		{"whsec_", false},
		{"", false},
	} {
		s, err := newSigner(tc.secret)
		if (err == nil) != tc.ok {
			t.Errorf("newSigner(%q) error = %v, want ok=%v", tc.secret, err, tc.ok)
			continue
		}
		if err != nil {
			continue
		}
		sig, err := s.Sign("msg_1", at, []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h.Set("webhook-id", "msg_1")
		h.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
		h.Set("webhook-signature", sig)
		if err := canonical.Verify([]byte(`{}`), h); err != nil {
			t.Errorf("secret %q: %v", tc.secret, err)
		}
	}
}

// sameDelivery compares instants by value, not by location.
func sameDelivery(a, b Delivery) bool {
	eq := func(x, y time.Time) bool { return x.Equal(y) }
	return a.ID == b.ID && a.Seq == b.Seq && a.Type == b.Type && a.Department == b.Department &&
		a.State == b.State && a.Attempts == b.Attempts && a.LastError == b.LastError &&
		eq(a.CreatedAt, b.CreatedAt) && eq(a.NextAttemptAt, b.NextAttemptAt) &&
		eq(a.DeliveredAt, b.DeliveredAt) && eq(a.FailedAt, b.FailedAt)
}
