package shipments

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/problem"
)

var parseNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func TestParseNotification(t *testing.T) {
	event := func(fields string) string {
		return `{"waybillNo":"EA123456789CN","events":[{"eventId":"e1","status":"in_transit","at":"2026-11-23T10:00:00+08:00"` + fields + `}]}`
	}
	tests := []struct {
		name   string
		body   string
		status int
		code   string
		field  string
	}{
		{"ok", event(`,"location":"石家庄","description":"已到达"`), 0, "", ""},
		{"empty", ``, 400, "invalid_json", ""},
		{"not an object", `[1]`, 400, "invalid_json", ""},
		{"truncated", `{"waybillNo":"EA1`, 400, "invalid_json", ""},
		{"unknown field", event(`,"extra":1`), 400, "invalid_json", ""},
		{"trailing data", event(``) + `{}`, 400, "invalid_json", ""},
		{"events not an array", `{"waybillNo":"W1","events":{}}`, 400, "invalid_json", ""},
		{"time without offset", `{"waybillNo":"W1","events":[{"eventId":"e","status":"created","at":"2026-11-23T10:00:00"}]}`, 400, "invalid_json", ""},
		{"no waybill", `{"events":[{"eventId":"e","status":"created","at":"2026-11-23T10:00:00Z"}]}`, 422, "validation_failed", "waybillNo"},
		{"waybill with a slash", `{"waybillNo":"a/b","events":[{"eventId":"e","status":"created","at":"2026-11-23T10:00:00Z"}]}`, 422, "validation_failed", "waybillNo"},
		{"no events", `{"waybillNo":"W1","events":[]}`, 422, "validation_failed", "events"},
		{"bad carrier", `{"waybillNo":"W1","carrier":"E M S","events":[{"eventId":"e","status":"created","at":"2026-11-23T10:00:00Z"}]}`, 422, "validation_failed", "carrier"},
		{"no event id", `{"waybillNo":"W1","events":[{"status":"created","at":"2026-11-23T10:00:00Z"}]}`, 422, "validation_failed", "events.0.eventId"},
		{"event id with a space", `{"waybillNo":"W1","events":[{"eventId":"a b","status":"created","at":"2026-11-23T10:00:00Z"}]}`, 422, "validation_failed", "events.0.eventId"},
		{"unknown status", `{"waybillNo":"W1","events":[{"eventId":"e","status":"lost","at":"2026-11-23T10:00:00Z"}]}`, 422, "validation_failed", "events.0.status"},
		{"no time", `{"waybillNo":"W1","events":[{"eventId":"e","status":"created"}]}`, 422, "validation_failed", "events.0.at"},
		{"time in the future", `{"waybillNo":"W1","events":[{"eventId":"e","status":"created","at":"2026-11-23T12:30:00Z"}]}`, 422, "validation_failed", "events.0.at"},
		{"time before 2000", `{"waybillNo":"W1","events":[{"eventId":"e","status":"created","at":"1970-01-01T00:00:00Z"}]}`, 422, "validation_failed", "events.0.at"},
		{"NUL in a description", event(`,"description":"a\u0000b"`), 422, "validation_failed", "events.0.description"},
		{"long location", event(`,"location":"` + strings.Repeat("路", maxLocationLen+1) + `"`), 422, "validation_failed", "events.0.location"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParseNotification([]byte(tt.body), parseNow)
			if tt.status == 0 {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if n.WaybillNo != "EA123456789CN" || len(n.Events) != 1 || !n.Events[0].At.Equal(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)) {
					t.Errorf("parsed %+v", n)
				}
				return
			}
			p, ok := problem.As(err)
			if !ok || p.Status != tt.status || p.Code != tt.code {
				t.Fatalf("err = %v, want %d %s", err, tt.status, tt.code)
			}
			if tt.field != "" && !hasField(p, tt.field) {
				t.Errorf("errors %+v lack %s", p.Errors, tt.field)
			}
		})
	}
}

func hasField(p *problem.Problem, field string) bool {
	for _, e := range p.Errors {
		if e.Field == field {
			return true
		}
	}
	return false
}

// Repeats within one push are dropped (the first kept) and counted; the
// carrier is upper-cased; times keep microseconds only.
func TestParseNotificationNormalises(t *testing.T) {
	body := `{"waybillNo":"SF1","carrier":"sf","events":[
		{"eventId":"e1","status":"created","at":"2026-11-23T10:00:00.123456789+08:00"},
		{"eventId":"e2","status":"picked_up","at":"2026-11-23T11:00:00+08:00"},
		{"eventId":"e1","status":"delivered","at":"2026-11-23T11:30:00+08:00"}]}`
	n, err := ParseNotification([]byte(body), parseNow)
	if err != nil {
		t.Fatal(err)
	}
	if n.Carrier != "SF" || n.Repeats != 1 || len(n.Events) != 2 || n.Events[0].Status != StatusCreated {
		t.Errorf("parsed %+v", n)
	}
	if ns := n.Events[0].At.Nanosecond(); ns != 123456000 {
		t.Errorf("nanoseconds = %d, want 123456000", ns)
	}
}

func TestRegistrationCheck(t *testing.T) {
	valid := Registration{CaseSerial: "13010012026112300000017", Direction: Outbound, Carrier: "ems", WaybillNo: "EA1",
		Recipient: json.RawMessage(`{"name":"张三","phone":"13800138000","address":"石家庄市长安区"}`)}
	tests := []struct {
		name   string
		edit   func(*Registration)
		fields []string
	}{
		{"valid", func(*Registration) {}, nil},
		{"no recipient", func(r *Registration) { r.Recipient = nil }, nil},
		{"everything missing", func(r *Registration) { *r = Registration{} }, []string{"caseSerial", "direction", "carrier", "waybillNo"}},
		{"bad direction", func(r *Registration) { r.Direction = "sideways" }, []string{"direction"}},
		{"bad carrier", func(r *Registration) { r.Carrier = "顺丰" }, []string{"carrier"}},
		{"bad waybill", func(r *Registration) { r.WaybillNo = "../etc" }, []string{"waybillNo"}},
		{"recipient not an object", func(r *Registration) { r.Recipient = json.RawMessage(`"张三"`) }, []string{"recipient"}},
		{"NUL in recipient", func(r *Registration) { r.Recipient = json.RawMessage(`{"name":"a\u0000"}`) }, []string{"recipient"}},
		{"recipient too large", func(r *Registration) {
			r.Recipient = json.RawMessage(`{"address":"` + strings.Repeat("x", maxRecipientBytes) + `"}`)
		}, []string{"recipient"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := valid
			tt.edit(&r)
			err := r.check()
			if len(tt.fields) == 0 {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if r.Carrier != "" && r.Carrier != "EMS" {
					t.Errorf("carrier = %q", r.Carrier)
				}
				return
			}
			p, ok := problem.As(err)
			if !ok || p.Code != "validation_failed" {
				t.Fatalf("err = %v", err)
			}
			for _, f := range tt.fields {
				if !hasField(p, f) {
					t.Errorf("errors %+v lack %s", p.Errors, f)
				}
			}
		})
	}
}

// The parser takes anything a stranger's authenticated app may send: it
// never panics, refuses with a 400 or 422 problem only, and what it
// accepts holds to the rules intake relies on.
func FuzzParseNotification(f *testing.F) {
	for _, s := range []string{
		`{"waybillNo":"EA123456789CN","events":[{"eventId":"e1","status":"in_transit","at":"2026-11-23T10:00:00+08:00","location":"石家庄","description":"到达"}]}`,
		`{"waybillNo":"SF1","carrier":"sf","events":[{"eventId":"e1","status":"delivered","at":"2026-11-23T10:00:00Z"},{"eventId":"e1","status":"returned","at":"2026-11-23T10:00:00Z"}]}`,
		`{"waybillNo":"W","events":[{"eventId":"\u0000","status":"created","at":"0001-01-01T00:00:00Z"}]}`,
		`{"waybillNo":"W","events":null}`,
		`{"waybillNo":1e999}`,
		`{}`, `null`, `[]`, ``, `{"waybillNo":"W","events":[{"at":"2026-11-23T10:00:00.999999999-23:59"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := ParseNotification(body, parseNow)
		if err != nil {
			p, ok := problem.As(err)
			if !ok || (p.Status != 400 && p.Status != 422) {
				t.Fatalf("err = %v, want a 400 or 422 problem", err)
			}
			return
		}
		if !ValidWaybill(n.WaybillNo) || len(n.Events) == 0 || len(n.Events)+n.Repeats > MaxEvents {
			t.Fatalf("accepted %+v", n)
		}
		if n.Carrier != "" && NormalCarrier(n.Carrier) != n.Carrier {
			t.Fatalf("carrier %q not normal", n.Carrier)
		}
		seen := map[string]bool{}
		for _, e := range n.Events {
			if seen[e.EventID] || !printable(e.EventID) || !e.Status.Valid() || e.At.Before(earliest) ||
				e.At.After(parseNow.Add(MaxClockSkew)) || e.At.Nanosecond()%1000 != 0 ||
				strings.ContainsRune(e.Location+e.Description, 0) {
				t.Fatalf("accepted event %+v", e)
			}
			seen[e.EventID] = true
		}
		// What was accepted, sent again, is accepted the same.
		again, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseNotification(again, parseNow)
		if err != nil || len(m.Events) != len(n.Events) || m.WaybillNo != n.WaybillNo {
			t.Fatalf("re-parse of %s: %+v, %v", again, m, err)
		}
		for i := range m.Events {
			if !m.Events[i].At.Equal(n.Events[i].At) || m.Events[i].EventID != n.Events[i].EventID {
				t.Fatalf("re-parse changed event %d: %+v vs %+v", i, m.Events[i], n.Events[i])
			}
		}
	})
}
