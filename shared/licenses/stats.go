package licenses

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/problem"
)

// StatsQuery is the query of GET /stats/issuance and /stats/usage.
type StatsQuery struct {
	// From and To are calendar dates (YYYY-MM-DD, Asia/Shanghai), both
	// included; required.
	From, To string
	// GroupBy is department (the issuing department), region (that
	// department's administrative division) or type (the license type);
	// default department.
	GroupBy string
}

// Stats counts licenses issued (发证量) or used (用证量) in a date range.
type Stats struct {
	From    string      `json:"from"`
	To      string      `json:"to"`
	GroupBy string      `json:"groupBy"`
	Items   []StatsItem `json:"items"`
	Total   int64       `json:"total"`
}

// StatsItem is one group, largest first. Name is the department's or the
// type's name in the catalogue, when known.
type StatsItem struct {
	Key   string `json:"key"`
	Name  string `json:"name,omitempty"`
	Count int64  `json:"count"`
}

// groupColumns are the columns each groupBy reads; both tables have them.
// Only these strings ever reach the SQL text.
var groupColumns = map[string]string{"department": "department", "region": "region", "type": "type_code"}

// Issuance is GET /stats/issuance: licenses by issue date (revoked ones
// included: they were issued), counted from licenses by index
// licenses_issuance. Issue dates may lie anywhere in the past (batches
// import old licenses), so no day is ever final enough to roll up.
func (r *Registry) Issuance(ctx context.Context, q StatsQuery) (Stats, error) {
	col, from, to, err := q.check()
	if err != nil {
		return Stats{}, err
	}
	return r.count(ctx, q, `SELECT `+col+`, count(*) FROM licenses
		WHERE issued_at >= $1 AND issued_at < $2 GROUP BY 1 ORDER BY 2 DESC, 1`, from, dayAfter(to))
}

// Usage is GET /stats/usage: use records by the date of use, grouped by
// the used license's department, region or type. Closed days come from
// the daily roll-up (license_use_days), the rest from license_uses by
// index license_uses_stats; the sum is exact either way.
func (r *Registry) Usage(ctx context.Context, q StatsQuery) (Stats, error) {
	col, from, to, err := q.check()
	if err != nil {
		return Stats{}, err
	}
	closed, err := r.closeDays(ctx)
	if err != nil {
		return Stats{}, err
	}
	live := from
	if !closed.IsZero() {
		live = later(from, dayAfter(closed))
	}
	return r.count(ctx, q, `SELECT key, sum(n)::bigint FROM (
			SELECT `+col+` AS key, sum(uses) AS n FROM license_use_days
			WHERE day >= $1::date AND day <= $2::date AND day <= $3::date GROUP BY 1
			UNION ALL
			SELECT `+col+`, count(*) FROM license_uses WHERE used_at >= $4 AND used_at < $5 GROUP BY 1) t
		GROUP BY 1 ORDER BY 2 DESC, 1`,
		from.Format(time.DateOnly), to.Format(time.DateOnly), closed.Format(time.DateOnly), live, dayAfter(to))
}

// rollupGrace is how long after a day ends it is closed: time for the
// transactions of uses recorded just before midnight to commit.
const rollupGrace = time.Hour

// closeDays rolls up the uses of every day that ended at least
// rollupGrace ago and is not rolled up yet, and returns the last closed
// day (zero when none). The singleton's row lock makes one request close
// while others wait and then find the work done; this is the only writer
// of license_use_days.
func (r *Registry) closeDays(ctx context.Context) (time.Time, error) {
	// The last day whose end lies rollupGrace or more in the past.
	target := dayOf(r.now().Add(-rollupGrace)).AddDate(0, 0, -1)
	var closed *time.Time
	if err := r.db.QueryRow(ctx, `SELECT closed_through FROM license_use_rollup`).Scan(&closed); err != nil {
		return time.Time{}, fmt.Errorf("read use roll-up: %w", err)
	}
	if closed != nil && !dayOf(*closed).Before(target) {
		return dayOf(*closed), nil
	}
	var through time.Time
	err := pgx.BeginFunc(ctx, r.db, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT closed_through FROM license_use_rollup FOR UPDATE`).Scan(&closed); err != nil {
			return fmt.Errorf("lock use roll-up: %w", err)
		}
		if closed != nil && !dayOf(*closed).Before(target) {
			through = dayOf(*closed) // another request closed them meanwhile
			return nil
		}
		var since *time.Time // nil: from the first use
		if closed != nil {
			s := dayAfter(dayOf(*closed))
			since = &s
		}
		if _, err := tx.Exec(ctx, `INSERT INTO license_use_days (day, department, region, type_code, uses)
			SELECT (used_at AT TIME ZONE 'Asia/Shanghai')::date, department, region, type_code, count(*)
			FROM license_uses WHERE ($1::timestamptz IS NULL OR used_at >= $1) AND used_at < $2
			GROUP BY 1, 2, 3, 4`, since, dayAfter(target)); err != nil {
			return fmt.Errorf("roll up uses: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE license_use_rollup SET closed_through = $1::date`, target.Format(time.DateOnly)); err != nil {
			return fmt.Errorf("advance use roll-up: %w", err)
		}
		through = target
		return nil
	})
	return through, err
}

// check validates the query and returns the grouping column and the
// first and last dates.
func (q *StatsQuery) check() (col string, from, to time.Time, err error) {
	if q.GroupBy == "" {
		q.GroupBy = "department"
	}
	var v problem.Validation
	col, ok := groupColumns[q.GroupBy]
	if !ok {
		v.Add("groupBy", cases.CodeInvalid, "groupBy must be department, region or type")
	}
	from = parseDate(&v, "from", q.From)
	to = parseDate(&v, "to", q.To)
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		v.Add("to", cases.CodeInvalid, "to may not be before from")
	}
	return col, from, to, v.Err()
}

// count runs a grouping query (key, count) and names the keys.
func (r *Registry) count(ctx context.Context, q StatsQuery, sql string, args ...any) (Stats, error) {
	rows, err := r.db.Query(ctx, sql, args...)
	if err != nil {
		return Stats{}, fmt.Errorf("count licenses: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (StatsItem, error) {
		var it StatsItem
		err := row.Scan(&it.Key, &it.Count)
		return it, err
	})
	if err != nil {
		return Stats{}, fmt.Errorf("count licenses: %w", err)
	}
	out := Stats{From: q.From, To: q.To, GroupBy: q.GroupBy, Items: items}
	snap := r.snapshot(ctx)
	for i := range out.Items {
		it := &out.Items[i]
		out.Total += it.Count
		if snap == nil {
			continue
		}
		switch q.GroupBy {
		case "department":
			if d, ok := snap.Department(it.Key); ok {
				it.Name = d.Name
			}
		case "type":
			if lt, ok := snap.LicenseType(it.Key); ok {
				it.Name = lt.Name
			}
		}
	}
	return out, nil
}

// dayOf is the Asia/Shanghai date of t, as its first instant.
func dayOf(t time.Time) time.Time {
	y, m, d := t.In(shanghai).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, shanghai)
}

// dayAfter is the first instant of the day after day.
func dayAfter(day time.Time) time.Time { return day.AddDate(0, 0, 1) }

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func parseDate(v *problem.Validation, field, s string) time.Time {
	if s == "" {
		v.Add(field, cases.CodeRequired, field+" is required: a date YYYY-MM-DD")
		return time.Time{}
	}
	d, err := time.ParseInLocation(time.DateOnly, s, shanghai)
	if err != nil {
		v.Add(field, cases.CodeInvalid, field+" must be a date YYYY-MM-DD")
		return time.Time{}
	}
	return d
}
