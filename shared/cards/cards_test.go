package cards_test

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/cards"
	"github.com/onewindow/onewindow/shared/cases"
)

// The seeded cards, after the first scan (11-10 08:00) and the second
// (11-11 09:00):
//
//	K1 D-1 time limit  red    (promised 11-06 passed)
//	K2 D-1 time limit  black  (legal 11-06 passed)
//	K3 D-1 time limit  yellow, then red
//	K4 D-1 acceptance  red
//	K5 D-2 acceptance  red
//	K6 D-2 time limit  yellow, then red
//	K7 D-1 time limit  -, then yellow (issued last)
var (
	firstScan  = at("2026-11-10 08:00")
	secondScan = at("2026-11-11 09:00")
)

func seedCards(f *fixture) {
	f.t.Helper()
	due := ptr(at("2026-11-02 09:00"))
	for _, s := range []caseSpec{
		{Serial: "K1", Item: "IT-1", Status: "accepted", Promised: ptr(end("2026-11-06")), Legal: ptr(end("2026-11-20"))},
		{Serial: "K2", Item: "IT-1", Status: "accepted", Promised: ptr(end("2026-11-04")), Legal: ptr(end("2026-11-06"))},
		{Serial: "K3", Item: "IT-2", Status: "accepted", Promised: ptr(end("2026-11-10")), Legal: ptr(end("2026-11-20"))},
		{Serial: "K4", Item: "IT-2", Status: "submitted", AcceptBy: ptr(end("2026-11-05"))},
		{Serial: "K5", Item: "IT-3", Department: "D-2", Status: "submitted", AcceptBy: ptr(end("2026-11-05"))},
		{Serial: "K6", Item: "IT-3", Department: "D-2", Status: "accepted", Promised: ptr(end("2026-11-10")), Legal: ptr(end("2026-11-20"))},
		{Serial: "K7", Item: "IT-1", Status: "accepted", Promised: ptr(end("2026-11-11")), Legal: ptr(end("2026-11-20"))},
	} {
		s.NextCheck = due
		f.insertCase(s)
	}
	if rep := f.scanAt(firstScan); rep.Issued != 6 {
		f.t.Fatalf("first scan = %+v", rep)
	}
}

// cardOf is the one card of a case.
func (f *fixture) cardOf(serialNo string) cards.Card {
	f.t.Helper()
	held := f.cardsOf(serialNo)
	if len(held) != 1 {
		f.t.Fatalf("%s holds %d cards", serialNo, len(held))
	}
	for _, c := range held {
		return c.Card
	}
	panic("unreachable")
}

func TestRevocation(t *testing.T) {
	f := newFixture(t)
	seedCards(f)
	k1 := f.cardOf("K1").CardID
	f.clock.Set(at("2026-11-10 09:00"))

	request := func(app auth.App, id, reason string) func() (cards.Card, error) {
		return func() (cards.Card, error) { return f.board.RequestRevocation(f.ctx, app, id, reason) }
	}
	decide := func(app auth.App, id string, approve bool, note string) func() (cards.Card, error) {
		return func() (cards.Card, error) { return f.board.Decide(f.ctx, app, id, approve, note) }
	}
	steps := []struct {
		name   string
		do     func() (cards.Card, error)
		status int    // 0: success
		code   string // the problem's
		want   cards.Status
		action string // the history step added
	}{
		{"another department's card is not found", request(dept2, k1, "误判"), 404, "not_found", cards.Active, ""},
		{"a supervisor is not the case's department", request(supervisor, k1, "误判"), 404, "not_found", cards.Active, ""},
		{"a reason is required", request(dept1, k1, "  "), 422, "validation_failed", cards.Active, ""},
		{"a reason has at most 2000 characters", request(dept1, k1, strings.Repeat("理", 2001)), 422, "validation_failed", cards.Active, ""},
		{"an unknown card", request(dept1, "0193a6f0-1c2d-7e3f-8a4b-5c6d7e8f9a0b", "误判"), 404, "not_found", cards.Active, ""},
		{"a malformed card id", request(dept1, "K1", "误判"), 404, "not_found", cards.Active, ""},
		{"nothing to decide yet", decide(supervisor, k1, true, ""), 409, "illegal_transition", cards.Active, ""},
		{"the department asks", request(dept1, k1, "申请人原因导致延期"), 0, "", cards.RevocationRequested, "revocation_requested"},
		{"asking twice", request(dept12, k1, "再次申请"), 409, "illegal_transition", cards.RevocationRequested, ""},
		{"a note has at most 2000 characters", decide(supervisor, k1, true, strings.Repeat("注", 2001)), 422, "validation_failed", cards.RevocationRequested, ""},
		{"refused", decide(supervisor, k1, false, "理由不充分"), 0, "", cards.Active, "revocation_refused"},
		{"refused twice", decide(supervisor, k1, false, ""), 409, "illegal_transition", cards.Active, ""},
		{"asked again, by an app of both departments", request(dept12, k1, "补充证明材料"), 0, "", cards.RevocationRequested, "revocation_requested"},
		{"approved", decide(supervisor, k1, true, "同意撤销"), 0, "", cards.Revoked, "revoked"},
		{"a revoked card cannot be asked for", request(dept1, k1, "误判"), 409, "illegal_transition", cards.Revoked, ""},
		{"a revoked card has nothing to decide", decide(supervisor, k1, false, ""), 409, "illegal_transition", cards.Revoked, ""},
		{"another department still gets 404", request(dept2, k1, "误判"), 404, "not_found", cards.Revoked, ""},
	}
	history := len(f.cardOf("K1").History)
	for _, st := range steps {
		got, err := st.do()
		if st.status != 0 {
			wantProblem(t, err, st.status, st.code)
		} else {
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if got.Status != st.want || got.CardID != k1 || got.CaseSerial != "K1" || !got.UpdatedAt.Equal(f.clock.Now()) {
				t.Errorf("%s: answered %+v", st.name, got)
			}
		}
		stored := f.cardOf("K1")
		if st.action != "" {
			history++
		}
		if stored.Status != st.want || len(stored.History) != history {
			t.Fatalf("%s: stored %s with %d steps, want %s with %d", st.name, stored.Status, len(stored.History), st.want, history)
		}
		if last := stored.History[len(stored.History)-1]; st.action != "" && last.Action != st.action {
			t.Errorf("%s: last step %+v, want %s", st.name, last, st.action)
		}
	}
	h := f.cardOf("K1").History
	if h[1].By != dept1.ID || h[1].Note != "申请人原因导致延期" || h[2].By != supervisor.ID || h[2].Note != "理由不充分" ||
		h[3].By != dept12.ID || h[4].Action != "revoked" || !h[4].At.Equal(at("2026-11-10 09:00")) {
		t.Errorf("history = %+v", h)
	}
	if f.cardOf("K1").Level != cards.Red {
		t.Error("revocation changed the level")
	}
}

// A revoked card stays revoked through re-scans, unless the case crosses
// a further limit: the escalation reinstates it, with its history kept.
func TestRevokedCardsAndLaterScans(t *testing.T) {
	f := newFixture(t)
	seedCards(f)
	f.clock.Set(at("2026-11-10 09:00"))
	for _, serialNo := range []string{"K3", "K4"} {
		id := f.cardOf(serialNo).CardID
		if _, err := f.board.RequestRevocation(f.ctx, dept1, id, "系统故障"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.board.Decide(f.ctx, supervisor, id, true, "属实"); err != nil {
			t.Fatal(err)
		}
	}
	// A pending request on K6 is overtaken by its escalation.
	if _, err := f.board.RequestRevocation(f.ctx, dept2, f.cardOf("K6").CardID, "系统故障"); err != nil {
		t.Fatal(err)
	}
	// K4 becomes due again (an event), its acceptance card is not re-issued.
	if _, err := f.db.Exec(f.ctx, `UPDATE cases SET next_check_at = $1 WHERE serial = 'K4'`, at("2026-11-10 10:00")); err != nil {
		t.Fatal(err)
	}
	rep := f.scanAt(secondScan)
	if rep.Issued != 1 || rep.Escalated != 2 { // K7 issued; K3 and K6 escalated
		t.Errorf("second scan = %+v", rep)
	}
	tests := []struct {
		serial  string
		level   cards.Level
		status  cards.Status
		actions []string
	}{
		{"K3", cards.Red, cards.Active, []string{"issued", "revocation_requested", "revoked", "escalated"}},
		{"K4", cards.Red, cards.Revoked, []string{"issued", "revocation_requested", "revoked"}},
		{"K6", cards.Red, cards.Active, []string{"issued", "revocation_requested", "escalated"}},
		{"K7", cards.Yellow, cards.Active, []string{"issued"}},
	}
	for _, tt := range tests {
		c := f.cardOf(tt.serial)
		var actions []string
		for _, s := range c.History {
			actions = append(actions, s.Action)
		}
		if c.Level != tt.level || c.Status != tt.status || !slices.Equal(actions, tt.actions) {
			t.Errorf("%s = %s %s %v, want %s %s %v", tt.serial, c.Level, c.Status, actions, tt.level, tt.status, tt.actions)
		}
	}
}

func TestList(t *testing.T) {
	f := newFixture(t)
	seedCards(f)
	f.scanAt(secondScan)
	f.clock.Set(at("2026-11-11 10:00"))
	if _, err := f.board.RequestRevocation(f.ctx, dept1, f.cardOf("K2").CardID, "系统故障"); err != nil {
		t.Fatal(err)
	}

	all := []string{"K1", "K2", "K3", "K4", "K5", "K6", "K7"}
	tests := []struct {
		name string
		app  auth.App
		q    cards.Query
		want []string // serials, in any order (the order is checked separately)
	}{
		{"supervisor sees all", supervisor, cards.Query{}, all},
		{"admin sees all", admin, cards.Query{}, all},
		{"a department its own", dept1, cards.Query{}, []string{"K1", "K2", "K3", "K4", "K7"}},
		{"the other department its own", dept2, cards.Query{}, []string{"K5", "K6"}},
		{"an app of both departments", dept12, cards.Query{}, all},
		{"a department asking for another's", dept1, cards.Query{Department: "D-2"}, nil},
		{"a department asking for its own", dept12, cards.Query{Department: "D-2"}, []string{"K5", "K6"}},
		{"supervisor by department", supervisor, cards.Query{Department: "D-1"}, []string{"K1", "K2", "K3", "K4", "K7"}},
		{"by level yellow", supervisor, cards.Query{Level: cards.Yellow}, []string{"K7"}},
		{"by level black", dept1, cards.Query{Level: cards.Black}, []string{"K2"}},
		{"by level red", dept2, cards.Query{Level: cards.Red}, []string{"K5", "K6"}},
		{"by status", supervisor, cards.Query{Status: cards.RevocationRequested}, []string{"K2"}},
		{"by status active", dept1, cards.Query{Status: cards.Active}, []string{"K1", "K3", "K4", "K7"}},
		{"by case", supervisor, cards.Query{CaseSerial: "K4"}, []string{"K4"}},
		{"another department's case", dept2, cards.Query{CaseSerial: "K4"}, nil},
		{"no such case", supervisor, cards.Query{CaseSerial: "K9"}, nil},
		{"everything at once", dept12, cards.Query{Department: "D-2", Level: cards.Red, Status: cards.Active, CaseSerial: "K6"}, []string{"K6"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, next, err := f.board.List(f.ctx, tt.app, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range list {
				got = append(got, c.CaseSerial)
			}
			sort.Strings(got)
			if !slices.Equal(got, tt.want) || next != "" {
				t.Errorf("cards of %v = %v (next %q), want %v", tt.q, got, next, tt.want)
			}
			if list == nil {
				t.Error("a nil list answers null, not []")
			}
		})
	}

	t.Run("newest first, and every page after the last", func(t *testing.T) {
		full, _, err := f.board.List(f.ctx, supervisor, cards.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if full[0].CaseSerial != "K7" {
			t.Errorf("newest card is %s's, want K7's", full[0].CaseSerial)
		}
		if !slices.IsSortedFunc(full, func(a, b cards.Card) int {
			if c := b.IssuedAt.Compare(a.IssuedAt); c != 0 {
				return c
			}
			return strings.Compare(b.CardID, a.CardID)
		}) {
			t.Errorf("not newest first: %+v", full)
		}
		for _, tt := range []struct {
			app   auth.App
			limit int
			pages []int
		}{{supervisor, 2, []int{2, 2, 2, 1}}, {supervisor, 3, []int{3, 3, 1}}, {supervisor, 7, []int{7}}, {dept1, 2, []int{2, 2, 1}}, {dept2, 1, []int{1, 1}}} {
			want, _, _ := f.board.List(f.ctx, tt.app, cards.Query{})
			var walked []cards.Card
			var sizes []int
			cursor := ""
			for range 10 {
				page, next, err := f.board.List(f.ctx, tt.app, cards.Query{Limit: tt.limit, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				walked = append(walked, page...)
				sizes = append(sizes, len(page))
				if next == "" {
					break
				}
				cursor = next
			}
			if !slices.Equal(sizes, tt.pages) || !slices.EqualFunc(walked, want, func(a, b cards.Card) bool { return a.CardID == b.CardID }) {
				t.Errorf("%s by %d: pages %v, want %v; walked %d cards of %d", tt.app.ID, tt.limit, sizes, tt.pages, len(walked), len(want))
			}
		}
	})

	t.Run("invalid filters", func(t *testing.T) {
		for _, tt := range []struct {
			q      cards.Query
			status int
			code   string
		}{
			{cards.Query{Level: "green"}, 422, "validation_failed"},
			{cards.Query{Status: "expired"}, 422, "validation_failed"},
			{cards.Query{Cursor: "not-a-cursor"}, 400, "invalid_cursor"},
		} {
			_, _, err := f.board.List(f.ctx, supervisor, tt.q)
			wantProblem(t, err, tt.status, tt.code)
		}
	})

	t.Run("the contract's fields", func(t *testing.T) {
		list, _, err := f.board.List(f.ctx, supervisor, cards.Query{CaseSerial: "K3"})
		if err != nil || len(list) != 1 {
			t.Fatal(list, err)
		}
		b, _ := json.Marshal(list[0])
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"cardId", "caseSerial", "rule", "level", "status", "issuedAt", "history"} {
			if _, ok := m[k]; !ok {
				t.Errorf("no %q in %s", k, b)
			}
		}
		if !strings.Contains(string(m["issuedAt"]), "+08:00") && !strings.Contains(string(m["issuedAt"]), "Z") {
			t.Errorf("issuedAt %s has no offset", m["issuedAt"])
		}
	})
}

// A department app that acts for no department sees no card. List passes
// app.Departments as the filter, and a nil slice is SQL NULL, which the
// query reads as "every department": fail-open. Apps that come through
// auth.Registry carry an empty, non-nil slice (pgx scans '{}' so), so
// this is latent; any other way of building an auth.App exposes it.
func TestListDepartmentAppWithoutDepartments(t *testing.T) {
	f := newFixture(t)
	seedCards(f)
	for _, q := range []cards.Query{{}, {Department: "D-1"}, {CaseSerial: "K1"}} {
		list, _, err := f.board.List(f.ctx, deptNone, q)
		if err != nil || len(list) != 0 {
			t.Errorf("a department app of no department lists %d cards for %+v (%v), want none", len(list), q, err)
		}
	}
}

// ExtendView adds a case's cards, oldest first, to GET /cases/{serial};
// a case without cards shows [].
func TestExtendView(t *testing.T) {
	f := newFixture(t)
	f.insertCase(caseSpec{Serial: "V1", Item: "IT-1", Status: "submitted", AcceptBy: ptr(end("2026-11-03")),
		NextCheck: ptr(at("2026-11-02 09:00"))})
	f.insertCase(caseSpec{Serial: "V2", Item: "IT-1", Status: "submitted", AcceptBy: ptr(end("2026-11-30")),
		NextCheck: ptr(at("2026-11-02 09:00"))})
	f.scanAt(at("2026-11-04 09:00"))
	// V1 accepted 11-04, promised 11-05.
	if _, err := f.db.Exec(f.ctx, `UPDATE cases SET status = 'accepted', promised_due = $1, next_check_at = $2 WHERE serial = 'V1'`,
		end("2026-11-05"), at("2026-11-04 10:00")); err != nil {
		t.Fatal(err)
	}
	f.scanAt(at("2026-11-06 09:00"))

	tests := []struct {
		serial string
		rules  []cards.Rule
	}{
		{"V1", []cards.Rule{cards.AcceptanceOverdue, cards.PromisedExceeded}},
		{"V2", []cards.Rule{}},
		{"NONE", []cards.Rule{}},
	}
	for _, tt := range tests {
		for _, viaTx := range []bool{false, true} {
			v := cases.View{Serial: tt.serial}
			var err error
			if viaTx {
				err = pgx.BeginFunc(f.ctx, f.db, func(tx pgx.Tx) error { return f.board.ExtendView(f.ctx, tx, &v) })
			} else {
				err = f.board.ExtendView(f.ctx, f.db, &v)
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.Cards == nil {
				t.Fatalf("%s: cards nil, want []", tt.serial)
			}
			rules := []cards.Rule{}
			for _, raw := range v.Cards {
				var c cards.Card
				if err := json.Unmarshal(raw, &c); err != nil {
					t.Fatal(err)
				}
				if c.CaseSerial != tt.serial || c.CardID == "" || len(c.History) == 0 {
					t.Errorf("%s: card %s", tt.serial, raw)
				}
				rules = append(rules, c.Rule)
			}
			if !slices.Equal(rules, tt.rules) {
				t.Errorf("%s: cards %v, want %v", tt.serial, rules, tt.rules)
			}
		}
	}
}
