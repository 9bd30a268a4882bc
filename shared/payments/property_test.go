package payments_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/payments"
)

// The state machine's property through the database: one set of
// notifications, sent to three orders (in one random order with repeats,
// in another, and all at once from concurrent senders spread over three
// replicas), ends in the same order state and the same case state, the
// one the pure State predicts, with exactly one paid event when the set
// holds a right payment.
func TestAnyArrivalEndsInTheSameState(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	replicas := h.replicas(3)
	const amount = 4_200
	for seed := range uint64(6) {
		r := rand.New(rand.NewPCG(seed, 99))
		set := randomSet(r, amount)
		type result struct {
			order      orderRow
			caseStatus string
			paidEvents int
		}
		var results []result
		for k, concurrent := range []bool{false, false, true} {
			caseSerial, paymentSerial := h.awaiting(amount)
			prefix := fmt.Sprintf("s%d%c-", seed, 'A'+k)
			seq := arrive(r, set)
			send := func(i int, b body) {
				b.PaymentSerial, b.NotifyID = paymentSerial, prefix+b.NotifyID
				if _, err := replicas[i%len(replicas)].Notify(h.ctx, unionpay, "req", b.bytes()); err != nil {
					t.Errorf("seed %d: notify %+v: %v", seed, b, err)
				}
			}
			if concurrent {
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i, b := range seq {
					wg.Add(1)
					go func() { defer wg.Done(); <-start; send(i, b) }()
				}
				close(start)
				wg.Wait()
			} else {
				for i, b := range seq {
					send(i, b)
				}
			}
			o := h.order(paymentSerial)
			if o.PaidNotifyID != nil {
				id := strings.TrimPrefix(*o.PaidNotifyID, prefix)
				o.PaidNotifyID = &id
			}
			if o.PaidAt != nil {
				at := o.PaidAt.UTC()
				o.PaidAt = &at
			}
			st, n := h.caseState(caseSerial)
			results = append(results, result{o, string(st), n})
		}
		want := predict(t, set, amount)
		for k, got := range results {
			if got.order.String() != results[0].order.String() || got.caseStatus != results[0].caseStatus || got.paidEvents != results[0].paidEvents {
				t.Errorf("seed %d: arrival %d ended in %s, case %s with %d paid events; arrival 0 in %s, case %s with %d",
					seed, k, got.order, got.caseStatus, got.paidEvents, results[0].order, results[0].caseStatus, results[0].paidEvents)
			}
			if got.order.Status != want.Status || got.order.CasePaid != want.CasePaid || got.paidEvents != boolInt(want.CasePaid) {
				t.Errorf("seed %d: arrival %d ended in %s with %d paid events, State predicts %+v", seed, k, got.order, got.paidEvents, want)
			}
			if want.CasePaid && (got.order.PaidNotifyID == nil || *got.order.PaidNotifyID != want.PaidNotifyID) {
				t.Errorf("seed %d: earliest payment %s, State predicts %s", seed, str(got.order.PaidNotifyID), want.PaidNotifyID)
			}
		}
		h.clock.Add(time.Minute)
	}
}

// randomSet is up to six notifications with distinct ids: right and wrong
// payments, failures and refunds, some sharing a time.
func randomSet(r *rand.Rand, amount int64) []body {
	set := make([]body, 1+r.IntN(6))
	for i := range set {
		id := fmt.Sprintf("n%d", i)
		at := time.Date(2026, 11, 23, 10, 30+r.IntN(3), 0, 0, time.FixedZone("CST", 8*3600)).Format(time.RFC3339)
		switch r.IntN(5) {
		case 0, 1:
			set[i] = body{NotifyID: id, AmountFen: amount, Status: "paid", PaidAt: at, ProviderTxnID: "T-" + id}
		case 2:
			set[i] = body{NotifyID: id, AmountFen: amount + 1, Status: "paid", PaidAt: at, ProviderTxnID: "T-" + id}
		case 3:
			set[i] = body{NotifyID: id, AmountFen: amount, Status: "failed"}
		default:
			set[i] = body{NotifyID: id, AmountFen: amount, Status: "refunded"}
		}
	}
	return set
}

// arrive is a permutation of set with each notification sent one to three times.
func arrive(r *rand.Rand, set []body) []body {
	var out []body
	for _, b := range set {
		for range 1 + r.IntN(3) {
			out = append(out, b)
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// predict is the pure State after the set, in the set's order.
func predict(t *testing.T, set []body, amount int64) payments.State {
	s := payments.State{AmountFen: amount, Status: payments.Pending}
	for _, b := range set {
		b.PaymentSerial = "S"
		n, err := payments.ParseNotification(b.bytes())
		if err != nil {
			t.Fatal(err)
		}
		s, _ = s.Apply(n)
	}
	return s
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
