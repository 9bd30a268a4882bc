package cases

import (
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/problem"
)

// The expected state machine is derived from the contract's text, not from
// the transitions map: contractMachine is section 4's diagram copied
// verbatim, and the statuses and event types below are spelled as the
// contract spells them (string literals, not this package's constants), so
// a typo in a constant or a wrong edge in the map shows up as a mismatch.
const contractMachine = `
    submitted            -> accepted | rejected_acceptance | supplement_requested
    supplement_requested -> supplement_completed (back to submitted)
    accepted             -> special_procedure_start (to special_procedure)
                          | payment_requested (to awaiting_payment) | approved | denied
    special_procedure    -> special_procedure_end (back to accepted)
    awaiting_payment     -> paid (back to accepted)
    approved | denied    -> completed
    any non-final        -> withdrawn
    final: completed, rejected_acceptance, withdrawn
`

// contractStatuses is the contract's "Statuses:" list.
var contractStatuses = []Status{
	"submitted", "supplement_requested", "accepted", "special_procedure", "awaiting_payment",
	"approved", "denied", "completed", "rejected_acceptance", "withdrawn",
}

// contractEvents are the event types the contract names: the first event
// of every case, those of the diagram, and the two kinds of feedback.
var contractEvents = []EventType{
	"submitted", "accepted", "rejected_acceptance", "supplement_requested", "supplement_completed",
	"special_procedure_start", "special_procedure_end", "payment_requested", "paid",
	"approved", "denied", "completed", "withdrawn", "evaluation", "complaint",
}

// machine is the contract's diagram as data.
type machine struct {
	edges map[Status]map[EventType]Status
	final map[Status]bool
}

// parseMachine reads contractMachine. An alternative "e" leads to the
// status named like the event; "e (to s)" and "e (back to s)" lead to s.
func parseMachine(t *testing.T, text string) machine {
	t.Helper()
	m := machine{edges: map[Status]map[EventType]Status{}, final: map[Status]bool{}}
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
		case strings.HasPrefix(l, "|"): // continues the previous line's alternatives
			lines[len(lines)-1] += " " + l
		default:
			lines = append(lines, l)
		}
	}
	var anyNonFinal []EventType
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, "final:"); ok {
			for _, s := range strings.Split(rest, ",") {
				m.final[Status(strings.TrimSpace(s))] = true
			}
			continue
		}
		from, to, ok := strings.Cut(l, "->")
		if !ok {
			t.Fatalf("contract line %q has no ->", l)
		}
		var alts []EventType
		var targets []Status
		for _, alt := range strings.Split(to, "|") {
			alt = strings.TrimSpace(alt)
			ev, target, _ := strings.Cut(alt, " (")
			target = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(target, "back "), "to "), ")")
			if target == "" {
				target = ev
			}
			alts = append(alts, EventType(ev))
			targets = append(targets, Status(target))
		}
		if strings.TrimSpace(from) == "any non-final" {
			anyNonFinal = append(anyNonFinal, alts...)
			continue
		}
		for _, f := range strings.Split(from, "|") {
			s := Status(strings.TrimSpace(f))
			if m.edges[s] == nil {
				m.edges[s] = map[EventType]Status{}
			}
			for i, ev := range alts {
				m.edges[s][ev] = targets[i]
			}
		}
	}
	// "any non-final -> withdrawn" is read after "final:" is known.
	for _, s := range contractStatuses {
		if m.final[s] {
			continue
		}
		if m.edges[s] == nil {
			m.edges[s] = map[EventType]Status{}
		}
		for _, ev := range anyNonFinal {
			m.edges[s][ev] = Status(ev)
		}
	}
	return m
}

// outcome is what Next should answer: a status, or a 409 with a code.
type outcome struct {
	status Status
	code   string
}

// expect applies the contract's prose on top of the diagram: feedback keeps
// any status, final ones included; approved while awaiting_payment is
// payment_outstanding; every other missing edge is illegal_transition.
func (m machine) expect(s Status, ev EventType) outcome {
	switch {
	case ev == "evaluation" || ev == "complaint":
		return outcome{status: s}
	case m.final[s]:
		return outcome{code: "illegal_transition"}
	}
	if to, ok := m.edges[s][ev]; ok {
		return outcome{status: to}
	}
	if s == "awaiting_payment" && ev == "approved" {
		return outcome{code: "payment_outstanding"}
	}
	return outcome{code: "illegal_transition"}
}

// gotOutcome runs Next and checks that any error is a 409 problem.
func gotOutcome(t *testing.T, s Status, ev EventType) outcome {
	t.Helper()
	next, err := Next(s, ev)
	if err == nil {
		return outcome{status: next}
	}
	p, ok := problem.As(err)
	if !ok {
		t.Fatalf("Next(%s, %s) = %v, not a *problem.Problem", s, ev, err)
	}
	if p.Status != http.StatusConflict {
		t.Errorf("Next(%s, %s): HTTP status %d, want 409", s, ev, p.Status)
	}
	return outcome{code: p.Code}
}

// TestContractMachineParsed pins the parse itself, so that a parser bug
// cannot make TestNext agree with a wrong map.
func TestContractMachineParsed(t *testing.T) {
	m := parseMachine(t, contractMachine)
	edges := 0
	for _, next := range m.edges {
		edges += len(next)
	}
	// 3 + 1 + 4 + 1 + 1 + 2 (approved, denied) edges, plus withdrawn from 7 non-final statuses.
	if edges != 12+7 {
		t.Errorf("parsed %d edges, want 19: %v", edges, m.edges)
	}
	if len(m.final) != 3 {
		t.Errorf("parsed final statuses %v, want 3", m.final)
	}
	for s, next := range m.edges {
		if !slices.Contains(contractStatuses, s) {
			t.Errorf("parsed unknown status %q", s)
		}
		for ev, to := range next {
			if !slices.Contains(contractEvents, ev) || !slices.Contains(contractStatuses, to) {
				t.Errorf("parsed edge %s -%s-> %s names something the contract does not list", s, ev, to)
			}
		}
	}
	spot := []struct {
		from Status
		ev   EventType
		to   Status
	}{
		{"supplement_requested", "supplement_completed", "submitted"},
		{"accepted", "payment_requested", "awaiting_payment"},
		{"accepted", "denied", "denied"},
		{"awaiting_payment", "paid", "accepted"},
		{"denied", "completed", "completed"},
		{"special_procedure", "withdrawn", "withdrawn"},
	}
	for _, e := range spot {
		if got := m.edges[e.from][e.ev]; got != e.to {
			t.Errorf("parsed %s -%s-> %q, want %s", e.from, e.ev, got, e.to)
		}
	}
}

func TestNext(t *testing.T) {
	m := parseMachine(t, contractMachine)
	// Beyond the contract's types: what a caller might send by mistake.
	events := append(slices.Clone(contractEvents), "", "bogus", "Accepted", "special_procedure")
	for _, s := range contractStatuses {
		for _, ev := range events {
			want := m.expect(s, ev)
			if got := gotOutcome(t, s, ev); got != want {
				t.Errorf("Next(%q, %q) = %+v, want %+v", s, ev, got, want)
			}
		}
	}
}

// TestNextRules restates the rules of the brief one by one, so that a
// failure names the rule rather than a cell of the table.
func TestNextRules(t *testing.T) {
	final := []Status{"completed", "rejected_acceptance", "withdrawn"}
	for _, s := range contractStatuses {
		isFinal := slices.Contains(final, s)
		if s.Final() != isFinal {
			t.Errorf("%s.Final() = %v, want %v", s, s.Final(), isFinal)
		}
		for _, ev := range []EventType{"evaluation", "complaint"} {
			if got := gotOutcome(t, s, ev); got != (outcome{status: s}) {
				t.Errorf("feedback %s in %s = %+v, want the status kept", ev, s, got)
			}
		}
		got := gotOutcome(t, s, "withdrawn")
		switch {
		case isFinal && got.code != "illegal_transition":
			t.Errorf("withdrawn in final %s = %+v, want illegal_transition", s, got)
		case !isFinal && got.status != "withdrawn":
			t.Errorf("withdrawn in %s = %+v, want withdrawn", s, got)
		}
		if isFinal {
			for _, ev := range contractEvents {
				if ev == "evaluation" || ev == "complaint" {
					continue
				}
				if got := gotOutcome(t, s, ev); got.code != "illegal_transition" {
					t.Errorf("%s in final %s = %+v, want illegal_transition", ev, s, got)
				}
			}
		}
		// The submission writes the first event; no later event re-submits.
		if got := gotOutcome(t, s, "submitted"); got.status != "" {
			t.Errorf("submitted in %s = %+v, want an error", s, got)
		}
	}
	if got := gotOutcome(t, "awaiting_payment", "approved"); got.code != "payment_outstanding" {
		t.Errorf("approved while awaiting_payment = %+v, want payment_outstanding", got)
	}
	// Only approval has the special code: a denial awaiting payment is plain illegal.
	if got := gotOutcome(t, "awaiting_payment", "denied"); got.code != "illegal_transition" {
		t.Errorf("denied while awaiting_payment = %+v, want illegal_transition", got)
	}
}

// eventTarget is the one status each status-changing event can lead to,
// read off the contract's diagram.
var eventTarget = map[EventType]Status{
	"accepted":                "accepted",
	"rejected_acceptance":     "rejected_acceptance",
	"supplement_requested":    "supplement_requested",
	"supplement_completed":    "submitted",
	"special_procedure_start": "special_procedure",
	"special_procedure_end":   "accepted",
	"payment_requested":       "awaiting_payment",
	"paid":                    "accepted",
	"approved":                "approved",
	"denied":                  "denied",
	"completed":               "completed",
	"withdrawn":               "withdrawn",
}

// TestNextRandomWalks drives cases through random event sequences and
// checks invariants that must hold along any history: refusals are 409s
// that leave the case as it was, feedback never moves it, a final status
// is never left, and each status is entered only from where the contract
// allows.
func TestNextRandomWalks(t *testing.T) {
	const walks, steps = 3000, 40
	rng := rand.New(rand.NewPCG(20261122, 1)) // fixed: a failure replays
	events := append(slices.Clone(contractEvents), "bogus")
	enterFrom := map[Status][]Status{ // allowed predecessors when a status is entered
		"accepted":  {"submitted", "special_procedure", "awaiting_payment"},
		"completed": {"approved", "denied"},
		"approved":  {"accepted"},
		"denied":    {"accepted"},
	}
	reached := map[Status]bool{}
	taken := map[[2]string]bool{}
	for w := range walks {
		s := Status("submitted")
		var history []Status
		for range steps {
			ev := events[rng.IntN(len(events))]
			next, err := Next(s, ev)
			if err != nil {
				if p, ok := problem.As(err); !ok || p.Status != http.StatusConflict ||
					(p.Code != "illegal_transition" && p.Code != "payment_outstanding") {
					t.Fatalf("walk %d: Next(%s, %s) = %v, want a 409 illegal_transition or payment_outstanding", w, s, ev, err)
				}
				if ev == "evaluation" || ev == "complaint" {
					t.Fatalf("walk %d: feedback %s refused in %s: %v", w, ev, s, err)
				}
				continue // a refused event leaves the case as it was
			}
			if !slices.Contains(contractStatuses, next) {
				t.Fatalf("walk %d: Next(%s, %s) = %q, not a contract status", w, s, ev, next)
			}
			if ev == "evaluation" || ev == "complaint" {
				if next != s {
					t.Fatalf("walk %d: feedback %s moved %s to %s", w, ev, s, next)
				}
				continue
			}
			if s.Final() {
				t.Fatalf("walk %d: final %s left by %s to %s", w, s, ev, next)
			}
			if want, ok := eventTarget[ev]; !ok || next != want {
				t.Fatalf("walk %d: %s in %s led to %s; the contract lets it lead only to %q", w, ev, s, next, want)
			}
			if from, ok := enterFrom[next]; ok && next != s && !slices.Contains(from, s) {
				t.Fatalf("walk %d: %s entered from %s (history %v)", w, next, s, history)
			}
			taken[[2]string{string(s), string(ev)}] = true
			history = append(history, s)
			s = next
			reached[s] = true
		}
	}
	// The walks must actually explore the machine, or the invariants above
	// prove little: every status is reached and every legal edge taken.
	for _, s := range contractStatuses[1:] {
		if !reached[s] {
			t.Errorf("no walk reached %s", s)
		}
	}
	m := parseMachine(t, contractMachine)
	for s, next := range m.edges {
		for ev := range next {
			if !taken[[2]string{string(s), string(ev)}] {
				t.Errorf("no walk took %s -%s->", s, ev)
			}
		}
	}
}

func TestMayPost(t *testing.T) {
	const submitter, dept = "portal-1", "D001"
	handling := auth.App{ID: "dept-sys", Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{"D002", dept}}
	applicant := auth.App{ID: submitter, Roles: []auth.Role{auth.RolePlatform}}
	applicantEvs := []EventType{"supplement_completed", "withdrawn", "evaluation", "complaint"}
	all := func(ev EventType) bool { return ev != "paid" && ev != "submitted" }
	only := func(evs ...EventType) func(EventType) bool {
		return func(ev EventType) bool { return slices.Contains(evs, ev) }
	}
	none := func(EventType) bool { return false }
	tests := []struct {
		name       string
		app        auth.App
		department string
		may        func(EventType) bool
	}{
		{"handling department", handling, dept, all},
		{"submitting platform app", applicant, dept, only(applicantEvs...)},
		// A department that submitted at its own window is also the handler.
		{"handling department that submitted", auth.App{ID: submitter, Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{dept}}, dept, all},
		{"another department", auth.App{ID: "dept-other", Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{"D002"}}, dept, none},
		// Departments are listed only for department apps; without the role they grant nothing.
		{"platform app listing the department", auth.App{ID: "portal-2", Roles: []auth.Role{auth.RolePlatform}, Departments: []string{dept}}, dept, none},
		{"another platform app", auth.App{ID: "portal-2", Roles: []auth.Role{auth.RolePlatform}}, dept, none},
		{"supervisor", auth.App{ID: "sup", Roles: []auth.Role{auth.RoleSupervisor}}, dept, none},
		{"admin", auth.App{ID: "adm", Roles: []auth.Role{auth.RoleAdmin}}, dept, none},
		{"supervisor and admin", auth.App{ID: "boss", Roles: []auth.Role{auth.RoleSupervisor, auth.RoleAdmin}}, dept, none},
		{"payment provider", auth.App{ID: "bank", Roles: []auth.Role{auth.RolePaymentProvider}}, dept, none},
		{"logistics provider", auth.App{ID: "courier", Roles: []auth.Role{auth.RoleLogisticsProvider}}, dept, none},
		// A bundle case has no department: no department app handles it,
		// even one whose list holds an empty code.
		{"bundle case, department app", auth.App{ID: "dept-sys", Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{""}}, "", none},
		{"bundle case, submitter", applicant, "", only(applicantEvs...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, ev := range contractEvents {
				if got, want := MayPost(tt.app, ev, submitter, tt.department), tt.may(ev); got != want {
					t.Errorf("MayPost(%s) = %v, want %v", ev, got, want)
				}
			}
		})
	}
}

func TestKnown(t *testing.T) {
	for _, ev := range contractEvents {
		// submitted is the submission's own first event: no caller posts it,
		// so a POST of it is refused as unknown.
		want := ev != "submitted"
		if got := ev.Known(); got != want {
			t.Errorf("EventType(%q).Known() = %v, want %v", ev, got, want)
		}
	}
	for _, ev := range []EventType{"", "bogus", "Accepted", " accepted", "accepted ", "approve", "special_procedure", "awaiting_payment", "paid\x00"} {
		if ev.Known() {
			t.Errorf("EventType(%q).Known() = true, want false", ev)
		}
	}
}
