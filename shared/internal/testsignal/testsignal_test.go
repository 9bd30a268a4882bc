package testsignal

import "testing"

func TestSignal(t *testing.T) {
	var off Signal[int]
	off.Send(1) // nobody listens: nothing happens

	var s Signal[int]
	s.Listen(1)
	s.Send(1)
	s.Send(2) // buffer full: dropped
	if got := <-s.C; got != 1 || len(s.C) != 0 {
		t.Fatalf("got %d, %d left; want 1 and none", got, len(s.C))
	}

	var all Signal[int]
	all.ListenAll(1)
	all.Send(1)
	defer func() {
		if recover() == nil {
			t.Error("a full ListenAll signal did not panic")
		}
	}()
	all.Send(2)
}
