package scheduler_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onewindow/onewindow/infra/scheduler"
	"github.com/onewindow/onewindow/infra/stackfile"
)

func TestJobsFromStack(t *testing.T) {
	fn := func(annotations map[string]string) stackfile.Function {
		return stackfile.Function{Lang: "onewindow-go", Handler: "./x", Annotations: annotations}
	}
	for _, tc := range []struct {
		name    string
		fns     map[string]stackfile.Function
		want    []string // function=spec
		wantErr string
	}{
		{"no annotations", map[string]stackfile.Function{"a": fn(nil)}, nil, ""},
		{"another topic", map[string]stackfile.Function{"a": fn(map[string]string{"topic": "nats", "schedule": "* * * * *"})}, nil, ""},
		{"schedule without topic", map[string]stackfile.Function{"a": fn(map[string]string{"schedule": "* * * * *"})}, nil, ""},
		{"cron functions, sorted", map[string]stackfile.Function{
			"scan":  fn(map[string]string{"topic": "cron-function", "schedule": "*/5 * * * *"}),
			"audit": fn(map[string]string{"topic": "cron-function", "schedule": " 0 2 * * 1-5 "}),
			"other": fn(nil),
		}, []string{"audit=0 2 * * 1-5", "scan=*/5 * * * *"}, ""},
		{"no schedule", map[string]stackfile.Function{"a": fn(map[string]string{"topic": "cron-function"})}, nil, "without a schedule"},
		{"six fields", map[string]stackfile.Function{"a": fn(map[string]string{"topic": "cron-function", "schedule": "0 */5 * * * *"})}, nil, `schedule "0 */5 * * * *"`},
		{"junk", map[string]stackfile.Function{"a": fn(map[string]string{"topic": "cron-function", "schedule": "every five minutes"})}, nil, "function a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jobs, err := scheduler.JobsFromStack(tc.fns)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, j := range jobs {
				got = append(got, j.Function+"="+j.Spec)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("jobs %v, want %v", got, tc.want)
			}
		})
	}
}

// The repository's stack.yml re-drives case-submit's deliveries every
// minute and runs the warning scan every 5 minutes.
func TestJobsOfTheRepositoryStack(t *testing.T) {
	stack, err := stackfile.Load(filepath.Join("..", "..", "stack.yml"))
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := scheduler.JobsFromStack(stack.Functions)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].Function != "case-submit" || jobs[0].Spec != "* * * * *" ||
		jobs[1].Function != "warning-scan" || jobs[1].Spec != "*/5 * * * *" {
		t.Fatalf("jobs: %+v", jobs)
	}
	from := time.Date(2026, 11, 22, 9, 58, 1, 0, time.UTC)
	for i, want := range []time.Time{
		time.Date(2026, 11, 22, 9, 59, 0, 0, time.UTC),
		time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC),
	} {
		if next := jobs[i].Schedule.Next(from); !next.Equal(want) {
			t.Errorf("%s: next tick after %s: %s, want %s", jobs[i].Function, from, next, want)
		}
	}
}

// fakeClock is a Clock the test moves by hand. Every After call is
// reported on waits, so the test knows when the scheduler is waiting and
// for which instant.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	pending []waiter
	waits   chan time.Time // the instant each After call waits for
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, waits: make(chan time.Time, 16)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := waiter{at: c.now.Add(d), ch: make(chan time.Time, 1)}
	c.pending = append(c.pending, w)
	c.waits <- w.at
	return w.ch
}

// set moves the clock to t and releases the waits that are due.
func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	kept := c.pending[:0]
	for _, w := range c.pending {
		if !w.at.After(t) {
			w.ch <- t
		} else {
			kept = append(kept, w)
		}
	}
	c.pending = kept
}

// nextWait returns the instant the scheduler waits for next.
func (c *fakeClock) nextWait(t *testing.T) time.Time {
	t.Helper()
	select {
	case at := <-c.waits:
		return at
	case <-time.After(10 * time.Second):
		t.Fatal("the scheduler is not waiting for a tick")
		return time.Time{}
	}
}

func nextFiring(t *testing.T, fired <-chan scheduler.Firing) scheduler.Firing {
	t.Helper()
	select {
	case f := <-fired:
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no invocation")
		return scheduler.Firing{}
	}
}

// invocation is what the fake gateway received.
type invocation struct {
	method, path, connector string
	bodyLen                 int
}

func TestFiresAtEachTick(t *testing.T) {
	var mu sync.Mutex
	var got []invocation
	status := http.StatusOK
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, invocation{r.Method, r.URL.Path, r.Header.Get("X-Connector"), len(b)})
		code := status
		mu.Unlock()
		w.WriteHeader(code)
	}))
	defer gw.Close()

	jobs, err := scheduler.JobsFromStack(map[string]stackfile.Function{
		"warning-scan": {Annotations: map[string]string{"topic": "cron-function", "schedule": "*/5 * * * *"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 22, 12, 1, 30, 0, time.UTC)
	clock := newFakeClock(start)
	fired := make(chan scheduler.Firing, 4)
	s := scheduler.New(scheduler.Config{Gateway: gw.URL + "/", Jobs: jobs, Clock: clock,
		OnFire: func(f scheduler.Firing) { fired <- f }})
	s.Start(context.Background())
	defer s.Stop()

	tick1 := time.Date(2026, 11, 22, 12, 5, 0, 0, time.UTC)
	if at := clock.nextWait(t); !at.Equal(tick1) {
		t.Fatalf("first wait until %s, want %s", at, tick1)
	}
	clock.set(tick1.Add(-time.Second)) // not yet
	select {
	case f := <-fired:
		t.Fatalf("fired before the tick: %+v", f)
	default:
	}
	clock.set(tick1)
	f := nextFiring(t, fired)
	if f.Function != "warning-scan" || !f.Tick.Equal(tick1) || f.Status != http.StatusOK || f.Err != nil {
		t.Errorf("first firing: %+v", f)
	}

	tick2 := time.Date(2026, 11, 22, 12, 10, 0, 0, time.UTC)
	if at := clock.nextWait(t); !at.Equal(tick2) {
		t.Fatalf("second wait until %s, want %s", at, tick2)
	}
	mu.Lock()
	status = http.StatusServiceUnavailable
	mu.Unlock()
	clock.set(tick2.Add(2 * time.Second)) // a late wake-up still fires once
	if f := nextFiring(t, fired); f.Status != http.StatusServiceUnavailable || !f.Tick.Equal(tick2) {
		t.Errorf("second firing: %+v", f)
	}
	if at := clock.nextWait(t); !at.Equal(time.Date(2026, 11, 22, 12, 15, 0, 0, time.UTC)) {
		t.Errorf("third wait until %s", at)
	}

	s.Stop()
	mu.Lock()
	defer mu.Unlock()
	want := invocation{http.MethodPost, "/function/warning-scan", "cron-connector", 0}
	if len(got) != 2 || got[0] != want || got[1] != want {
		t.Errorf("the gateway got %+v, want twice %+v", got, want)
	}
}

func TestAnUnreachableGatewayIsReportedAndRetriedAtTheNextTick(t *testing.T) {
	jobs, err := scheduler.JobsFromStack(map[string]stackfile.Function{
		"scan": {Annotations: map[string]string{"topic": "cron-function", "schedule": "* * * * *"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	clock := newFakeClock(time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC))
	fired := make(chan scheduler.Firing, 4)
	s := scheduler.New(scheduler.Config{Gateway: dead.URL, Jobs: jobs, Clock: clock,
		OnFire: func(f scheduler.Firing) { fired <- f }})
	s.Start(context.Background())
	defer s.Stop()
	for i := range 2 {
		clock.set(clock.nextWait(t))
		if f := nextFiring(t, fired); f.Err == nil || f.Status != 0 {
			t.Errorf("firing %d: %+v", i, f)
		}
	}
}

func TestStopEndsAWaitingScheduler(t *testing.T) {
	jobs, _ := scheduler.JobsFromStack(map[string]stackfile.Function{
		"scan": {Annotations: map[string]string{"topic": "cron-function", "schedule": "0 0 1 1 *"}},
	})
	ctx, cancel := context.WithCancel(context.Background())
	s := scheduler.New(scheduler.Config{Gateway: "http://127.0.0.1:1", Jobs: jobs})
	s.Start(ctx)
	cancel()
	s.Stop() // returns: the job saw ctx end
}
