package calendar

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Shanghai is Asia/Shanghai, whose calendar decides every working day.
// China has kept UTC+8 without daylight saving since 1991, so a fixed zone
// is exact and needs no tz database in the container.
var Shanghai = time.FixedZone("CST", offset)

const (
	offset     = 8 * 60 * 60 // seconds east of UTC
	secondsDay = 24 * 60 * 60
)

// Date is a civil date in Asia/Shanghai: no time, no zone. It is
// comparable, so it can key a map, and it reads and writes JSON as the
// contract's "2006-01-02".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the Asia/Shanghai calendar date of the instant t.
func DateOf(t time.Time) Date {
	y, m, d := t.In(Shanghai).Date()
	return Date{y, m, d}
}

// ErrDateFormat is in the chain of ParseDate's error for text that is not a
// real date written as YYYY-MM-DD.
var ErrDateFormat = errors.New("not a date of the form YYYY-MM-DD")

// ParseDate parses the contract's date format, 2006-01-02, exactly: ten
// characters, a real calendar date.
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, fmt.Errorf("parse date %q: %w", s, ErrDateFormat)
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	date := Date{y, time.Month(m), d}
	if !ok1 || !ok2 || !ok3 || !date.Valid() {
		return Date{}, fmt.Errorf("parse date %q: %w", s, ErrDateFormat)
	}
	return date, nil
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// Valid reports whether d is a real calendar date of years 1-9999.
func (d Date) Valid() bool {
	if d.Year < 1 || d.Year > 9999 || d.Month < time.January || d.Month > time.December || d.Day < 1 {
		return false
	}
	return dateOfDay(d.day()) == d // time.Date normalises 02-30 to 03-02
}

// Start is the instant the date begins: 00:00 Asia/Shanghai.
func (d Date) Start() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, Shanghai) }

// End is the instant the contract's deadlines name for the date:
// 23:59:59.999 Asia/Shanghai.
func (d Date) End() time.Time { return endOfDay(d.day()) }

// Weekday is the date's day of the week.
func (d Date) Weekday() time.Weekday { return weekday(d.day()) }

// AddDays returns the date n days later (earlier for negative n).
func (d Date) AddDays(n int) Date { return dateOfDay(d.day() + n) }

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	return cmp.Or(cmp.Compare(d.Year, e.Year), cmp.Compare(d.Month, e.Month), cmp.Compare(d.Day, e.Day))
}

// String formats d as 2006-01-02.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// MarshalText writes d as 2006-01-02.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses 2006-01-02; see ParseDate.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// sortedDates returns dates ascending in a new slice, never nil.
func sortedDates(dates []Date) []Date {
	out := slices.Clone(dates)
	if out == nil {
		out = []Date{}
	}
	slices.SortFunc(out, Date.Compare)
	return out
}

// The computations work on day numbers: days since 1970-01-01, the
// Asia/Shanghai date of an instant being floor((unix + 8 h) / 1 day).

// dayOf is the day number of the Asia/Shanghai date of t.
func dayOf(t time.Time) int { return floorDiv(int(t.Unix())+offset, secondsDay) }

// day is d's day number (time.Date normalises an invalid d).
func (d Date) day() int {
	return floorDiv(int(time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Unix()), secondsDay)
}

func dateOfDay(n int) Date {
	y, m, d := time.Unix(int64(n)*secondsDay, 0).UTC().Date()
	return Date{y, m, d}
}

// endOfDay is 23:59:59.999 Asia/Shanghai of day n.
func endOfDay(n int) time.Time {
	return time.Unix(int64(n+1)*secondsDay-offset-1, 999_000_000).In(Shanghai)
}

// weekday of day n: day 0, 1970-01-01, was a Thursday.
func weekday(n int) time.Weekday { return time.Weekday(floorMod(n+4, 7)) }

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int) int { return a - floorDiv(a, b)*b }
