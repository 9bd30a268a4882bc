package payments

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/onewindow/onewindow/shared/problem"
)

// NotifyStatus is what a provider says happened to a payment.
type NotifyStatus string

// The statuses a notification may carry (contract section 7).
const (
	NotifyPaid     NotifyStatus = "paid"
	NotifyFailed   NotifyStatus = "failed"
	NotifyRefunded NotifyStatus = "refunded"
)

// Notification is a provider's POST / body, parsed and checked.
type Notification struct {
	// NotifyID is the provider's id of this notification, 1-128 printable
	// ASCII characters without spaces. Repeats of one (app, notifyId)
	// change nothing.
	NotifyID string
	// PaymentSerial names the order. It is not checked here: a serial that
	// names no order is a 404 unknown_order, like any other unknown one.
	PaymentSerial string
	Status        NotifyStatus
	// AmountFen is the amount in fen the provider reports, 0 to
	// MaxAmountFen. HasAmount is false when the field was absent, which
	// only a failed notification may be.
	AmountFen int64
	HasAmount bool
	// PaidAt is when the provider says the money moved; required for paid,
	// zero when absent.
	PaidAt time.Time
	// ProviderTxnID is the provider's transaction id, "" when absent.
	ProviderTxnID string
	// Channel optionally names the payment channel (an extension of the
	// contract): a provider app bound to several channels names the one an
	// unclaimed order belongs to. "" when absent.
	Channel string
}

// MaxAmountFen bounds amounts: 10^15 fen (10 trillion yuan) is beyond any
// fee, and keeps every amount exact in a float64 too.
const MaxAmountFen = 1_000_000_000_000_000

// MaxIDLen bounds notifyId, providerTxnId, paymentSerial and channel.
const MaxIDLen = 128

// ParseNotification reads a provider's raw body. It is strict where money
// is concerned and tolerant elsewhere:
//
//   - the body is one JSON object in valid UTF-8, with no key twice (a
//     duplicated "amountFen" could be read differently by the auditor who
//     reads the stored raw body than by us);
//   - amountFen is a plain integer literal (no fraction, no exponent, no
//     string), 0 to MaxAmountFen; required for paid and refunded;
//   - status is paid, failed or refunded; paidAt is RFC 3339 with an
//     offset, required for paid;
//   - unknown fields are ignored (they stay in the stored raw body), so a
//     provider that adds a field does not stop payments.
//
// A body that is not such an object is a 400 invalid_json; one whose
// fields are wrong is a 422 validation_failed naming every bad field.
func ParseNotification(body []byte) (Notification, error) {
	fields, err := objectFields(body)
	if err != nil {
		return Notification{}, err
	}
	var n Notification
	var v problem.Validation
	n.NotifyID = idField(&v, fields, "notifyId", true)
	n.PaymentSerial = idField(&v, fields, "paymentSerial", true)
	n.ProviderTxnID = idField(&v, fields, "providerTxnId", false)
	n.Channel = idField(&v, fields, "channel", false)

	status := stringField(&v, fields, "status", true)
	switch NotifyStatus(status) {
	case NotifyPaid, NotifyFailed, NotifyRefunded:
		n.Status = NotifyStatus(status)
	case "":
	default:
		v.Add("status", "invalid", "status must be paid, failed or refunded")
	}

	if raw, ok := fields["amountFen"]; ok && !isNull(raw) {
		amount, ok := parseAmount(raw)
		if !ok {
			v.Addf("amountFen", "invalid", "amountFen must be an integer number of fen from 0 to %d", int64(MaxAmountFen))
		}
		n.AmountFen, n.HasAmount = amount, ok
	} else if n.Status == NotifyPaid || n.Status == NotifyRefunded {
		v.Add("amountFen", "required", "a "+status+" notification states amountFen")
	}

	if s := stringField(&v, fields, "paidAt", false); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil || t.Year() < 2000 || t.Year() > 2999 {
			v.Add("paidAt", "invalid", "paidAt must be an RFC 3339 instant with offset")
		}
		n.PaidAt = t
	} else if n.Status == NotifyPaid {
		v.Add("paidAt", "required", "a paid notification states paidAt")
	}
	if err := v.Err(); err != nil {
		return Notification{}, err
	}
	return n, nil
}

// objectFields splits a JSON object into its members, refusing anything
// else, trailing data and duplicated keys.
func objectFields(body []byte) (map[string]json.RawMessage, error) {
	if !utf8.Valid(body) {
		return nil, problem.BadRequest("invalid_json", "the body is not valid UTF-8")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, problem.BadRequest("invalid_json", "a JSON body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, problem.BadRequest("invalid_json", "the body must be a JSON object")
	}
	fields := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, problem.BadRequest("invalid_json", "malformed JSON object")
		}
		key, _ := tok.(string) // inside an object, a token before a value is always a key
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, problem.BadRequest("invalid_json", "malformed JSON value of "+strconv.Quote(key))
		}
		if _, dup := fields[key]; dup {
			return nil, problem.BadRequest("invalid_json", "the key "+strconv.Quote(key)+" appears twice")
		}
		fields[key] = raw
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, problem.BadRequest("invalid_json", "malformed JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, problem.BadRequest("invalid_json", "unexpected data after the JSON object")
	}
	return fields, nil
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// stringField returns the string member name; absent or null is "" (and a
// problem when required), any other type is a problem.
func stringField(v *problem.Validation, fields map[string]json.RawMessage, name string, required bool) string {
	raw, ok := fields[name]
	if !ok || isNull(raw) {
		if required {
			v.Add(name, "required", name+" is required")
		}
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		v.Add(name, "invalid", name+" must be a string")
		return ""
	}
	if s == "" && required {
		v.Add(name, "required", name+" is required")
	}
	return s
}

// idField is stringField for identifiers: 1-MaxIDLen printable ASCII
// characters without spaces, so that they log and index safely.
func idField(v *problem.Validation, fields map[string]json.RawMessage, name string, required bool) string {
	s := stringField(v, fields, name, required)
	if s == "" {
		return ""
	}
	if len(s) > MaxIDLen {
		v.Addf(name, "invalid", "%s has at most %d characters", name, MaxIDLen)
		return ""
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			v.Add(name, "invalid", name+" must be printable ASCII without spaces")
			return ""
		}
	}
	return s
}

// parseAmount reads a plain non-negative integer literal up to MaxAmountFen.
func parseAmount(raw json.RawMessage) (int64, bool) {
	s := string(raw)
	if s == "" || len(s) > 16 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > MaxAmountFen {
		return 0, false
	}
	return n, true
}
