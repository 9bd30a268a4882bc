package webhook

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Endpoints finds where and how a department's deliveries go. It is asked
// at every attempt, so a change in the catalogue applies to the next one.
type Endpoints interface {
	// Endpoint returns the department's webhook URL and its Standard
	// Webhooks secret ("whsec_" + base64 of the key, padded or not). An
	// empty url means the department has none yet: the attempt counts as
	// failed and is retried. An error also counts as a failed attempt; it
	// is logged, never stored.
	Endpoint(ctx context.Context, department string) (url, secret string, err error)
}

// EndpointFunc adapts a function to Endpoints.
type EndpointFunc func(ctx context.Context, department string) (url, secret string, err error)

// Endpoint calls f.
func (f EndpointFunc) Endpoint(ctx context.Context, department string) (string, string, error) {
	return f(ctx, department)
}

// Config tunes a Deliverer. Only Endpoints is required; New applies the
// defaults named below.
type Config struct {
	// Endpoints resolves a department to its URL and secret. Required.
	Endpoints Endpoints
	// Client sends the POSTs. Default: a client that does not follow
	// redirects (a 3xx is a failed attempt: the body must not be replayed
	// to a place the department did not register). Its own Timeout, if
	// any, applies on top of Timeout.
	Client *http.Client
	// Timeout bounds the POST of one attempt, from sending the request to
	// the status line of the answer (and, separately, the endpoint lookup
	// before it). Default 10 s, the contract's.
	Timeout time.Duration
	// RetryFor is how long after its creation a delivery is retried; the
	// first failure at or after that instant parks it as failed. Default
	// 24 h, the contract's.
	RetryFor time.Duration
	// FirstRetry is the mean delay before the first retry. Default 5 s, so
	// with jitter (± 50 %) the first retry comes within 7.5 s: inside the
	// contract's 15 s even with a PollInterval of delay.
	FirstRetry time.Duration
	// MaxRetryInterval caps the mean delay between retries, which doubles
	// from FirstRetry. Default 30 min (so 22.5 to 45 min with jitter).
	MaxRetryInterval time.Duration
	// Lease is how long a claimed delivery belongs to the replica that
	// claimed it; after that, another replica may take it over. It must
	// cover the endpoint lookup and the POST (each bounded by Timeout) and
	// recording the outcome (5 s), and absorb clock differences between
	// replicas: at least 2 × Timeout + 5 s. Default 1 min.
	Lease time.Duration
	// PollInterval is how often Run looks for due retries when not kicked.
	// Default 2 s.
	PollInterval time.Duration
	// Concurrency caps the attempts in flight at once in one Run pass or
	// RunDue call (each on a different stream). Default 16. Attempts hold
	// no database connection while waiting for the receiver.
	Concurrency int
	// Now is the clock for every instant stored or compared (creation,
	// due times, leases, the 24 h limit) and for webhook-timestamp.
	// Default time.Now. Tests jump it forward.
	Now func() time.Time
	// Logger receives one line per failed attempt, parked delivery and
	// failed pass. Default slog.Default(). URLs are logged by host only.
	Logger *slog.Logger
}

const (
	defaultTimeout          = 10 * time.Second
	defaultRetryFor         = 24 * time.Hour
	defaultFirstRetry       = 5 * time.Second
	defaultMaxRetryInterval = 30 * time.Minute
	defaultLease            = time.Minute
	defaultPollInterval     = 2 * time.Second
	defaultConcurrency      = 16
)

// withDefaults is the one place defaults are applied.
func (c Config) withDefaults() Config {
	c.Timeout = cmp.Or(c.Timeout, defaultTimeout)
	c.RetryFor = cmp.Or(c.RetryFor, defaultRetryFor)
	c.FirstRetry = cmp.Or(c.FirstRetry, defaultFirstRetry)
	c.MaxRetryInterval = cmp.Or(c.MaxRetryInterval, max(defaultMaxRetryInterval, c.FirstRetry))
	c.Lease = cmp.Or(c.Lease, max(defaultLease, minLease(c.Timeout)))
	c.PollInterval = cmp.Or(c.PollInterval, defaultPollInterval)
	c.Concurrency = cmp.Or(c.Concurrency, defaultConcurrency)
	if c.Client == nil {
		// Keep a connection per attempt slot: most deliveries go to a few
		// departments, and the default of 2 idle per host would redial.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = max(c.Concurrency, 2)
		c.Client = &http.Client{
			Transport:     t,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// minLease is the shortest lease that outlasts an attempt: lookup, POST
// and recording.
func minLease(timeout time.Duration) time.Duration { return 2*timeout + recordTimeout }

func (c Config) validate() error {
	switch {
	case c.Endpoints == nil:
		return errors.New("webhook deliverer: no Endpoints")
	case c.Timeout < 0 || c.RetryFor < 0 || c.FirstRetry < 0 || c.PollInterval < 0:
		return errors.New("webhook deliverer: negative duration")
	case c.MaxRetryInterval < c.FirstRetry:
		return fmt.Errorf("webhook deliverer: MaxRetryInterval %s < FirstRetry %s", c.MaxRetryInterval, c.FirstRetry)
	case c.Lease < minLease(c.Timeout):
		return fmt.Errorf("webhook deliverer: Lease %s < 2 × Timeout + %s", c.Lease, recordTimeout)
	case c.Concurrency < 1:
		return fmt.Errorf("webhook deliverer: Concurrency %d < 1", c.Concurrency)
	}
	return nil
}

// Deliverer writes deliveries to the outbox and sends them. Create one per
// process; it is safe for concurrent use, and any number of Deliverers in
// any number of replicas may work on one database at once.
type Deliverer struct {
	db   *pgxpool.Pool
	cfg  Config
	kick chan struct{}

	testSignals testSignals
}

// New returns a deliverer over db (migration 0040_webhook.sql applied). It
// does not touch the database or start anything: call Run for the loop.
func New(db *pgxpool.Pool, cfg Config) (*Deliverer, error) {
	if db == nil {
		return nil, errors.New("webhook deliverer: nil database")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Deliverer{db: db, cfg: cfg, kick: make(chan struct{}, 1)}, nil
}

// Counts are the recorded outcomes of the attempts of one RunDue call
// (or one pass of Run).
type Counts struct {
	Delivered int // answered 2xx
	Retried   int // failed and scheduled again (or abandoned at shutdown, due again at once)
	Failed    int // failed after RetryFor and parked
}

func (c *Counts) add(o Counts) {
	c.Delivered += o.Delivered
	c.Retried += o.Retried
	c.Failed += o.Failed
}

// Kick wakes Run to send what was just committed. It never blocks; kicks
// that arrive while a pass is under way fold into one more pass. Call it
// after the transaction that enqueued commits (before, the rows are not
// visible yet and the pass finds nothing).
func (d *Deliverer) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Run delivers until ctx is cancelled: a pass at once, then one after each
// Kick and every PollInterval. A pass sends everything due, stream heads in
// parallel up to Concurrency, and the next delivery of a stream as soon as
// the previous one succeeds.
//
// When ctx is cancelled, Run stops claiming, cancels the attempts in
// flight, records them as due again at once (a receiver may have got one:
// the webhook-id lets it dedupe), records the outcome of attempts that had
// already been answered, and returns. Recording uses a short context of
// its own, so it happens even though ctx is done; a replica killed before
// recording leaves its rows to be taken over after the lease.
//
// A pass that fails (database down) is logged; the next one waits for the
// poll, not for kicks, so a degraded database is not hammered.
func (d *Deliverer) Run(ctx context.Context) {
	tick := time.NewTicker(d.cfg.PollInterval)
	defer tick.Stop()
	for {
		counts, err := d.drain(ctx, 0)
		if ctx.Err() != nil {
			return
		}
		d.testSignals.passed.Send(pass{counts: counts, err: err})
		if err != nil {
			d.cfg.Logger.WarnContext(ctx, "webhook delivery pass failed", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-d.kick:
		case <-tick.C:
		}
	}
}

// RunDue sends what is due now, as one pass of Run, and returns when
// nothing more is due or limit attempts have been made (limit < 1: no
// cap). A scheduled trigger calls it so that retries happen without a
// running loop. The error is the first database error met, or ctx's; the
// counts are valid either way.
func (d *Deliverer) RunDue(ctx context.Context, limit int) (Counts, error) {
	counts, err := d.drain(ctx, limit)
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("run due webhook deliveries: %w", ctx.Err())
	}
	return counts, err
}

// drain claims due deliveries while attempt slots are free and records
// each outcome as it comes. It claims again after every delivered or
// parked one, because that may have made the next of its stream due.
func (d *Deliverer) drain(ctx context.Context, limit int) (Counts, error) {
	var (
		counts   Counts
		firstErr error
		inflight int
		started  int
		more     = true
		results  = make(chan outcome, d.cfg.Concurrency)
	)
	for {
		free := d.cfg.Concurrency - inflight
		if limit > 0 {
			free = min(free, limit-started)
		}
		if more && free > 0 && firstErr == nil && ctx.Err() == nil {
			batch, err := d.claim(ctx, free)
			if err != nil {
				firstErr = err
			}
			more = len(batch) == free
			for _, c := range batch {
				inflight++
				started++
				go func() { results <- d.attempt(ctx, c) }()
			}
		}
		if inflight == 0 {
			return counts, firstErr
		}
		o := <-results
		inflight--
		counts.add(o.counts)
		if o.err != nil && firstErr == nil {
			firstErr = o.err
		}
		if o.counts.Delivered+o.counts.Failed > 0 {
			more = true
		}
	}
}
