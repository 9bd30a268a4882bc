// Package groupcommit writes many requests' small records in one statement.
// Every write request of a replica commits a nonce and an audit row; one
// commit each would make PostgreSQL's commit rate the bound. A Batcher sends
// the records that arrive while one batch is in the database together in
// the next (group commit): a lone request waits for nobody, and under load
// the database sees one commit per batch instead of one per request. Each
// caller still returns only once its own record is committed.
package groupcommit

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Batcher queues items for its flush function. It is safe for concurrent
// use; the zero value is not usable, call New.
type Batcher[T any] struct {
	flush   func(ctx context.Context, batch []T) error
	max     int
	timeout time.Duration

	mu       sync.Mutex
	waiting  []*entry[T] // for the next batch
	flushing bool        // a goroutine is writing batches
}

type entry[T any] struct {
	item T
	err  error
	done chan struct{}
}

// New returns a Batcher that writes at most max items per call of flush,
// each call bounded by timeout. flush reports one error for the whole batch;
// to answer items one by one (a nonce seen before), make T a pointer and
// let flush fill it in.
func New[T any](max int, timeout time.Duration, flush func(ctx context.Context, batch []T) error) *Batcher[T] {
	return &Batcher[T]{flush: flush, max: max, timeout: timeout}
}

// Do queues item and returns once the batch that holds it is written, with
// that batch's error. The batch's context is ctx's values without its
// cancellation: a batch answers other callers too. When ctx ends first, Do
// returns its error; the item may still be written.
func (b *Batcher[T]) Do(ctx context.Context, item T) error {
	e := &entry[T]{item: item, done: make(chan struct{})}
	b.mu.Lock()
	b.waiting = append(b.waiting, e)
	start := !b.flushing
	b.flushing = true
	b.mu.Unlock()
	if start {
		go b.run(context.WithoutCancel(ctx))
	}
	select {
	case <-e.done:
		return e.err
	case <-ctx.Done():
		return fmt.Errorf("wait for a group commit: %w", ctx.Err())
	}
}

// Waiting is how many items wait for the next batch.
func (b *Batcher[T]) Waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.waiting)
}

// run writes batches until nobody is waiting.
func (b *Batcher[T]) run(ctx context.Context) {
	for {
		b.mu.Lock()
		n := min(len(b.waiting), b.max)
		if n == 0 {
			b.flushing = false
			b.mu.Unlock()
			return
		}
		batch := slices.Clone(b.waiting[:n])
		b.waiting = slices.Delete(b.waiting, 0, n)
		b.mu.Unlock()

		items := make([]T, len(batch))
		for i, e := range batch {
			items[i] = e.item
		}
		bctx, cancel := context.WithTimeout(ctx, b.timeout)
		err := b.flush(bctx, items)
		cancel()
		for _, e := range batch {
			e.err = err
			close(e.done)
		}
	}
}
