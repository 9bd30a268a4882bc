// Package payments is unified payment (统一缴费, contract section 7): the
// payment orders a department's payment_requested event opens, the
// providers' notifications about them, verified per notifyId, and the
// daily reconciliation.
//
// Providers retry aggressively and send duplicates and out-of-order
// events, so everything here is built to give one answer whatever arrives
// how often and in what order:
//
//   - The raw body of every authenticated notification is committed before
//     it is processed (payment_receipts): a crash mid-processing leaves it
//     in the audit trail, and Redrive processes it again.
//   - A notification is processed at most once per (app, notifyId): its row
//     in payment_notifications is written in the transaction of its effect,
//     and a concurrent duplicate on any replica waits on the row's unique
//     key and then finds it. The answer is 200 only after that commit.
//   - An order's state is a function of the set of its notifications (see
//     State.Apply), so permutations and repeats end in the same state.
//
// An order's payment channel is the one its payment_requested event named
// (paymentChannel), else it is taken from the first notification of a
// provider app bound to channels (auth.App.Channels): that notification
// claims the order for its channel (its "channel" field, or the app's only
// channel), and from then on only apps bound to that channel, or unbound
// apps, may touch the order; to others it is an unknown order (404).
// Unbound apps never claim.
//
// Orders opens orders and shows them on a case (case-submit's desk holds
// one); Ledger takes the notifications and answers about orders
// (payment-callback).
package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/cases"
)

// Orders opens payment orders and shows a case's current one. It
// implements cases.PaymentOrders and cases.Extension; case-submit's desk
// holds one.
type Orders struct {
	now func() time.Time
}

// NewOrders returns Orders; now is the clock for the recording time, nil
// meaning time.Now.
func NewOrders(now func() time.Time) *Orders {
	if now == nil {
		now = time.Now
	}
	return &Orders{now: now}
}

var (
	_ cases.PaymentOrders = (*Orders)(nil)
	_ cases.Extension     = (*Orders)(nil)
)

// Open opens an order for r in tx, the transaction of the payment_requested
// event, under the payment serial the desk drew for it.
func (o *Orders) Open(ctx context.Context, tx pgx.Tx, r cases.PaymentRequest) error {
	if r.AmountFen < 1 || r.AmountFen > MaxAmountFen {
		return fmt.Errorf("open payment order for case %s: amount %d fen out of range", r.CaseSerial, r.AmountFen)
	}
	if r.PaymentSerial == "" {
		return fmt.Errorf("open payment order for case %s: no payment serial drawn", r.CaseSerial)
	}
	now := o.now()
	_, err := tx.Exec(ctx, `INSERT INTO payment_orders (payment_serial, case_serial, department, amount_fen, status,
			channel, opened_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $7)`,
		r.PaymentSerial, r.CaseSerial, r.Department, r.AmountFen, nullString(r.Channel), r.At, now)
	if err != nil {
		return fmt.Errorf("open payment order for case %s: %w", r.CaseSerial, err)
	}
	return nil
}

// Summary is a case's current order as GET /cases/{serial} shows it under
// "payment".
type Summary struct {
	PaymentSerial string `json:"paymentSerial"`
	AmountFen     int64  `json:"amountFen"`
	Status        Status `json:"status"`
}

// ExtendView sets v.Payment to the case's current order, its latest;
// it stays null for a case without one.
func (o *Orders) ExtendView(ctx context.Context, q cases.Querier, v *cases.View) error {
	var s Summary
	// Index payment_orders_by_case.
	err := q.QueryRow(ctx, `SELECT payment_serial, amount_fen, status FROM payment_orders
		WHERE case_serial = $1 ORDER BY created_at DESC, payment_serial DESC LIMIT 1`, v.Serial).
		Scan(&s.PaymentSerial, &s.AmountFen, &s.Status)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read payment order of case %s: %w", v.Serial, err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode payment order: %w", err)
	}
	v.Payment = b
	return nil
}
