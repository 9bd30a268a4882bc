package catalog

import "github.com/onewindow/onewindow/shared/internal/testsignal"

// testSignals are fired by the refresher so that tests wait for an event,
// never for a sleep. They are nil (no-ops) unless a test initialises them.
type testSignals struct {
	// refreshed carries the revision of each snapshot swapped in.
	refreshed testsignal.Signal[int64]
	// polled carries the revision read at each periodic check.
	polled testsignal.Signal[int64]
}
