// Package testsignal lets background loops (the catalogue's refresher, the
// serial allocator's reservations, the webhook deliverer) tell tests what
// they did, so that tests wait for an event, never for a sleep. A Signal
// nobody listens on does nothing.
package testsignal

// Signal is a channel a test may listen on; C is nil in production.
type Signal[T any] struct {
	C      chan T
	strict bool
}

// Listen makes the signal carry values, dropping those that find its
// buffer of size full (the test waits for one of a stream of them).
func (s *Signal[T]) Listen(size int) { s.C = make(chan T, size) }

// ListenAll makes the signal carry every value: one that finds the buffer
// full panics, because the test would miss it.
func (s *Signal[T]) ListenAll(size int) { s.C, s.strict = make(chan T, size), true }

// Send passes v to a listening test.
func (s *Signal[T]) Send(v T) {
	if s.C == nil {
		return
	}
	select {
	case s.C <- v:
	default:
		if s.strict {
			panic("test signal buffer full: the test does not consume its signals")
		}
	}
}
