package cards

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/calendar"
	"github.com/onewindow/onewindow/shared/problem"
)

// StatsQuery is GET /stats: a range of Asia/Shanghai dates, both included,
// and the grouping.
type StatsQuery struct {
	From, To calendar.Date
	GroupBy  string // department, region or item
}

// ParseStatsQuery reads from, to and groupBy, with one 422 listing every
// problem. The range is at most 366 days.
func ParseStatsQuery(from, to, groupBy string) (StatsQuery, error) {
	var v problem.Validation
	q := StatsQuery{GroupBy: groupBy}
	var err error
	if q.From, err = calendar.ParseDate(from); err != nil {
		v.Add("from", "invalid", "from is a date, YYYY-MM-DD")
	}
	if q.To, err = calendar.ParseDate(to); err != nil {
		v.Add("to", "invalid", "to is a date, YYYY-MM-DD")
	}
	switch groupBy {
	case "department", "region", "item":
	default:
		v.Add("groupBy", "invalid", "groupBy is department, region or item")
	}
	if q.From.Valid() && q.To.Valid() && (q.To.Compare(q.From) < 0 || q.From.AddDays(366).Compare(q.To) < 0) {
		v.Add("to", "invalid", "to is on or after from, at most 366 days later")
	}
	return q, v.Err()
}

// Stats is the answer to GET /stats.
type Stats struct {
	From    calendar.Date `json:"from"`
	To      calendar.Date `json:"to"`
	GroupBy string        `json:"groupBy"`
	Groups  []Group       `json:"groups"`
	// Items gives per item the working days from acceptance to completion
	// of the cases completed in the range.
	Items []ItemDuration `json:"items"`
}

// Group is one department, region or item.
type Group struct {
	Key   string `json:"key"`
	Cards struct {
		Yellow int `json:"yellow"`
		Red    int `json:"red"`
		Black  int `json:"black"`
	} `json:"cards"`
	// Submissions and the counts after it are over the cases submitted in
	// the range.
	Submissions         int     `json:"submissions"`
	Supplements         int     `json:"supplements"`         // 补正
	RejectedAcceptances int     `json:"rejectedAcceptances"` // 不予受理
	Denials             int     `json:"denials"`             // 不予批准
	PoorEvaluations     int     `json:"poorEvaluations"`     // score <= 2
	Complaints          int     `json:"complaints"`
	OnlineShare         float64 `json:"onlineShare"` // 网办率, 0..1
}

// ItemDuration is one item's working days from acceptance to completion.
type ItemDuration struct {
	ItemCode  string  `json:"itemCode"`
	Completed int     `json:"completed"`
	Average   float64 `json:"averageWorkingDays"`
	Minimum   int     `json:"minimumWorkingDays"`
	Maximum   int     `json:"maximumWorkingDays"`
}

// Stats computes GET /stats from the counters kept on each case row and
// the cards table, in one round trip of three aggregates.
func (b *Board) Stats(ctx context.Context, q StatsQuery) (Stats, error) {
	key := map[string]string{"department": "department", "region": "region", "item": "item_code"}[q.GroupBy]
	from, to := q.From.Start(), q.To.AddDays(1).Start()
	out := Stats{From: q.From, To: q.To, GroupBy: q.GroupBy, Groups: []Group{}, Items: []ItemDuration{}}
	groups := map[string]*Group{}
	group := func(k string) *Group {
		g, ok := groups[k]
		if !ok {
			g = &Group{Key: k}
			groups[k] = g
		}
		return g
	}
	var batch pgx.Batch
	batch.Queue(`SELECT `+key+`, count(*), count(*) FILTER (WHERE channel = 'online'), sum(supplements),
			count(*) FILTER (WHERE outcome = 'rejected_acceptance'), count(*) FILTER (WHERE outcome = 'denied'),
			sum(poor_evaluations), sum(complaints)
		FROM cases WHERE item_code IS NOT NULL AND created_at >= $1 AND created_at < $2
		GROUP BY 1`, from, to).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var k string
			var online int
			var n Group
			if err := rows.Scan(&k, &n.Submissions, &online, &n.Supplements, &n.RejectedAcceptances, &n.Denials,
				&n.PoorEvaluations, &n.Complaints); err != nil {
				return err
			}
			g := group(k)
			g.Submissions, g.Supplements, g.RejectedAcceptances = n.Submissions, n.Supplements, n.RejectedAcceptances
			g.Denials, g.PoorEvaluations, g.Complaints = n.Denials, n.PoorEvaluations, n.Complaints
			g.OnlineShare = float64(online) / float64(n.Submissions) // count(*) of a group is at least 1
		}
		return rows.Err()
	})
	batch.Queue(`SELECT `+key+`, level, count(*) FROM cards WHERE issued_at >= $1 AND issued_at < $2 GROUP BY 1, 2`,
		from, to).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var k string
			var level Level
			var n int
			if err := rows.Scan(&k, &level, &n); err != nil {
				return err
			}
			g := group(k)
			switch level {
			case Yellow:
				g.Cards.Yellow = n
			case Red:
				g.Cards.Red = n
			case Black:
				g.Cards.Black = n
			}
		}
		return rows.Err()
	})
	batch.Queue(`SELECT item_code, count(*), avg(working_days)::float8, min(working_days), max(working_days)
		FROM cases WHERE completed_at >= $1 AND completed_at < $2 AND working_days IS NOT NULL
		GROUP BY 1 ORDER BY 1`, from, to).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var d ItemDuration
			if err := rows.Scan(&d.ItemCode, &d.Completed, &d.Average, &d.Minimum, &d.Maximum); err != nil {
				return err
			}
			out.Items = append(out.Items, d)
		}
		return rows.Err()
	})
	if err := b.db.SendBatch(ctx, &batch).Close(); err != nil {
		return Stats{}, fmt.Errorf("supervision stats: %w", err)
	}
	for _, g := range groups {
		out.Groups = append(out.Groups, *g)
	}
	slices.SortFunc(out.Groups, func(a, b Group) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}
