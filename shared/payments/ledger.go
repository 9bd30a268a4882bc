package payments

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/problem"
)

// CaseDesk is what the ledger needs of the case desk; *cases.Desk is one.
type CaseDesk interface {
	// RecordPaid records the paid event in tx (see cases.Desk.RecordPaid).
	RecordPaid(ctx context.Context, tx pgx.Tx, serial string, at time.Time, amountFen int64) (cases.Event, error)
	// Visible reports whether app may see the case.
	Visible(ctx context.Context, app auth.App, serial string) (bool, error)
}

// Config is what a Ledger works with; DB and Cases are required.
type Config struct {
	DB    *pgxpool.Pool
	Cases CaseDesk
	// RedriveEvery: one in this many notifications also starts, in the
	// background, a Redrive of up to redriveBatch receipts. Default 500;
	// negative turns it off (tests, tools that call Redrive themselves).
	RedriveEvery int
	// RedriveAfter is how long a receipt stays unprocessed before Redrive
	// takes it: longer than any request may run. Default 1 min.
	RedriveAfter time.Duration
	// Warm, when set, runs before each notification's transaction, outside
	// it, to load what Cases reads through the pool rather than the
	// transaction (the working-day calendar of cases.Desk.RecordPaid): a
	// transaction that waited for a second connection could wait for ever
	// when every connection is held by one. nil: nothing to load.
	Warm func(ctx context.Context) error
	// LockTimeout bounds each wait for a row lock in a notification's
	// transaction (PostgreSQL's lock_timeout); the transaction is then run
	// again, and after processAttempts the provider gets a 503 to retry.
	// Default 2 s.
	LockTimeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger gets a line per notification for another channel's order,
	// repeat with different content, payment for a case not awaiting it and
	// redriven receipt; default slog.Default(). Bodies are never logged.
	Logger *slog.Logger
}

const (
	defaultRedriveEvery = 500
	defaultRedriveAfter = time.Minute
	defaultLockTimeout  = 2 * time.Second
	redriveBatch        = 50
	redriveTimeout      = 10 * time.Second
	// maxRedriveAttempts: a receipt that failed this often is left for a
	// person to look at (it stays unprocessed in the audit trail).
	maxRedriveAttempts = 5
	// processAttempts: a deadlock, a serialization failure or a lock wait
	// past LockTimeout is retried at once, up to this many tries in all.
	processAttempts = 3
	// maxRequestIDLen bounds the stored X-Request-Id, which callers choose.
	maxRequestIDLen = 128
)

// Ledger takes payment notifications and answers about orders. It keeps
// no state another replica needs; create one per process.
type Ledger struct {
	db        *pgxpool.Pool
	cases     CaseDesk
	warm      func(ctx context.Context) error
	every     int
	after     time.Duration
	lockWait  string // lock_timeout, in milliseconds
	now       func() time.Time
	log       *slog.Logger
	redriving atomic.Bool
	orders    keyLocks

	testHooks testHooks
}

// testHooks let tests fail processing at a chosen point; nil in production.
type testHooks struct {
	// beforeCommit runs in the processing transaction just before commit.
	beforeCommit func() error
}

// New returns a ledger over cfg.
func New(cfg Config) (*Ledger, error) {
	if cfg.DB == nil || cfg.Cases == nil {
		return nil, errors.New("payments: DB and Cases are required")
	}
	if cfg.LockTimeout < 0 || cfg.RedriveAfter < 0 {
		return nil, errors.New("payments: negative LockTimeout or RedriveAfter")
	}
	l := &Ledger{db: cfg.DB, cases: cfg.Cases, warm: cfg.Warm,
		every:    cmp.Or(cfg.RedriveEvery, defaultRedriveEvery),
		after:    cmp.Or(cfg.RedriveAfter, defaultRedriveAfter),
		lockWait: strconv.FormatInt(max(cmp.Or(cfg.LockTimeout, defaultLockTimeout).Milliseconds(), 1), 10),
		now:      cfg.Now, log: cfg.Logger}
	if l.now == nil {
		l.now = time.Now
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	return l, nil
}

// Notify takes one provider notification, body raw as received and app
// the provider app that signed it. It stores the body, then processes it:
// a nil error means the effect (or the fact that it is a repeat) is
// committed and the provider gets 200 SUCCESS. Errors are problems (400
// invalid_json, 422 validation_failed, 404 unknown_order) or dependency
// failures (503): the provider retries those.
func (l *Ledger) Notify(ctx context.Context, app auth.App, requestID string, body []byte) (Outcome, error) {
	id, err := l.receive(ctx, app, requestID, body)
	if err != nil {
		return "", err
	}
	out, err := l.process(ctx, id, app, body)
	countDuplicate(out, err)
	l.maybeRedrive()
	return out, err
}

// receive commits the raw body to the audit trail.
func (l *Ledger) receive(ctx context.Context, app auth.App, requestID string, body []byte) (int64, error) {
	var id int64
	err := l.db.QueryRow(ctx, `INSERT INTO payment_receipts (app_id, app_channels, request_id, received_at, body)
		VALUES ($1, $2, $3, $4, $5) RETURNING receipt_id`,
		app.ID, nonNil(app.Channels), printable(requestID, maxRequestIDLen), l.now(), append([]byte{}, body...)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store payment notification: %w", err)
	}
	return id, nil
}

// printable keeps at most n printable ASCII characters of s, which the
// caller chose (X-Request-Id): a text column refuses invalid UTF-8 and NUL,
// and a refused insert would refuse the notification on every retry.
func printable(s string, n int) string {
	b := make([]byte, 0, min(len(s), n))
	for i := 0; i < len(s) && len(b) < n; i++ {
		if s[i] >= ' ' && s[i] <= '~' {
			b = append(b, s[i])
		}
	}
	return string(b)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// process parses and applies the body of receipt id.
func (l *Ledger) process(ctx context.Context, id int64, app auth.App, body []byte) (Outcome, error) {
	n, err := ParseNotification(body)
	if err != nil {
		l.mark(ctx, id, "", OutcomeRejected)
		return OutcomeRejected, err
	}
	if l.warm != nil {
		if err := l.warm(ctx); err != nil {
			return "", fmt.Errorf("process payment notification %s: %w", n.NotifyID, err)
		}
	}
	unlock := l.orders.lock(n.PaymentSerial)
	defer unlock()
	var out Outcome
	for attempt := 1; ; attempt++ {
		out, err = l.apply(ctx, id, app, n)
		if err == nil || !retryable(err) || attempt == processAttempts {
			break
		}
	}
	switch {
	case err != nil:
		if _, ok := problem.As(err); ok { // a refusal, not a failure: nothing to do again
			l.mark(ctx, id, n.NotifyID, OutcomeRejected)
		}
		return "", fmt.Errorf("process payment notification %s: %w", n.NotifyID, err)
	case out == OutcomeUnknownOrder:
		l.mark(ctx, id, n.NotifyID, out)
		return out, problem.New(http.StatusNotFound, "unknown_order", "no payment order "+n.PaymentSerial)
	}
	return out, nil
}

// retryable reports a deadlock, a serialization failure or a lock wait
// past lock_timeout, which the same transaction run again may not meet.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001" || pgErr.Code == "55P03")
}

// order is the locked row of an order.
type order struct {
	serial       string
	caseSerial   string
	channel      string
	caseNotMoved bool
	state        State
}

// apply runs notification n of receipt id in one transaction: the order is
// locked, the notification's row written (or found: a repeat), and its
// effect, the case's paid event included, recorded.
func (l *Ledger) apply(ctx context.Context, id int64, app auth.App, n Notification) (out Outcome, err error) {
	err = pgx.BeginFunc(ctx, l.db, func(tx pgx.Tx) error {
		now := l.now()
		t, err := l.take(ctx, tx, id, app.ID, n, now)
		if err != nil {
			return err
		}
		if !t.found {
			out = OutcomeUnknownOrder
			return nil
		}
		o := t.order
		channel, visible, err := claim(app, o.channel, n.Channel)
		switch {
		case err != nil:
			return err // rolls the notification's row back
		case !visible:
			l.log.WarnContext(ctx, "payment notification for another channel's order",
				"app", app.ID, "notify_id", n.NotifyID, "payment_serial", n.PaymentSerial)
			return errForeign // rolls the notification's row back
		case !t.fresh:
			out = l.repeat(ctx, app.ID, t.first, n)
			return l.commitOutcome(ctx, tx, id, n.NotifyID, out, now, nil)
		}
		st, eff := o.state.Apply(n)
		out = eff.Outcome
		caseNotMoved := o.caseNotMoved
		if eff.RecordPaid {
			at := n.PaidAt
			if at.After(now) { // a provider's clock ahead of ours must not put the event in the future
				at = now
			}
			switch _, err := l.cases.RecordPaid(ctx, tx, o.caseSerial, at, n.AmountFen); {
			case isConflict(err):
				// Real money arrived for a case that no longer awaits it
				// (withdrawn, say). The order still becomes paid and the
				// provider is answered; reconciliation lists it for a refund.
				caseNotMoved, out = true, OutcomePaidCaseNotMoved
				l.log.WarnContext(ctx, "payment for a case not awaiting it", "payment_serial", o.serial,
					"case_serial", o.caseSerial, "notify_id", n.NotifyID)
			case err != nil:
				return fmt.Errorf("record paid on case %s: %w", o.caseSerial, err)
			}
		}
		b := &pgx.Batch{}
		b.Queue(`UPDATE payment_orders SET status = $2, channel = $3, case_paid = $4, case_not_moved = $5,
				paid_at = $6, paid_notify_id = $7, provider_txn_id = $8, updated_at = $9
			WHERE payment_serial = $1`,
			o.serial, st.Status, nullString(channel), st.CasePaid, caseNotMoved,
			nullTime(st.PaidAt), nullString(st.PaidNotifyID), nullString(st.ProviderTxnID), now)
		b.Queue(`UPDATE payment_notifications SET outcome = $3 WHERE app_id = $1 AND notify_id = $2`, app.ID, n.NotifyID, out)
		return l.commitOutcome(ctx, tx, id, n.NotifyID, out, now, b)
	})
	switch {
	case errors.Is(err, errForeign):
		return OutcomeUnknownOrder, nil
	case err != nil:
		return "", err
	}
	return out, nil
}

// errForeign ends the transaction of a notification for another channel's
// order: it is rolled back, and the provider told the order is unknown.
var errForeign = errors.New("order of another payment channel")

// commitOutcome records the receipt's outcome with the statements of b,
// in one round trip, as the last work of the transaction.
func (l *Ledger) commitOutcome(ctx context.Context, tx pgx.Tx, id int64, notifyID string, out Outcome, now time.Time, b *pgx.Batch) error {
	if b == nil {
		b = &pgx.Batch{}
	}
	b.Queue(`UPDATE payment_receipts SET notify_id = $2, outcome = $3, processed_at = $4 WHERE receipt_id = $1`,
		id, notifyID, out, now)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("record payment notification: %w", err)
	}
	if h := l.testHooks.beforeCommit; h != nil {
		return h()
	}
	return nil
}

func isConflict(err error) bool {
	p, ok := problem.As(err)
	return ok && p.Status == http.StatusConflict
}

// taken is what take found.
type taken struct {
	order order
	found bool // the order exists
	fresh bool // n's row was written now; else first is the earlier one's
	first Notification
}

// take does, in one round trip: bound the transaction's lock waits, lock
// the order, and write n's row unless (app, notifyId) has one, reading the
// row that stands. The row is written before the caller knows whether n
// may touch the order; a refusal rolls it back with the transaction.
//
// A concurrent transaction writing the same (app, notifyId) makes the
// insert wait until it ends: then its row stands and n is a repeat, or it
// rolled back and n's row is written. payment_notifications_pkey
// arbitrates, across replicas.
func (l *Ledger) take(ctx context.Context, tx pgx.Tx, receipt int64, appID string, n Notification, now time.Time) (taken, error) {
	t := taken{order: order{serial: n.PaymentSerial}}
	o := &t.order
	var channel, paidNotify, txn *string
	var paidAt *time.Time
	var amount *int64
	if n.HasAmount {
		amount = &n.AmountFen
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT set_config('lock_timeout', $1, true)`, l.lockWait)
	b.Queue(`SELECT case_serial, amount_fen, status, channel, case_paid, case_not_moved,
			paid_at, paid_notify_id, provider_txn_id
		FROM payment_orders WHERE payment_serial = $1 FOR UPDATE`, n.PaymentSerial).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&o.caseSerial, &o.state.AmountFen, &o.state.Status, &channel, &o.state.CasePaid, &o.caseNotMoved,
			&paidAt, &paidNotify, &txn)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		t.found = err == nil
		return err
	})
	// The outcome is set once known, in the transaction's last round trip.
	b.Queue(`INSERT INTO payment_notifications (app_id, notify_id, payment_serial, status, amount_fen,
			paid_at, provider_txn_id, outcome, receipt_id, received_at)
		SELECT $1, $2, $3, $4, $5, $6, $7, '', $8, $9
		WHERE EXISTS (SELECT 1 FROM payment_orders WHERE payment_serial = $3)
		ON CONFLICT (app_id, notify_id) DO NOTHING`,
		appID, n.NotifyID, n.PaymentSerial, n.Status, amount, nullTime(n.PaidAt), n.ProviderTxnID, receipt, now).
		Exec(func(tag pgconn.CommandTag) error { t.fresh = tag.RowsAffected() == 1; return nil })
	b.Queue(`SELECT payment_serial, status, amount_fen, paid_at, provider_txn_id
		FROM payment_notifications WHERE app_id = $1 AND notify_id = $2`, appID, n.NotifyID).QueryRow(func(row pgx.Row) error {
		var firstAmount *int64
		var firstPaidAt *time.Time
		f := &t.first
		err := row.Scan(&f.PaymentSerial, &f.Status, &firstAmount, &firstPaidAt, &f.ProviderTxnID)
		if errors.Is(err, pgx.ErrNoRows) { // no order: nothing written
			return nil
		}
		if firstAmount != nil {
			f.AmountFen, f.HasAmount = *firstAmount, true
		}
		if firstPaidAt != nil {
			f.PaidAt = *firstPaidAt
		}
		return err
	})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return taken{}, fmt.Errorf("take payment notification %s for order %s: %w", n.NotifyID, n.PaymentSerial, err)
	}
	o.channel, o.state.PaidNotifyID, o.state.ProviderTxnID = deref(channel), deref(paidNotify), deref(txn)
	if paidAt != nil {
		o.state.PaidAt = *paidAt
	}
	return t, nil
}

// repeat classifies a repeated notifyId: a plain duplicate, or one that
// says something else than the first (logged: a provider bug or worse).
func (l *Ledger) repeat(ctx context.Context, appID string, first, n Notification) Outcome {
	first.NotifyID, first.Channel = n.NotifyID, n.Channel
	if first.PaidAt.Equal(n.PaidAt) {
		first.PaidAt = n.PaidAt // the same instant, perhaps in another zone
	}
	if first == n {
		return OutcomeDuplicate
	}
	l.log.WarnContext(ctx, "repeated payment notifyId with different content; the first stands",
		"app", appID, "notify_id", n.NotifyID, "payment_serial", n.PaymentSerial)
	return OutcomeDuplicateConflict
}

// claim decides whether app may touch an order of orderChannel ("" while
// unclaimed), and the order's channel afterwards (see the package doc).
// asked is the notification's channel field. visible false: the order is
// another channel's.
func claim(app auth.App, orderChannel, asked string) (channel string, visible bool, err error) {
	switch {
	case orderChannel != "":
		return orderChannel, app.BoundTo(orderChannel), nil
	case len(app.Channels) == 0: // unbound apps touch any order and claim none
		return "", true, nil
	case asked != "":
		if !slices.Contains(app.Channels, asked) {
			return "", false, channelProblem("channel " + asked + " is not one of your app's payment channels")
		}
		return asked, true, nil
	case len(app.Channels) == 1:
		return app.Channels[0], true, nil
	}
	return "", false, channelProblem("your app is bound to several payment channels: name the order's in channel")
}

func channelProblem(msg string) error {
	var v problem.Validation
	v.Add("channel", "invalid", msg)
	return v.Err()
}

// mark records the outcome of a receipt whose processing wrote nothing.
// It is best effort: a receipt left unmarked is only processed again.
func (l *Ledger) mark(ctx context.Context, id int64, notifyID string, out Outcome) {
	_, err := l.db.Exec(ctx, `UPDATE payment_receipts SET notify_id = $2, outcome = $3, processed_at = $4
		WHERE receipt_id = $1`, id, nullString(notifyID), out, l.now())
	if err != nil {
		l.log.WarnContext(ctx, "record payment receipt outcome", "receipt", id, "err", err)
	}
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Redrive processes again up to limit receipts that stayed unprocessed
// longer than Config.RedriveAfter (a replica died mid-way, the database
// failed), oldest first, and returns how many it finished. Each receipt is
// processed as when it arrived, for the app and binding it was
// authenticated with; repeats are found as such. Replicas running Redrive
// at once take different receipts.
func (l *Ledger) Redrive(ctx context.Context, limit int) (int, error) {
	// FOR UPDATE SKIP LOCKED: concurrent redrives split the work; the
	// partial index payment_receipts_unprocessed finds the candidates.
	rows, err := l.db.Query(ctx, `UPDATE payment_receipts SET attempts = attempts + 1
		WHERE receipt_id IN (
			SELECT receipt_id FROM payment_receipts
			WHERE outcome IS NULL AND received_at < $1 AND attempts < $2
			ORDER BY received_at LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING receipt_id, app_id, app_channels, body`,
		l.now().Add(-l.after), maxRedriveAttempts, limit)
	if err != nil {
		return 0, fmt.Errorf("claim unprocessed payment receipts: %w", err)
	}
	type receipt struct {
		id   int64
		app  auth.App
		body []byte
	}
	claimed, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (receipt, error) {
		var x receipt
		err := r.Scan(&x.id, &x.app.ID, &x.app.Channels, &x.body)
		x.app.Roles = []auth.Role{auth.RolePaymentProvider}
		return x, err
	})
	if err != nil {
		return 0, fmt.Errorf("claim unprocessed payment receipts: %w", err)
	}
	done := 0
	for _, r := range claimed {
		if ctx.Err() != nil {
			return done, ctx.Err()
		}
		out, err := l.process(ctx, r.id, r.app, r.body)
		if _, refused := problem.As(err); err != nil && !refused {
			l.log.WarnContext(ctx, "redrive payment receipt", "receipt", r.id, "err", err)
			continue
		}
		l.log.InfoContext(ctx, "redrove payment receipt", "receipt", r.id, "outcome", out)
		done++
	}
	return done, nil
}

// maybeRedrive starts a background Redrive once in l.every calls, unless
// one is running in this process.
func (l *Ledger) maybeRedrive() {
	if l.every < 0 || rand.IntN(l.every) != 0 || !l.redriving.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer l.redriving.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), redriveTimeout)
		defer cancel()
		if _, err := l.Redrive(ctx, redriveBatch); err != nil {
			l.log.WarnContext(ctx, "redrive payment receipts", "err", err)
		}
	}()
}
