package catalog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/shared/problem"
)

// Config tunes a Catalog. The zero value is the production setting; Open
// applies the defaults named below.
type Config struct {
	// PollInterval is how often the refresher compares the catalogue
	// revision with its snapshot's when no notification arrived: the
	// safety net for a notification lost while the listener was
	// reconnecting. Default 2 s, so a write shows on every replica within
	// about PollInterval plus the time to load it, even without NOTIFY.
	PollInterval time.Duration
	// RetryMin and RetryMax bound the wait before reconnecting after the
	// listener connection failed: it starts at RetryMin and doubles up to
	// RetryMax. Defaults 100 ms and 5 s.
	RetryMin, RetryMax time.Duration
	// WriteWait bounds how long a Put waits for this process's own
	// snapshot to show the write (read-your-writes on the writing
	// replica). Default 3 s; the write is committed either way.
	WriteWait time.Duration
	// Logger receives the refresher's warnings. Default slog.Default().
	Logger *slog.Logger
}

const (
	defaultPollInterval = 2 * time.Second
	defaultRetryMin     = 100 * time.Millisecond
	defaultRetryMax     = 5 * time.Second
	defaultWriteWait    = 3 * time.Second
)

func (c Config) withDefaults() Config {
	c.PollInterval = cmp.Or(c.PollInterval, defaultPollInterval)
	c.RetryMin = cmp.Or(c.RetryMin, defaultRetryMin)
	c.RetryMax = max(cmp.Or(c.RetryMax, defaultRetryMax), c.RetryMin)
	c.WriteWait = cmp.Or(c.WriteWait, defaultWriteWait)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Catalog is one process's view of the catalogue. Open one per process
// and share it; it is safe for concurrent use.
//
// Reads are served from an in-memory Snapshot and never touch the
// database. The first read (or Warm) starts a refresher goroutine that
// holds ONE dedicated connection (outside the pool): it LISTENs on
// NotifyChannel, loads the whole catalogue once, then on each
// notification, and whenever the revision counter moved at a
// PollInterval check, loads only the rows changed since its snapshot's
// revision and swaps in a new snapshot. A write is thus visible on every
// replica about as soon as it commits, and within PollInterval plus a load
// if a notification is lost. Process start never waits for the database:
// only the first read waits for the first load.
//
// When the database is unreachable the last snapshot keeps serving; before
// any snapshot exists reads fail with a 503 problem.
type Catalog struct {
	db  *pgxpool.Pool
	cfg Config

	snap atomic.Pointer[Snapshot]

	startOnce sync.Once
	stop      context.CancelFunc
	done      chan struct{}
	kick      chan struct{} // wakes the refresher from a reconnect backoff

	mu       sync.Mutex
	attempt  chan struct{} // closed when the next load attempt ends
	lastErr  error         // of the last failed attempt
	lastTry  time.Time
	started  bool
	closed   bool
	testHook testSignals
}

// Open returns the Catalog over db. It starts nothing: the first read or
// Warm does. db nil makes every read fail with 503 (a function without a
// database).
func Open(db *pgxpool.Pool, cfg Config) *Catalog {
	return &Catalog{db: db, cfg: cfg.withDefaults(), done: make(chan struct{}),
		kick: make(chan struct{}, 1), attempt: make(chan struct{})}
}

// Warm starts loading in the background without waiting, so that the first
// request finds the snapshot ready. Call it when the process starts.
func (c *Catalog) Warm() { c.start() }

func (c *Catalog) start() {
	if c.db == nil {
		return
	}
	c.startOnce.Do(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closed {
			close(c.done)
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		c.stop = cancel
		c.started = true
		go c.run(ctx)
	})
}

// Close stops the refresher and closes its connection. Reads after Close
// keep answering from the last snapshot.
func (c *Catalog) Close() {
	c.mu.Lock()
	c.closed = true
	started := c.started
	c.mu.Unlock()
	if !started {
		return
	}
	c.stop()
	<-c.done
}

// Snapshot returns the current snapshot, waiting for the first load if
// there is none yet. It fails with a 503 problem when that load fails, or
// with ctx's error.
func (c *Catalog) Snapshot(ctx context.Context) (*Snapshot, error) {
	if s := c.snap.Load(); s != nil {
		return s, nil
	}
	if c.db == nil {
		return nil, problem.Unavailable("the catalogue has no database")
	}
	c.start()
	c.mu.Lock()
	if s := c.snap.Load(); s != nil {
		c.mu.Unlock()
		return s, nil
	}
	if c.closed {
		c.mu.Unlock()
		return nil, problem.Unavailable("the catalogue is closed")
	}
	// No snapshot yet. While the first attempt runs, wait for it. After a
	// failed attempt, ask for an immediate retry and wait for that one (a
	// fresh deployment's first attempt may have run before the schema
	// existed), but at most one retry per retryThrottle: during an outage
	// the other requests fail fast.
	wait := c.attempt
	if c.lastErr != nil {
		if time.Since(c.lastTry) < retryThrottle {
			c.mu.Unlock()
			return nil, problem.Unavailable("the catalogue is not loaded yet; retry later")
		}
		c.lastTry = time.Now()
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	c.mu.Unlock()
	select {
	case <-wait:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for the catalogue: %w", ctx.Err())
	}
	if s := c.snap.Load(); s != nil {
		return s, nil
	}
	c.mu.Lock()
	err := c.lastErr
	c.mu.Unlock()
	c.cfg.Logger.WarnContext(ctx, "catalogue not loaded", "err", err)
	return nil, problem.Unavailable("the catalogue is not loaded yet; retry later")
}

// Item returns the item with code from the current snapshot; ok is false
// when there is none. The error is a 503 problem when no snapshot could be
// loaded yet.
func (c *Catalog) Item(ctx context.Context, code string) (Item, bool, error) {
	return lookup(ctx, c, code, (*Snapshot).Item)
}

// Bundle returns the bundle with code (its items as codes; see
// Snapshot.ExpandBundle for the items and merged materials).
func (c *Catalog) Bundle(ctx context.Context, code string) (Bundle, bool, error) {
	return lookup(ctx, c, code, (*Snapshot).Bundle)
}

// Department returns the department with code, WebhookSecret included (for
// signing deliveries; never render it other than through its JSON form).
func (c *Catalog) Department(ctx context.Context, code string) (Department, bool, error) {
	return lookup(ctx, c, code, (*Snapshot).Department)
}

// Endpoint is where a department's system takes deliveries: its webhook
// URL and secret, empty when it has none or is unknown. It makes a Catalog
// the webhook.Endpoints of an outbox.
func (c *Catalog) Endpoint(ctx context.Context, department string) (url, secret string, err error) {
	d, ok, err := c.Department(ctx, department)
	if err != nil || !ok {
		return "", "", err
	}
	return d.WebhookURL, d.WebhookSecret, nil
}

// LicenseType returns the license type with code.
func (c *Catalog) LicenseType(ctx context.Context, code string) (LicenseType, bool, error) {
	return lookup(ctx, c, code, (*Snapshot).LicenseType)
}

// ScopeEntry returns the business-scope entry with code.
func (c *Catalog) ScopeEntry(ctx context.Context, code string) (ScopeEntry, bool, error) {
	return lookup(ctx, c, code, (*Snapshot).ScopeEntry)
}

func lookup[T any](ctx context.Context, c *Catalog, code string, get func(*Snapshot, string) (*T, bool)) (T, bool, error) {
	var zero T
	s, err := c.Snapshot(ctx)
	if err != nil {
		return zero, false, err
	}
	v, ok := get(s, code)
	if !ok {
		return zero, false, nil
	}
	return *v, true, nil
}

// run is the refresher: sessions on a dedicated connection, reconnecting
// with backoff until Close.
func (c *Catalog) run(ctx context.Context) {
	defer close(c.done)
	wait := c.cfg.RetryMin
	for {
		listening, err := c.session(ctx)
		if ctx.Err() != nil {
			return
		}
		c.attemptEnded(err)
		c.cfg.Logger.WarnContext(ctx, "catalogue refresher: reconnecting", "err", err, "in", wait)
		if listening {
			wait = c.cfg.RetryMin
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-c.kick:
			t.Stop()
		}
		wait = min(wait*2, c.cfg.RetryMax)
	}
}

// session connects, listens, loads and then waits for changes until an
// error. listening reports whether it got as far as listening.
func (c *Catalog) session(ctx context.Context) (listening bool, err error) {
	cfg := c.db.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = cfg.RuntimeParams["application_name"] + "-catalog"
	// A deadline, not a cancel request, ends each bounded wait below, and
	// leaves the connection usable.
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: pc.Conn()}
	}
	c.markTry()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("connect catalogue listener: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		return false, fmt.Errorf("listen on %s: %w", NotifyChannel, err)
	}
	// Changes committed before LISTEN are caught by this load; later ones
	// by a notification.
	if err := c.refresh(ctx, conn); err != nil {
		return true, err
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, c.cfg.PollInterval)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			if rev, perr := strconv.ParseInt(n.Payload, 10, 64); perr == nil {
				if s := c.snap.Load(); s != nil && rev <= s.Revision {
					continue // already loaded with an earlier change
				}
			}
		case ctx.Err() != nil:
			return true, ctx.Err()
		case pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded):
			// The safety net: compare the counter (one row, primary key).
			rev, err := readRevision(ctx, conn)
			if err != nil {
				return true, err
			}
			c.testHook.polled.Send(rev)
			if s := c.snap.Load(); s != nil && rev <= s.Revision {
				continue
			}
		default:
			return true, fmt.Errorf("wait for catalogue notifications: %w", err)
		}
		if err := c.refresh(ctx, conn); err != nil {
			return true, err
		}
	}
}

// refresh loads what changed since the current snapshot and swaps in the
// new one.
func (c *Catalog) refresh(ctx context.Context, conn *pgx.Conn) error {
	prev := c.snap.Load()
	var since int64 = -1
	if prev != nil {
		since = prev.Revision
	}
	d, err := readDelta(ctx, conn, since)
	if err != nil {
		return err
	}
	if prev != nil && (d.revision <= prev.Revision || d.empty() && d.revision == prev.Revision) {
		c.attemptEnded(nil)
		return nil
	}
	s := apply(prev, d, time.Now())
	c.mu.Lock()
	c.snap.Store(s)
	c.mu.Unlock()
	if d.records() >= bigLoad {
		// A big load (the first, usually) leaves its decoding garbage:
		// give it back to the OS now rather than keep the peak resident.
		debug.FreeOSMemory()
	}
	c.attemptEnded(nil)
	c.testHook.refreshed.Send(s.Revision)
	return nil
}

func (c *Catalog) markTry() {
	c.mu.Lock()
	c.lastTry = time.Now()
	c.mu.Unlock()
}

// attemptEnded wakes everyone waiting for a load attempt.
func (c *Catalog) attemptEnded(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastErr = err
	close(c.attempt)
	c.attempt = make(chan struct{})
}

// retryThrottle is the least time between two load attempts that reads
// ask for while there is no snapshot.
const retryThrottle = 500 * time.Millisecond

// bigLoad is the number of records read at once after which the refresher
// returns the load's garbage to the OS.
const bigLoad = 10_000

// awaitRevision waits, at most WriteWait, until this process's snapshot
// holds revision rev, when a refresher is running. Puts call it so that the
// writing replica reads its own writes.
func (c *Catalog) awaitRevision(ctx context.Context, rev int64) {
	c.mu.Lock()
	started := c.started && !c.closed
	c.mu.Unlock()
	if !started {
		return
	}
	timer := time.NewTimer(c.cfg.WriteWait)
	defer timer.Stop()
	for {
		c.mu.Lock()
		s, wait := c.snap.Load(), c.attempt
		c.mu.Unlock()
		if s != nil && s.Revision >= rev {
			return
		}
		select {
		case <-wait:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}
