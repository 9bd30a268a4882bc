package shipments

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/problem"
)

// Field error codes of a 422 validation_failed.
const (
	CodeRequired   = "required"
	CodeInvalid    = "invalid"
	CodeTooLong    = "too_long"
	CodeInFuture   = "in_future"
	CodeOutOfRange = "out_of_range"
)

// Limits of a notification. A courier pushes a waybill's trace, rarely
// more than a few dozen events; the bounds keep one request's work small.
const (
	MaxEvents         = 500
	maxEventIDLen     = 128
	maxLocationLen    = 500  // characters
	maxDescriptionLen = 2000 // characters
	maxRecipientBytes = 4096
	// MaxClockSkew is how far in the future an event's time may lie: a
	// later one would pin a shipment's status until the real time
	// caught up with it.
	MaxClockSkew = 15 * time.Minute
)

// earliest is the first instant an event may carry; anything before is a
// zero or garbled timestamp.
var earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

var (
	// A waybill number goes into a URL path (GET /shipments/{waybillNo}):
	// letters, digits, '-' and '_' only. Carriers' numbers are such.
	waybillPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
	// A carrier is a short code (EMS, SF, ZTO), upper-cased on input.
	carrierPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`)
)

// ValidWaybill reports whether s is a waybill number this package accepts.
func ValidWaybill(s string) bool { return waybillPattern.MatchString(s) }

// NormalCarrier returns the carrier code in its stored form (upper case),
// or "" when s is not a carrier code.
func NormalCarrier(s string) string {
	if !carrierPattern.MatchString(s) {
		return ""
	}
	return strings.ToUpper(s)
}

// Notification is a courier's push (POST /). Carrier is optional, an
// addition to the contract: a provider app bound to one carrier need not
// send it; an unbound one names the carrier when a waybill number is
// registered with several.
type Notification struct {
	WaybillNo string  `json:"waybillNo"`
	Carrier   string  `json:"carrier,omitempty"`
	Events    []Event `json:"events"`
	// Repeats counts events whose eventId came earlier in the same
	// notification; they were dropped and are duplicates.
	Repeats int `json:"-"`
}

// ParseNotification decodes and checks a push, strictly: a body that is
// not one JSON object of the contract's shape is 400 invalid_json, a
// well-formed one with bad values is 422 validation_failed naming every
// bad field. It returns events in their order with repeated eventIds
// dropped (the first is kept), times truncated to microseconds and the
// carrier upper-cased. now bounds how far in the future an event may lie.
// It never panics, whatever the body.
func ParseNotification(body []byte, now time.Time) (Notification, error) {
	var n Notification
	if err := httpx.Decode(body, &n); err != nil {
		return Notification{}, err
	}
	var v problem.Validation
	switch {
	case n.WaybillNo == "":
		v.Add("waybillNo", CodeRequired, "waybillNo is required")
	case !ValidWaybill(n.WaybillNo):
		v.Add("waybillNo", CodeInvalid, "waybillNo must be 1-64 of [A-Za-z0-9_-]")
	}
	if n.Carrier != "" {
		if c := NormalCarrier(n.Carrier); c == "" {
			v.Add("carrier", CodeInvalid, "carrier must be 1-32 of [A-Za-z0-9_-]")
		} else {
			n.Carrier = c
		}
	}
	switch {
	case len(n.Events) == 0:
		v.Add("events", CodeRequired, "at least one event is required")
	case len(n.Events) > MaxEvents:
		v.Addf("events", CodeOutOfRange, "at most %d events per notification", MaxEvents)
	}
	if err := v.Err(); err != nil {
		return Notification{}, err
	}
	seen := make(map[string]bool, len(n.Events))
	kept := n.Events[:0]
	for i, e := range n.Events {
		checkEvent(&v, fmt.Sprintf("events.%d", i), &e, now)
		if seen[e.EventID] {
			n.Repeats++
			continue
		}
		seen[e.EventID] = true
		kept = append(kept, e)
	}
	if err := v.Err(); err != nil {
		return Notification{}, err
	}
	n.Events = kept
	return n, nil
}

// checkEvent validates e and normalises its time.
func checkEvent(v *problem.Validation, field string, e *Event, now time.Time) {
	switch {
	case e.EventID == "":
		v.Add(field+".eventId", CodeRequired, "eventId is required")
	case len(e.EventID) > maxEventIDLen || !printable(e.EventID):
		v.Addf(field+".eventId", CodeInvalid, "eventId must be 1-%d printable ASCII characters without spaces", maxEventIDLen)
	}
	switch {
	case e.Status == "":
		v.Add(field+".status", CodeRequired, "status is required")
	case !e.Status.Valid():
		v.Add(field+".status", CodeInvalid, "status must be one of created, picked_up, in_transit, out_for_delivery, delivered, failed_delivery, returned")
	}
	e.At = e.At.Truncate(time.Microsecond)
	switch {
	case e.At.IsZero():
		v.Add(field+".at", CodeRequired, "at is required (RFC 3339 with offset)")
	case e.At.Before(earliest):
		v.Add(field+".at", CodeOutOfRange, "at is before 2000")
	case e.At.After(now.Add(MaxClockSkew)):
		v.Addf(field+".at", CodeInFuture, "at is more than %s ahead of our clock", MaxClockSkew)
	}
	text(v, field+".location", e.Location, maxLocationLen)
	text(v, field+".description", e.Description, maxDescriptionLen)
}

// text checks a free-text field: bounded, and without NUL, which
// PostgreSQL text cannot hold (JSON's \u0000 decodes to one).
func text(v *problem.Validation, field, s string, limit int) {
	switch {
	case utf8.RuneCountInString(s) > limit:
		v.Addf(field, CodeTooLong, "at most %d characters", limit)
	case strings.ContainsRune(s, 0):
		v.Add(field, CodeInvalid, "must not contain NUL characters")
	}
}

// printable reports whether s is ASCII from '!' to '~'.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Direction is which way a shipment goes.
type Direction string

const (
	// Outbound: results and licenses mailed to the applicant.
	Outbound Direction = "outbound"
	// Inbound: paper materials mailed in by the applicant.
	Inbound Direction = "inbound"
)

// Registration is POST /shipments: a waybill tied to a case.
type Registration struct {
	CaseSerial string          `json:"caseSerial"`
	Direction  Direction       `json:"direction"`
	Carrier    string          `json:"carrier"`
	WaybillNo  string          `json:"waybillNo"`
	Recipient  json.RawMessage `json:"recipient,omitempty"`
}

// check validates r and upper-cases its carrier.
func (r *Registration) check() error {
	var v problem.Validation
	if r.CaseSerial == "" {
		v.Add("caseSerial", CodeRequired, "caseSerial is required")
	}
	switch r.Direction {
	case "":
		v.Add("direction", CodeRequired, "direction is required")
	case Outbound, Inbound:
	default:
		v.Add("direction", CodeInvalid, "direction must be outbound or inbound")
	}
	switch c := NormalCarrier(r.Carrier); {
	case r.Carrier == "":
		v.Add("carrier", CodeRequired, "carrier is required")
	case c == "":
		v.Add("carrier", CodeInvalid, "carrier must be 1-32 of [A-Za-z0-9_-]")
	default:
		r.Carrier = c
	}
	switch {
	case r.WaybillNo == "":
		v.Add("waybillNo", CodeRequired, "waybillNo is required")
	case !ValidWaybill(r.WaybillNo):
		v.Add("waybillNo", CodeInvalid, "waybillNo must be 1-64 of [A-Za-z0-9_-]")
	}
	if raw := strings.TrimSpace(string(r.Recipient)); raw != "" && raw != "null" {
		var obj map[string]any
		switch {
		case len(raw) > maxRecipientBytes:
			v.Addf("recipient", CodeTooLong, "at most %d bytes", maxRecipientBytes)
		case json.Unmarshal(r.Recipient, &obj) != nil:
			v.Add("recipient", CodeInvalid, "recipient must be an object")
		case hasNUL(obj):
			v.Add("recipient", CodeInvalid, "recipient must not contain NUL characters")
		default:
			// Re-encoded, invalid UTF-8 and lone surrogates become U+FFFD,
			// which PostgreSQL's jsonb would otherwise refuse.
			r.Recipient, _ = json.Marshal(obj)
		}
	} else {
		r.Recipient = nil
	}
	return v.Err()
}

// hasNUL reports whether a decoded JSON value holds a NUL character in
// any key or string: jsonb cannot store one.
func hasNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, 0)
	case []any:
		for _, x := range v {
			if hasNUL(x) {
				return true
			}
		}
	case map[string]any:
		for k, x := range v {
			if strings.ContainsRune(k, 0) || hasNUL(x) {
				return true
			}
		}
	}
	return false
}
