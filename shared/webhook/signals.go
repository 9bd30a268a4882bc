package webhook

// testSignals are fired by Run so that tests wait for an event, never for
// a sleep. They are nil (no-ops) unless a test initialises them.
type testSignals struct {
	// passed carries the outcome of each pass of Run.
	passed testSignal[pass]
}

type pass struct {
	counts Counts
	err    error
}

// testSignal is a buffered channel that drops values nobody waits for.
type testSignal[T any] struct{ ch chan T }

func (s *testSignal[T]) init() { s.ch = make(chan T, 64) }

func (s *testSignal[T]) signal(v T) {
	if s.ch == nil {
		return
	}
	select {
	case s.ch <- v:
	default:
	}
}
