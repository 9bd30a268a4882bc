package serial

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/shared/internal/testsignal"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/store"
	"github.com/onewindow/onewindow/shared/testenv"
)

// --- helpers ---

func newAllocator(t testing.TB, db Querier, cfg Config) *Allocator {
	t.Helper()
	a, err := NewAllocator(db, cfg)
	if err != nil {
		t.Fatalf("NewAllocator: %v", err)
	}
	t.Cleanup(a.Close)
	return a
}

// waitOrTimeout returns the next signal. The timeout only turns a hang into
// a failure; the test synchronises on the signal itself.
func waitOrTimeout[T any](t testing.TB, s *testsignal.Signal[T]) T {
	t.Helper()
	select {
	case v := <-s.C:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for a test signal")
		panic("unreachable")
	}
}

// none asserts no signal is pending.
func none[T any](t testing.TB, s *testsignal.Signal[T]) {
	t.Helper()
	select {
	case v := <-s.C:
		t.Fatalf("unexpected signal %+v", v)
	default:
	}
}

// fakeClock is a settable Config.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func mustIssue(t testing.TB, a *Allocator, region string, ch Channel, count int) []Serial {
	t.Helper()
	s, err := a.Issue(context.Background(), region, ch, count)
	if err != nil {
		t.Fatalf("Issue(%s, %s, %d): %v", region, ch, count, err)
	}
	return s
}

func sequences(ss []Serial) []int {
	out := make([]int, len(ss))
	for i, s := range ss {
		out[i] = s.Sequence
	}
	return out
}

func openPool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := store.Open(context.Background(), url, store.PoolOptions{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// fakeDB implements reserveSQL in memory, optionally holding every
// statement at a gate, for tests that need no PostgreSQL.
type fakeDB struct {
	mu      sync.Mutex
	next    map[key]int64
	gate    chan struct{} // when non-nil, statements wait until it is closed
	started chan struct{} // when non-nil, gets a value as each statement starts
}

type fakeRow struct {
	v   int64
	err error
}

func (r fakeRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	*dest[0].(*int64) = r.v
	return nil
}

func (f *fakeDB) QueryRow(ctx context.Context, _ string, args ...any) pgx.Row {
	if f.started != nil {
		f.started <- struct{}{}
	}
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return fakeRow{err: ctx.Err()}
		}
	}
	d := args[2].(time.Time)
	k := key{args[0].(string), Channel(args[1].(int16)), Date{d.Year(), d.Month(), d.Day()}}
	n := int64(args[3].(int))
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.next == nil {
		f.next = map[key]int64{}
	}
	cur := max(f.next[k], 1)
	if cur > int64(args[4].(int)) {
		return fakeRow{err: pgx.ErrNoRows}
	}
	f.next[k] = cur + n
	return fakeRow{v: cur + n}
}

// --- tests without PostgreSQL ---

func TestConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.MinBlock != 64 || c.MaxBlock != 8192 || c.GrowWithin != time.Second ||
		c.ShrinkAfter != 10*time.Second || c.ReserveTimeout != 5*time.Second || c.Now == nil {
		t.Errorf("defaults = %+v", c)
	}
	if c := (Config{MinBlock: 10000}).withDefaults(); c.MaxBlock != 10000 {
		t.Errorf("MaxBlock below a large MinBlock: %d", c.MaxBlock)
	}
	for _, bad := range []Config{{MinBlock: -1}, {MinBlock: 10, MaxBlock: 5}, {MaxBlock: MaxSequence + 1}, {ReserveTimeout: -1}} {
		if _, err := NewAllocator(&fakeDB{}, bad); err == nil {
			t.Errorf("NewAllocator accepted %+v", bad)
		}
	}
	if _, err := NewAllocator(nil, Config{}); err == nil {
		t.Error("NewAllocator accepted a nil database")
	}
}

func TestIssueRejectsBadArguments(t *testing.T) {
	a := newAllocator(t, &fakeDB{}, Config{})
	ctx := context.Background()
	tests := []struct {
		region string
		ch     Channel
		count  int
		code   string
	}{
		{"990000", Online, 1, "invalid_region"},
		{"13010", Online, 1, "invalid_region"},
		{"130100", 0, 1, "invalid_channel"},
		{"130100", 4, 1, "invalid_channel"},
		{"130100", Online, 0, "invalid_count"},
		{"130100", Online, MaxCount + 1, "invalid_count"},
	}
	for _, tt := range tests {
		_, err := a.Issue(ctx, tt.region, tt.ch, tt.count)
		if p, ok := problem.As(err); !ok || p.Code != tt.code || p.Status != 422 {
			t.Errorf("Issue(%s, %d, %d) = %v, want 422 %s", tt.region, tt.ch, tt.count, err, tt.code)
		}
	}
	// Payment serials are internal but valid for the allocator.
	if s := mustIssue(t, a, "130100", Payment, 2); s[0].Channel != Payment {
		t.Errorf("payment serial = %+v", s[0])
	}
}

func TestWaitHonoursContext(t *testing.T) {
	db := &fakeDB{gate: make(chan struct{}), started: make(chan struct{}, 1)}
	a := newAllocator(t, db, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := a.Issue(ctx, "130100", Online, 1)
		errc <- err
	}()
	<-db.started // the request now waits for its block
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Issue = %v, want context.Canceled", err)
	}
	close(db.gate)
	// The reservation went on without the request; the next one uses it.
	if s := mustIssue(t, a, "130100", Online, 1); s[0].Sequence != 1 {
		t.Errorf("sequence after a cancelled wait = %d, want 1", s[0].Sequence)
	}
}

func TestCloseWaitsForReservations(t *testing.T) {
	db := &fakeDB{gate: make(chan struct{}), started: make(chan struct{}, 1)}
	a, err := NewAllocator(db, Config{})
	if err != nil {
		t.Fatal(err)
	}
	a.testSignals.reserved.ListenAll(4096)
	go func() { _, _ = a.Issue(context.Background(), "130100", Online, 1) }()
	<-db.started
	closed := make(chan struct{})
	go func() {
		a.Close()
		// Close has returned: the reservation must have finished.
		select {
		case <-a.testSignals.reserved.C:
		default:
			t.Error("Close returned while a reservation was in flight")
		}
		close(closed)
	}()
	close(db.gate)
	<-closed
	if _, err := a.Issue(context.Background(), "130100", Online, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Issue after Close = %v, want ErrClosed", err)
	}
	a.Close() // idempotent
}

func TestDatabaseDownIsUnavailable(t *testing.T) {
	pool, err := store.Open(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=2", store.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	a := newAllocator(t, pool, Config{})
	_, err = a.Issue(context.Background(), "130100", Online, 1)
	if err == nil || !store.IsUnavailable(err) {
		t.Fatalf("Issue with the database down = %v, want an outage store.IsUnavailable recognises", err)
	}
}

func TestSpansBlocksInMemory(t *testing.T) {
	a := newAllocator(t, &fakeDB{}, Config{MinBlock: 4, MaxBlock: 16})
	got := mustIssue(t, a, "130100", Online, MaxCount)
	for i, s := range got {
		if s.Sequence != i+1 {
			t.Fatalf("serial %d has sequence %d", i, s.Sequence)
		}
	}
}

// --- tests against PostgreSQL ---

func TestIssueSequential(t *testing.T) {
	a := newAllocator(t, testenv.Pool(t), Config{})
	var all []Serial
	for i := 0; len(all) < 5000; i++ {
		all = append(all, mustIssue(t, a, "130100", Online, 1+i%37)...)
	}
	seen := map[string]bool{}
	for i, s := range all {
		// One allocator hands out a key's numbers in order, without gaps.
		if s.Sequence != i+1 {
			t.Fatalf("serial %d has sequence %d", i, s.Sequence)
		}
		str := s.String()
		if seen[str] {
			t.Fatalf("duplicate %s", str)
		}
		seen[str] = true
		if p, err := Parse(str); err != nil || p != s {
			t.Fatalf("Parse(%s) = %+v, %v", str, p, err)
		}
	}
	// Keys are independent.
	if s := mustIssue(t, a, "130100", Onsite, 1); s[0].Sequence != 1 {
		t.Errorf("first onsite sequence = %d", s[0].Sequence)
	}
	if s := mustIssue(t, a, "310115", Online, 1); s[0].Sequence != 1 {
		t.Errorf("first sequence of another region = %d", s[0].Sequence)
	}
}

func TestIssueConcurrentReplicas(t *testing.T) {
	url := testenv.DatabaseURL(t)
	// Two pools are two replicas. Small blocks make them race on the
	// counter row often.
	cfg := Config{MinBlock: 4, MaxBlock: 64}
	allocs := []*Allocator{newAllocator(t, openPool(t, url), cfg), newAllocator(t, openPool(t, url), cfg)}
	const goroutines, batches = 32, 30
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	errc := make(chan error, 2*goroutines)
	for _, a := range allocs {
		for g := range goroutines {
			wg.Go(func() {
				ch := []Channel{Online, Onsite}[g%2] // two keys at once
				var mine []Serial
				for b := range batches {
					s, err := a.Issue(context.Background(), "130100", ch, 1+(g*7+b)%25)
					if err != nil {
						errc <- err
						return
					}
					mine = append(mine, s...)
				}
				mu.Lock()
				defer mu.Unlock()
				for _, s := range mine {
					str := s.String()
					if seen[str] {
						errc <- fmt.Errorf("duplicate serial %s", str)
						return
					}
					seen[str] = true
				}
			})
		}
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if len(seen) == 0 {
		t.Fatal("no serials")
	}
	t.Logf("%d distinct serials from 2 replicas × %d goroutines", len(seen), goroutines)
}

func TestPrefetch(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, Shanghai)}
	a := newAllocator(t, testenv.Pool(t), Config{MinBlock: 8, Now: clock.Now})
	a.testSignals.reserved.ListenAll(4096)
	sig := &a.testSignals.reserved

	mustIssue(t, a, "130100", Online, 1) // waits for the first block
	if ev := waitOrTimeout(t, sig); ev.prefetch || ev.block.next != 1 || ev.block.len != 8 {
		t.Fatalf("first reservation = %+v, want on-demand [1, 9)", ev)
	}
	mustIssue(t, a, "130100", Online, 2)
	none(t, sig) // 5 of 8 left: no prefetch yet
	mustIssue(t, a, "130100", Online, 1)
	// Half used: the next block is reserved in the background, twice as
	// large since the first went fast.
	ev := waitOrTimeout(t, sig)
	if !ev.prefetch || ev.block.next != 9 || ev.block.len != 16 {
		t.Fatalf("prefetch = %+v, want [9, 25) in the background", ev)
	}
	// The rest of the first block and the start of the prefetched one are
	// served from memory: no further reservation.
	got := mustIssue(t, a, "130100", Online, 5)
	if fmt.Sprint(sequences(got)) != "[5 6 7 8 9]" {
		t.Errorf("sequences = %v", sequences(got))
	}
	none(t, sig)
}

func TestMidnight(t *testing.T) {
	pool := testenv.Pool(t)
	clock := &fakeClock{t: time.Date(2026, 11, 22, 23, 59, 59, 999_000_000, Shanghai)}
	a := newAllocator(t, pool, Config{MinBlock: 8, Now: clock.Now})

	before := mustIssue(t, a, "130100", Online, 3)
	for i, s := range before {
		if s.Date != (Date{2026, 11, 22}) || s.Sequence != i+1 {
			t.Fatalf("before midnight: %v", s)
		}
	}
	clock.Set(time.Date(2026, 11, 23, 0, 0, 0, 0, Shanghai))
	after := mustIssue(t, a, "130100", Online, 20)
	for i, s := range after {
		// A new date restarts at 0000001: nothing of the old day's block
		// (sequences 4..8) carries the new date.
		if s.Date != (Date{2026, 11, 23}) || s.Sequence != i+1 {
			t.Fatalf("after midnight: %v", s)
		}
	}
	if s := after[0].String(); s != "1301001202611230000001"+string(checkNaive("1301001202611230000001")) {
		t.Errorf("first serial of the day = %s", s)
	}
	a.mu.Lock()
	n := len(a.counters)
	a.mu.Unlock()
	if n != 1 {
		t.Errorf("%d counters in memory after midnight, want only the new day's", n)
	}
	// The database holds one counter per day.
	var days int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM serial_counters WHERE region = '130100'`).Scan(&days); err != nil || days != 2 {
		t.Errorf("counter rows = %d, %v; want 2", days, err)
	}
	// The date follows Asia/Shanghai, not UTC: 16:00 UTC is midnight.
	clock.Set(time.Date(2026, 11, 23, 16, 0, 0, 0, time.UTC))
	if s := mustIssue(t, a, "130100", Online, 1)[0]; s.Date != (Date{2026, 11, 24}) || s.Sequence != 1 {
		t.Errorf("at 16:00 UTC: %v", s)
	}
}

func TestDailyCap(t *testing.T) {
	pool := testenv.Pool(t)
	clock := &fakeClock{t: time.Date(2026, 11, 22, 18, 0, 0, 0, Shanghai)}
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO serial_counters (region, channel, day, next_seq) VALUES ('130100', 1, '2026-11-22', $1)`, MaxSequence-4); err != nil {
		t.Fatal(err)
	}
	a := newAllocator(t, pool, Config{Now: clock.Now})
	got := mustIssue(t, a, "130100", Online, 3)
	if fmt.Sprint(sequences(got)) != "[9999995 9999996 9999997]" {
		t.Fatalf("sequences = %v", sequences(got))
	}
	// 2 left, 5 asked: an error, never a wrapped or an 8-digit sequence.
	_, err := a.Issue(ctx, "130100", Online, 5)
	if !errors.Is(err, ErrExhausted) {
		t.Fatalf("Issue past the cap = %v, want ErrExhausted", err)
	}
	p, ok := problem.As(err)
	if !ok || p.Status != 503 || p.Code != "serial_exhausted" || p.RetryAfter != 6*time.Hour {
		t.Fatalf("problem = %+v, want 503 serial_exhausted retrying at midnight", p)
	}
	// It stays exhausted, for this replica and any other, and other keys
	// are unaffected.
	if _, err := a.Issue(ctx, "130100", Online, 1); !errors.Is(err, ErrExhausted) {
		t.Errorf("second Issue = %v", err)
	}
	b := newAllocator(t, pool, Config{Now: clock.Now})
	if _, err := b.Issue(ctx, "130100", Online, 1); !errors.Is(err, ErrExhausted) {
		t.Errorf("other replica = %v", err)
	}
	mustIssue(t, a, "130100", Onsite, 1)
	var next int64
	if err := pool.QueryRow(ctx, `SELECT next_seq FROM serial_counters WHERE region = '130100' AND channel = 1`).Scan(&next); err != nil {
		t.Fatal(err)
	}
	if next > MaxSequence+int64(Config{}.withDefaults().MaxBlock) {
		t.Errorf("counter ran on to %d", next)
	}
}

func TestIssueSpansBlocks(t *testing.T) {
	a := newAllocator(t, testenv.Pool(t), Config{MinBlock: 4, MaxBlock: 16})
	for round := range 2 {
		got := mustIssue(t, a, "130100", Department, MaxCount)
		for i, s := range got {
			if want := round*MaxCount + i + 1; s.Sequence != want {
				t.Fatalf("round %d serial %d has sequence %d, want %d", round, i, s.Sequence, want)
			}
		}
	}
}

func TestBlockSizeAdapts(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, Shanghai)}
	a := newAllocator(t, testenv.Pool(t), Config{MinBlock: 8, MaxBlock: 64, Now: clock.Now})
	a.testSignals.reserved.ListenAll(4096)
	sig := &a.testSignals.reserved

	// The clock stands still: every block goes "fast" and the next doubles
	// up to MaxBlock. 8+16+32+64 = 120 serials use four blocks; the fourth
	// is half used, so a fifth is prefetched.
	for range 120 {
		mustIssue(t, a, "130100", Online, 1)
	}
	var sizes []int
	for range 5 {
		sizes = append(sizes, waitOrTimeout(t, sig).block.len)
	}
	if fmt.Sprint(sizes) != "[8 16 32 64 64]" {
		t.Fatalf("block sizes = %v", sizes)
	}
	// A minute without reservations halves six times: back to MinBlock.
	clock.Add(time.Minute)
	mustIssue(t, a, "130100", Online, 33) // half of the fifth block
	if ev := waitOrTimeout(t, sig); !ev.prefetch || ev.block.len != 8 {
		t.Fatalf("after an idle minute: %+v, want a prefetch of 8", ev)
	}
}
