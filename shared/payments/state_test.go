package payments

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

const orderAmount = 10_000

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

func note(id string, status NotifyStatus, amount int64, minute int, txn string) Notification {
	n := Notification{NotifyID: id, PaymentSerial: "S", Status: status, AmountFen: amount, HasAmount: true, ProviderTxnID: txn}
	if status == NotifyPaid {
		n.PaidAt = t0.Add(time.Duration(minute) * time.Minute)
	}
	return n
}

// The contract's rules, one sequence each, from a pending order.
func TestApplyRules(t *testing.T) {
	right := note("a", NotifyPaid, orderAmount, 0, "T1")
	wrong := note("b", NotifyPaid, 9_999, 0, "T2")
	failed := note("c", NotifyFailed, orderAmount, 0, "")
	refunded := note("d", NotifyRefunded, orderAmount, 0, "")
	tests := []struct {
		name     string
		seq      []Notification
		status   Status
		outcomes []Outcome
		moves    int // how many notifications record the case's paid event
	}{
		{"paid with the order's amount", []Notification{right}, Paid, []Outcome{OutcomePaid}, 1},
		{"another amount", []Notification{wrong}, AmountMismatch, []Outcome{OutcomeAmountMismatch}, 0},
		{"failed", []Notification{failed}, Failed, []Outcome{OutcomeApplied}, 0},
		{"failed after paid never undoes it", []Notification{right, failed}, Paid, []Outcome{OutcomePaid, OutcomeNoChange}, 1},
		{"paid after failed applies", []Notification{failed, right}, Paid, []Outcome{OutcomeApplied, OutcomePaid}, 1},
		{"right after wrong applies", []Notification{wrong, right}, Paid, []Outcome{OutcomeAmountMismatch, OutcomePaid}, 1},
		{"wrong after right does not undo", []Notification{right, wrong}, Paid, []Outcome{OutcomePaid, OutcomeAmountMismatch}, 1},
		{"refunded after paid", []Notification{right, refunded}, Refunded, []Outcome{OutcomePaid, OutcomeApplied}, 1},
		{"paid after refunded still moves the case once", []Notification{refunded, right}, Refunded, []Outcome{OutcomeApplied, OutcomePaid}, 1},
		{"the same notification twice", []Notification{right, right}, Paid, []Outcome{OutcomePaid, OutcomeNoChange}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := State{AmountFen: orderAmount, Status: Pending}
			moves := 0
			for i, n := range tt.seq {
				var eff Effect
				s, eff = s.Apply(n)
				if eff.Outcome != tt.outcomes[i] {
					t.Errorf("notification %d: outcome %s, want %s", i+1, eff.Outcome, tt.outcomes[i])
				}
				if eff.RecordPaid {
					moves++
				}
			}
			if s.Status != tt.status || moves != tt.moves || s.CasePaid != (tt.moves > 0) {
				t.Errorf("state %+v after %d moves, want %s after %d", s, moves, tt.status, tt.moves)
			}
		})
	}
}

// randomEvents is a set of notifications of one order with distinct
// notifyIds: right and wrong payments, failures and refunds, at random
// times, some sharing a time or a provider transaction.
func randomEvents(r *rand.Rand, prefix string) []Notification {
	n := 1 + r.IntN(6)
	out := make([]Notification, n)
	for i := range out {
		id := fmt.Sprintf("%s%d", prefix, i)
		txn := fmt.Sprintf("T%d", r.IntN(3))
		minute := r.IntN(4)
		switch r.IntN(5) {
		case 0, 1:
			out[i] = note(id, NotifyPaid, orderAmount, minute, txn)
		case 2:
			out[i] = note(id, NotifyPaid, orderAmount+int64(1+r.IntN(2)), minute, txn)
		case 3:
			out[i] = note(id, NotifyFailed, orderAmount, minute, "")
		default:
			out[i] = note(id, NotifyRefunded, orderAmount-int64(r.IntN(2)), minute, "")
		}
	}
	return out
}

// arrival is a permutation of events in which each may come up to three
// times, repeats anywhere: what an aggressive provider's retries look like.
func arrival(r *rand.Rand, events []Notification) []Notification {
	var out []Notification
	for _, e := range events {
		for range 1 + r.IntN(3) {
			out = append(out, e)
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// The property: any permutation and duplication of a set of notifications
// ends in the same state, and exactly one notification records the case's
// paid event when the set holds a right payment (none otherwise).
func TestApplyIsOrderIndependent(t *testing.T) {
	for seed := range uint64(3000) {
		r := rand.New(rand.NewPCG(seed, 7))
		events := randomEvents(r, "n")
		var want State
		for k := range 8 {
			s := State{AmountFen: orderAmount, Status: Pending}
			moves := 0
			seq := arrival(r, events)
			for _, n := range seq {
				var eff Effect
				s, eff = s.Apply(n)
				if eff.RecordPaid {
					moves++
				}
			}
			if k == 0 {
				want = s
			}
			if s != want {
				t.Fatalf("seed %d: %v ends in %+v, another order in %+v", seed, seq, s, want)
			}
			if hasRightPayment(events) != (moves == 1) || moves > 1 {
				t.Fatalf("seed %d: %d paid events for %v", seed, moves, events)
			}
		}
		if want.Status != expectedStatus(events) {
			t.Fatalf("seed %d: status %s, want %s for %v", seed, want.Status, expectedStatus(events), events)
		}
	}
}

func hasRightPayment(events []Notification) bool {
	for _, n := range events {
		if n.rightPayment(orderAmount) {
			return true
		}
	}
	return false
}

// expectedStatus restates the contract's rules over a set, independently
// of rank: a refund ends it; else a right payment; else a wrong one; else
// a failure; else pending.
func expectedStatus(events []Notification) Status {
	has := map[Status]bool{}
	for _, n := range events {
		switch {
		case n.Status == NotifyRefunded:
			has[Refunded] = true
		case n.Status == NotifyFailed:
			has[Failed] = true
		case n.AmountFen == orderAmount:
			has[Paid] = true
		default:
			has[AmountMismatch] = true
		}
	}
	for _, s := range []Status{Refunded, Paid, AmountMismatch, Failed} {
		if has[s] {
			return s
		}
	}
	return Pending
}
