package payments

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/onewindow/onewindow/shared/problem"
)

// FuzzParseNotification: whatever a provider sends, the parser answers a
// 400 or 422 problem or a notification that keeps its promises, and a
// notification written back as JSON parses to itself.
func FuzzParseNotification(f *testing.F) {
	for _, s := range []string{okPaid, `{}`, `[]`, `{"a":1,"a":2}`, `{"notifyId":"N","paymentSerial":"S","status":"failed"}`,
		`{"notifyId":"N","paymentSerial":"S","status":"refunded","amountFen":0,"x":[{"y":null}]}`,
		`{"notifyId":"N","paymentSerial":"S","status":"paid","amountFen":1e3,"paidAt":"2026-11-23T10:30:00Z"}`,
		"{\"notifyId\":\"\\ud800\"}", `{"amountFen":00}`, `  {"status":"paid"}  `, "\xef\xbb\xbf{}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := ParseNotification(body)
		if err != nil {
			p, ok := problem.As(err)
			if !ok || (p.Status != http.StatusBadRequest && p.Status != http.StatusUnprocessableEntity) {
				t.Fatalf("error %v is not a 400 or 422 problem", err)
			}
			return
		}
		switch {
		case n.NotifyID == "" || n.PaymentSerial == "":
			t.Fatalf("parsed without ids: %+v", n)
		case n.Status != NotifyPaid && n.Status != NotifyFailed && n.Status != NotifyRefunded:
			t.Fatalf("status %q", n.Status)
		case n.AmountFen < 0 || n.AmountFen > MaxAmountFen || (!n.HasAmount && n.AmountFen != 0):
			t.Fatalf("amount %d (has %v)", n.AmountFen, n.HasAmount)
		case n.Status != NotifyFailed && !n.HasAmount:
			t.Fatalf("%s without amount", n.Status)
		case n.Status == NotifyPaid && n.PaidAt.IsZero():
			t.Fatalf("paid without paidAt")
		}
		m := map[string]any{"notifyId": n.NotifyID, "paymentSerial": n.PaymentSerial, "status": n.Status}
		if n.HasAmount {
			m["amountFen"] = n.AmountFen
		}
		if !n.PaidAt.IsZero() {
			m["paidAt"] = n.PaidAt
		}
		if n.ProviderTxnID != "" {
			m["providerTxnId"] = n.ProviderTxnID
		}
		if n.Channel != "" {
			m["channel"] = n.Channel
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseNotification(again)
		if err != nil {
			t.Fatalf("%s does not parse again: %v", again, err)
		}
		if !back.PaidAt.Equal(n.PaidAt) {
			t.Fatalf("paidAt %v became %v", n.PaidAt, back.PaidAt)
		}
		back.PaidAt = n.PaidAt
		if back != n {
			t.Fatalf("%+v became %+v", n, back)
		}
	})
}
