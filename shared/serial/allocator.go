package serial

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/idcheck"
	"github.com/onewindow/onewindow/shared/internal/testsignal"
	"github.com/onewindow/onewindow/shared/problem"
)

// MaxCount is the most serials one Issue call draws (POST / allows 1..1000).
const MaxCount = 1000

// ErrExhausted is in the chain of the error Issue returns when every
// sequence number of a (region, channel, date) up to MaxSequence has been
// reserved. The same error carries a 503 problem with code
// serial_exhausted and a Retry-After of the time left until midnight
// Asia/Shanghai, when the next date starts from 0000001 again.
var ErrExhausted = errors.New("serial sequence exhausted for the day")

// ErrClosed is returned by Issue after Close.
var ErrClosed = errors.New("serial allocator closed")

// Querier is what the allocator needs of the database: *pgxpool.Pool
// satisfies it. Each call runs as its own short transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Config tunes an Allocator. The zero value is the production setting;
// NewAllocator applies the defaults named below.
type Config struct {
	// MinBlock is the smallest number of sequence numbers a replica
	// reserves at once for a (region, channel, date), and the size of its
	// first block of the day. Default 64. A quiet replica stays near it, so
	// a crash or the end of the day leaves gaps of at most about two blocks
	// per key.
	MinBlock int
	// MaxBlock caps the block size. Default 8192; at most MaxSequence. A
	// busy replica doubles its blocks up to this size and then touches the
	// database once per MaxBlock serials of a key.
	MaxBlock int
	// GrowWithin: when a key needs a new block sooner than this after the
	// previous reservation, the block size doubles. Default 1 s, so a block
	// lasts about a second at a steady rate.
	GrowWithin time.Duration
	// ShrinkAfter: the block size halves for every ShrinkAfter that passed
	// since the key's previous reservation, down to MinBlock. Default 10 s.
	ShrinkAfter time.Duration
	// ReserveTimeout bounds one reservation statement. Default 5 s. It runs
	// detached from the request that triggered it (other requests may be
	// waiting for the same block), so it needs its own deadline.
	ReserveTimeout time.Duration
	// Now is the clock. Default time.Now. Its reading in Asia/Shanghai
	// decides a serial's date; block sizing also measures time with it.
	// Tests move it across midnight.
	Now func() time.Time
}

const (
	defaultMinBlock       = 64
	defaultMaxBlock       = 8192
	defaultGrowWithin     = time.Second
	defaultShrinkAfter    = 10 * time.Second
	defaultReserveTimeout = 5 * time.Second
)

// withDefaults is the one place defaults are applied.
func (c Config) withDefaults() Config {
	c.MinBlock = cmp.Or(c.MinBlock, defaultMinBlock)
	c.MaxBlock = cmp.Or(c.MaxBlock, max(defaultMaxBlock, c.MinBlock))
	c.GrowWithin = cmp.Or(c.GrowWithin, defaultGrowWithin)
	c.ShrinkAfter = cmp.Or(c.ShrinkAfter, defaultShrinkAfter)
	c.ReserveTimeout = cmp.Or(c.ReserveTimeout, defaultReserveTimeout)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.MinBlock < 1:
		return fmt.Errorf("serial allocator: MinBlock %d < 1", c.MinBlock)
	case c.MaxBlock < c.MinBlock || c.MaxBlock > MaxSequence:
		return fmt.Errorf("serial allocator: MaxBlock %d not in [MinBlock %d, %d]", c.MaxBlock, c.MinBlock, MaxSequence)
	case c.GrowWithin < 0 || c.ShrinkAfter < 0 || c.ReserveTimeout < 0:
		return errors.New("serial allocator: negative duration")
	}
	return nil
}

// Allocator issues serials. PostgreSQL is the source of truth: the table
// serial_counters holds, per (region, channel, date), the first sequence
// number no replica has reserved. A replica reserves a block of numbers in
// one statement and hands them out from memory; when a key's current block
// is half used it reserves the next block in the background, so a request
// waits for the database only when a burst drains both blocks.
//
// Guarantees:
//
//   - No serial is issued twice, across allocators, replicas, restarts and
//     crashes: a number is handed out only from a block the database
//     reserved for this allocator alone, and counters never go down.
//   - A crash or Close loses at most the unused rest of the current and
//     the prefetched block of each key: gaps, never duplicates.
//   - A serial's date is the Asia/Shanghai date of Config.Now when Issue
//     was called. Blocks belong to one date, so a block reserved before
//     midnight is never used for a serial of the next day, and each date
//     starts again from 0000001.
//   - Within one allocator a key's sequence numbers ascend; across
//     replicas they interleave, with gaps.
//   - Past MaxSequence for a key and date, Issue fails with ErrExhausted;
//     it never wraps.
//
// Issue never joins the caller's transaction: case-submit draws a serial,
// then writes its case in its own transaction; a rollback leaves a gap,
// which the contract allows.
//
// An Allocator is safe for concurrent use. Create one per process and Close
// it on shutdown.
type Allocator struct {
	db  Querier
	cfg Config

	mu       sync.Mutex // guards counters, newest and closed
	counters map[key]*counter
	newest   Date // the latest date seen: counters of earlier dates are dropped
	closed   bool
	wg       sync.WaitGroup // reservations in flight

	testSignals allocatorTestSignals
}

// NewAllocator returns an allocator drawing on db (the schema migration
// 0010_serial.sql must be applied). It does not touch the database.
func NewAllocator(db Querier, cfg Config) (*Allocator, error) {
	if db == nil {
		return nil, errors.New("serial allocator: nil database")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Allocator{db: db, cfg: cfg, counters: map[key]*counter{}}, nil
}

// Close stops the allocator: later Issue calls fail with ErrClosed, and
// Close returns once every reservation in flight has finished (each is
// bounded by Config.ReserveTimeout). Numbers left in memory become gaps.
func (a *Allocator) Close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.wg.Wait()
}

// Issue draws count (1..MaxCount) serials for region and channel, dated
// today in Asia/Shanghai. A bad region, channel or count is a 422 problem
// (invalid_region, invalid_channel, invalid_count); a database outage is
// an error store.IsUnavailable recognises.
func (a *Allocator) Issue(ctx context.Context, region string, ch Channel, count int) ([]Serial, error) {
	if count < 1 || count > MaxCount {
		return nil, invalidCount()
	}
	out := make([]Serial, count)
	if _, err := a.IssueInto(ctx, out, region, ch); err != nil {
		return nil, err
	}
	return out, nil
}

// IssueInto is Issue writing into dst: it fills all of dst (1..MaxCount
// serials) and returns the clock reading that dated them, in Asia/Shanghai
// (POST / answers it as issuedAt). Served from memory, it does not
// allocate.
func (a *Allocator) IssueInto(ctx context.Context, dst []Serial, region string, ch Channel) (time.Time, error) {
	at := a.cfg.Now().In(Shanghai)
	switch {
	case len(dst) < 1 || len(dst) > MaxCount:
		return at, invalidCount()
	case idcheck.Region(region) != nil:
		return at, invalidRegion()
	case !ch.Valid():
		return at, problem.Unprocessable("invalid_channel", "channel must be online, onsite, department or payment")
	}
	c, err := a.counter(key{region: region, channel: ch, day: DateOf(at)})
	if err != nil {
		return at, err
	}
	filled := 0
	for {
		c.mu.Lock()
		filled += c.take(dst[filled:])
		if filled == len(dst) {
			a.prefetchLocked(ctx, c)
			c.mu.Unlock()
			return at, nil
		}
		if c.exhausted != nil {
			err := c.exhausted
			c.mu.Unlock()
			return at, err
		}
		// Both blocks are drained: wait for the reservation in flight, or
		// start one big enough for the rest of this request.
		r, err := a.reserveLocked(ctx, c, len(dst)-filled)
		c.mu.Unlock()
		if err != nil {
			return at, err
		}
		select {
		case <-r.done:
			if r.err != nil {
				return at, r.err
			}
		case <-ctx.Done():
			return at, fmt.Errorf("issue serials %s: wait for a block: %w", c.key, ctx.Err())
		}
	}
}

// key names one sequence: serials of a region, channel and date.
type key struct {
	region  string
	channel Channel
	day     Date
}

func (k key) String() string { return k.region + "/" + k.channel.String() + "/" + k.day.String() }

// counter is one key's numbers in memory. Its fields are guarded by mu.
type counter struct {
	key key

	mu          sync.Mutex
	cur, next   block        // cur is handed out first; next is the prefetched block, empty when none
	size        int          // the adaptive block size (before a request's own need)
	lastReserve time.Time    // Config.Now at the previous reservation
	inflight    *reservation // the reservation running, at most one per key
	exhausted   error        // set once the key has no numbers left; returned ever after
}

// block hands out sequence numbers next..end-1 of the len reserved.
type block struct{ next, end, len int }

func (b block) remaining() int { return b.end - b.next }

// reservation is one reservation statement in flight; done closes when it
// has finished, after err is set.
type reservation struct {
	done chan struct{}
	err  error
}

// counter returns the counter of k, creating it on first use. A key of a
// new date drops the counters of earlier dates: their numbers are gaps.
func (a *Allocator) counter(k key) (*counter, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, ErrClosed
	}
	if c := a.counters[k]; c != nil {
		return c, nil
	}
	if a.newest.Before(k.day) {
		a.newest = k.day
		for old := range a.counters {
			if old.day.Before(k.day) {
				delete(a.counters, old)
			}
		}
	}
	c := &counter{key: k, size: a.cfg.MinBlock}
	a.counters[k] = c
	return c, nil
}

// take fills dst from the current block, moving to the prefetched one when
// the current runs out, and returns how many it filled.
func (c *counter) take(dst []Serial) int {
	n := 0
	for n < len(dst) {
		if c.cur.remaining() == 0 {
			if c.next.remaining() == 0 {
				break
			}
			c.cur, c.next = c.next, block{}
		}
		dst[n] = Serial{Region: c.key.region, Channel: c.key.channel, Date: c.key.day, Sequence: c.cur.next}
		c.cur.next++
		n++
	}
	return n
}

// prefetchLocked starts reserving the next block once the current one is
// half used, unless a block is already waiting or being reserved.
func (a *Allocator) prefetchLocked(ctx context.Context, c *counter) {
	if c.inflight != nil || c.exhausted != nil || c.next.remaining() > 0 || c.cur.remaining() > c.cur.len/2 {
		return
	}
	_, _ = a.reserveLocked(ctx, c, 0) // fails only when closed; a later Issue reports that
}

// reserveLocked returns the reservation in flight for c, or starts one of
// at least need numbers (0 for a prefetch). c.mu must be held.
func (a *Allocator) reserveLocked(ctx context.Context, c *counter, need int) (*reservation, error) {
	if c.inflight != nil {
		return c.inflight, nil
	}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil, ErrClosed
	}
	a.wg.Add(1)
	a.mu.Unlock()
	r := &reservation{done: make(chan struct{})}
	c.inflight = r
	n := c.blockSize(a.cfg.Now(), need, a.cfg)
	// Detached from the request's cancellation: other requests may wait for
	// this block, and a block abandoned halfway is only a gap.
	go a.reserve(context.WithoutCancel(ctx), c, r, n, need == 0)
	return r, nil
}

// blockSize adapts the key's block size to demand and returns how many
// numbers to reserve now: the block size, or need if larger, at most
// MaxBlock. A block used up within GrowWithin doubles the next; every
// ShrinkAfter without a reservation halves it.
func (c *counter) blockSize(now time.Time, need int, cfg Config) int {
	if !c.lastReserve.IsZero() {
		switch elapsed := now.Sub(c.lastReserve); {
		case elapsed < cfg.GrowWithin:
			c.size = min(c.size*2, cfg.MaxBlock)
		case elapsed >= cfg.ShrinkAfter:
			c.size = max(c.size>>min(elapsed/cfg.ShrinkAfter, 30), cfg.MinBlock)
		}
	}
	c.lastReserve = now
	return min(max(c.size, need), cfg.MaxBlock)
}

// reserve runs one reservation and hands its block to c.
func (a *Allocator) reserve(ctx context.Context, c *counter, r *reservation, n int, prefetch bool) {
	defer a.wg.Done()
	ctx, cancel := context.WithTimeout(ctx, a.cfg.ReserveTimeout)
	defer cancel()
	b, err := a.reserveBlock(ctx, c.key, n)

	c.mu.Lock()
	switch {
	case errors.Is(err, ErrExhausted):
		c.exhausted = err
	case err != nil && prefetch:
		// Nobody waits for a prefetch: log it; the next request that drains
		// the current block retries and reports the error.
		slog.WarnContext(ctx, "serial block prefetch failed", "key", c.key.String(), "err", err)
	case err == nil && c.cur.remaining() == 0:
		c.cur = b
	case err == nil:
		c.next = b
	}
	c.inflight = nil
	r.err = err
	close(r.done)
	c.mu.Unlock()
	a.testSignals.reserved.Send(reservedEvent{key: c.key, block: b, prefetch: prefetch, err: err})
}

// reserveSQL reserves $4 sequence numbers of one (region, channel, day) and
// returns the first number after them. ON CONFLICT relies on the primary
// key serial_counters_pkey (region, channel, day); the update's row lock
// orders replicas reserving the same key, and it is held only for this one
// statement. The WHERE stops at the daily cap: no row comes back once
// next_seq has passed $5, so the counter stops growing there.
const reserveSQL = `
INSERT INTO serial_counters AS c (region, channel, day, next_seq)
VALUES ($1, $2, $3, 1 + $4::bigint)
ON CONFLICT (region, channel, day) DO UPDATE
    SET next_seq = c.next_seq + $4::bigint
    WHERE c.next_seq <= $5::bigint
RETURNING next_seq`

// reserveBlock reserves n numbers of k in the database.
func (a *Allocator) reserveBlock(ctx context.Context, k key, n int) (block, error) {
	var end int64
	day := time.Date(k.day.Year, k.day.Month, k.day.Day, 0, 0, 0, 0, time.UTC) // pgx encodes a date from Y-M-D
	err := a.db.QueryRow(ctx, reserveSQL, k.region, int16(k.channel), day, n, MaxSequence).Scan(&end)
	if errors.Is(err, pgx.ErrNoRows) {
		return block{}, a.exhaustedError(k)
	}
	if err != nil {
		return block{}, fmt.Errorf("reserve serial block %s: %w", k, err)
	}
	start := int(end) - n
	end = min(end, MaxSequence+1) // the last block of the day may be cut short
	return block{next: start, end: int(end), len: int(end) - start}, nil
}

func (a *Allocator) exhaustedError(k key) error {
	p := problem.Newf(http.StatusServiceUnavailable, "serial_exhausted",
		"all %d serials of region %s, channel %s on %s have been issued; issuing resumes at midnight Asia/Shanghai",
		MaxSequence, k.region, k.channel, k.day)
	p.RetryAfter = max(k.day.Start().AddDate(0, 0, 1).Sub(a.cfg.Now()), time.Second)
	return fmt.Errorf("reserve serial block %s: %w: %w", k, ErrExhausted, p)
}

// reservedEvent tells tests a reservation finished.
type reservedEvent struct {
	key      key
	block    block
	prefetch bool
	err      error
}

// allocatorTestSignals let tests wait for background reservations instead
// of sleeping. They do nothing until a test initialises them.
type allocatorTestSignals struct {
	reserved testsignal.Signal[reservedEvent]
}
