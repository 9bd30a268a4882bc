package webhook

import (
	"math"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/metrics/metricstest"
	"github.com/onewindow/onewindow/shared/testenv"
)

// TestBacklogMetrics: the gauges count the pending deliveries and age the
// oldest by the deliverer's clock; a delivered one leaves the backlog.
func TestBacklogMetrics(t *testing.T) {
	db := testenv.Pool(t)
	rcv := newReceiver(t)
	var eps endpoints
	eps.set("D1", rcv.url("/ok"), rcv.secret)
	clock := newClock()
	d := newDeliverer(t, db, clock, &eps, nil)

	steps := []struct {
		name    string
		act     func()
		pending float64
		age     float64 // seconds
	}{
		{name: "empty outbox", act: func() {}, pending: 0, age: 0},
		{name: "two streams, one waiting behind its head", act: func() {
			enqueue(t, d, db, message("D1", "case-a", 1), message("D1", "case-a", 2))
			clock.Add(30 * time.Second)
			enqueue(t, d, db, message("D1", "case-b", 1))
			clock.Add(60 * time.Second)
		}, pending: 3, age: 90},
		// The two heads go out; case-a's second is refused, so it stays
		// pending, 90 s old.
		{name: "one refused", act: func() {
			rcv.setFail(func(b testBody) bool { return b.Stream == "case-a" && b.Seq == 2 })
			runDue(t, d, Counts{Delivered: 2, Retried: 1})
		}, pending: 1, age: 90},
		{name: "all delivered", act: func() {
			rcv.setFail(nil)
			clock.Add(time.Minute) // past the first retry's backoff
			runDue(t, d, Counts{Delivered: 1})
		}, pending: 0, age: 0},
	}
	for _, s := range steps {
		s.act()
		got := metricstest.Collect(t, d.Collector())
		// PostgreSQL keeps microseconds of the clock's nanoseconds.
		age := got["onewindow_outbox_oldest_pending_age_seconds"]
		if got["onewindow_outbox_pending_deliveries"] != s.pending || math.Abs(age-s.age) > 0.001 {
			t.Errorf("%s: got %v; want %v pending, the oldest %v s old", s.name, got, s.pending, s.age)
		}
	}
}
