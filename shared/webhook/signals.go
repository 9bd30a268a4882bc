package webhook

import "github.com/onewindow/onewindow/shared/internal/testsignal"

// testSignals are fired by Run so that tests wait for an event, never for
// a sleep. They are nil (no-ops) unless a test initialises them.
type testSignals struct {
	// passed carries the outcome of each pass of Run.
	passed testsignal.Signal[pass]
}

type pass struct {
	counts Counts
	err    error
}
