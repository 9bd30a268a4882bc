package cards_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/calendar"
	"github.com/onewindow/onewindow/shared/cards"
)

// at parses "2006-01-02 15:04" (or with seconds and milliseconds) as an
// Asia/Shanghai instant.
func at(s string) time.Time {
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02 15:04:05.000"} {
		if t, err := time.ParseInLocation(layout, s, calendar.Shanghai); err == nil {
			return t
		}
	}
	panic("bad instant " + s)
}

// end is the contract's deadline on a date: its 23:59:59.999.
func end(date string) time.Time {
	d, err := calendar.ParseDate(date)
	if err != nil {
		panic(err)
	}
	return d.End()
}

// start is 00:00 of a date.
func start(date string) time.Time {
	d, err := calendar.ParseDate(date)
	if err != nil {
		panic(err)
	}
	return d.Start()
}

func ptr[T any](v T) *T { return &v }

// weekdaysOnly is the calendar of a year nobody published: Monday to Friday.
var weekdaysOnly = mustCalendar()

func mustCalendar(years ...calendar.Year) *calendar.Calendar {
	c, err := calendar.New(years...)
	if err != nil {
		panic(err)
	}
	return c
}

func TestEvaluate(t *testing.T) {
	official := calendar.Official()
	// An ordinary case of November 2026: accepted, promised by Tuesday
	// 11-10, legally due Thursday 11-12 (2026-11-07/08 is a weekend).
	accepted := cards.Clock{Status: "accepted", AcceptBy: ptr(end("2026-11-04")),
		PromisedDue: ptr(end("2026-11-10")), LegalDue: ptr(end("2026-11-12"))}
	with := func(c cards.Clock, edit func(*cards.Clock)) cards.Clock { edit(&c); return c }
	submitted := cards.Clock{Status: "submitted", AcceptBy: ptr(end("2026-11-04"))}
	immediate := cards.Clock{Status: "accepted", Immediate: true, AcceptBy: ptr(end("2026-11-04")),
		PromisedDue: ptr(end("2026-11-02")), LegalDue: ptr(end("2026-11-02"))}
	timeLimit := func(r cards.Rule, l cards.Level) []cards.Due {
		return []cards.Due{{Slot: cards.TimeLimitSlot, Rule: r, Level: l}}
	}
	yellow := timeLimit(cards.PromisedApproaching, cards.Yellow)
	red := timeLimit(cards.PromisedExceeded, cards.Red)
	black := timeLimit(cards.LegalExceeded, cards.Black)
	acceptanceOverdue := []cards.Due{{Slot: cards.AcceptanceOverdueSlot, Rule: cards.AcceptanceOverdue, Level: cards.Red}}
	immediateOverdue := []cards.Due{{Slot: cards.ImmediateOverdueSlot, Rule: cards.ImmediateOverdue, Level: cards.Yellow}}

	// promisedDue on a working day right after a holiday or a weekend.
	promisedOn := func(date string) cards.Clock {
		return cards.Clock{Status: "accepted", PromisedDue: ptr(end(date)), LegalDue: ptr(end("2026-12-31"))}
	}

	tests := []struct {
		name  string
		clock cards.Clock
		now   time.Time
		cal   *calendar.Calendar
		yd    int // Thresholds.YellowDaysBefore
		want  []cards.Due
		next  *time.Time
	}{
		// acceptance_overdue: neither accepted nor refused by acceptBy.
		{"submitted, before acceptBy", submitted, at("2026-11-04 23:59:59.999"), official, 0, nil, ptr(start("2026-11-05"))},
		{"submitted, acceptBy passed", submitted, start("2026-11-05"), official, 0, acceptanceOverdue, nil},
		{"submitted, weeks late", submitted, at("2026-12-20 10:00"), official, 0, acceptanceOverdue, nil},
		{"submitted without acceptBy", with(submitted, func(c *cards.Clock) { c.AcceptBy = nil }), at("2026-12-20 10:00"), official, 0, nil, nil},
		{"immediate item not yet accepted", with(immediate, func(c *cards.Clock) { c.Status = "submitted" }), start("2026-11-05"), official, 0, acceptanceOverdue, nil},

		// The time-limit card: yellow on the promised day, red after it,
		// black after the legal deadline.
		{"accepted, the day before the promised day", accepted, at("2026-11-09 23:59:59.999"), official, 0, nil, ptr(start("2026-11-10"))},
		{"accepted, acceptBy long passed is no card", accepted, at("2026-11-09 10:00"), official, 0, nil, ptr(start("2026-11-10"))},
		{"promised day begins", accepted, start("2026-11-10"), official, 0, yellow, ptr(start("2026-11-11"))},
		{"promised day, last millisecond", accepted, end("2026-11-10"), official, 0, yellow, ptr(start("2026-11-11"))},
		{"promised deadline passed", accepted, start("2026-11-11"), official, 0, red, ptr(start("2026-11-13"))},
		{"on the legal day", accepted, at("2026-11-12 18:00"), official, 0, red, ptr(start("2026-11-13"))},
		{"legal deadline passed", accepted, start("2026-11-13"), official, 0, black, nil},
		{"months later", accepted, at("2027-03-01 10:00"), official, 0, black, nil},
		{"no legal deadline: red stays", with(accepted, func(c *cards.Clock) { c.LegalDue = nil }), at("2027-03-01 10:00"), official, 0, red, nil},
		{"legal = promised: straight to black", with(accepted, func(c *cards.Clock) { c.LegalDue = ptr(end("2026-11-10")) }), start("2026-11-11"), official, 0, black, nil},
		{"accepted without promisedDue", with(accepted, func(c *cards.Clock) { c.PromisedDue, c.LegalDue = nil, nil }), start("2026-11-13"), official, 0, nil, nil},
		{"awaiting payment: the clock runs", with(accepted, func(c *cards.Clock) { c.Status = "awaiting_payment" }), start("2026-11-11"), official, 0, red, ptr(start("2026-11-13"))},
		{"approved, not completed", with(accepted, func(c *cards.Clock) { c.Status = "approved" }), start("2026-11-13"), official, 0, black, nil},
		{"denied, not completed", with(accepted, func(c *cards.Clock) { c.Status = "denied" }), start("2026-11-10"), official, 0, yellow, ptr(start("2026-11-11"))},

		// immediate_overdue: an immediate item not completed by its due time.
		{"immediate, due today", immediate, at("2026-11-02 23:00"), official, 0, nil, ptr(start("2026-11-03"))},
		{"immediate, overdue", immediate, start("2026-11-03"), official, 0, immediateOverdue, nil},
		{"immediate, approved and overdue", with(immediate, func(c *cards.Clock) { c.Status = "approved" }), at("2026-11-20 10:00"), official, 0, immediateOverdue, nil},
		{"immediate: no time-limit card whatever the threshold", immediate, at("2026-11-02 10:00"), official, 5, nil, ptr(start("2026-11-03"))},

		// No card at all: special procedures, supplements, final cases.
		{"special procedure", with(accepted, func(c *cards.Clock) { c.Status = "special_procedure" }), start("2026-11-13"), official, 0, nil, nil},
		{"supplement requested", with(submitted, func(c *cards.Clock) { c.Status = "supplement_requested" }), start("2026-11-13"), official, 0, nil, nil},
		{"completed", with(accepted, func(c *cards.Clock) { c.Status = "completed" }), start("2026-11-13"), official, 0, nil, nil},
		{"rejected acceptance", with(submitted, func(c *cards.Clock) { c.Status = "rejected_acceptance" }), start("2026-11-13"), official, 0, nil, nil},
		{"withdrawn", with(accepted, func(c *cards.Clock) { c.Status = "withdrawn" }), start("2026-11-13"), official, 0, nil, nil},
		{"withdrawn immediate", with(immediate, func(c *cards.Clock) { c.Status = "withdrawn" }), start("2026-11-13"), official, 0, nil, nil},

		// YellowDaysBefore counts working days of the calendar back from
		// the promised day.
		{"1 day before a Monday is the Friday", promisedOn("2026-11-23"), at("2026-11-19 23:59:59.999"), official, 1, nil, ptr(start("2026-11-20"))},
		{"1 day before a Monday: yellow all Friday and the weekend", promisedOn("2026-11-23"), at("2026-11-22 12:00"), official, 1, yellow, ptr(start("2026-11-24"))},
		{"1 day before 10-09 (after National Day) is 10-08", promisedOn("2026-10-09"), at("2026-10-07 12:00"), official, 1, nil, ptr(start("2026-10-08"))},
		{"2 days before 10-09 skip the whole holiday to 09-30", promisedOn("2026-10-09"), at("2026-09-29 23:59:59.999"), official, 2, nil, ptr(start("2026-09-30"))},
		{"2 days before 10-09: yellow through the holiday", promisedOn("2026-10-09"), at("2026-10-03 12:00"), official, 2, yellow, ptr(start("2026-10-10"))},
		{"without a calendar 2 days before 10-09 is 10-07", promisedOn("2026-10-09"), at("2026-10-06 23:00"), weekdaysOnly, 2, nil, ptr(start("2026-10-07"))},
		{"1 day before Monday 10-12 is the make-up Saturday 10-10", promisedOn("2026-10-12"), at("2026-10-09 12:00"), official, 1, nil, ptr(start("2026-10-10"))},
		{"1 day before 02-24 (after Spring Festival) is the make-up Saturday 02-14", promisedOn("2026-02-24"), at("2026-02-13 23:00"), official, 1, nil, ptr(start("2026-02-14"))},
		{"2 days before 02-24 is Friday 02-13", promisedOn("2026-02-24"), at("2026-02-13 00:00"), official, 2, yellow, ptr(start("2026-02-25"))},
		{"threshold: red still starts after the promised day", promisedOn("2026-02-24"), start("2026-02-25"), official, 2, red, ptr(start("2027-01-01"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, next := cards.Evaluate(tt.clock, tt.now, tt.cal, cards.Thresholds{YellowDaysBefore: tt.yd})
			if !slices.Equal(got, tt.want) {
				t.Errorf("cards = %v, want %v", got, tt.want)
			}
			if !sameInstant(next, tt.next) {
				t.Errorf("next = %s, want %s", show(next), show(tt.next))
			}
		})
	}
}

func sameInstant(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func show(t *time.Time) string {
	if t == nil {
		return "nil"
	}
	return t.In(calendar.Shanghai).Format("2006-01-02 15:04:05.000000000")
}

func TestRaise(t *testing.T) {
	tests := []struct {
		held, due cards.Level
		want      bool
	}{
		{"", cards.Yellow, true},
		{cards.Yellow, cards.Yellow, false},
		{cards.Yellow, cards.Red, true},
		{cards.Yellow, cards.Black, true},
		{cards.Red, cards.Black, true},
		{cards.Red, cards.Yellow, false},
		{cards.Black, cards.Red, false},
		{cards.Black, cards.Black, false},
	}
	for _, tt := range tests {
		if got := cards.Raise(tt.held, tt.due); got != tt.want {
			t.Errorf("Raise(%q, %q) = %v, want %v", tt.held, tt.due, got, tt.want)
		}
	}
}

var statuses = []string{"submitted", "supplement_requested", "accepted", "special_procedure", "awaiting_payment",
	"approved", "denied", "completed", "rejected_acceptance", "withdrawn"}

// randomClock makes a case's deadlines the way shared/cases computes them:
// ends of working days counted from a random reception and acceptance.
func randomClock(rng *rand.Rand, cal *calendar.Calendar) (cards.Clock, time.Time) {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, calendar.Shanghai).Add(time.Duration(rng.Int64N(int64(3 * 365 * 24 * time.Hour))))
	base = base.Truncate(time.Millisecond)
	c := cards.Clock{Status: statuses[rng.IntN(len(statuses))], Immediate: rng.IntN(4) == 0}
	if rng.IntN(10) > 0 {
		c.AcceptBy = ptr(cal.WD(base, rng.IntN(8)))
	}
	if rng.IntN(10) > 0 {
		acceptedAt := base.Add(time.Duration(rng.Int64N(int64(10 * 24 * time.Hour)))).Truncate(time.Millisecond)
		if c.Immediate {
			due := cal.ImmediateDue(acceptedAt)
			c.PromisedDue, c.LegalDue = &due, &due
		} else {
			promised := 1 + rng.IntN(20)
			c.PromisedDue = ptr(cal.WD(acceptedAt, promised))
			if rng.IntN(5) > 0 {
				c.LegalDue = ptr(cal.WD(acceptedAt, promised+rng.IntN(20)))
			}
		}
	}
	return c, base
}

// levels maps each slot to the rank of the card Evaluate gives it.
func levels(dues []cards.Due) map[cards.Slot]int {
	rank := map[cards.Level]int{cards.Yellow: 1, cards.Red: 2, cards.Black: 3}
	m := map[cards.Slot]int{}
	for _, d := range dues {
		if _, dup := m[d.Slot]; dup {
			panic("two cards in one slot")
		}
		m[d.Slot] = rank[d.Level]
	}
	return m
}

// TestEvaluateProperties checks, for random deadlines and instants at the
// millisecond resolution of the deadlines (23:59:59.999):
//   - as now increases, no slot's level ever goes down or disappears;
//   - the next instant, when there is one, is after now;
//   - nothing changes before it: Evaluate gives the same just before it
//     (1 ms) as at now, and something else at it;
//   - without a next instant, nothing ever changes again;
//   - at most one card per slot, and only the rules of the slot.
func TestEvaluateProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(20261123, 6))
	cals := []*calendar.Calendar{calendar.Official(), weekdaysOnly}
	slotOf := map[cards.Rule]cards.Slot{
		cards.PromisedApproaching: cards.TimeLimitSlot, cards.PromisedExceeded: cards.TimeLimitSlot,
		cards.LegalExceeded: cards.TimeLimitSlot, cards.AcceptanceOverdue: cards.AcceptanceOverdueSlot,
		cards.ImmediateOverdue: cards.ImmediateOverdueSlot,
	}
	const cases, instants = 3000, 40
	for i := range cases {
		cal := cals[rng.IntN(len(cals))]
		c, base := randomClock(rng, cal)
		th := cards.Thresholds{YellowDaysBefore: rng.IntN(6)}
		times := make([]time.Time, instants)
		for j := range times {
			times[j] = base.Add(time.Duration(rng.Int64N(int64(70*24*time.Hour))) - 5*24*time.Hour).Truncate(time.Millisecond)
		}
		// Add the interesting instants: each deadline and the millisecond around it.
		for _, d := range []*time.Time{c.AcceptBy, c.PromisedDue, c.LegalDue} {
			if d != nil {
				times = append(times, d.Add(-time.Millisecond), *d, d.Add(time.Millisecond))
			}
		}
		slices.SortFunc(times, time.Time.Compare)
		describe := func() string {
			return fmt.Sprintf("case %d: %+v acceptBy %s promised %s legal %s, %+v", i, c.Status,
				show(c.AcceptBy), show(c.PromisedDue), show(c.LegalDue), th)
		}
		eval := func(now time.Time) ([]cards.Due, *time.Time) { return cards.Evaluate(c, now, cal, th) }

		prev := map[cards.Slot]int{}
		for _, now := range times {
			dues, next := eval(now)
			lv := levels(dues)
			for _, d := range dues {
				if slotOf[d.Rule] != d.Slot {
					t.Fatalf("%s: at %s rule %s in slot %s", describe(), show(&now), d.Rule, d.Slot)
				}
			}
			for slot, r := range prev {
				if lv[slot] < r {
					t.Fatalf("%s: at %s slot %s went down from %d to %d", describe(), show(&now), slot, r, lv[slot])
				}
			}
			prev = lv
			if next == nil {
				later, laterNext := eval(now.Add(400 * 24 * time.Hour))
				if !slices.Equal(later, dues) || laterNext != nil {
					t.Fatalf("%s: at %s no next instant, yet a year later %v (next %s) differs from %v",
						describe(), show(&now), later, show(laterNext), dues)
				}
				continue
			}
			if !next.After(now) {
				t.Fatalf("%s: at %s next %s is not after now", describe(), show(&now), show(next))
			}
			before, _ := eval(next.Add(-time.Millisecond))
			if !slices.Equal(before, dues) {
				t.Fatalf("%s: at %s Evaluate gives %v but just before next %s already %v",
					describe(), show(&now), dues, show(next), before)
			}
			atNext, _ := eval(*next)
			if slices.Equal(atNext, dues) {
				t.Fatalf("%s: at %s next %s changes nothing: %v", describe(), show(&now), show(next), dues)
			}
		}
	}
}

// Every deadline passes at one instant: the first after its 23:59:59.999.
// A scan's clock has nanoseconds, so an instant less than a millisecond
// after a deadline is possible; there the acceptance and immediate rules
// (now.After(deadline)) disagree with the time-limit rules (not before
// deadline + 1 ms), and with the next instant Evaluate itself returned.
func TestEvaluateDeadlinesPassAtOneInstant(t *testing.T) {
	cal := calendar.Official()
	deadline := end("2026-11-10")
	justAfter := deadline.Add(time.Microsecond) // PostgreSQL's resolution, still before next
	clocks := []struct {
		name  string
		clock cards.Clock
	}{
		{"acceptance", cards.Clock{Status: "submitted", AcceptBy: &deadline}},
		{"promised", cards.Clock{Status: "accepted", PromisedDue: &deadline}},
		{"immediate", cards.Clock{Status: "accepted", Immediate: true, PromisedDue: &deadline, LegalDue: &deadline}},
	}
	for _, tt := range clocks {
		t.Run(tt.name, func(t *testing.T) {
			before, next := cards.Evaluate(tt.clock, deadline, cal, cards.Thresholds{})
			if next == nil {
				t.Fatal("no next instant at the deadline")
			}
			got, _ := cards.Evaluate(tt.clock, justAfter, cal, cards.Thresholds{})
			// Between now and the next instant nothing may change.
			if justAfter.Before(*next) && !slices.Equal(got, before) {
				t.Errorf("at deadline+1µs %v, at the deadline %v, yet the next change was announced for %s",
					got, before, show(next))
			}
		})
	}
}
