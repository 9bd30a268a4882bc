package payments

import "time"

// Status is where a payment order stands (contract section 7).
type Status string

// The statuses of an order.
const (
	Pending        Status = "pending"
	Paid           Status = "paid"
	Failed         Status = "failed"
	Refunded       Status = "refunded"
	AmountMismatch Status = "amount_mismatch"
)

// rank orders the statuses so that an order's status is the highest any of
// its notifications implies. Taking a maximum is commutative, associative
// and idempotent, which is what makes the order's state the same for any
// arrival order and any duplication of its notifications:
//
//	pending < failed < amount_mismatch < paid < refunded
//
// So failed never undoes paid and paid after failed applies (the
// contract's rules), a wrong amount never undoes a right one, and a refund
// is final.
var rank = map[Status]int{Pending: 0, Failed: 1, AmountMismatch: 2, Paid: 3, Refunded: 4}

// State is what notifications decide about an order: a function of the
// set of notifications applied, never of their order.
type State struct {
	// AmountFen is the order's amount, fixed when it was opened.
	AmountFen int64
	Status    Status
	// CasePaid is set by the first paid notification with the order's
	// amount: that one records the case's paid event (whatever the status,
	// which a refund may already have raised past paid).
	CasePaid bool
	// PaidAt, PaidNotifyID and ProviderTxnID describe the earliest paid
	// notification with the right amount (by paidAt, then notifyId); zero
	// until there is one.
	PaidAt        time.Time
	PaidNotifyID  string
	ProviderTxnID string
}

// Effect is what applying one notification did.
type Effect struct {
	// Outcome names it for the audit trail.
	Outcome Outcome
	// RecordPaid: this notification is the first right payment; the case
	// takes its paid event in the same transaction.
	RecordPaid bool
}

// Outcome is how a notification was handled, as the audit trail and the
// order's events show it.
type Outcome string

// The outcomes. Every one but Rejected and UnknownOrder is acknowledged
// with 200 SUCCESS.
const (
	// OutcomePaid: the first payment with the right amount; the case moves.
	OutcomePaid Outcome = "paid"
	// OutcomePaidCaseNotMoved: the first payment with the right amount,
	// for a case that no longer awaited it (withdrawn): the order is paid,
	// the case unchanged, and reconciliation lists the order.
	OutcomePaidCaseNotMoved Outcome = "paid_case_not_moved"
	// OutcomeAmountMismatch: a payment with another amount; acknowledged,
	// not applied to the case.
	OutcomeAmountMismatch Outcome = "amount_mismatch"
	// OutcomeApplied: the order's status changed (failed, refunded).
	OutcomeApplied Outcome = "applied"
	// OutcomeNoChange: recorded, but the order already stood higher
	// (failed after paid, a second payment).
	OutcomeNoChange Outcome = "no_change"
	// OutcomeDuplicate: the (app, notifyId) was processed before.
	OutcomeDuplicate Outcome = "duplicate"
	// OutcomeDuplicateConflict: a repeat of a notifyId that says something
	// else than the first; nothing changes, and it is logged.
	OutcomeDuplicateConflict Outcome = "duplicate_conflict"
	// OutcomeRejected: the body was malformed or invalid (400, 422).
	OutcomeRejected Outcome = "rejected"
	// OutcomeUnknownOrder: no order, or one of another channel (404).
	OutcomeUnknownOrder Outcome = "unknown_order"
)

// implies is the status a notification alone would give an order of
// amountFen.
func (n Notification) implies(amountFen int64) Status {
	switch {
	case n.Status == NotifyRefunded:
		return Refunded
	case n.Status == NotifyFailed:
		return Failed
	case n.AmountFen == amountFen:
		return Paid
	default:
		return AmountMismatch
	}
}

// rightPayment reports whether n is a payment of the order's amount.
func (n Notification) rightPayment(amountFen int64) bool {
	return n.Status == NotifyPaid && n.HasAmount && n.AmountFen == amountFen
}

// Apply returns the state after notification n and what n did. It is
// pure; the caller deduplicates notifyIds, but applying one twice changes
// nothing anyway.
func (s State) Apply(n Notification) (State, Effect) {
	before := s
	var eff Effect
	if implied := n.implies(s.AmountFen); rank[implied] > rank[s.Status] {
		s.Status = implied
	}
	if n.rightPayment(s.AmountFen) {
		if !s.CasePaid {
			s.CasePaid, eff.RecordPaid = true, true
		}
		if s.PaidNotifyID == "" || n.PaidAt.Before(s.PaidAt) || (n.PaidAt.Equal(s.PaidAt) && n.NotifyID < s.PaidNotifyID) {
			s.PaidAt, s.PaidNotifyID, s.ProviderTxnID = n.PaidAt, n.NotifyID, n.ProviderTxnID
		}
	}
	switch {
	case eff.RecordPaid:
		eff.Outcome = OutcomePaid
	case n.Status == NotifyPaid && !n.rightPayment(s.AmountFen):
		eff.Outcome = OutcomeAmountMismatch
	case s.Status != before.Status:
		eff.Outcome = OutcomeApplied
	default:
		eff.Outcome = OutcomeNoChange
	}
	return s, eff
}
