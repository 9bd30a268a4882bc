package payments_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/calendar"
	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/payments"
	"github.com/onewindow/onewindow/shared/serial"
	"github.com/onewindow/onewindow/shared/store"
)

func TestOpenShowsTheOrderOnTheCase(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	caseSerial, paymentSerial := h.awaiting(12_345)
	s, err := serial.Parse(paymentSerial)
	if err != nil {
		t.Fatalf("payment serial %q: %v", paymentSerial, err)
	}
	if s.Channel != serial.Payment || s.Region != "130102" || s.Date.String() != "2026-11-23" {
		t.Errorf("payment serial %s: channel %v region %s date %s, want payment 130102 2026-11-23", paymentSerial, s.Channel, s.Region, s.Date)
	}
	if got := h.payment(caseSerial); got != (payments.Summary{PaymentSerial: paymentSerial, AmountFen: 12_345, Status: payments.Pending}) {
		t.Errorf("case payment = %+v", got)
	}
	if st, _ := h.caseState(caseSerial); st != cases.AwaitingPayment {
		t.Errorf("case status %s", st)
	}
}

// Each scenario is a fresh case awaiting 10000 fen and a sequence of
// notifications; the order's and the case's states are checked at the end.
func TestNotificationRules(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const amount = 10_000
	failed := func(id string) body { return body{NotifyID: id, AmountFen: amount, Status: "failed"} }
	refunded := func(id string) body { return body{NotifyID: id, AmountFen: amount, Status: "refunded"} }
	wrong := func(id string) body { b := paid(id, "", amount); b.AmountFen = 9_999; return b }
	tests := []struct {
		name       string
		sequence   []body
		outcomes   []payments.Outcome
		order      payments.Status
		caseStatus cases.Status
		paidEvents int
	}{
		{"paid with the order's amount", []body{paid("n1", "", amount)},
			[]payments.Outcome{payments.OutcomePaid}, payments.Paid, cases.Accepted, 1},
		{"another amount is acknowledged, not applied", []body{wrong("n1")},
			[]payments.Outcome{payments.OutcomeAmountMismatch}, payments.AmountMismatch, cases.AwaitingPayment, 0},
		{"the right amount after a wrong one applies", []body{wrong("n1"), paid("n2", "", amount)},
			[]payments.Outcome{payments.OutcomeAmountMismatch, payments.OutcomePaid}, payments.Paid, cases.Accepted, 1},
		{"failed after paid never undoes it", []body{paid("n1", "", amount), failed("n2")},
			[]payments.Outcome{payments.OutcomePaid, payments.OutcomeNoChange}, payments.Paid, cases.Accepted, 1},
		{"paid after failed applies", []body{failed("n1"), paid("n2", "", amount)},
			[]payments.Outcome{payments.OutcomeApplied, payments.OutcomePaid}, payments.Paid, cases.Accepted, 1},
		{"refunded after paid", []body{paid("n1", "", amount), refunded("n2")},
			[]payments.Outcome{payments.OutcomePaid, payments.OutcomeApplied}, payments.Refunded, cases.Accepted, 1},
		{"a repeated notifyId changes nothing", []body{paid("n1", "", amount), paid("n1", "", amount)},
			[]payments.Outcome{payments.OutcomePaid, payments.OutcomeDuplicate}, payments.Paid, cases.Accepted, 1},
		{"a repeat that says otherwise changes nothing", []body{failed("n1"), paid("n1", "", amount)},
			[]payments.Outcome{payments.OutcomeApplied, payments.OutcomeDuplicateConflict}, payments.Failed, cases.AwaitingPayment, 0},
		{"a second payment moves the case once", []body{paid("n1", "", amount), paid("n2", "", amount)},
			[]payments.Outcome{payments.OutcomePaid, payments.OutcomeNoChange}, payments.Paid, cases.Accepted, 1},
		{"a wrong amount after paid does not undo it", []body{paid("n1", "", amount), wrong("n2")},
			[]payments.Outcome{payments.OutcomePaid, payments.OutcomeAmountMismatch}, payments.Paid, cases.Accepted, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			caseSerial, paymentSerial := h.awaiting(amount)
			for i, b := range tt.sequence {
				b.NotifyID = paymentSerial + "-" + b.NotifyID
				b.PaymentSerial = paymentSerial
				if got := h.mustNotify(unionpay, b); got != tt.outcomes[i] {
					t.Errorf("notification %d (%s): outcome %s, want %s", i+1, b.Status, got, tt.outcomes[i])
				}
			}
			if o := h.order(paymentSerial); o.Status != tt.order {
				t.Errorf("order %s, want %s", o, tt.order)
			}
			if got := h.payment(caseSerial).Status; got != tt.order {
				t.Errorf("case's payment status %s, want %s", got, tt.order)
			}
			st, n := h.caseState(caseSerial)
			if st != tt.caseStatus || n != tt.paidEvents {
				t.Errorf("case %s with %d paid events, want %s with %d", st, n, tt.caseStatus, tt.paidEvents)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, paymentSerial := h.awaiting(500)
	tests := []struct {
		name   string
		app    auth.App
		body   string
		status int
		code   string
	}{
		{"unknown order", unionpay, string(paid("r1", "13010292026112300000019", 500).bytes()), 404, "unknown_order"},
		{"not a serial at all", unionpay, string(paid("r2", "nope", 500).bytes()), 404, "unknown_order"},
		{"empty body", unionpay, ``, 400, "invalid_json"},
		{"not JSON", unionpay, `notify=1`, 400, "invalid_json"},
		{"amount as a string", unionpay, `{"notifyId":"r3","paymentSerial":"` + paymentSerial + `","amountFen":"500","status":"paid","paidAt":"2026-11-23T10:00:00+08:00"}`, 422, "validation_failed"},
		{"unknown status", unionpay, `{"notifyId":"r4","paymentSerial":"` + paymentSerial + `","amountFen":500,"status":"success"}`, 422, "validation_failed"},
		{"two channels and none named", twoChannel, string(paid("r5", paymentSerial, 500).bytes()), 422, "validation_failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.ledger.Notify(h.ctx, tt.app, "req", []byte(tt.body))
			wantProblem(t, err, tt.status, tt.code)
		})
	}
	if o := h.order(paymentSerial); o.Status != payments.Pending || o.Notifications != 0 {
		t.Errorf("order after refusals: %s", o)
	}
	// Every body was stored raw and marked with its outcome.
	rows, err := h.db.Query(h.ctx, `SELECT convert_from(body, 'UTF8'), outcome FROM payment_receipts ORDER BY receipt_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i := 0
	for ; rows.Next(); i++ {
		var b, out string
		if err := rows.Scan(&b, &out); err != nil {
			t.Fatal(err)
		}
		want := payments.OutcomeRejected
		if tests[i].code == "unknown_order" {
			want = payments.OutcomeUnknownOrder
		}
		if b != tests[i].body || payments.Outcome(out) != want {
			t.Errorf("receipt %d: %q %s, want %q %s", i, b, out, tests[i].body, want)
		}
	}
	if i != len(tests) {
		t.Errorf("%d receipts, want %d", i, len(tests))
	}
}

// Duplicates racing from several replicas (ledgers with their own pools
// and in-process locks over one database) apply once, and every one is
// acknowledged only once the first has committed.
func TestConcurrentDuplicatesApplyOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	caseSerial, paymentSerial := h.awaiting(8_800)
	replicas := h.replicas(3)
	const senders = 24
	var wg sync.WaitGroup
	outcomes := make([]payments.Outcome, senders)
	errs := make([]error, senders)
	start := make(chan struct{})
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			b := paid("dup-1", paymentSerial, 8_800)
			if i%3 == 0 { // a third are other notifications of the same payment
				b.NotifyID = fmt.Sprintf("dup-%d", i)
			}
			outcomes[i], errs[i] = replicas[i%len(replicas)].Notify(h.ctx, unionpay, "req", b.bytes())
		}()
	}
	close(start)
	wg.Wait()
	paidCount := 0
	for i := range senders {
		if errs[i] != nil {
			t.Fatalf("sender %d: %v", i, errs[i])
		}
		if outcomes[i] == payments.OutcomePaid {
			paidCount++
		}
	}
	if paidCount != 1 {
		t.Errorf("%d notifications moved the case, want 1: %v", paidCount, outcomes)
	}
	st, n := h.caseState(caseSerial)
	if st != cases.Accepted || n != 1 {
		t.Errorf("case %s with %d paid events", st, n)
	}
	if o := h.order(paymentSerial); o.Status != payments.Paid || o.Notifications != 1+senders/3 {
		t.Errorf("order %s", o)
	}
	var receipts int
	if err := h.db.QueryRow(h.ctx, `SELECT count(*) FROM payment_receipts WHERE outcome IS NOT NULL`).Scan(&receipts); err != nil || receipts != senders {
		t.Errorf("%d processed receipts, want %d (%v)", receipts, senders, err)
	}
}

// A replica that dies after storing the body and before committing the
// effect leaves the receipt in the audit trail, unprocessed; Redrive (or
// the provider's retry) applies it once.
func TestCrashMidProcessingLeavesTheReceipt(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	caseSerial, paymentSerial := h.awaiting(300)
	crash := errors.New("replica died")
	payments.SetBeforeCommit(h.ledger, func() error { return crash })
	if _, err := h.notify(unionpay, paid("c1", paymentSerial, 300)); !errors.Is(err, crash) {
		t.Fatalf("notify = %v, want the crash", err)
	}
	payments.SetBeforeCommit(h.ledger, nil)
	var outcome *string
	var stored []byte
	if err := h.db.QueryRow(h.ctx, `SELECT outcome, body FROM payment_receipts`).Scan(&outcome, &stored); err != nil {
		t.Fatal(err)
	}
	if outcome != nil || string(stored) != string(paid("c1", paymentSerial, 300).bytes()) {
		t.Fatalf("receipt after the crash: outcome %v body %s", outcome, stored)
	}
	if o := h.order(paymentSerial); o.Status != payments.Pending || o.Notifications != 0 {
		t.Fatalf("order after the crash: %s", o)
	}
	if n, err := h.ledger.Redrive(h.ctx, 10); err != nil || n != 0 {
		t.Fatalf("redrive of a fresh receipt: %d %v, want 0 (it may still be in flight)", n, err)
	}
	h.clock.Add(2 * time.Minute)
	if n, err := h.ledger.Redrive(h.ctx, 10); err != nil || n != 1 {
		t.Fatalf("redrive: %d %v, want 1", n, err)
	}
	if got := h.mustNotify(unionpay, paid("c1", paymentSerial, 300)); got != payments.OutcomeDuplicate {
		t.Errorf("the provider's retry after the redrive: %s, want duplicate", got)
	}
	if st, n := h.caseState(caseSerial); st != cases.Accepted || n != 1 {
		t.Errorf("case %s with %d paid events", st, n)
	}
	if n, err := h.ledger.Redrive(h.ctx, 10); err != nil || n != 0 {
		t.Errorf("second redrive: %d %v, want nothing left", n, err)
	}
}

// The first notification of a bound provider claims the order for its
// channel; other channels' providers then see no such order.
func TestChannelBinding(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tests := []struct {
		name  string
		steps []struct {
			app    auth.App
			status int // 0 for acknowledged
		}
		channel string
	}{
		{name: "claimed by the first bound provider", channel: "unionpay", steps: []struct {
			app    auth.App
			status int
		}{{unionpay, 0}, {alipay, 404}, {aggregator, 0}, {unionpay, 0}}},
		{name: "an unbound provider claims nothing", channel: "alipay", steps: []struct {
			app    auth.App
			status int
		}{{aggregator, 0}, {alipay, 0}, {unionpay, 404}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, paymentSerial := h.awaiting(100)
			for i, s := range tt.steps {
				b := body{NotifyID: fmt.Sprintf("%s-%d", paymentSerial, i), PaymentSerial: paymentSerial, AmountFen: 100, Status: "failed"}
				_, err := h.notify(s.app, b)
				if s.status == 0 && err != nil {
					t.Fatalf("step %d as %s: %v", i, s.app.ID, err)
				}
				if s.status != 0 {
					wantProblem(t, err, s.status, "unknown_order")
				}
			}
			v, err := h.ledger.Order(h.ctx, supervisor, paymentSerial)
			if err != nil || v.Channel != tt.channel {
				t.Errorf("order channel %q (%v), want %q", v.Channel, err, tt.channel)
			}
			acknowledged := 0
			for _, s := range tt.steps {
				if s.status == 0 {
					acknowledged++
				}
			}
			if o := h.order(paymentSerial); o.Notifications != acknowledged {
				t.Errorf("%d notifications recorded, want the %d acknowledged", o.Notifications, acknowledged)
			}
		})
	}
	// Payment serials are predictable: a department that names the channel
	// leaves no unclaimed order for another provider to take first.
	t.Run("named by the department's payment request", func(t *testing.T) {
		_, paymentSerial := h.awaitingOn(100, "alipay")
		_, err := h.notify(unionpay, paid(paymentSerial+"-u", paymentSerial, 100))
		wantProblem(t, err, 404, "unknown_order")
		h.mustNotify(alipay, paid(paymentSerial+"-a", paymentSerial, 100))
		v, err := h.ledger.Order(h.ctx, supervisor, paymentSerial)
		if err != nil || v.Channel != "alipay" || v.Status != payments.Paid {
			t.Errorf("order %+v (%v), want paid through alipay", v, err)
		}
	})
	t.Run("an app of several channels names one", func(t *testing.T) {
		_, paymentSerial := h.awaiting(100)
		b := paid(paymentSerial+"-x", paymentSerial, 100)
		b.Channel = "alipay"
		_, err := h.notify(twoChannel, b)
		wantProblem(t, err, 422, "validation_failed")
		b.Channel = "bank-b"
		h.mustNotify(twoChannel, b)
		v, err := h.ledger.Order(h.ctx, supervisor, paymentSerial)
		if err != nil || v.Channel != "bank-b" || v.Status != payments.Paid {
			t.Errorf("order %+v (%v)", v, err)
		}
	})
}

// Money for a case that no longer awaits it is acknowledged, the order
// becomes paid, the case stays where it is, and reconciliation lists it.
func TestPaymentForAWithdrawnCase(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	caseSerial, paymentSerial := h.awaiting(700)
	h.clock.Add(time.Minute)
	if _, err := h.desk.Post(h.ctx, portal, caseSerial, cases.EventInput{Type: cases.EventWithdrawn}); err != nil {
		t.Fatal(err)
	}
	if got := h.mustNotify(unionpay, paid("w1", paymentSerial, 700)); got != payments.OutcomePaidCaseNotMoved {
		t.Errorf("outcome %s", got)
	}
	if st, n := h.caseState(caseSerial); st != cases.Withdrawn || n != 0 {
		t.Errorf("case %s with %d paid events", st, n)
	}
	rec, err := h.ledger.Reconcile(h.ctx, payments.ReconciliationQuery{Date: "2026-11-23"})
	if err != nil || len(rec.Items) != 1 || rec.Items[0].PaymentSerial != paymentSerial ||
		fmt.Sprint(rec.Items[0].Reasons) != "[case_not_moved]" || rec.Items[0].Status != payments.Paid {
		t.Errorf("reconciliation %+v (%v)", rec, err)
	}
}

func TestOrderVisibility(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, paymentSerial := h.awaiting(2_000)
	h.mustNotify(unionpay, body{NotifyID: "v1", PaymentSerial: paymentSerial, AmountFen: 2_000, Status: "failed"})
	h.clock.Add(time.Second)
	h.mustNotify(unionpay, paid("v2", paymentSerial, 2_000))
	for _, tt := range []struct {
		app  auth.App
		seen bool
	}{{portal, true}, {taxDept, true}, {supervisor, true}, {stranger, false}, {unionpay, false}} {
		v, err := h.ledger.Order(h.ctx, tt.app, paymentSerial)
		if !tt.seen {
			wantProblem(t, err, http.StatusNotFound, "not_found")
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.app.ID, err)
		}
		if v.Status != payments.Paid || v.AmountFen != 2_000 || len(v.Events) != 3 || v.Events[0].Type != "opened" ||
			v.Events[1].NotifyID != "v1" || v.Events[2].Outcome != payments.OutcomePaid || v.ProviderTxnID != "TXN-v2" {
			t.Errorf("%s sees %+v", tt.app.ID, v)
		}
	}
	_, err := h.ledger.Order(h.ctx, supervisor, "13010292026112300000019")
	wantProblem(t, err, http.StatusNotFound, "not_found")
}

// A replica with few connections and a cold calendar, taking many
// notifications at once, some repeated: recording paid reads the calendar
// through the pool, so a transaction that took the last connection must
// not wait for another. Warm loads it first, and duplicates wait in
// process, not on a connection. A deadlock here would run into the
// context's deadline.
func TestFewConnectionsDoNotDeadlock(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const orders = 6
	var serials []string
	for range orders {
		_, s := h.awaiting(600)
		serials = append(serials, s)
	}
	pool, err := store.Open(h.ctx, h.db.Config().ConnString(), store.PoolOptions{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	cfg := h.deskConfig
	cfg.DB, cfg.Calendars = pool, calendar.NewStore(pool, calendar.StoreConfig{Now: h.clock.Now})
	desk, err := cases.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ledger, err := payments.New(payments.Config{DB: pool, Cases: desk, Now: h.clock.Now, RedriveEvery: -1,
		Warm: func(ctx context.Context) error { _, err := cfg.Calendars.Calendar(ctx); return err }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(h.ctx, 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range orders * 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := serials[i%orders]
			if _, err := ledger.Notify(ctx, unionpay, "req", paid(s+"-1", s, 600).bytes()); err != nil {
				t.Errorf("notify %s: %v", s, err)
			}
		}()
	}
	wg.Wait()
	for _, s := range serials {
		if o := h.order(s); o.Status != payments.Paid || o.Notifications != 1 {
			t.Errorf("order %s: %s", s, o)
		}
	}
}

// Payment requests arriving together on a replica with few connections all
// open their orders: the order's serial is drawn before the event's
// transaction, because reserving a block of serials takes a connection of
// its own (with the serial drawn inside, two transactions holding both
// connections waited for a third until they timed out).
func TestOpeningOrdersOnFewConnections(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const requests = 8
	var caseSerials []string
	for range requests {
		caseSerials = append(caseSerials, h.accepted())
	}
	pool, err := store.Open(h.ctx, h.db.Config().ConnString(), store.PoolOptions{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	// Blocks of one serial: every request reserves a block.
	alloc, err := serial.NewAllocator(pool, serial.Config{Now: h.clock.Now, MinBlock: 1, MaxBlock: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(alloc.Close)
	cfg := h.deskConfig
	cfg.DB, cfg.Serials = pool, alloc
	cfg.Calendars = calendar.NewStore(pool, calendar.StoreConfig{Now: h.clock.Now})
	desk, err := cases.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(h.ctx, 30*time.Second)
	defer cancel()
	h.clock.Add(time.Minute)
	var wg sync.WaitGroup
	for _, cs := range caseSerials {
		wg.Go(func() {
			fee := int64(800)
			if _, err := desk.Post(ctx, taxDept, cs, cases.EventInput{Type: cases.EventPaymentRequested, AmountFen: &fee}); err != nil {
				t.Errorf("payment_requested on %s: %v", cs, err)
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, cs := range caseSerials {
		p := h.payment(cs)
		if p.AmountFen != 800 || seen[p.PaymentSerial] {
			t.Errorf("case %s: order %+v (a serial seen twice?)", cs, p)
		}
		seen[p.PaymentSerial] = true
	}
}
