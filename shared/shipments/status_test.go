package shipments

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func ev(id string, s Status, minutes int) Event {
	return Event{EventID: id, Status: s, At: t0.Add(time.Duration(minutes) * time.Minute)}
}

func TestCurrent(t *testing.T) {
	tests := []struct {
		name   string
		events []Event
		want   string // the deciding event's id; "" for none
	}{
		{"none", nil, ""},
		{"latest wins", []Event{ev("a", StatusCreated, 0), ev("c", StatusInTransit, 20), ev("b", StatusPickedUp, 10)}, "c"},
		{"a late event does not regress delivered",
			[]Event{ev("d", StatusDelivered, 30), ev("x", StatusInTransit, 40), ev("o", StatusOutForDelivery, 20)}, "d"},
		{"a late event does not regress returned",
			[]Event{ev("r", StatusReturned, 30), ev("f", StatusFailedDelivery, 50)}, "r"},
		{"failed delivery is not terminal", []Event{ev("f", StatusFailedDelivery, 10), ev("o", StatusOutForDelivery, 20)}, "o"},
		{"the first terminal event wins", []Event{ev("r", StatusReturned, 10), ev("d", StatusDelivered, 20)}, "r"},
		{"tie in time: the later stage", []Event{ev("p", StatusPickedUp, 5), ev("c", StatusCreated, 5)}, "p"},
		{"tie in time and stage: the greater id", []Event{ev("a", StatusInTransit, 5), ev("b", StatusInTransit, 5)}, "b"},
		{"terminal tie: the earlier stage", []Event{ev("r", StatusReturned, 5), ev("d", StatusDelivered, 5)}, "d"},
		{"terminal tie in stage: the smaller id", []Event{ev("d2", StatusDelivered, 5), ev("d1", StatusDelivered, 5)}, "d1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Current(tt.events)
			if ok != (tt.want != "") || got.EventID != tt.want {
				t.Errorf("Current = %q, %v; want %q", got.EventID, ok, tt.want)
			}
		})
	}
}

// randomJourney returns n events with random statuses and times drawn
// from a small range, so that ties in time and several terminal events
// are common.
func randomJourney(r *rand.Rand, n int) []Event {
	events := make([]Event, n)
	for i := range events {
		events[i] = Event{EventID: fmt.Sprintf("E%03d", r.IntN(1000)*1000+i), Status: journey[r.IntN(len(journey))],
			At: t0.Add(time.Duration(r.IntN(8)) * time.Minute)}
	}
	return events
}

// shuffledWithRepeats is events in a random order with random repeats.
func shuffledWithRepeats(r *rand.Rand, events []Event) []Event {
	out := append([]Event(nil), events...)
	for range r.IntN(len(events) + 1) {
		out = append(out, events[r.IntN(len(events))])
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// Any permutation and duplication of a set of events, folded one at a
// time as intake does, ends at the same deciding event.
func TestCurrentIgnoresOrderAndDuplicates(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for round := range 2000 {
		events := randomJourney(r, 1+r.IntN(12))
		want, _ := Current(events)
		for range 5 {
			var cur Event
			var ok bool
			for _, e := range shuffledWithRepeats(r, events) {
				if !ok || e.decides(cur) {
					cur, ok = e, true
				}
			}
			if cur != want {
				t.Fatalf("round %d: folded to %+v, want %+v (events %+v)", round, cur, want, events)
			}
		}
		if want.Status.Terminal() != hasTerminal(events) {
			t.Fatalf("round %d: deciding %s, but terminal present = %v", round, want.Status, hasTerminal(events))
		}
	}
}

func hasTerminal(events []Event) bool {
	for _, e := range events {
		if e.Status.Terminal() {
			return true
		}
	}
	return false
}

// decides is a strict order: never both ways, never for an event itself.
func TestDecidesIsStrict(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for range 5000 {
		e := randomJourney(r, 2)
		if e[0].decides(e[0]) {
			t.Fatalf("%+v decides over itself", e[0])
		}
		if e[0].decides(e[1]) && e[1].decides(e[0]) {
			t.Fatalf("%+v and %+v decide over each other", e[0], e[1])
		}
	}
}
