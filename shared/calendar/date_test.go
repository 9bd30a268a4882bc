package calendar

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want Date
		ok   bool
	}{
		{"2026-10-01", Date{2026, time.October, 1}, true},
		{"2028-02-29", Date{2028, time.February, 29}, true},
		{"2000-01-01", Date{2000, time.January, 1}, true},
		{"2026-02-29", Date{}, false}, // not a leap year
		{"2026-02-30", Date{}, false},
		{"2026-13-01", Date{}, false},
		{"2026-00-10", Date{}, false},
		{"2026-10-00", Date{}, false},
		{"2026-1-01", Date{}, false},
		{"20261001", Date{}, false},
		{"2026/10/01", Date{}, false},
		{"+026-10-01", Date{}, false},
		{"2026-10-01T00:00:00+08:00", Date{}, false},
		{"0000-01-01", Date{}, false},
		{"", Date{}, false},
	}
	for _, tt := range tests {
		got, err := ParseDate(tt.in)
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("ParseDate(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrDateFormat) {
			t.Errorf("ParseDate(%q) error %v is not ErrDateFormat", tt.in, err)
		}
	}
}

func TestDateOfIsShanghai(t *testing.T) {
	tests := []struct {
		utc  string
		want Date
	}{
		{"2026-09-30T15:59:59.999Z", Date{2026, time.September, 30}},
		{"2026-09-30T16:00:00Z", Date{2026, time.October, 1}},
		{"2025-12-31T16:00:00Z", Date{2026, time.January, 1}},
		{"1969-12-31T16:00:00Z", Date{1970, time.January, 1}},
		{"1969-12-31T15:59:59Z", Date{1969, time.December, 31}},
	}
	for _, tt := range tests {
		at, err := time.Parse(time.RFC3339Nano, tt.utc)
		if err != nil {
			t.Fatal(err)
		}
		if got := DateOf(at); got != tt.want {
			t.Errorf("DateOf(%s) = %v, want %v", tt.utc, got, tt.want)
		}
		if got := dateOfDay(dayOf(at)); got != tt.want {
			t.Errorf("dateOfDay(dayOf(%s)) = %v, want %v", tt.utc, got, tt.want)
		}
	}
}

// TestDayNumbers checks the day-number arithmetic against package time for
// every day of 1960-2060.
func TestDayNumbers(t *testing.T) {
	for at := time.Date(1960, 1, 1, 0, 0, 0, 0, Shanghai); at.Year() < 2060; at = at.AddDate(0, 0, 1) {
		d := DateOf(at)
		n := d.day()
		if dayOf(at) != n || dayOf(at.Add(24*time.Hour-time.Nanosecond)) != n {
			t.Fatalf("%v: dayOf disagrees with Date.day %d", d, n)
		}
		if dateOfDay(n) != d || !d.Valid() || d.AddDays(1) != DateOf(at.AddDate(0, 0, 1)) {
			t.Fatalf("%v: day number %d does not round-trip", d, n)
		}
		if d.Compare(d.AddDays(1)) != -1 || d.AddDays(1).Compare(d) != 1 || d.Compare(d) != 0 {
			t.Fatalf("%v: Compare disagrees with the order of days", d)
		}
		if d.Weekday() != at.Weekday() {
			t.Fatalf("%v: Weekday %v, want %v", d, d.Weekday(), at.Weekday())
		}
		if want := at.AddDate(0, 0, 1).Add(-time.Millisecond); !d.End().Equal(want) || d.End().Location() != Shanghai {
			t.Fatalf("%v: End %v, want %v", d, d.End(), want)
		}
		wantWeekdays := 0
		if wd := at.Weekday(); wd != time.Saturday && wd != time.Sunday {
			wantWeekdays = 1
		}
		if got := weekdaysBefore(n+1) - weekdaysBefore(n); got != wantWeekdays {
			t.Fatalf("%v: weekdaysBefore step %d, want %d", d, got, wantWeekdays)
		}
	}
}

func TestDateJSON(t *testing.T) {
	var got struct{ D []Date }
	if err := json.Unmarshal([]byte(`{"D":["2026-10-01","2025-01-26"]}`), &got); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"D":["2026-10-01","2025-01-26"]}` {
		t.Errorf("round trip = %s", b)
	}
	if err := json.Unmarshal([]byte(`{"D":["2026-10-32"]}`), &got); !errors.Is(err, ErrDateFormat) {
		t.Errorf("bad date: err = %v, want ErrDateFormat", err)
	}
}
