// Package poll is for tests that wait for a state only the database or
// another goroutine can show (a lock held, a queue filled): they poll a
// condition with a deadline instead of sleeping and hoping.
package poll

import (
	"testing"
	"time"
)

// Until checks cond every millisecond and fails t if it does not hold
// within 10 s.
func Until(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(time.Millisecond) // between checks, not instead of one
	}
}
