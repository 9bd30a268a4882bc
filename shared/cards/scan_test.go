package cards_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/calendar"
	"github.com/onewindow/onewindow/shared/cards"
	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/store"
	"github.com/onewindow/onewindow/shared/testenv"
	"github.com/onewindow/onewindow/shared/webhook"
)

// held lists every card of the database as "serial/slot" → level.
func (f *fixture) held() map[string]cards.Level {
	f.t.Helper()
	rows, err := f.db.Query(f.ctx, `SELECT case_serial, slot, level FROM cards`)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]cards.Level{}
	for rows.Next() {
		var serialNo, slot string
		var level cards.Level
		if err := rows.Scan(&serialNo, &slot, &level); err != nil {
			f.t.Fatal(err)
		}
		out[serialNo+"/"+slot] = level
	}
	if err := rows.Err(); err != nil {
		f.t.Fatal(err)
	}
	return out
}

func counts(r cards.Report) [3]int { return [3]int{r.Scanned, r.Issued, r.Escalated} }

// Scans at chosen instants issue cards when the rules say, escalate the
// time-limit card in place with its history, never duplicate, set each
// case's next check to the next instant of the rules, and queue a
// delivery per issue and escalation.
func TestScanIssuesAndEscalatesInPlace(t *testing.T) {
	f := newFixture(t)
	// A: accepted, promised 11-10, legal 11-12. S: never accepted, due
	// by 11-04, of department D-2. L: both deadlines long passed.
	f.insertCase(caseSpec{Serial: "A", Item: "IT-1", Status: "accepted", AcceptBy: ptr(end("2026-11-04")),
		Promised: ptr(end("2026-11-10")), Legal: ptr(end("2026-11-12")), NextCheck: ptr(at("2026-11-03 09:30"))})
	f.insertCase(caseSpec{Serial: "S", Item: "IT-1", Department: "D-2", AcceptBy: ptr(end("2026-11-04")),
		NextCheck: ptr(at("2026-11-02 10:00"))})
	f.insertCase(caseSpec{Serial: "L", Item: "IT-2", Status: "accepted", Promised: ptr(end("2026-11-02")),
		Legal: ptr(end("2026-11-03")), NextCheck: ptr(at("2026-11-02 09:00"))})

	steps := []struct {
		now    time.Time
		counts [3]int // scanned, issued, escalated
		held   map[string]cards.Level
		next   map[string]*time.Time
	}{
		{at("2026-11-04 12:00"), [3]int{3, 1, 0}, map[string]cards.Level{"L/time_limit": cards.Black},
			map[string]*time.Time{"A": ptr(start("2026-11-10")), "S": ptr(start("2026-11-05")), "L": nil}},
		{at("2026-11-04 13:00"), [3]int{0, 0, 0}, map[string]cards.Level{"L/time_limit": cards.Black}, nil},
		{at("2026-11-05 08:00"), [3]int{1, 1, 0}, map[string]cards.Level{"L/time_limit": cards.Black, "S/acceptance_overdue": cards.Red},
			map[string]*time.Time{"S": nil}},
		{at("2026-11-10 08:00"), [3]int{1, 1, 0}, map[string]cards.Level{"L/time_limit": cards.Black, "S/acceptance_overdue": cards.Red,
			"A/time_limit": cards.Yellow}, map[string]*time.Time{"A": ptr(start("2026-11-11"))}},
		{at("2026-11-10 20:00"), [3]int{0, 0, 0}, nil, nil},
		{at("2026-11-11 08:00"), [3]int{1, 0, 1}, map[string]cards.Level{"L/time_limit": cards.Black, "S/acceptance_overdue": cards.Red,
			"A/time_limit": cards.Red}, map[string]*time.Time{"A": ptr(start("2026-11-13"))}},
		{start("2026-11-13"), [3]int{1, 0, 1}, map[string]cards.Level{"L/time_limit": cards.Black, "S/acceptance_overdue": cards.Red,
			"A/time_limit": cards.Black}, map[string]*time.Time{"A": nil}},
		{at("2026-11-30 10:00"), [3]int{0, 0, 0}, nil, map[string]*time.Time{"A": nil, "S": nil, "L": nil}},
	}
	var cardID string
	for _, st := range steps {
		rep := f.scanAt(st.now)
		if counts(rep) != st.counts {
			t.Fatalf("scan at %s = %+v, want scanned/issued/escalated %v", show(&st.now), rep, st.counts)
		}
		if st.held != nil {
			if got := f.held(); !maps.Equal(got, st.held) {
				t.Fatalf("after the scan at %s cards = %v, want %v", show(&st.now), got, st.held)
			}
		}
		for serialNo, want := range st.next {
			if got := f.nextCheck(serialNo); !sameInstant(got, want) {
				t.Errorf("after the scan at %s %s next check = %s, want %s", show(&st.now), serialNo, show(got), show(want))
			}
		}
		if c, ok := f.cardsOf("A")[cards.TimeLimitSlot]; ok {
			if cardID == "" {
				cardID = c.CardID
			} else if c.CardID != cardID {
				t.Fatalf("A's card was replaced: %s, then %s", cardID, c.CardID)
			}
		}
	}

	a := f.cardsOf("A")[cards.TimeLimitSlot]
	wantHistory := []cards.Step{
		{At: at("2026-11-10 08:00"), Action: "issued", Rule: cards.PromisedApproaching, Level: cards.Yellow},
		{At: at("2026-11-11 08:00"), Action: "escalated", Rule: cards.PromisedExceeded, Level: cards.Red},
		{At: start("2026-11-13"), Action: "escalated", Rule: cards.LegalExceeded, Level: cards.Black},
	}
	if !slices.EqualFunc(a.History, wantHistory, sameStep) {
		t.Errorf("A's history = %+v, want %+v", a.History, wantHistory)
	}
	if a.Rule != cards.LegalExceeded || a.Status != cards.Active || !a.IssuedAt.Equal(at("2026-11-10 08:00")) ||
		!a.UpdatedAt.Equal(start("2026-11-13")) || a.Department != "D-1" || a.ItemCode != "IT-1" {
		t.Errorf("A's card = %+v", a.Card)
	}
	if l := f.cardsOf("L")[cards.TimeLimitSlot]; len(l.History) != 1 || l.History[0].Action != "issued" ||
		l.Rule != cards.LegalExceeded || l.Level != cards.Black {
		t.Errorf("L's card (first seen past both deadlines) = %+v", l.Card)
	}

	// Every issue and escalation is queued for the case's department, in
	// the case's stream, with the card as it became.
	type sent struct {
		typ, dept string
		level     cards.Level
		rule      cards.Rule
	}
	wantSent := map[string][]sent{
		"A": {{cards.TypeIssued, "D-1", cards.Yellow, cards.PromisedApproaching}, {cards.TypeEscalated, "D-1", cards.Red, cards.PromisedExceeded},
			{cards.TypeEscalated, "D-1", cards.Black, cards.LegalExceeded}},
		"S": {{cards.TypeIssued, "D-2", cards.Red, cards.AcceptanceOverdue}},
		"L": {{cards.TypeIssued, "D-1", cards.Black, cards.LegalExceeded}},
	}
	for serialNo, want := range wantSent {
		var got []sent
		for i, d := range f.deliveries(serialNo) {
			got = append(got, sent{d.Type, d.Department, d.Body.Card.Level, d.Body.Card.Rule})
			if d.Body.Type != d.Type || d.Body.Card.CaseSerial != serialNo || len(d.Body.Card.History) != i+1 && serialNo == "A" {
				t.Errorf("%s delivery %d = %+v", serialNo, i, d.Body)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s deliveries = %v, want %v", serialNo, got, want)
		}
	}
	if n := f.count(`SELECT count(*) FROM webhook_deliveries`); n != 5 {
		t.Errorf("%d deliveries, want 5", n)
	}
}

func sameStep(a, b cards.Step) bool {
	return a.At.Equal(b.At) && a.Action == b.Action && a.Rule == b.Rule && a.Level == b.Level && a.By == b.By && a.Note == b.Note
}

// Final cases, special procedures, supplements and bundle cases get no
// card; a final case keeps the cards it earned.
func TestScanLeavesFinalAndSpecialCasesAlone(t *testing.T) {
	f := newFixture(t)
	passed := caseSpec{Item: "IT-1", AcceptBy: ptr(end("2026-11-03")), Promised: ptr(end("2026-11-05")),
		Legal: ptr(end("2026-11-06")), NextCheck: ptr(at("2026-11-02 10:00"))}
	with := func(serialNo, status string, edit func(*caseSpec)) caseSpec {
		s := passed
		s.Serial, s.Status = serialNo, status
		if edit != nil {
			edit(&s)
		}
		return s
	}

	// A case that earned a card and was then completed, as shared/cases
	// leaves it: final, no next check.
	f.insertCase(with("DONE", "accepted", nil))
	if rep := f.scanAt(at("2026-11-06 08:00")); counts(rep) != [3]int{1, 1, 0} {
		t.Fatalf("first scan = %+v", rep)
	}
	before := f.cardsOf("DONE")
	if _, err := f.db.Exec(f.ctx, `UPDATE cases SET status = 'completed', next_check_at = NULL WHERE serial = 'DONE'`); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		spec    caseSpec
		scanned bool
	}{
		{with("SPECIAL", "special_procedure", nil), true},
		{with("SUPPLEMENT", "supplement_requested", nil), true},
		{with("BUNDLE", "submitted", func(s *caseSpec) { s.Item = "" }), true},
		{with("COMPLETED", "completed", func(s *caseSpec) { s.NextCheck = nil }), false},
		{with("REJECTED", "rejected_acceptance", func(s *caseSpec) { s.NextCheck = nil }), false},
		{with("WITHDRAWN", "withdrawn", func(s *caseSpec) { s.NextCheck = nil }), false},
		// A final case somehow still due is looked at once and dropped.
		{with("STALE", "withdrawn", nil), true},
	}
	scanned := 0
	for _, tt := range tests {
		f.insertCase(tt.spec)
		if tt.scanned {
			scanned++
		}
	}
	for _, now := range []time.Time{at("2026-11-20 10:00"), at("2026-12-31 10:00")} {
		rep := f.scanAt(now)
		if counts(rep) != [3]int{scanned, 0, 0} {
			t.Errorf("scan at %s = %+v, want %d scanned and nothing issued", show(&now), rep, scanned)
		}
		scanned = 0 // nothing is due again
	}
	for _, tt := range tests {
		if got := f.cardsOf(tt.spec.Serial); len(got) != 0 {
			t.Errorf("%s (%s) got cards %v", tt.spec.Serial, tt.spec.Status, got)
		}
		if next := f.nextCheck(tt.spec.Serial); next != nil {
			t.Errorf("%s (%s) next check %s, want none until an event", tt.spec.Serial, tt.spec.Status, show(next))
		}
	}
	after := f.cardsOf("DONE")
	if len(after) != 1 || !cardsEqual(after[cards.TimeLimitSlot], before[cards.TimeLimitSlot]) {
		t.Errorf("the completed case's card changed: %+v, was %+v", after, before)
	}
}

func cardsEqual(a, b heldCard) bool {
	return a.CardID == b.CardID && a.Level == b.Level && a.Rule == b.Rule && a.Status == b.Status &&
		a.UpdatedAt.Equal(b.UpdatedAt) && slices.EqualFunc(a.History, b.History, sameStep)
}

// With nothing due a scan reads the due index and writes nothing: not one
// row version changes.
func TestScanNothingDueTouchesNothing(t *testing.T) {
	f := newFixture(t)
	for i, next := range []*time.Time{ptr(at("2026-11-02 09:00:00.001")), ptr(start("2026-11-10")), nil, nil} {
		f.insertCase(caseSpec{Serial: fmt.Sprintf("C%d", i), Item: "IT-1", Status: "accepted",
			AcceptBy: ptr(end("2026-11-01")), Promised: ptr(end("2026-11-03")), NextCheck: next})
	}
	versions := func() map[string]string {
		rows, err := f.db.Query(f.ctx, `SELECT serial, xmin::text FROM cases`)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for rows.Next() {
			var s, x string
			if err := rows.Scan(&s, &x); err != nil {
				t.Fatal(err)
			}
			m[s] = x
		}
		return m
	}
	was := versions()
	rep := f.scanAt(at("2026-11-02 09:00"))
	if counts(rep) != [3]int{0, 0, 0} || rep.Running {
		t.Errorf("scan = %+v, want nothing scanned", rep)
	}
	if now := versions(); !maps.Equal(now, was) {
		t.Errorf("row versions %v, were %v", now, was)
	}
	if n := f.count(`SELECT count(*) FROM cards`) + f.count(`SELECT count(*) FROM webhook_deliveries`); n != 0 {
		t.Errorf("%d cards and deliveries written", n)
	}
}

// A scan that dies half-way (here its context is cancelled while it
// queues the deliveries of its second batch) leaves what it committed,
// whole: every card with its delivery and its case's next check. The next
// scan takes the rest; no case gets a card twice.
func TestScanCrashLosesNothing(t *testing.T) {
	f := newFixture(t)
	const n = 1200 // two batches
	if err := insertMany(f.ctx, f.db, "CRASH", n, bulk{AcceptBy: ptr(end("2026-11-04")), NextCheck: at("2026-11-02 09:00")}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	var enqueued atomic.Int64
	crashing := f.newBoard(f.newOutbox(func() time.Time {
		if enqueued.Add(1) == n-100 {
			cancel() // the replica dies here
		}
		return f.clock.Now()
	}))
	now := at("2026-11-05 08:00")
	f.clock.Set(now)
	rep, err := crashing.Scan(ctx)
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("crashing scan = %+v, %v; want context.Canceled", rep, err)
	}
	done := f.count(`SELECT count(*) FROM cards`)
	if done == 0 || done >= n {
		t.Fatalf("%d cards after the crash: want the first batch only", done)
	}
	checks := []struct {
		sql  string
		want int
	}{
		{`SELECT count(*) FROM webhook_deliveries WHERE type = 'card.issued'`, done},
		{`SELECT count(*) FROM cases WHERE next_check_at IS NULL`, done},
		{`SELECT count(*) FROM cases c JOIN cards k USING (case_id) WHERE c.next_check_at IS NOT NULL`, 0},
		{`SELECT count(*) FROM cases WHERE next_check_at <= '2026-11-05 08:00+08'`, n - done},
	}
	for _, c := range checks {
		if got := f.count(c.sql); got != c.want {
			t.Errorf("after the crash %s = %d, want %d", c.sql, got, c.want)
		}
	}

	// The lock died with the scan: the next one runs and finishes.
	rep = f.scanAt(now)
	if counts(rep) != [3]int{n - done, n - done, 0} {
		t.Errorf("scan after the crash = %+v, want %d scanned and issued", rep, n-done)
	}
	if rep = f.scanAt(now); counts(rep) != [3]int{0, 0, 0} {
		t.Errorf("third scan = %+v", rep)
	}
	for _, c := range []struct {
		sql  string
		want int
	}{
		{`SELECT count(*) FROM cards`, n},
		{`SELECT count(DISTINCT case_id) FROM cards`, n},
		{`SELECT count(*) FROM webhook_deliveries WHERE type = 'card.issued'`, n},
		{`SELECT count(*) FROM cases WHERE next_check_at IS NOT NULL`, 0},
	} {
		if got := f.count(c.sql); got != c.want {
			t.Errorf("at the end %s = %d, want %d", c.sql, got, c.want)
		}
	}
}

// The scan names the years within a year from now that have no calendar.
func TestScanWarnsOfMissingYears(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		now  time.Time
		want []string
	}{
		{at("2025-06-01 10:00"), nil}, // 2025 and 2026 are shipped
		{at("2026-11-23 10:00"), []string{"no working-day calendar for 2027: weekdays only"}},
		{at("2027-06-01 10:00"), []string{"no working-day calendar for 2027: weekdays only", "no working-day calendar for 2028: weekdays only"}},
	}
	for _, tt := range tests {
		if got := f.scanAt(tt.now).Warnings; !slices.Equal(got, tt.want) {
			t.Errorf("warnings at %s = %q, want %q", show(&tt.now), got, tt.want)
		}
	}
	y, err := calendar.ParseYear(2027, calendar.YearInput{Holidays: []string{"2027-01-01"}, Workdays: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.cals.Put(f.ctx, admin.ID, y); err != nil {
		t.Fatal(err)
	}
	if got := f.scanAt(at("2026-11-23 10:00")).Warnings; len(got) != 0 {
		t.Errorf("warnings once 2027 is stored = %q", got)
	}
}

// Thresholds: an item's wins over its department's; storing one makes the
// open cases it applies to due at once.
func TestScanAppliesThresholds(t *testing.T) {
	f := newFixture(t)
	// All promised by Wednesday 11-25.
	for _, c := range []struct{ serial, item, dept string }{{"TA", "I-1", "D-1"}, {"TB", "I-2", "D-1"}, {"TC", "I-3", "D-2"}} {
		f.insertCase(caseSpec{Serial: c.serial, Item: c.item, Department: c.dept, Status: "accepted",
			Promised: ptr(end("2026-11-25")), Legal: ptr(end("2026-12-31")), NextCheck: ptr(at("2026-11-02 09:00"))})
	}
	for _, th := range []struct {
		scope cards.Scope
		code  string
		days  int
	}{{cards.ItemScope, "I-1", 1}, {cards.DepartmentScope, "D-1", 2}} {
		if err := f.board.PutThreshold(f.ctx, admin.ID, th.scope, th.code, cards.Thresholds{YellowDaysBefore: th.days}); err != nil {
			t.Fatal(err)
		}
	}
	if rep := f.scanAt(at("2026-11-20 10:00")); counts(rep) != [3]int{3, 0, 0} {
		t.Fatalf("scan on Friday = %+v", rep)
	}
	for serialNo, want := range map[string]time.Time{"TA": start("2026-11-24"), "TB": start("2026-11-23"), "TC": start("2026-11-25")} {
		if got := f.nextCheck(serialNo); !sameInstant(got, &want) {
			t.Errorf("%s next check %s, want %s", serialNo, show(got), show(&want))
		}
	}
	if rep := f.scanAt(at("2026-11-23 08:00")); counts(rep) != [3]int{1, 1, 0} || f.cardsOf("TB")[cards.TimeLimitSlot].Level != cards.Yellow {
		t.Fatalf("scan on Monday = %+v, cards %v", rep, f.held())
	}

	// D-2 now wants three days' notice: TC is due at once, TA untouched.
	f.clock.Set(at("2026-11-23 09:00"))
	if err := f.board.PutThreshold(f.ctx, admin.ID, cards.DepartmentScope, "D-2", cards.Thresholds{YellowDaysBefore: 3}); err != nil {
		t.Fatal(err)
	}
	if got := f.nextCheck("TC"); !sameInstant(got, ptr(at("2026-11-23 09:00"))) {
		t.Errorf("TC next check after the new threshold = %s", show(got))
	}
	if rep := f.scanAt(at("2026-11-23 09:00")); counts(rep) != [3]int{1, 1, 0} {
		t.Errorf("scan after the new threshold = %+v", rep)
	}
	if got := f.held(); !maps.Equal(got, map[string]cards.Level{"TB/time_limit": cards.Yellow, "TC/time_limit": cards.Yellow}) {
		t.Errorf("cards = %v", got)
	}

	for _, tt := range []struct {
		scope cards.Scope
		code  string
		want  int
	}{{cards.ItemScope, "I-1", 1}, {cards.DepartmentScope, "D-1", 2}, {cards.DepartmentScope, "D-2", 3}, {cards.ItemScope, "I-9", 0}, {cards.ItemScope, "D-1", 0}} {
		got, err := f.board.Threshold(f.ctx, tt.scope, tt.code)
		if err != nil || got.YellowDaysBefore != tt.want {
			t.Errorf("Threshold(%s, %s) = %+v, %v; want %d", tt.scope, tt.code, got, err, tt.want)
		}
	}
	for _, tt := range []struct {
		code   string
		days   int
		status int
		pcode  string
	}{{"I-1", 31, 422, "validation_failed"}, {"I-1", -1, 422, "validation_failed"}, {"not a code!", 1, 404, "not_found"}} {
		err := f.board.PutThreshold(f.ctx, admin.ID, cards.ItemScope, tt.code, cards.Thresholds{YellowDaysBefore: tt.days})
		wantProblem(t, err, tt.status, tt.pcode)
	}
}

// Through shared/cases: every event makes the case due, and the scan
// follows the deadlines the events set (acceptance, a special procedure
// that moves them, completion).
func TestScanFollowsCaseEvents(t *testing.T) {
	f := newFixture(t)
	d := f.desk()
	f.clock.Set(at("2026-11-02 10:00")) // Monday
	s := f.submit(d, portal, "IT-A", "online", "130102")
	if got := f.nextCheck(s); !sameInstant(got, ptr(at("2026-11-02 10:00"))) {
		t.Fatalf("a new case's next check = %s, want its reception", show(got))
	}
	steps := []struct {
		name   string
		event  cases.EventType // posted at now by deptA, before the scan
		now    time.Time
		counts [3]int
		held   map[string]cards.Level
		next   *time.Time
	}{
		{"received", "", at("2026-11-02 10:05"), [3]int{1, 0, 0}, map[string]cards.Level{}, ptr(start("2026-11-05"))},
		{"nothing new", "", at("2026-11-02 10:06"), [3]int{0, 0, 0}, map[string]cards.Level{}, ptr(start("2026-11-05"))},
		{"acceptBy 11-04 passed", "", at("2026-11-05 09:00"), [3]int{1, 1, 0}, map[string]cards.Level{"acceptance_overdue": cards.Red}, nil},
		// Accepted 11-05: promised 11-10, legal 11-12.
		{"accepted", cases.EventAccepted, at("2026-11-05 09:30"), [3]int{1, 0, 0}, map[string]cards.Level{"acceptance_overdue": cards.Red}, ptr(start("2026-11-10"))},
		{"special procedure", cases.EventSpecialProcedureStart, at("2026-11-06 10:00"), [3]int{1, 0, 0}, map[string]cards.Level{"acceptance_overdue": cards.Red}, nil},
		// Ended Monday 11-09: one working day spent, promised 11-11, legal 11-13.
		{"special procedure ends", cases.EventSpecialProcedureEnd, at("2026-11-09 10:00"), [3]int{1, 0, 0}, map[string]cards.Level{"acceptance_overdue": cards.Red}, ptr(start("2026-11-11"))},
		{"old promised day is no longer it", "", at("2026-11-10 12:00"), [3]int{0, 0, 0}, map[string]cards.Level{"acceptance_overdue": cards.Red}, ptr(start("2026-11-11"))},
		{"promised day", "", at("2026-11-11 08:00"), [3]int{1, 1, 0}, map[string]cards.Level{"acceptance_overdue": cards.Red, "time_limit": cards.Yellow}, ptr(start("2026-11-12"))},
		{"promised passed", "", at("2026-11-12 08:00"), [3]int{1, 0, 1}, map[string]cards.Level{"acceptance_overdue": cards.Red, "time_limit": cards.Red}, ptr(start("2026-11-14"))},
		{"legal passed", "", at("2026-11-14 08:00"), [3]int{1, 0, 1}, map[string]cards.Level{"acceptance_overdue": cards.Red, "time_limit": cards.Black}, nil},
		{"approved late", cases.EventApproved, at("2026-11-16 10:00"), [3]int{1, 0, 0}, map[string]cards.Level{"acceptance_overdue": cards.Red, "time_limit": cards.Black}, nil},
		{"completed: final", cases.EventCompleted, at("2026-11-16 11:00"), [3]int{0, 0, 0}, map[string]cards.Level{"acceptance_overdue": cards.Red, "time_limit": cards.Black}, nil},
	}
	for _, st := range steps {
		if st.event != "" {
			f.post(d, deptA, s, st.now.Add(-time.Minute), cases.EventInput{Type: st.event})
		}
		rep := f.scanAt(st.now)
		if counts(rep) != st.counts {
			t.Fatalf("%s: scan = %+v, want %v", st.name, rep, st.counts)
		}
		got := map[string]cards.Level{}
		for slot, c := range f.cardsOf(s) {
			got[string(slot)] = c.Level
		}
		if !maps.Equal(got, st.held) {
			t.Fatalf("%s: cards %v, want %v", st.name, got, st.held)
		}
		if next := f.nextCheck(s); !sameInstant(next, st.next) {
			t.Errorf("%s: next check %s, want %s", st.name, show(next), show(st.next))
		}
	}

	// The case view shows both cards, oldest first (ExtendView).
	v, err := d.Get(f.ctx, supervisor, s)
	if err != nil {
		t.Fatal(err)
	}
	var shown []cards.Card
	for _, raw := range v.Cards {
		var c cards.Card
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		shown = append(shown, c)
	}
	if len(shown) != 2 || shown[0].Rule != cards.AcceptanceOverdue || shown[1].Rule != cards.LegalExceeded ||
		len(shown[1].History) != 3 || shown[1].CaseSerial != s {
		t.Errorf("the case view's cards = %+v", shown)
	}
	// Card deliveries share the case's stream with its events, in order.
	var types []string
	for _, dl := range f.deliveries(s) {
		if strings.HasPrefix(dl.Type, "card.") {
			types = append(types, dl.Type)
		}
	}
	if want := []string{"card.issued", "card.issued", "card.escalated", "card.escalated"}; !slices.Equal(types, want) {
		t.Errorf("card deliveries %v, want %v", types, want)
	}
}

// A case an event holds (its row lock) is skipped, not waited for: the
// scan goes on with the others, and the case stays due for the next one.
func TestScanSkipsCasesAnEventHolds(t *testing.T) {
	f := newFixture(t)
	for _, s := range []string{"E1", "E2", "E3"} {
		f.insertCase(caseSpec{Serial: s, Item: "IT-1", AcceptBy: ptr(end("2026-11-04")), NextCheck: ptr(at("2026-11-02 09:00"))})
	}
	event, err := f.db.Begin(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer event.Rollback(f.ctx)
	if _, err := event.Exec(f.ctx, `SELECT 1 FROM cases WHERE serial = 'E2' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(f.ctx, 30*time.Second) // a scan that waited would hang here
	defer cancel()
	f.clock.Set(at("2026-11-05 08:00"))
	rep, err := f.board.Scan(ctx)
	if err != nil || counts(rep) != [3]int{2, 2, 0} {
		t.Fatalf("scan while E2 is locked = %+v, %v; want E1 and E3 only", rep, err)
	}
	// The event: accepted late, the case due at its time.
	if _, err := event.Exec(f.ctx, `UPDATE cases SET status = 'accepted', promised_due = $1, next_check_at = $2 WHERE serial = 'E2'`,
		end("2026-11-09"), at("2026-11-05 08:00:30")); err != nil {
		t.Fatal(err)
	}
	if err := event.Commit(f.ctx); err != nil {
		t.Fatal(err)
	}
	if rep := f.scanAt(at("2026-11-05 08:01")); counts(rep) != [3]int{1, 0, 0} {
		t.Errorf("scan after the event = %+v, want E2 scanned (no card: accepted, promised 11-09)", rep)
	}
	if got := f.held(); !maps.Equal(got, map[string]cards.Level{"E1/acceptance_overdue": cards.Red, "E3/acceptance_overdue": cards.Red}) {
		t.Errorf("cards = %v", got)
	}
}

// A calendar published after a case was accepted moves its deadlines: the
// contract's promisedDue is WD(acceptance, promisedDays) in the calendar
// in force, and PUT /calendar/{year} promises that every open case is
// looked at again. Accepted Wednesday 2026-12-30 with 3 working days and
// no 2027 calendar, the case was promised by Monday 2027-01-04; once 2027
// makes 01-01 a holiday it is promised by Tuesday 01-05.
func TestScanAfterCalendarChangeMovesDeadlines(t *testing.T) {
	f := newFixture(t)
	accepted := at("2026-12-30 10:00")
	cal, err := f.cals.Calendar(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.insertCase(caseSpec{Serial: "NEWYEAR", Item: "IT-1", Status: "accepted", AcceptedAt: &accepted, PromisedDays: 3, LegalDays: 10,
		AcceptBy: ptr(end("2026-12-31")), Promised: ptr(cal.WD(accepted, 3)), Legal: ptr(cal.WD(accepted, 10)), NextCheck: &accepted})
	if got := f.nextCheck("NEWYEAR"); got == nil {
		t.Fatal("no next check")
	}
	if rep := f.scanAt(at("2026-12-30 11:00")); counts(rep) != [3]int{1, 0, 0} {
		t.Fatalf("first scan = %+v", rep)
	}

	f.clock.Set(at("2027-01-02 10:00"))
	y, err := calendar.ParseYear(2027, calendar.YearInput{Holidays: []string{"2027-01-01", "2027-01-02", "2027-01-03"}, Workdays: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.cals.Put(f.ctx, admin.ID, y); err != nil {
		t.Fatal(err)
	}
	if _, err := f.board.Recheck(f.ctx); err != nil { // what PUT /calendar/{year} does
		t.Fatal(err)
	}
	f.scanAt(at("2027-01-05 10:00"))
	if got := f.cardsOf("NEWYEAR")[cards.TimeLimitSlot]; got.Level != cards.Yellow || got.Rule != cards.PromisedApproaching {
		t.Errorf("on the promised day 2027-01-05 the card is %s %s, want yellow promised_approaching", got.Level, got.Rule)
	}
}

// Replicas cache the calendar (calendar.DefaultTTL, 30 s). PUT
// /calendar/{year} on replica A makes every open case due, but the cron
// may reach replica B, whose cached calendar predates the PUT: B looks at
// every case once more with the old calendar and sets their next checks
// by it, and nothing makes them due again. Here a one-day notice before
// Monday 2027-01-04 should start on Thursday 2026-12-31 once 2027-01-01
// is a holiday; B schedules it for Friday 01-01 and the card comes late.
func TestScanOnAnotherReplicaAfterCalendarChange(t *testing.T) {
	f := newFixture(t)
	replicaB, err := cards.New(cards.Config{DB: f.db, Calendars: calendar.NewStore(f.db, calendar.StoreConfig{TTL: time.Hour}),
		Outbox: f.outbox, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	scanB := func(now time.Time) cards.Report {
		t.Helper()
		f.clock.Set(now)
		rep, err := replicaB.Scan(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if err := f.board.PutThreshold(f.ctx, admin.ID, cards.ItemScope, "IT-1", cards.Thresholds{YellowDaysBefore: 1}); err != nil {
		t.Fatal(err)
	}
	f.insertCase(caseSpec{Serial: "NOTICE", Item: "IT-1", Status: "accepted", Promised: ptr(end("2027-01-04")),
		Legal: ptr(end("2027-01-29")), NextCheck: ptr(at("2026-12-30 09:00"))})
	scanB(at("2026-12-30 10:00"))
	if got := f.nextCheck("NOTICE"); !sameInstant(got, ptr(start("2027-01-01"))) {
		t.Fatalf("next check without a 2027 calendar = %s", show(got))
	}
	// Replica A stores 2027 and makes every open case due.
	f.clock.Set(at("2026-12-30 10:01"))
	y, err := calendar.ParseYear(2027, calendar.YearInput{Holidays: []string{"2027-01-01", "2027-01-02", "2027-01-03"}, Workdays: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.cals.Put(f.ctx, admin.ID, y); err != nil {
		t.Fatal(err)
	}
	if _, err := f.board.Recheck(f.ctx); err != nil {
		t.Fatal(err)
	}
	scanB(at("2026-12-30 10:02"))
	if got := f.nextCheck("NOTICE"); !sameInstant(got, ptr(start("2026-12-31"))) {
		t.Errorf("next check once 2027 is published = %s, want 2026-12-31 00:00", show(got))
	}
	scanB(at("2026-12-31 08:00"))
	if got := f.cardsOf("NOTICE")[cards.TimeLimitSlot]; got.Level != cards.Yellow {
		t.Errorf("on 12-31, the last working day before the promised Monday, no yellow card (%+v)", got.Card)
	}
}

// A replica configured with DB_MAX_CONNS=1 (config.Validate accepts it)
// must still scan: Scan holds its advisory lock on one pooled connection
// and then waits for a second one for its batches, forever.
func TestScanWithOneConnection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := store.Open(ctx, testenv.DatabaseURL(t), store.PoolOptions{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	outbox, err := webhook.New(db, webhook.Config{Endpoints: noEndpoints})
	if err != nil {
		t.Fatal(err)
	}
	board, err := cards.New(cards.Config{DB: db, Calendars: calendar.NewStore(db, calendar.StoreConfig{}), Outbox: outbox})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := board.Scan(ctx); err != nil {
		t.Fatalf("scan over a pool of one connection = %+v, %v", rep, err)
	}
}

// The environment of TestScanRaceWorker, the child process of
// TestScanRaceAcrossProcesses.
const (
	envRaceDB     = "CARDS_RACE_DB"     // database URL; its presence makes TestScanRaceWorker run
	envRaceRounds = "CARDS_RACE_ROUNDS" // the scan instants, RFC 3339, comma separated
)

// The race of contract section 6: scans overlapping from replicas never
// double-issue. Two OS processes, each with its own pool and board (this
// test binary run again as TestScanRaceWorker), scan the same few thousand
// due cases at three instants, started together. UNIQUE (case_id, slot)
// turns a double issue into an error, so both must succeed, and what they
// report must add up to what is stored.
func TestScanRaceAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two processes")
	}
	const n = 2000
	url := testenv.DatabaseURL(t)
	f := newFixtureOn(t, url)
	if err := insertMany(f.ctx, f.db, "RACE", n, bulk{Status: "accepted", AcceptBy: ptr(end("2026-11-04")),
		Promised: ptr(end("2026-11-10")), Legal: ptr(end("2026-11-12")), NextCheck: at("2026-11-02 09:00")}); err != nil {
		t.Fatal(err)
	}
	rounds := []time.Time{at("2026-11-10 08:00"), at("2026-11-11 08:00"), at("2026-11-13 08:00")} // yellow, red, black
	var list []string
	for _, r := range rounds {
		list = append(list, r.Format(time.RFC3339Nano))
	}
	ctx, cancel := context.WithTimeout(f.ctx, 2*time.Minute)
	defer cancel()

	type worker struct {
		cmd    *exec.Cmd
		stdin  io.WriteCloser
		lines  *bufio.Scanner
		stderr bytes.Buffer
	}
	workers := make([]*worker, 2)
	for i := range workers {
		w := &worker{cmd: exec.CommandContext(ctx, os.Args[0], "-test.run=^TestScanRaceWorker$", "-test.count=1")}
		w.cmd.Env = append(os.Environ(), envRaceDB+"="+url, envRaceRounds+"="+strings.Join(list, ","))
		w.cmd.Stderr = &w.stderr
		var err error
		if w.stdin, err = w.cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		out, err := w.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		w.lines = bufio.NewScanner(out)
		if err := w.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		workers[i] = w
	}
	// Start both at once: each says ready once its pool and board are up.
	for i, w := range workers {
		if !w.lines.Scan() || w.lines.Text() != "ready" {
			_ = w.cmd.Wait()
			t.Fatalf("worker %d did not get ready: %q %s", i, w.lines.Text(), w.stderr.Bytes())
		}
	}
	for _, w := range workers {
		if _, err := io.WriteString(w.stdin, "go\n"); err != nil {
			t.Fatal(err)
		}
	}
	var reports []cards.Report
	for i, w := range workers {
		var rest []string
		for w.lines.Scan() {
			line := w.lines.Text()
			js, ok := strings.CutPrefix(line, "report ")
			if !ok {
				rest = append(rest, line)
				continue
			}
			var rep cards.Report
			if err := json.Unmarshal([]byte(js), &rep); err != nil {
				t.Fatal(err)
			}
			reports = append(reports, rep)
		}
		if err := w.cmd.Wait(); err != nil {
			t.Fatalf("worker %d: %v\n%s\n%s", i, err, strings.Join(rest, "\n"), w.stderr.Bytes())
		}
	}
	if len(reports) != 2*len(rounds) {
		t.Fatalf("%d reports, want %d", len(reports), 2*len(rounds))
	}
	var issued, escalated, running int
	for _, r := range reports {
		issued += r.Issued
		escalated += r.Escalated
		if r.Running {
			running++
		}
	}
	t.Logf("%d of %d scans found the other running", running, len(reports))
	for _, c := range []struct {
		what string
		sql  string
		want int
	}{
		{"cards", `SELECT count(*) FROM cards`, n},
		{"cards issued (reported)", `SELECT count(*) FROM cards`, issued},
		{"escalations (reported)", `SELECT coalesce(sum(jsonb_array_length(history) - 1), 0) FROM cards`, escalated},
		{"deliveries", `SELECT count(*) FROM webhook_deliveries`, issued + escalated},
		{"black cards", `SELECT count(*) FROM cards WHERE level = 'black' AND rule = 'legal_exceeded'`, n},
		{"cases still due", `SELECT count(*) FROM cases WHERE next_check_at IS NOT NULL`, 0},
	} {
		if got := f.count(c.sql); got != c.want {
			t.Errorf("%s: %s = %d, want %d", c.what, c.sql, got, c.want)
		}
	}
	if rep := f.scanAt(rounds[len(rounds)-1]); counts(rep) != [3]int{0, 0, 0} {
		t.Errorf("a scan after the race = %+v", rep)
	}
}

// TestScanRaceWorker is the child process of TestScanRaceAcrossProcesses;
// run on its own it skips.
func TestScanRaceWorker(t *testing.T) {
	url := os.Getenv(envRaceDB)
	if url == "" {
		t.Skip("helper process of TestScanRaceAcrossProcesses")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, url, store.PoolOptions{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	clk := &clock{}
	outbox, err := webhook.New(db, webhook.Config{Endpoints: noEndpoints, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	board, err := cards.New(cards.Config{DB: db, Calendars: calendar.NewStore(db, calendar.StoreConfig{}), Outbox: outbox, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	var rounds []time.Time
	for _, s := range strings.Split(os.Getenv(envRaceRounds), ",") {
		r, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		rounds = append(rounds, r)
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	for _, r := range rounds {
		clk.Set(r)
		rep, err := board.Scan(ctx)
		if err != nil {
			t.Fatalf("scan at %s: %v", r, err)
		}
		b, _ := json.Marshal(rep)
		fmt.Printf("report %s\n", b)
	}
}
