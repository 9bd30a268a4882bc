package calendar

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// date parses 2006-01-02 or fails the test.
func date(t testing.TB, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// at parses "2006-01-02 15:04" in Asia/Shanghai, or an RFC 3339 instant.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, Shanghai)
	if err != nil {
		if v, err = time.Parse(time.RFC3339Nano, s); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

// endOf is 23:59:59.999 Asia/Shanghai of the date s, built without Date.End.
func endOf(t testing.TB, s string) time.Time {
	t.Helper()
	d := date(t, s)
	return time.Date(d.Year, d.Month, d.Day, 23, 59, 59, 999_000_000, Shanghai)
}

// The facts below follow from the two State Council notices as written in
// data/ (and from weekdays in 2024 and 2027, which have no data).
func TestOfficialWorkdays(t *testing.T) {
	tests := []struct {
		date    string
		working bool
		why     string
	}{
		{"2024-12-31", true, "Tuesday, no data for 2024"},
		{"2025-01-01", false, "元旦"},
		{"2025-01-26", true, "Sunday, make-up for 春节"},
		{"2025-01-27", true, "Monday"},
		{"2025-01-28", false, "春节 begins (Tuesday)"},
		{"2025-02-04", false, "春节 ends (Tuesday)"},
		{"2025-02-05", true, "Wednesday after 春节"},
		{"2025-02-08", true, "Saturday, make-up for 春节"},
		{"2025-02-09", false, "Sunday"},
		{"2025-04-04", false, "清明 (Friday)"},
		{"2025-04-27", true, "Sunday, make-up for 劳动节"},
		{"2025-05-05", false, "劳动节 ends (Monday)"},
		{"2025-06-02", false, "端午 (Monday)"},
		{"2025-09-28", true, "Sunday, make-up for 国庆"},
		{"2025-10-08", false, "国庆+中秋 ends (Wednesday)"},
		{"2025-10-09", true, "Thursday after 国庆"},
		{"2025-10-11", true, "Saturday, make-up for 国庆"},
		{"2025-10-12", false, "Sunday"},
		{"2025-12-31", true, "Wednesday"},
		{"2026-01-01", false, "元旦 (Thursday)"},
		{"2026-01-02", false, "元旦 (Friday)"},
		{"2026-01-03", false, "元旦 (Saturday)"},
		{"2026-01-04", true, "Sunday, make-up for 元旦"},
		{"2026-02-13", true, "Friday"},
		{"2026-02-14", true, "Saturday, make-up for 春节"},
		{"2026-02-15", false, "春节 begins (Sunday)"},
		{"2026-02-23", false, "春节 ends (Monday)"},
		{"2026-02-24", true, "Tuesday after 春节"},
		{"2026-02-28", true, "Saturday, make-up for 春节"},
		{"2026-03-01", false, "Sunday"},
		{"2026-04-06", false, "清明 (Monday)"},
		{"2026-04-07", true, "Tuesday"},
		{"2026-05-05", false, "劳动节 ends (Tuesday)"},
		{"2026-05-09", true, "Saturday, make-up for 劳动节"},
		{"2026-06-19", false, "端午 (Friday)"},
		{"2026-09-20", true, "Sunday, make-up for 国庆"},
		{"2026-09-25", false, "中秋 (Friday)"},
		{"2026-09-28", true, "Monday"},
		{"2026-10-07", false, "国庆 ends (Wednesday)"},
		{"2026-10-08", true, "Thursday after 国庆"},
		{"2026-10-10", true, "Saturday, make-up for 国庆"},
		{"2026-10-11", false, "Sunday"},
		{"2026-12-31", true, "Thursday"},
		{"2027-01-01", true, "Friday, no data for 2027: weekdays only"},
		{"2027-01-02", false, "Saturday, no data for 2027"},
	}
	cal := Official()
	for _, tt := range tests {
		if got := cal.IsWorkday(date(t, tt.date)); got != tt.working {
			t.Errorf("IsWorkday(%s) = %v, want %v (%s)", tt.date, got, tt.working, tt.why)
		}
	}
	// 2025 and 2026 each have 248 working days: 261 weekdays, less 18
	// (2025) or 19 (2026) weekday holidays, plus 5 or 6 make-up days.
	for _, y := range []string{"2025", "2026"} {
		prev := date(t, y+"-01-01").AddDays(-1).Start()
		if got := cal.Between(prev, date(t, y+"-12-31").Start()); got != 248 {
			t.Errorf("working days in %s = %d, want 248", y, got)
		}
	}
}

func TestWD(t *testing.T) {
	tests := []struct {
		from string
		n    int
		want string
	}{
		{"2026-09-30 10:00", 1, "2026-10-08"},         // over 国庆
		{"2026-09-30 10:00", 3, "2026-10-10"},         // make-up Saturday counts
		{"2026-09-30 10:00", 4, "2026-10-12"},         // Sunday does not
		{"2026-10-03 12:00", 1, "2026-10-08"},         // from inside a holiday
		{"2026-10-08 00:00", 1, "2026-10-09"},         // strictly after t's date
		{"2026-10-07T15:59:59.999Z", 1, "2026-10-08"}, // 10-07 23:59:59.999 +08:00
		{"2026-10-07T16:00:00Z", 1, "2026-10-09"},     // 10-08 00:00 +08:00
		{"2026-02-13 17:00", 1, "2026-02-14"},         // Friday → make-up Saturday
		{"2026-02-14 09:00", 1, "2026-02-24"},         // over 春节
		{"2026-02-14 09:00", 5, "2026-02-28"},         // 24,25,26,27, make-up 28
		{"2025-12-31 16:00", 1, "2026-01-04"},         // year end into 元旦, make-up Sunday
		{"2025-12-31 16:00", 2, "2026-01-05"},
		{"2026-12-30 09:00", 2, "2027-01-01"}, // into 2027, no data: a Friday counts
		{"2026-12-30 09:00", 3, "2027-01-04"},
		{"2024-12-30 09:00", 2, "2025-01-02"}, // from 2024 (no data) over 元旦 2025
		{"2026-10-03 12:00", 0, "2026-10-03"}, // n = 0: t's own date
		{"2026-10-03 12:00", -2, "2026-10-03"},
		{"2026-01-01 00:00", 248, "2026-12-31"},             // a whole year
		{"2026-12-31 23:59", 20, "2027-01-28"},              // 20 weekdays of 2027
		{"2030-06-07 10:00", 1, "2030-06-10"},               // far past the table
		{"1999-12-31 10:00", 1, "2000-01-03"},               // far before it
		{"2025-09-30T16:00:00.000000001Z", 1, "2025-10-09"}, // 10-01 00:00 +08:00
		{"2025-09-30T15:59:59.999999999Z", 1, "2025-10-09"}, // 09-30: next is 10-09
		{"2025-09-29T15:59:59.999999999Z", 1, "2025-09-30"}, // 09-29
		{"2025-09-27T15:59:59.999999999Z", 1, "2025-09-28"}, // 09-27 → make-up Sunday
		{"2025-10-10T16:00:00Z", 1, "2025-10-13"},           // 10-11 make-up Sat → Monday
		{"2025-10-10T12:00:00+08:00", 1, "2025-10-11"},      // Friday → make-up Sat
		{"2025-10-10T12:00:00-05:00", 1, "2025-10-13"},      // = 10-11 01:00 +08:00
		{"2026-05-08T23:30:00+08:00", 1, "2026-05-09"},      // make-up Saturday
		{"2026-05-09T23:30:00+08:00", 1, "2026-05-11"},
		{"2026-06-18T10:00:00+08:00", 1, "2026-06-22"}, // over 端午
		{"2026-09-24T10:00:00+08:00", 1, "2026-09-28"}, // over 中秋
		{"2026-09-19T10:00:00+08:00", 1, "2026-09-20"}, // Saturday → make-up Sunday
		{"2026-04-03T10:00:00+08:00", 1, "2026-04-07"}, // over 清明
		{"2026-04-30T10:00:00+08:00", 2, "2026-05-07"}, // over 劳动节
		{"2026-04-30T10:00:00+08:00", 3, "2026-05-08"},
		{"2026-04-30T10:00:00+08:00", 4, "2026-05-09"},
		{"2026-04-30T10:00:00+08:00", 5, "2026-05-11"},
		{"2025-04-25T10:00:00+08:00", 1, "2025-04-27"}, // make-up Sunday
		{"2025-04-27T10:00:00+08:00", 4, "2025-05-06"}, // 28, 29, 30, 05-06
		{"2025-05-30T10:00:00+08:00", 1, "2025-06-03"}, // over 端午 2025
		{"2025-01-24T10:00:00+08:00", 1, "2025-01-26"}, // make-up Sunday
		{"2025-01-24T10:00:00+08:00", 2, "2025-01-27"},
		{"2025-01-24T10:00:00+08:00", 3, "2025-02-05"}, // over 春节
		{"2025-01-24T10:00:00+08:00", 6, "2025-02-08"}, // 05,06,07, make-up 08
		{"2025-01-24T10:00:00+08:00", 7, "2025-02-10"},
		{"2024-12-31T16:00:00Z", 1, "2025-01-02"}, // = 2025-01-01 00:00 +08:00
		{"2024-12-31T15:59:59Z", 1, "2025-01-02"}, // = 2024-12-31 23:59:59
		{"2026-12-31T16:00:00Z", 1, "2027-01-04"}, // = 2027-01-01 (Friday) 00:00
		{"2026-12-31T15:59:59Z", 1, "2027-01-01"}, // = 2026-12-31 23:59:59
		{"2026-12-31T15:59:59Z", 0, "2026-12-31"},
		{"2026-12-31T16:00:00Z", 0, "2027-01-01"},
		{"2026-12-31T16:00:00Z", 5, "2027-01-08"},
		{"2026-12-31T16:00:00Z", 6, "2027-01-11"},
		{"2026-12-31T16:00:00Z", 260, "2027-12-31"}, // 2027: 261 weekdays, 01-01 the first
		{"2026-12-31T16:00:00Z", 261, "2028-01-03"},
		{"2026-12-31T16:00:00Z", 1000, "2030-11-01"},   // 1000 weekdays on
		{"2026-09-18T10:00:00+08:00", 1, "2026-09-20"}, // Fri → make-up Sun
		{"2026-09-18T10:00:00+08:00", 5, "2026-09-24"}, // 20,21,22,23,24
		{"2026-09-18T10:00:00+08:00", 6, "2026-09-28"}, // over 中秋
		{"2026-09-18T10:00:00+08:00", 9, "2026-10-08"}, // 28,29,30, over 国庆
		{"2026-09-18T10:00:00+08:00", 20, "2026-10-22"},
		{"2026-12-25T10:00:00+08:00", 3, "2026-12-30"},
		{"2025-12-25T10:00:00+08:00", 5, "2026-01-04"}, // 26,29,30,31, make-up 01-04
		{"2025-12-25T10:00:00+08:00", 6, "2026-01-05"},
		{"2026-02-12T10:00:00+08:00", 3, "2026-02-24"}, // 13, 14, 24
		{"2026-02-27T10:00:00+08:00", 1, "2026-02-28"}, // make-up Sat
		{"2026-02-27T10:00:00+08:00", 2, "2026-03-02"},
		{"2026-01-02T10:00:00+08:00", 2, "2026-01-05"},
	}
	cal := Official()
	for _, tt := range tests {
		got := cal.WD(at(t, tt.from), tt.n)
		if want := endOf(t, tt.want); !got.Equal(want) || got.Location() != Shanghai {
			t.Errorf("WD(%s, %d) = %v, want %v", tt.from, tt.n, got, want)
		}
	}
}

func TestImmediateDue(t *testing.T) {
	tests := []struct{ accepted, want string }{
		{"2026-10-08 09:00", "2026-10-08"}, // a working day: that day
		{"2026-10-08 23:59", "2026-10-08"},
		{"2026-10-03 09:00", "2026-10-08"}, // a holiday: the next working day
		{"2026-10-10 09:00", "2026-10-10"}, // make-up Saturday
		{"2026-10-11 09:00", "2026-10-12"}, // Sunday
		{"2025-12-31 23:00", "2025-12-31"},
		{"2026-01-01 09:00", "2026-01-04"}, // 元旦, then make-up Sunday
		{"2026-02-15 09:00", "2026-02-24"},
		{"2027-01-02 09:00", "2027-01-04"}, // no data: Saturday → Monday
		{"2026-10-07T16:00:00Z", "2026-10-08"},
		{"2026-10-07T15:59:59Z", "2026-10-08"},
	}
	cal := Official()
	for _, tt := range tests {
		got := cal.ImmediateDue(at(t, tt.accepted))
		if want := endOf(t, tt.want); !got.Equal(want) {
			t.Errorf("ImmediateDue(%s) = %v, want %v", tt.accepted, got, want)
		}
	}
}

func TestBetween(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"2026-10-08 09:00", "2026-10-08 18:00", 0}, // same date
		{"2026-09-30 09:00", "2026-10-08 09:00", 1}, // (09-30, 10-08]
		{"2026-09-30 09:00", "2026-10-12 09:00", 4}, // 08, 09, 10 (make-up), 12
		{"2026-10-01 09:00", "2026-10-07 09:00", 0}, // inside 国庆
		{"2025-12-31 09:00", "2026-01-05 09:00", 2}, // make-up 01-04, 01-05
		{"2026-12-30 09:00", "2027-01-04 09:00", 3}, // 12-31, 2027-01-01 (no data), 01-04
		{"2026-10-12 09:00", "2026-09-30 09:00", 0}, // b before a
		{"2026-10-07T15:59:59Z", "2026-10-07T16:00:00Z", 1},
	}
	cal := Official()
	for _, tt := range tests {
		if got := cal.Between(at(t, tt.a), at(t, tt.b)); got != tt.want {
			t.Errorf("Between(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestSpecialDays(t *testing.T) {
	now := at(t, "2026-10-14 15:00")
	tests := []struct {
		name      string
		intervals []Interval
		want      int
	}{
		{"none", nil, 0},
		{"closed over 国庆", []Interval{{at(t, "2026-09-30 09:00"), at(t, "2026-10-12 09:00")}}, 4},
		{"still running", []Interval{{Start: at(t, "2026-10-12 09:00")}}, 2}, // 13, 14
		{"closed and running", []Interval{
			{at(t, "2026-09-30 09:00"), at(t, "2026-10-12 09:00")},
			{Start: at(t, "2026-10-12 11:00")},
		}, 6},
		{"same day", []Interval{{at(t, "2026-10-09 09:00"), at(t, "2026-10-09 17:00")}}, 0},
		{"end before start", []Interval{{at(t, "2026-10-09 09:00"), at(t, "2026-10-08 17:00")}}, 0},
		{"over the year end", []Interval{{at(t, "2025-12-31 09:00"), at(t, "2026-01-05 09:00")}}, 2},
	}
	cal := Official()
	for _, tt := range tests {
		if got := cal.SpecialDays(tt.intervals, now); got != tt.want {
			t.Errorf("%s: SpecialDays = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestMissingYears(t *testing.T) {
	tests := []struct {
		from, to string
		want     []int
	}{
		{"2025-01-01 00:00", "2026-12-31 23:59", nil},
		{"2025-06-01 09:00", "2028-03-01 09:00", []int{2027, 2028}},
		{"2024-12-31 23:00", "2025-03-01 09:00", []int{2024}},
		{"2024-12-31T16:00:00Z", "2025-03-01 09:00", nil}, // 2025-01-01 00:00 +08:00
		{"2026-12-31T16:00:00Z", "2026-12-31T16:00:00Z", []int{2027}},
		{"2026-06-01 09:00", "2025-06-01 09:00", nil}, // to before from
	}
	cal := Official()
	for _, tt := range tests {
		if got := cal.MissingYears(at(t, tt.from), at(t, tt.to)); !slices.Equal(got, tt.want) {
			t.Errorf("MissingYears(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

// TestNoData: the zero and the nil Calendar, and one built from nothing,
// count weekdays only.
func TestNoData(t *testing.T) {
	empty, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for name, cal := range map[string]*Calendar{"zero": {}, "nil": nil, "New()": empty} {
		if got, want := cal.WD(at(t, "2026-09-30 10:00"), 1), endOf(t, "2026-10-01"); !got.Equal(want) {
			t.Errorf("%s: WD = %v, want %v", name, got, want)
		}
		if got, want := cal.ImmediateDue(at(t, "2026-10-03 10:00")), endOf(t, "2026-10-05"); !got.Equal(want) {
			t.Errorf("%s: ImmediateDue = %v, want %v", name, got, want)
		}
		if got := cal.Between(at(t, "2026-09-30 10:00"), at(t, "2026-10-12 10:00")); got != 8 {
			t.Errorf("%s: Between = %d, want 8", name, got)
		}
		if got := cal.MissingYears(at(t, "2026-01-01 10:00"), at(t, "2027-01-01 10:00")); !slices.Equal(got, []int{2026, 2027}) {
			t.Errorf("%s: MissingYears = %v", name, got)
		}
	}
}

// TestGapYear: a year without data between two with data counts weekdays,
// inside the table.
func TestGapYear(t *testing.T) {
	y2030 := Year{Year: 2030, Holidays: []Date{date(t, "2030-01-01")}}
	cal, err := New(official[2026], y2030)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cal.WD(at(t, "2026-12-31 10:00"), 1), endOf(t, "2027-01-01"); !got.Equal(want) {
		t.Errorf("WD into 2027 = %v, want %v", got, want)
	}
	if got, want := cal.WD(at(t, "2029-12-31 10:00"), 1), endOf(t, "2030-01-02"); !got.Equal(want) {
		t.Errorf("WD into 2030 = %v, want %v", got, want)
	}
	if got := cal.MissingYears(at(t, "2026-01-01 10:00"), at(t, "2030-01-01 10:00")); !slices.Equal(got, []int{2027, 2028, 2029}) {
		t.Errorf("MissingYears = %v", got)
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name  string
		years []Year
		want  string
	}{
		{"twice", []Year{official[2026], official[2026]}, "given twice"},
		{"date of another year", []Year{{Year: 2027, Holidays: []Date{{2026, 10, 1}}}}, "holidays.0"},
		{"weekday make-up", []Year{{Year: 2027, Workdays: []Date{{2027, 1, 4}}}}, "workdays.0"},
		{"out of range", []Year{{Year: 1999}}, "year must be"},
	}
	for _, tt := range tests {
		_, err := New(tt.years...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New error %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
}
