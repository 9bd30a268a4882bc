package cards_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/cards"
	"github.com/onewindow/onewindow/shared/cases"
)

// group is one expected row of GET /stats.
func group(key string, submissions, supplements, rejected, denials, poor, complaints int, online float64,
	yellow, red, black int) cards.Group {
	g := cards.Group{Key: key, Submissions: submissions, Supplements: supplements, RejectedAcceptances: rejected,
		Denials: denials, PoorEvaluations: poor, Complaints: complaints, OnlineShare: online}
	g.Cards.Yellow, g.Cards.Red, g.Cards.Black = yellow, red, black
	return g
}

func cardsOnly(key string, yellow, red, black int) cards.Group {
	return group(key, 0, 0, 0, 0, 0, 0, 0, yellow, red, black)
}

// GET /stats over a small data set written through shared/cases (which
// keeps the counters on each case row) and scanned by the board:
//
//	c6 IT-A D-A online 130102  submitted 10-30, never accepted: red 11-05
//	c1 IT-A D-A online 130102  a supplement, accepted 11-03, approved, completed 11-06 (3 working days), score 2, a complaint
//	c2 IT-A D-A online 130102  accepted 11-03, denied, red 11-10, completed 11-10 (5 working days), score 5
//	c3 IT-A D-A onsite 130104  rejected acceptance
//	c4 IT-B D-B online 130102  accepted 11-03: yellow 11-05, black 11-10 (counted at its level now)
//	c5 IT-B D-B onsite 130104  never accepted: red 11-10
//	c7 IT-B D-B onsite 130102  two supplements requested
//	c8 IT-B D-B online 130102  withdrawn
func TestStats(t *testing.T) {
	f := newFixture(t)
	d := f.desk()
	f.clock.Set(at("2026-10-30 10:00"))
	c6 := f.submit(d, portal, "IT-A", "online", "130102")
	f.clock.Set(at("2026-11-02 09:00"))
	c1 := f.submit(d, portal, "IT-A", "online", "130102")
	c2 := f.submit(d, portal, "IT-A", "online", "130102")
	c3 := f.submit(d, deptA, "IT-A", "onsite", "130104")
	c4 := f.submit(d, portal, "IT-B", "online", "130102")
	c5 := f.submit(d, deptB, "IT-B", "onsite", "130104")
	c7 := f.submit(d, deptB, "IT-B", "onsite", "130102")
	c8 := f.submit(d, portal, "IT-B", "online", "130102")

	score := func(n int) *int { return &n }
	type event struct {
		when   string // "scan": a scan at scanAt instead
		app    auth.App
		serial string
		in     cases.EventInput
		scanAt string
	}
	for _, e := range []event{
		{"2026-11-02 10:00", deptA, c1, cases.EventInput{Type: cases.EventSupplementRequested}, ""},
		{"2026-11-02 10:01", deptB, c7, cases.EventInput{Type: cases.EventSupplementRequested}, ""},
		{"2026-11-02 11:00", portal, c1, cases.EventInput{Type: cases.EventSupplementCompleted}, ""},
		{"2026-11-02 11:01", deptB, c7, cases.EventInput{Type: cases.EventSupplementCompleted}, ""},
		{"2026-11-02 12:00", deptA, c3, cases.EventInput{Type: cases.EventRejectedAcceptance}, ""},
		{"2026-11-02 12:01", deptB, c7, cases.EventInput{Type: cases.EventSupplementRequested}, ""},
		{"2026-11-02 13:00", portal, c8, cases.EventInput{Type: cases.EventWithdrawn}, ""},
		{"2026-11-03 10:00", deptA, c1, cases.EventInput{Type: cases.EventAccepted}, ""},
		{"2026-11-03 10:01", deptA, c2, cases.EventInput{Type: cases.EventAccepted}, ""},
		{"2026-11-03 10:02", deptB, c4, cases.EventInput{Type: cases.EventAccepted}, ""},
		{"scan", auth.App{}, "", cases.EventInput{}, "2026-11-05 08:00"}, // c4 yellow, c6 red
		{"2026-11-06 10:00", deptA, c1, cases.EventInput{Type: cases.EventApproved}, ""},
		{"2026-11-06 11:00", deptA, c1, cases.EventInput{Type: cases.EventCompleted}, ""},
		{"2026-11-06 12:00", portal, c1, cases.EventInput{Type: cases.EventEvaluation, Score: score(2)}, ""},
		{"2026-11-06 12:01", portal, c1, cases.EventInput{Type: cases.EventComplaint}, ""},
		{"2026-11-06 13:00", deptA, c2, cases.EventInput{Type: cases.EventDenied}, ""},
		{"scan", auth.App{}, "", cases.EventInput{}, "2026-11-10 08:00"}, // c2 red, c4 black, c5 red
		{"2026-11-10 09:00", deptA, c2, cases.EventInput{Type: cases.EventCompleted}, ""},
		{"2026-11-10 09:01", portal, c2, cases.EventInput{Type: cases.EventEvaluation, Score: score(5)}, ""},
	} {
		if e.when == "scan" {
			f.scanAt(at(e.scanAt))
			continue
		}
		f.post(d, e.app, e.serial, at(e.when), e.in)
	}
	if got := f.held(); !reflect.DeepEqual(got, map[string]cards.Level{c6 + "/acceptance_overdue": cards.Red, c2 + "/time_limit": cards.Red,
		c4 + "/time_limit": cards.Black, c5 + "/acceptance_overdue": cards.Red}) {
		t.Fatalf("cards = %v", got)
	}

	itemA := func(n int, avg float64, lo, hi int) []cards.ItemDuration {
		return []cards.ItemDuration{{ItemCode: "IT-A", Completed: n, Average: avg, Minimum: lo, Maximum: hi}}
	}
	november := [2]string{"2026-11-01", "2026-11-30"}
	tests := []struct {
		name     string
		from, to string
		groupBy  string
		groups   []cards.Group
		items    []cards.ItemDuration
	}{
		{"November by department", november[0], november[1], "department", []cards.Group{
			group("D-A", 3, 1, 1, 1, 1, 1, 2.0/3, 0, 2, 0),
			group("D-B", 4, 2, 0, 0, 0, 0, 0.5, 0, 1, 1),
		}, itemA(2, 4, 3, 5)},
		{"November by item", november[0], november[1], "item", []cards.Group{
			group("IT-A", 3, 1, 1, 1, 1, 1, 2.0/3, 0, 2, 0),
			group("IT-B", 4, 2, 0, 0, 0, 0, 0.5, 0, 1, 1),
		}, itemA(2, 4, 3, 5)},
		{"November by region", november[0], november[1], "region", []cards.Group{
			group("130102", 5, 3, 0, 1, 1, 1, 0.8, 0, 2, 1),
			group("130104", 2, 0, 1, 0, 0, 0, 0, 0, 1, 0),
		}, itemA(2, 4, 3, 5)},
		{"one day in October: a submission, no cards yet", "2026-10-30", "2026-10-30", "department", []cards.Group{
			group("D-A", 1, 0, 0, 0, 0, 0, 1, 0, 0, 0),
		}, []cards.ItemDuration{}},
		{"the day of the second scan: cards only, one completion", "2026-11-10", "2026-11-10", "department", []cards.Group{
			cardsOnly("D-A", 0, 1, 0), cardsOnly("D-B", 0, 1, 0),
		}, itemA(1, 5, 5, 5)},
		{"the day of the first completion", "2026-11-06", "2026-11-06", "item", []cards.Group{}, itemA(1, 3, 3, 3)},
		{"nothing after", "2026-11-11", "2027-01-31", "region", []cards.Group{}, []cards.ItemDuration{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := cards.ParseStatsQuery(tt.from, tt.to, tt.groupBy)
			if err != nil {
				t.Fatal(err)
			}
			st, err := f.board.Stats(f.ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if st.From.String() != tt.from || st.To.String() != tt.to || st.GroupBy != tt.groupBy {
				t.Errorf("echo = %s %s %s", st.From, st.To, st.GroupBy)
			}
			if !reflect.DeepEqual(st.Groups, tt.groups) {
				t.Errorf("groups\n got %+v\nwant %+v", st.Groups, tt.groups)
			}
			if !reflect.DeepEqual(st.Items, tt.items) {
				t.Errorf("items = %+v, want %+v", st.Items, tt.items)
			}
		})
	}
}

func TestParseStatsQuery(t *testing.T) {
	tests := []struct {
		from, to, groupBy string
		fields            []string // the fields of the 422; none: valid
	}{
		{"2026-11-01", "2026-11-30", "department", nil},
		{"2026-11-01", "2026-11-01", "region", nil},
		{"2026-01-01", "2027-01-02", "item", nil}, // 366 days later
		{"2026-01-01", "2027-01-03", "item", []string{"to"}},
		{"2026-11-02", "2026-11-01", "item", []string{"to"}},
		{"", "", "", []string{"from", "to", "groupBy"}},
		{"2026-02-30", "2026-11-31", "app", []string{"from", "to", "groupBy"}},
		{"2026/11/01", "2026-11-30", "Department", []string{"from", "groupBy"}},
		{"2026-11-01T00:00:00+08:00", "2026-11-30", "department", []string{"from"}},
	}
	for _, tt := range tests {
		q, err := cards.ParseStatsQuery(tt.from, tt.to, tt.groupBy)
		if tt.fields == nil {
			if err != nil || q.From.String() != tt.from || q.To.String() != tt.to || q.GroupBy != tt.groupBy {
				t.Errorf("ParseStatsQuery(%q, %q, %q) = %+v, %v", tt.from, tt.to, tt.groupBy, q, err)
			}
			continue
		}
		p := wantProblem(t, err, 422, "validation_failed")
		var fields []string
		for _, e := range p.Errors {
			fields = append(fields, e.Field)
		}
		if !slices.Equal(fields, tt.fields) {
			t.Errorf("ParseStatsQuery(%q, %q, %q) fields %v, want %v", tt.from, tt.to, tt.groupBy, fields, tt.fields)
		}
	}
}
