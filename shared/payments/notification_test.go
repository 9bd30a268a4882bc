package payments

import (
	"strings"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/problem"
)

const okPaid = `{"notifyId":"N-1","paymentSerial":"13010292026112300000019","amountFen":12345,"status":"paid","paidAt":"2026-11-23T10:30:00+08:00","providerTxnId":"U-77"}`

func TestParseNotification(t *testing.T) {
	paidAt := time.Date(2026, 11, 23, 2, 30, 0, 0, time.UTC)
	tests := []struct {
		name   string
		body   string
		want   Notification
		status int      // 0: parses
		fields []string // the fields a 422 names
	}{
		{name: "paid", body: okPaid, want: Notification{NotifyID: "N-1", PaymentSerial: "13010292026112300000019",
			AmountFen: 12345, HasAmount: true, Status: NotifyPaid, PaidAt: paidAt, ProviderTxnID: "U-77"}},
		{name: "failed without amount or time", body: `{"notifyId":"N-2","paymentSerial":"S","status":"failed"}`,
			want: Notification{NotifyID: "N-2", PaymentSerial: "S", Status: NotifyFailed}},
		{name: "unknown fields are ignored", body: `{"notifyId":"N","paymentSerial":"S","status":"refunded","amountFen":0,"sign":"x","extra":{"a":[1]}}`,
			want: Notification{NotifyID: "N", PaymentSerial: "S", Status: NotifyRefunded, HasAmount: true}},
		{name: "null is absent", body: `{"notifyId":"N","paymentSerial":"S","status":"failed","amountFen":null,"paidAt":null,"providerTxnId":null}`,
			want: Notification{NotifyID: "N", PaymentSerial: "S", Status: NotifyFailed}},
		{name: "channel", body: `{"notifyId":"N","paymentSerial":"S","status":"failed","channel":"unionpay"}`,
			want: Notification{NotifyID: "N", PaymentSerial: "S", Status: NotifyFailed, Channel: "unionpay"}},

		{name: "empty", body: ``, status: 400},
		{name: "array", body: `[1]`, status: 400},
		{name: "string", body: `"paid"`, status: 400},
		{name: "truncated", body: okPaid[:40], status: 400},
		{name: "trailing data", body: okPaid + `{}`, status: 400},
		{name: "duplicated key", body: `{"notifyId":"N","paymentSerial":"S","status":"paid","amountFen":1,"amountFen":12345,"paidAt":"2026-11-23T10:30:00+08:00"}`, status: 400},
		{name: "invalid UTF-8", body: "{\"notifyId\":\"N\xff\"}", status: 400},

		{name: "nothing", body: `{}`, status: 422, fields: []string{"notifyId", "paymentSerial", "status"}},
		{name: "paid needs amount and time", body: `{"notifyId":"N","paymentSerial":"S","status":"paid"}`, status: 422, fields: []string{"amountFen", "paidAt"}},
		{name: "refunded needs amount", body: `{"notifyId":"N","paymentSerial":"S","status":"refunded"}`, status: 422, fields: []string{"amountFen"}},
		{name: "amount as string", body: strings.Replace(okPaid, `12345`, `"12345"`, 1), status: 422, fields: []string{"amountFen"}},
		{name: "amount with fraction", body: strings.Replace(okPaid, `12345`, `123.45`, 1), status: 422, fields: []string{"amountFen"}},
		{name: "amount with exponent", body: strings.Replace(okPaid, `12345`, `1e4`, 1), status: 422, fields: []string{"amountFen"}},
		{name: "negative amount", body: strings.Replace(okPaid, `12345`, `-5`, 1), status: 422, fields: []string{"amountFen"}},
		{name: "huge amount", body: strings.Replace(okPaid, `12345`, `99999999999999999999`, 1), status: 422, fields: []string{"amountFen"}},
		{name: "leading zero", body: strings.Replace(okPaid, `12345`, `012345`, 1), status: 400}, // not JSON
		{name: "status case", body: strings.Replace(okPaid, `"paid"`, `"PAID"`, 1), status: 422, fields: []string{"status"}},
		{name: "time without offset", body: strings.Replace(okPaid, `+08:00`, ``, 1), status: 422, fields: []string{"paidAt"}},
		{name: "notifyId a number", body: strings.Replace(okPaid, `"N-1"`, `1`, 1), status: 422, fields: []string{"notifyId"}},
		{name: "notifyId with a space", body: strings.Replace(okPaid, `"N-1"`, `"N 1"`, 1), status: 422, fields: []string{"notifyId"}},
		{name: "notifyId too long", body: strings.Replace(okPaid, `"N-1"`, `"`+strings.Repeat("n", 129)+`"`, 1), status: 422, fields: []string{"notifyId"}},
		{name: "control character", body: strings.Replace(okPaid, `"U-77"`, `"U\u000077"`, 1), status: 422, fields: []string{"providerTxnId"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseNotification([]byte(tt.body))
			if tt.status == 0 {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if !got.PaidAt.Equal(tt.want.PaidAt) {
					t.Errorf("paidAt %v, want %v", got.PaidAt, tt.want.PaidAt)
				}
				got.PaidAt, tt.want.PaidAt = time.Time{}, time.Time{}
				if got != tt.want {
					t.Errorf("got %+v\nwant %+v", got, tt.want)
				}
				return
			}
			p, ok := problem.As(err)
			if !ok || p.Status != tt.status {
				t.Fatalf("err %v, want a %d problem", err, tt.status)
			}
			var named []string
			for _, f := range p.Errors {
				named = append(named, f.Field)
			}
			if strings.Join(named, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("fields %v, want %v", named, tt.fields)
			}
		})
	}
}
