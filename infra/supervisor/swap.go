package supervisor

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Swap moves fn to binary without dropping a request:
//
//  1. it starts a new generation with as many replicas as the current one;
//  2. it waits until every new process answers its health check (at most
//     StartTimeout, or until ctx ends);
//  3. it publishes the new generation in place of the old in one step, so
//     that from then on every request goes to a new process;
//  4. it stops the old processes as Stop does: each waits for the
//     requests it was given, gets SIGTERM and finishes what it holds.
//
// If the new generation does not become healthy, it is stopped, the old
// one keeps serving, and Swap returns the reason (with the log file to
// read). Swap returns after the old generation has exited. A function
// scaled to 0 only records the new binary.
func (s *Supervisor) Swap(ctx context.Context, fn, binary string) error {
	f := s.function(fn)
	if f == nil {
		return fmt.Errorf("swap %s: %w", fn, ErrUnknownFunction)
	}
	f.deploy.Lock()
	defer f.deploy.Unlock()

	f.mu.Lock()
	n, gen := len(f.slots), f.generation+1
	f.mu.Unlock()

	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return ErrStopped
	}
	fresh := make([]*slot, n)
	for i := range fresh {
		fresh[i] = s.startSlotLocked(f, i, gen, binary)
	}
	s.mu.Unlock()

	if err := s.waitReady(ctx, fresh); err != nil {
		stopSlots(fresh)
		return fmt.Errorf("swap %s to generation %d: %w; generation %d keeps serving", fn, gen, err, gen-1)
	}

	f.mu.Lock()
	old := f.slots
	f.slots, f.binary, f.generation, f.deployed = fresh, binary, gen, time.Now()
	f.publishLocked()
	for _, sl := range fresh {
		if sl.cur != nil {
			sl.writePidLocked(sl.cur.Pid)
		}
	}
	f.mu.Unlock()
	s.log.Info("swapped to a new generation", "function", fn, "generation", gen, "replicas", n)
	s.emit(Event{Kind: EventSwapped, Function: fn, Replica: -1, Generation: gen})

	stopSlots(old)
	return nil
}

// waitReady waits until every slot is ready, or returns why not.
func (s *Supervisor) waitReady(ctx context.Context, slots []*slot) error {
	timeout := time.NewTimer(s.cfg.StartTimeout)
	defer timeout.Stop()
	for _, sl := range slots {
		select {
		case <-sl.ready:
		case <-sl.failed:
			return fmt.Errorf("replica %d: %w", sl.index, sl.failErr)
		case <-timeout.C:
			return fmt.Errorf("replica %d: not healthy within %s; see %s", sl.index, s.cfg.StartTimeout, sl.logPath())
		case <-ctx.Done():
			return fmt.Errorf("waiting for replica %d: %w", sl.index, ctx.Err())
		case <-s.ctx.Done():
			return errors.New("the supervisor is stopping")
		}
	}
	return nil
}

// stopSlots cancels every slot and waits until their processes are gone.
func stopSlots(slots []*slot) {
	for _, sl := range slots {
		sl.cancel()
	}
	for _, sl := range slots {
		<-sl.done
	}
}
