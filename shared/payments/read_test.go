package payments_test

import (
	"slices"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/payments"
)

func TestReconcile(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// Day one, 2026-11-23: one order per situation.
	_, okOrder := h.awaiting(1_000)
	h.mustNotify(unionpay, paid("ok", okOrder, 1_000))
	_, pendingOrder := h.awaiting(1_000)
	_, failedOrder := h.awaiting(1_000)
	h.mustNotify(unionpay, body{NotifyID: "f", PaymentSerial: failedOrder, Status: "failed"})
	_, mismatchOrder := h.awaiting(1_000)
	h.mustNotify(unionpay, paid("m", mismatchOrder, 900))
	_, correctedOrder := h.awaiting(1_000) // a wrong amount, then the right one
	h.mustNotify(unionpay, paid("c1", correctedOrder, 900))
	h.mustNotify(unionpay, paid("c2", correctedOrder, 1_000))
	_, twiceOrder := h.awaiting(1_000) // paid under two provider transactions
	h.mustNotify(unionpay, paid("t1", twiceOrder, 1_000))
	h.mustNotify(unionpay, paid("t2", twiceOrder, 1_000))
	_, refundedOrder := h.awaiting(1_000)
	h.mustNotify(unionpay, paid("r1", refundedOrder, 1_000))
	h.mustNotify(unionpay, body{NotifyID: "r2", PaymentSerial: refundedOrder, AmountFen: 1_000, Status: "refunded"})

	want := map[string][]string{
		failedOrder:    {"failed"},
		mismatchOrder:  {"amount_mismatch", "amounts_disagree"},
		correctedOrder: {"amounts_disagree"},
		twiceOrder:     {"duplicate_payment"},
		refundedOrder:  {"refunded"},
	}
	all := reconcileAll(t, h, "2026-11-23", 2)
	if len(all) != len(want) {
		t.Errorf("%d orders listed, want %d: %+v", len(all), len(want), all)
	}
	for _, d := range all {
		if !slices.Equal(d.Reasons, want[d.PaymentSerial]) {
			t.Errorf("%s listed for %v, want %v", d.PaymentSerial, d.Reasons, want[d.PaymentSerial])
		}
	}
	if d := find(all, mismatchOrder); d == nil || !slices.Equal(d.NotifiedAmountsFen, []int64{900}) || d.Channel != "unionpay" {
		t.Errorf("mismatch listed as %+v", d)
	}
	for _, s := range []string{okOrder, pendingOrder} {
		if find(all, s) != nil {
			t.Errorf("%s (paid or pending, amounts agreeing) is listed", s)
		}
	}

	// Day two: the pending order fails. It belongs to both days now; day
	// one's list shows its current status.
	h.clock.Add(24 * time.Hour)
	h.mustNotify(unionpay, body{NotifyID: "late", PaymentSerial: pendingOrder, Status: "failed"})
	day2 := reconcileAll(t, h, "2026-11-24", 0)
	if len(day2) != 1 || day2[0].PaymentSerial != pendingOrder {
		t.Errorf("day two: %+v", day2)
	}
	if len(reconcileAll(t, h, "2026-11-23", 0)) != len(want)+1 {
		t.Errorf("day one does not show the late failure")
	}
	if got := reconcileAll(t, h, "2026-11-25", 0); len(got) != 0 {
		t.Errorf("a quiet day: %+v", got)
	}

	for _, q := range []payments.ReconciliationQuery{{}, {Date: "2026-11-31"}, {Date: "20261123"}} {
		_, err := h.ledger.Reconcile(h.ctx, q)
		wantProblem(t, err, 422, "validation_failed")
	}
	_, err := h.ledger.Reconcile(h.ctx, payments.ReconciliationQuery{Date: "2026-11-23", Cursor: "%%%"})
	wantProblem(t, err, 400, "invalid_cursor")
}

// reconcileAll reads every page of a day's reconciliation.
func reconcileAll(t *testing.T, h *harness, date string, limit int) []payments.Discrepancy {
	t.Helper()
	var all []payments.Discrepancy
	cursor := ""
	for page := 0; ; page++ {
		rec, err := h.ledger.Reconcile(h.ctx, payments.ReconciliationQuery{Date: date, Limit: limit, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if limit > 0 && len(rec.Items) > limit {
			t.Fatalf("page of %d items, limit %d", len(rec.Items), limit)
		}
		all = append(all, rec.Items...)
		if rec.NextCursor == "" {
			return all
		}
		if page > 100 {
			t.Fatalf("no end of pages at %s", cursor)
		}
		cursor = rec.NextCursor
	}
}

func find(all []payments.Discrepancy, paymentSerial string) *payments.Discrepancy {
	for i := range all {
		if all[i].PaymentSerial == paymentSerial {
			return &all[i]
		}
	}
	return nil
}
