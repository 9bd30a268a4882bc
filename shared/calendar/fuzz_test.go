package calendar

import (
	"testing"
	"time"
)

// naive is the contract's wording computed day by day with package time
// alone: the reference the fast Calendar is checked against.
type naive struct {
	holidays, workdays map[[3]int]bool
}

func newNaive(years ...Year) naive {
	r := naive{map[[3]int]bool{}, map[[3]int]bool{}}
	for _, y := range years {
		for _, d := range y.Holidays {
			r.holidays[[3]int{d.Year, int(d.Month), d.Day}] = true
		}
		for _, d := range y.Workdays {
			r.workdays[[3]int{d.Year, int(d.Month), d.Day}] = true
		}
	}
	return r
}

// midnight is 00:00 Asia/Shanghai of t's date there. The zone is fixed, so
// the next midnight is always 24 hours later.
func midnight(t time.Time) time.Time {
	y, m, d := t.In(Shanghai).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, Shanghai)
}

func (r naive) working(day time.Time) bool {
	key := [3]int{day.Year(), int(day.Month()), day.Day()}
	if r.workdays[key] {
		return true
	}
	wd := day.Weekday()
	return !r.holidays[key] && wd != time.Saturday && wd != time.Sunday
}

func (r naive) end(day time.Time) time.Time {
	return day.Add(24*time.Hour - time.Millisecond)
}

func (r naive) wd(t time.Time, n int) time.Time {
	day := midnight(t)
	for k := 0; k < n; {
		day = day.Add(24 * time.Hour)
		if r.working(day) {
			k++
		}
	}
	return r.end(day)
}

func (r naive) immediateDue(t time.Time) time.Time {
	day := midnight(t)
	for !r.working(day) {
		day = day.Add(24 * time.Hour)
	}
	return r.end(day)
}

func (r naive) between(a, b time.Time) int {
	n := 0
	last := midnight(b)
	for day := midnight(a).Add(24 * time.Hour); !day.After(last); day = day.Add(24 * time.Hour) {
		if r.working(day) {
			n++
		}
	}
	return n
}

// fuzzYear turns fuzz bytes into a valid year of data in 2027-2030: each
// pair of bytes picks a day, a holiday on a weekday, a make-up workday on a
// weekend. Together with the shipped 2025 and 2026 it gives calendars with
// gaps, dense holidays and data ending at different years.
func fuzzYear(spec []byte) Year {
	if len(spec) == 0 {
		return Year{}
	}
	y := Year{Year: 2027 + int(spec[0]%4)}
	seen := map[Date]bool{}
	for i := 1; i+1 < len(spec) && i < 400; i += 2 {
		doy := (int(spec[i])<<8 | int(spec[i+1])) % 365
		d := Date{y.Year, time.January, 1}.AddDays(doy)
		if seen[d] {
			continue
		}
		seen[d] = true
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
			y.Workdays = append(y.Workdays, d)
		} else {
			y.Holidays = append(y.Holidays, d)
		}
	}
	return y
}

// fuzzCalendar is the fast calendar and its reference for spec.
func fuzzCalendar(t *testing.T, spec []byte) (*Calendar, naive) {
	years := []Year{official[2025], official[2026]}
	if y := fuzzYear(spec); y.Year != 0 {
		years = append(years, y)
	}
	cal, err := New(years...)
	if err != nil {
		t.Fatal(err)
	}
	return cal, newNaive(years...)
}

// fuzzSpan is where fuzzed instants fall: mid-2024 (before any data) to
// 2031 (after all of it).
var (
	fuzzFrom = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC).Unix()
	fuzzSpan = time.Date(2031, 6, 1, 0, 0, 0, 0, time.UTC).Unix() - fuzzFrom
)

func fuzzInstant(s int64) time.Time {
	if s < 0 {
		s = -(s + 1)
	}
	return time.Unix(fuzzFrom+s%fuzzSpan, 0)
}

func FuzzWD(f *testing.F) {
	f.Add(int64(0), uint16(5), []byte(nil))
	f.Add(int64(86400*120), uint16(400), []byte{1, 0, 10, 0, 200})
	f.Add(int64(86400*850+57600), uint16(1), []byte{3, 1, 1, 0, 40})
	f.Fuzz(func(t *testing.T, s int64, n uint16, spec []byte) {
		cal, ref := fuzzCalendar(t, spec)
		at, days := fuzzInstant(s), int(n%500)
		if got, want := cal.WD(at, days), ref.wd(at, days); !got.Equal(want) {
			t.Fatalf("WD(%v, %d) = %v, want %v", at, days, got, want)
		}
	})
}

func FuzzImmediateDue(f *testing.F) {
	f.Add(int64(0), []byte(nil))
	f.Add(int64(86400*850+57600), []byte{2, 0, 3, 0, 4, 0, 5})
	f.Fuzz(func(t *testing.T, s int64, spec []byte) {
		cal, ref := fuzzCalendar(t, spec)
		at := fuzzInstant(s)
		if got, want := cal.ImmediateDue(at), ref.immediateDue(at); !got.Equal(want) {
			t.Fatalf("ImmediateDue(%v) = %v, want %v", at, got, want)
		}
	})
}

// FuzzSpecialDays reads intervals from ivs, 5 bytes each: the start as
// hours after now-1000 h (2 bytes), the length in hours (2 bytes), and
// whether it is still running (odd last byte).
func FuzzSpecialDays(f *testing.F) {
	f.Add(int64(86400*850), []byte{0, 10, 1, 0, 0, 2, 0, 0, 50, 1}, []byte(nil))
	f.Add(int64(86400*500), []byte{3, 200, 0, 240, 0}, []byte{0, 0, 100})
	f.Fuzz(func(t *testing.T, s int64, ivs, spec []byte) {
		cal, ref := fuzzCalendar(t, spec)
		now := fuzzInstant(s)
		var intervals []Interval
		want := 0
		for i := 0; i+5 <= len(ivs) && i < 100; i += 5 {
			start := now.Add(time.Duration(int(ivs[i])<<8|int(ivs[i+1])-1000) * time.Hour)
			iv := Interval{Start: start}
			end := now
			if ivs[i+4]%2 == 0 {
				iv.End = start.Add(time.Duration(int(ivs[i+2])<<8|int(ivs[i+3])) * time.Hour)
				end = iv.End
			}
			intervals = append(intervals, iv)
			want += ref.between(iv.Start, end)
		}
		if got := cal.SpecialDays(intervals, now); got != want {
			t.Fatalf("SpecialDays(%v, %v) = %d, want %d", intervals, now, got, want)
		}
	})
}

// TestAgainstNaive runs the reference over every day of 2024-12 to 2027-01
// (at both ends of each day) in the plain test run.
func TestAgainstNaive(t *testing.T) {
	years := []Year{official[2025], official[2026]}
	cal, ref := Official(), newNaive(years...)
	first := time.Date(2024, 12, 1, 0, 0, 0, 0, Shanghai)
	for day := first; day.Year() < 2027 || day.Month() == time.January; day = day.AddDate(0, 0, 1) {
		for _, at := range []time.Time{day, day.AddDate(0, 0, 1).Add(-time.Nanosecond)} {
			for _, n := range []int{0, 1, 2, 3, 5, 10, 20, 60} {
				if got, want := cal.WD(at, n), ref.wd(at, n); !got.Equal(want) {
					t.Fatalf("WD(%v, %d) = %v, want %v", at, n, got, want)
				}
			}
			if got, want := cal.ImmediateDue(at), ref.immediateDue(at); !got.Equal(want) {
				t.Fatalf("ImmediateDue(%v) = %v, want %v", at, got, want)
			}
			if got, want := cal.Between(first, at), ref.between(first, at); got != want {
				t.Fatalf("Between(%v, %v) = %d, want %d", first, at, got, want)
			}
			if got, want := cal.IsWorkday(DateOf(at)), ref.working(day); got != want {
				t.Fatalf("IsWorkday(%v) = %v, want %v", day, got, want)
			}
		}
	}
}
