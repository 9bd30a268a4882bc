package catalog

// testSignals are fired by the refresher so that tests wait for an event,
// never for a sleep. They are nil (no-ops) unless a test initialises them.
type testSignals struct {
	// refreshed carries the revision of each snapshot swapped in.
	refreshed testSignal[int64]
	// polled carries the revision read at each periodic check.
	polled testSignal[int64]
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
