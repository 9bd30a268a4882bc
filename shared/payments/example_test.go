package payments_test

import (
	"fmt"

	"github.com/onewindow/onewindow/shared/payments"
)

// An order's state is a function of the set of its notifications: here a
// failure, a payment of another amount and the right payment, arriving in
// two orders, with a repeat, end the same, and only the right payment
// records the case's paid event.
func ExampleState_Apply() {
	parse := func(body string) payments.Notification {
		n, err := payments.ParseNotification([]byte(body))
		if err != nil {
			panic(err)
		}
		return n
	}
	failed := parse(`{"notifyId":"N1","paymentSerial":"13010292026112300000019","status":"failed"}`)
	wrong := parse(`{"notifyId":"N2","paymentSerial":"13010292026112300000019","amountFen":9900,"status":"paid","paidAt":"2026-11-23T10:31:00+08:00"}`)
	right := parse(`{"notifyId":"N3","paymentSerial":"13010292026112300000019","amountFen":10000,"status":"paid","paidAt":"2026-11-23T10:32:00+08:00","providerTxnId":"U-1"}`)

	for _, arrival := range [][]payments.Notification{{failed, wrong, right}, {right, wrong, failed, right}} {
		s := payments.State{AmountFen: 10000, Status: payments.Pending}
		for _, n := range arrival {
			var eff payments.Effect
			s, eff = s.Apply(n)
			fmt.Printf("%s %s -> %s (%s)\n", n.NotifyID, n.Status, s.Status, eff.Outcome)
		}
		fmt.Println("paid by", s.PaidNotifyID, "transaction", s.ProviderTxnID)
	}
	// Output:
	// N1 failed -> failed (applied)
	// N2 paid -> amount_mismatch (amount_mismatch)
	// N3 paid -> paid (paid)
	// paid by N3 transaction U-1
	// N3 paid -> paid (paid)
	// N2 paid -> paid (amount_mismatch)
	// N1 failed -> paid (no_change)
	// N3 paid -> paid (no_change)
	// paid by N3 transaction U-1
}
