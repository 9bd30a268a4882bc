package groupcommit

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/internal/poll"
)

// Items that arrive while a batch is being written go together in the
// next one, at most max at a time, and every caller gets its batch's error.
func TestBatching(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var batches [][]int
	b := New(4, time.Second, func(ctx context.Context, batch []int) error {
		mu.Lock()
		batches = append(batches, slices.Clone(batch))
		first := len(batches) == 1
		mu.Unlock()
		if first {
			<-release // the first batch stays in the "database"
		}
		if slices.Contains(batch, 99) {
			return errors.New("refused")
		}
		return nil
	})
	ctx := context.Background()
	errs := make([]error, 7)
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = b.Do(ctx, 0) })
	poll.Until(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(batches) == 1 })
	for i, item := range []int{1, 2, 3, 4, 5, 99} {
		wg.Go(func() { errs[i+1] = b.Do(ctx, item) })
	}
	poll.Until(t, func() bool { return b.Waiting() == 6 })
	close(release)
	wg.Wait()

	if len(batches) != 3 || len(batches[0]) != 1 || len(batches[1]) != 4 || len(batches[2]) != 2 {
		t.Fatalf("batches %v, want [0] then the six queued in batches of at most 4", batches)
	}
	// Arrival order decides which batch holds 99; its batch-mates share its error.
	for i, item := range []int{0, 1, 2, 3, 4, 5, 99} {
		refused := slices.ContainsFunc(batches, func(batch []int) bool {
			return slices.Contains(batch, item) && slices.Contains(batch, 99)
		})
		if (errs[i] != nil) != refused {
			t.Errorf("item %d: error %v; its batch refused: %v", item, errs[i], refused)
		}
	}
	if b.Waiting() != 0 {
		t.Errorf("%d still waiting", b.Waiting())
	}
}

// A caller whose context ends stops waiting; the batch goes on for the others.
func TestCallerGivesUp(t *testing.T) {
	release := make(chan struct{})
	b := New(10, time.Second, func(ctx context.Context, batch []int) error { <-release; return nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Do(ctx, 1) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Do after cancel = %v, want context.Canceled", err)
	}
	close(release)
	if err := b.Do(context.Background(), 2); err != nil {
		t.Fatalf("a later item: %v", err)
	}
}
