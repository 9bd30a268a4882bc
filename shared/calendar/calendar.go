package calendar

import (
	"fmt"
	"slices"
	"time"
)

// Calendar answers which Asia/Shanghai dates are working days and counts
// deadlines in them. A working day is Monday to Friday unless the year's
// data lists it as a holiday, plus the make-up workdays (调休) it lists; a
// year without data counts weekdays only. The zero Calendar, and a nil
// *Calendar, have no data at all.
//
// A Calendar never changes once built, so it is safe for concurrent use.
// Its queries do not allocate (MissingYears aside, when years are missing).
type Calendar struct {
	// years with data, ascending.
	years []int
	// cum[i] is the number of working days in the days [lo, lo+i), so
	// len(cum) = hi-lo+1 and the table spans every year from the first to
	// the last with data (years between without data count weekdays).
	// Outside [lo, hi) every weekday is a working day and needs no table.
	lo, hi int
	cum    []int32
}

// New builds a Calendar from per-year data. It rejects a year given twice
// and data ParseYear would reject, with an error naming the year.
func New(years ...Year) (*Calendar, error) {
	c := &Calendar{}
	if len(years) == 0 {
		return c, nil
	}
	for _, y := range years {
		if err := y.check(); err != nil {
			return nil, fmt.Errorf("calendar year %d: %w", y.Year, explain(err))
		}
		if slices.Contains(c.years, y.Year) {
			return nil, fmt.Errorf("calendar year %d given twice", y.Year)
		}
		c.years = append(c.years, y.Year)
	}
	slices.Sort(c.years)
	c.lo = Date{c.years[0], time.January, 1}.day()
	c.hi = Date{c.years[len(c.years)-1] + 1, time.January, 1}.day()

	working := make([]bool, c.hi-c.lo)
	for i := range working {
		working[i] = isWeekday(c.lo + i)
	}
	for _, y := range years {
		for _, d := range y.Holidays {
			working[d.day()-c.lo] = false
		}
		for _, d := range y.Workdays {
			working[d.day()-c.lo] = true
		}
	}
	c.cum = make([]int32, len(working)+1)
	for i, w := range working {
		c.cum[i+1] = c.cum[i]
		if w {
			c.cum[i+1]++
		}
	}
	return c, nil
}

// WD is the contract's WD(t, n): the end (23:59:59.999 Asia/Shanghai) of
// the n-th working day strictly after the calendar date of t. For n <= 0 it
// is the end of t's own date, working day or not: the date after which no
// working day has to pass, which keeps WD(t, n+S) monotone in n.
func (c *Calendar) WD(t time.Time, n int) time.Time {
	d := dayOf(t)
	if n <= 0 {
		return endOfDay(d)
	}
	return endOfDay(c.nth(d+1, n))
}

// ImmediateDue is when an immediate item (即办件) accepted at t is due: the
// end of t's date if it is a working day, else of the next working day.
func (c *Calendar) ImmediateDue(t time.Time) time.Time {
	return endOfDay(c.nth(dayOf(t), 1))
}

// Between counts the working days d with date(a) < d <= date(b): the
// working days from acceptance at a to completion at b (0 on the same
// date, and 0 when b is before a).
func (c *Calendar) Between(a, b time.Time) int {
	da, db := dayOf(a), dayOf(b)
	if db <= da {
		return 0
	}
	return c.prefix(db+1) - c.prefix(da+1)
}

// Interval is one special procedure (特别程序): from Start to End. A zero
// End means it is still running.
type Interval struct {
	Start, End time.Time
}

// SpecialDays is S of contract section 6: the working days spent in the
// special procedures, for each interval those d with date(Start) < d <=
// date(End), an interval still running ending at now.
func (c *Calendar) SpecialDays(intervals []Interval, now time.Time) int {
	n := 0
	for _, iv := range intervals {
		end := iv.End
		if end.IsZero() {
			end = now
		}
		n += c.Between(iv.Start, end)
	}
	return n
}

// IsWorkday reports whether d is a working day.
func (c *Calendar) IsWorkday(d Date) bool {
	n := d.day()
	return c.prefix(n+1) > c.prefix(n)
}

// MissingYears lists, ascending, the years from the Asia/Shanghai year of
// from to that of to that have no data and so count weekdays only (nil
// when every one has data, or when to is before from). Warning-scan
// reports them under warnings.
func (c *Calendar) MissingYears(from, to time.Time) []int {
	var missing []int
	for y := DateOf(from).Year; y <= DateOf(to).Year; y++ {
		if !c.HasYear(y) {
			missing = append(missing, y)
		}
	}
	return missing
}

// HasYear reports whether the calendar has data for year y.
func (c *Calendar) HasYear(y int) bool {
	if c == nil {
		return false
	}
	_, ok := slices.BinarySearch(c.years, y)
	return ok
}

// nth returns the n-th working day on or after day from (n >= 1): the
// smallest d with n working days in [from, d].
func (c *Calendar) nth(from, n int) int {
	target := c.prefix(from) + n
	// Past the table every week has five working days, so n of them lie
	// within 7*(n/5+2) days of max(from, hi): an upper bound for the search.
	lo, hi := from, from
	if c != nil && len(c.cum) > 0 && c.hi > hi {
		hi = c.hi
	}
	hi += 7 * (n/5 + 2)
	for lo < hi {
		mid := lo + (hi-lo)/2
		if c.prefix(mid+1) >= target {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// prefix counts working days before day d, relative to day lo of the
// table: differences prefix(b) - prefix(a) count the days [a, b).
func (c *Calendar) prefix(d int) int {
	if c == nil || len(c.cum) == 0 {
		return weekdaysBefore(d)
	}
	switch {
	case d <= c.lo:
		return weekdaysBefore(d) - weekdaysBefore(c.lo)
	case d >= c.hi:
		return int(c.cum[c.hi-c.lo]) + weekdaysBefore(d) - weekdaysBefore(c.hi)
	default:
		return int(c.cum[d-c.lo])
	}
}

// weekdaysInFirst[r] counts Monday to Friday among the first r days of a
// week that starts on a Thursday, as day 0 (1970-01-01) did.
var weekdaysInFirst = [8]int{0, 1, 2, 2, 2, 3, 4, 5}

// weekdaysBefore counts Monday to Friday in the days [0, d), negative for
// d < 0.
func weekdaysBefore(d int) int {
	return 5*floorDiv(d, 7) + weekdaysInFirst[floorMod(d, 7)]
}

func isWeekday(d int) bool {
	wd := weekday(d)
	return wd != time.Saturday && wd != time.Sunday
}
