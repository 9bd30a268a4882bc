package supervisortest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/onewindow/onewindow/infra/supervisor"
)

// WaitTimeout bounds every wait for an event: generous, as a loaded
// machine starts processes slowly; a passing test never waits that long.
const WaitTimeout = 30 * time.Second

// Events records a supervisor's events (pass Record as Config.OnEvent)
// and lets a test wait for one instead of sleeping.
type Events struct {
	mu      sync.Mutex
	all     []supervisor.Event
	changed chan struct{}
}

// NewEvents returns an empty recorder.
func NewEvents() *Events { return &Events{changed: make(chan struct{})} }

// Record stores ev and wakes the waiters.
func (e *Events) Record(ev supervisor.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
	close(e.changed)
	e.changed = make(chan struct{})
}

// Mark returns the current position; Wait looks at events from a mark on.
func (e *Events) Mark() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.all)
}

// Wait returns the first event at or after from that matches, failing the
// test after WaitTimeout.
func (e *Events) Wait(t testing.TB, from int, what string, match func(supervisor.Event) bool) supervisor.Event {
	t.Helper()
	deadline := time.After(WaitTimeout)
	for {
		e.mu.Lock()
		for _, ev := range e.all[from:] {
			if match(ev) {
				e.mu.Unlock()
				return ev
			}
		}
		changed := e.changed
		e.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no event %q within %s; events: %+v", what, WaitTimeout, e.Since(0))
		}
	}
}

// WaitN waits until n distinct replicas of fn reported kind at or after
// from, and returns the latest such event of each.
func (e *Events) WaitN(t testing.TB, from int, fn string, kind supervisor.EventKind, n int) map[int]supervisor.Event {
	t.Helper()
	got := map[int]supervisor.Event{}
	e.Wait(t, from, fmt.Sprintf("%d × %s %s", n, fn, kind), func(ev supervisor.Event) bool {
		if ev.Function == fn && ev.Kind == kind {
			got[ev.Replica] = ev
		}
		return len(got) >= n
	})
	return got
}

// Since returns a copy of the events from a mark on.
func (e *Events) Since(from int) []supervisor.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]supervisor.Event(nil), e.all[from:]...)
}
