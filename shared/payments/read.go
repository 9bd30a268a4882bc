package payments

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/calendar"
	"github.com/onewindow/onewindow/shared/problem"
)

// OrderView is GET /orders/{paymentSerial}.
type OrderView struct {
	PaymentSerial string `json:"paymentSerial"`
	CaseSerial    string `json:"caseSerial"`
	AmountFen     int64  `json:"amountFen"`
	Status        Status `json:"status"`
	// Channel is the payment channel that claimed the order; absent while
	// none has.
	Channel string `json:"channel,omitempty"`
	// PaidAt and ProviderTxnID are those of the earliest right payment.
	PaidAt        *time.Time `json:"paidAt,omitempty"`
	ProviderTxnID string     `json:"providerTxnId,omitempty"`
	OpenedAt      time.Time  `json:"openedAt"`
	UpdatedAt     time.Time  `json:"updatedAt"`
	// Events are the order's history: "opened", then one "notification"
	// per notifyId in the order received (repeats are not events).
	Events []OrderEvent `json:"events"`
}

// OrderEvent is one entry of an order's history.
type OrderEvent struct {
	Type string `json:"type"` // opened | notification
	// At is when it happened: the opening's event time, a notification's
	// receipt.
	At            time.Time    `json:"at"`
	AmountFen     *int64       `json:"amountFen,omitempty"`
	NotifyID      string       `json:"notifyId,omitempty"`
	Status        NotifyStatus `json:"status,omitempty"`
	PaidAt        *time.Time   `json:"paidAt,omitempty"`
	ProviderTxnID string       `json:"providerTxnId,omitempty"`
	Outcome       Outcome      `json:"outcome,omitempty"`
}

// Order is GET /orders/{paymentSerial}: the order and its history, for
// whoever may see its case; a 404 for everyone else and for no order.
func (l *Ledger) Order(ctx context.Context, app auth.App, paymentSerial string) (OrderView, error) {
	v := OrderView{PaymentSerial: paymentSerial, Events: []OrderEvent{}}
	var channel, txn *string
	err := l.db.QueryRow(ctx, `SELECT case_serial, amount_fen, status, channel, paid_at, provider_txn_id,
			opened_at, updated_at
		FROM payment_orders WHERE payment_serial = $1`, paymentSerial).
		Scan(&v.CaseSerial, &v.AmountFen, &v.Status, &channel, &v.PaidAt, &txn, &v.OpenedAt, &v.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return OrderView{}, orderNotFound(paymentSerial)
	}
	if err != nil {
		return OrderView{}, fmt.Errorf("read payment order %s: %w", paymentSerial, err)
	}
	ok, err := l.cases.Visible(ctx, app, v.CaseSerial)
	if err != nil {
		return OrderView{}, fmt.Errorf("payment order %s: %w", paymentSerial, err)
	}
	if !ok {
		return OrderView{}, orderNotFound(paymentSerial)
	}
	v.Channel, v.ProviderTxnID = deref(channel), deref(txn)
	amount := v.AmountFen
	v.Events = append(v.Events, OrderEvent{Type: "opened", At: v.OpenedAt, AmountFen: &amount})
	// Index payment_notifications_by_order.
	rows, err := l.db.Query(ctx, `SELECT notify_id, status, amount_fen, paid_at, provider_txn_id, outcome, received_at
		FROM payment_notifications WHERE payment_serial = $1 ORDER BY received_at, notify_id`, paymentSerial)
	if err != nil {
		return OrderView{}, fmt.Errorf("read notifications of payment order %s: %w", paymentSerial, err)
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OrderEvent, error) {
		e := OrderEvent{Type: "notification"}
		err := r.Scan(&e.NotifyID, &e.Status, &e.AmountFen, &e.PaidAt, &e.ProviderTxnID, &e.Outcome, &e.At)
		return e, err
	})
	if err != nil {
		return OrderView{}, fmt.Errorf("read notifications of payment order %s: %w", paymentSerial, err)
	}
	v.Events = append(v.Events, events...)
	return v, nil
}

func orderNotFound(paymentSerial string) error {
	return problem.NotFound("no payment order " + paymentSerial)
}

// ReconciliationQuery asks for one page of a day's reconciliation.
type ReconciliationQuery struct {
	// Date is the Asia/Shanghai day, YYYY-MM-DD.
	Date string
	// Limit is the page size, 1-500; 0 means 50.
	Limit int
	// Cursor is the previous page's NextCursor, "" for the first.
	Cursor string
}

// Discrepancy is an order of the day in a disagreeing state.
type Discrepancy struct {
	PaymentSerial string `json:"paymentSerial"`
	CaseSerial    string `json:"caseSerial"`
	AmountFen     int64  `json:"amountFen"`
	Status        Status `json:"status"`
	// Reasons say why the order is listed, one or more of: failed,
	// refunded, amount_mismatch (its status); amounts_disagree (a payment
	// or refund of another amount was notified, even if a right one
	// followed); duplicate_payment (right payments under more than one
	// provider transaction); case_not_moved (paid, but the case no longer
	// awaited payment).
	Reasons []string `json:"reasons"`
	// NotifiedAmountsFen are the distinct amounts notified, ascending.
	NotifiedAmountsFen []int64 `json:"notifiedAmountsFen"`
	// ProviderTxnIDs are the distinct provider transactions notified.
	ProviderTxnIDs []string   `json:"providerTxnIds"`
	Channel        string     `json:"channel,omitempty"`
	PaidAt         *time.Time `json:"paidAt,omitempty"`
	OpenedAt       time.Time  `json:"openedAt"`
	UpdatedAt      time.Time  `json:"updatedAt"`
}

// Reconciliation is a page of GET /reconciliation.
type Reconciliation struct {
	Date       string        `json:"date"`
	Items      []Discrepancy `json:"items"`
	NextCursor string        `json:"nextCursor,omitempty"`
}

// Page sizes of the reconciliation (contract section 0).
const (
	defaultLimit = 50
	maxLimit     = 500
)

// reconcileSQL lists the orders of a day, those opened ($1 <= created_at
// < $2, index payment_orders_by_day) or notified (index
// payment_notifications_by_day) in it, that disagree, after cursor $3, in
// serial order.
const reconcileSQL = `
WITH day AS (
	SELECT payment_serial FROM payment_orders WHERE created_at >= $1 AND created_at < $2
	UNION
	SELECT payment_serial FROM payment_notifications WHERE received_at >= $1 AND received_at < $2
), seen AS (
	SELECT o.payment_serial,
		coalesce(bool_or(n.status <> 'failed' AND n.amount_fen IS DISTINCT FROM o.amount_fen), false) AS amounts_disagree,
		count(DISTINCT n.provider_txn_id) FILTER (
			WHERE n.status = 'paid' AND n.amount_fen = o.amount_fen AND n.provider_txn_id <> '') AS paid_txns,
		coalesce(array_agg(DISTINCT n.amount_fen) FILTER (WHERE n.amount_fen IS NOT NULL), '{}') AS amounts,
		coalesce(array_agg(DISTINCT n.provider_txn_id) FILTER (WHERE n.provider_txn_id <> ''), '{}') AS txns
	FROM day JOIN payment_orders o USING (payment_serial)
	LEFT JOIN payment_notifications n USING (payment_serial)
	WHERE o.payment_serial > $3
	GROUP BY o.payment_serial
)
SELECT o.payment_serial, o.case_serial, o.amount_fen, o.status, coalesce(o.channel, ''), o.case_not_moved,
	o.paid_at, o.opened_at, o.updated_at, s.amounts_disagree, s.paid_txns, s.amounts, s.txns
FROM seen s JOIN payment_orders o USING (payment_serial)
WHERE o.status NOT IN ('paid', 'pending') OR s.amounts_disagree OR s.paid_txns > 1 OR o.case_not_moved
ORDER BY o.payment_serial
LIMIT $4`

// Reconcile is GET /reconciliation?date=: the orders opened or notified on
// that Asia/Shanghai day whose status is not paid or pending, or whose
// notifications disagree with them (see Discrepancy.Reasons), paged in
// serial order. Statuses are the current ones.
func (l *Ledger) Reconcile(ctx context.Context, q ReconciliationQuery) (Reconciliation, error) {
	var v problem.Validation
	day, err := calendar.ParseDate(q.Date)
	switch {
	case q.Date == "":
		v.Add("date", "required", "date is required, YYYY-MM-DD")
	case err != nil:
		v.Add("date", "invalid", "date must be a real date written YYYY-MM-DD")
	}
	if err := v.Err(); err != nil {
		return Reconciliation{}, err
	}
	after, err := decodeCursor(q.Cursor)
	if err != nil {
		return Reconciliation{}, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	rows, err := l.db.Query(ctx, reconcileSQL, day.Start(), day.AddDays(1).Start(), after, limit+1)
	if err != nil {
		return Reconciliation{}, fmt.Errorf("reconcile %s: %w", q.Date, err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Discrepancy, error) {
		var d Discrepancy
		var caseNotMoved, disagree bool
		var paidTxns int
		err := r.Scan(&d.PaymentSerial, &d.CaseSerial, &d.AmountFen, &d.Status, &d.Channel, &caseNotMoved,
			&d.PaidAt, &d.OpenedAt, &d.UpdatedAt, &disagree, &paidTxns, &d.NotifiedAmountsFen, &d.ProviderTxnIDs)
		d.Reasons = reasons(d.Status, disagree, paidTxns > 1, caseNotMoved)
		return d, err
	})
	if err != nil {
		return Reconciliation{}, fmt.Errorf("reconcile %s: %w", q.Date, err)
	}
	out := Reconciliation{Date: day.String(), Items: items}
	if len(items) > limit {
		out.Items = items[:limit]
		out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(items[limit-1].PaymentSerial))
	}
	return out, nil
}

func reasons(s Status, disagree, duplicate, caseNotMoved bool) []string {
	out := []string{}
	if s != Paid && s != Pending {
		out = append(out, string(s))
	}
	if disagree {
		out = append(out, "amounts_disagree")
	}
	if duplicate {
		out = append(out, "duplicate_payment")
	}
	if caseNotMoved {
		out = append(out, "case_not_moved")
	}
	return out
}

// decodeCursor returns the payment serial a page starts after.
func decodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 || !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 || len(b) > MaxIDLen {
		return "", problem.BadRequest("invalid_cursor", "cursor is not one this list returned")
	}
	return string(b), nil
}
