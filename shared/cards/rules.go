// Package cards is time-limit supervision (办件监督, contract section 6):
// the card rules over working days, the scan that issues and escalates
// cards for the cases that are due, revocation, thresholds per item or
// department, and the supervision statistics.
package cards

import (
	"time"

	"github.com/onewindow/onewindow/shared/calendar"
)

// Level is a card's colour.
type Level string

// The levels, in escalating order.
const (
	Yellow Level = "yellow" // 黄牌
	Red    Level = "red"    // 红牌
	Black  Level = "black"  // 黑牌
)

func (l Level) rank() int {
	switch l {
	case Yellow:
		return 1
	case Red:
		return 2
	case Black:
		return 3
	}
	return 0
}

// Rule names why a card is due (the contract's table).
type Rule string

// The rules.
const (
	PromisedApproaching Rule = "promised_approaching"
	PromisedExceeded    Rule = "promised_exceeded"
	LegalExceeded       Rule = "legal_exceeded"
	AcceptanceOverdue   Rule = "acceptance_overdue"
	ImmediateOverdue    Rule = "immediate_overdue"
)

// Slot is where a case holds a card: one time-limit card escalated in
// place, and one card per other rule.
type Slot string

// The slots.
const (
	TimeLimitSlot         Slot = "time_limit"
	AcceptanceOverdueSlot Slot = "acceptance_overdue"
	ImmediateOverdueSlot  Slot = "immediate_overdue"
)

// Due is a card a case should hold now.
type Due struct {
	Slot  Slot
	Rule  Rule
	Level Level
}

// Clock is what the rules read of a case.
type Clock struct {
	Status    string
	Immediate bool
	// AcceptBy, PromisedDue and LegalDue are the case's deadlines; nil
	// when not (yet) known.
	AcceptBy, PromisedDue, LegalDue *time.Time
}

// Thresholds tune the rules for an item or a department. The zero value
// is the contract's behaviour.
type Thresholds struct {
	// YellowDaysBefore is how many working days before the promised
	// deadline's day promised_approaching starts; 0: on that day.
	YellowDaysBefore int `json:"yellowDaysBefore"`
}

// Evaluate returns the cards a case should hold at now and the next instant
// at which that can change (nil: only an event can change it). A final
// case, one in a special procedure (特别程序) and one waiting for the
// applicant's supplement get no card.
func Evaluate(c Clock, now time.Time, cal *calendar.Calendar, th Thresholds) ([]Due, *time.Time) {
	switch c.Status {
	case "submitted":
		if c.AcceptBy == nil {
			return nil, nil
		}
		if passed := after(*c.AcceptBy); now.Before(*passed) {
			return nil, passed
		}
		return []Due{{AcceptanceOverdueSlot, AcceptanceOverdue, Red}}, nil
	case "accepted", "awaiting_payment", "approved", "denied":
	default: // final, special_procedure, supplement_requested
		return nil, nil
	}
	if c.PromisedDue == nil {
		return nil, nil
	}
	if c.Immediate {
		if passed := after(*c.PromisedDue); now.Before(*passed) {
			return nil, passed
		}
		return []Due{{ImmediateOverdueSlot, ImmediateOverdue, Yellow}}, nil
	}
	// The time-limit card: each threshold passed raises it; the next one
	// not yet passed is when to look again.
	steps := []step{
		{yellowStart(*c.PromisedDue, cal, th.YellowDaysBefore), PromisedApproaching, Yellow},
		{*after(*c.PromisedDue), PromisedExceeded, Red},
	}
	if c.LegalDue != nil {
		steps = append(steps, step{*after(*c.LegalDue), LegalExceeded, Black})
	}
	var due []Due
	for _, s := range steps {
		if now.Before(s.from) {
			next := s.from
			return due, &next
		}
		due = []Due{{TimeLimitSlot, s.rule, s.level}}
	}
	return due, nil
}

// step is one threshold of the time-limit card.
type step struct {
	from  time.Time
	rule  Rule
	level Level
}

// after is the first instant past a deadline: a deadline is the last
// millisecond of a day, and a card for exceeding it starts once it passed.
func after(deadline time.Time) *time.Time {
	t := deadline.Add(time.Millisecond)
	return &t
}

// yellowStart is the start of the working day k working days before the
// promised deadline's day (k = 0: that day itself).
func yellowStart(promised time.Time, cal *calendar.Calendar, k int) time.Time {
	d := calendar.DateOf(promised)
	for k > 0 {
		d = d.AddDays(-1)
		if cal.IsWorkday(d) {
			k--
		}
	}
	return d.Start()
}

// Raise combines the card a case holds in a slot with the one due: a card
// only escalates, never goes down (a calendar change may move a deadline
// later, but a card once earned stays a record).
func Raise(held Level, due Level) bool { return due.rank() > held.rank() }
