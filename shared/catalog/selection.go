package catalog

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/idcheck"
	"github.com/onewindow/onewindow/shared/problem"
)

// CheckUSCC checks the uscc query parameter of the selection endpoints:
// a 400 invalid_uscc problem unless it is a unified social credit code
// with the right GB 32100 check character.
func CheckUSCC(uscc string) error {
	if uscc == "" {
		return problem.BadRequest("invalid_uscc", "the uscc query parameter is required")
	}
	if err := idcheck.USCC(uscc); err != nil {
		return problem.BadRequest("invalid_uscc", err.Error())
	}
	return nil
}

// SelectionInput is the body of PUT /scopes/selection?uscc=...: the
// enterprise's complete selection, replacing the previous one ("entries":[]
// clears it). A uscc in the body, when given, must equal the query's.
type SelectionInput struct {
	USCC    *string               `json:"uscc"`
	Entries []SelectionEntryInput `json:"entries"`
}

// SelectionEntryInput selects expressions of one scope entry.
type SelectionEntryInput struct {
	Code          string   `json:"code"`
	ExpressionIDs []string `json:"expressionIds"`
	// Read-only fields of a GET, accepted so that a read can be written
	// back, and ignored.
	Name        json.RawMessage `json:"name"`
	Domain      json.RawMessage `json:"domain"`
	Expressions json.RawMessage `json:"expressions"`
}

// Validate checks the selection against the snapshot's scope entries: each
// entry published, listed once, with at least one of its expressions, each
// listed once. Every problem is in one 422 validation_failed.
func (in SelectionInput) Validate(s *Snapshot, uscc string) ([]SelectionEntry, error) {
	var c checker
	if in.USCC != nil && *in.USCC != uscc {
		c.Add("uscc", CodeCodeMismatch, "the body's uscc differs from the query's")
	}
	if in.Entries == nil {
		c.Add("entries", CodeRequired, `required (send "entries":[] to clear the selection)`)
	}
	c.count("entries", len(in.Entries))
	out := []SelectionEntry{}
	seen := map[string]bool{}
	for i, e := range in.Entries {
		field := fmt.Sprintf("entries.%d", i)
		if e.Code == "" {
			c.Add(field+".code", CodeRequired, "required")
			continue
		}
		entry, ok := s.scopes[e.Code]
		switch {
		case !ok:
			c.Addf(field+".code", CodeUnknownEntry, "no scope entry %s", e.Code)
			continue
		case entry.Status != StatusPublished:
			c.Addf(field+".code", CodeEntryAbolished, "scope entry %s is abolished", e.Code)
		case seen[e.Code]:
			c.Addf(field+".code", CodeDuplicate, "scope entry %s is listed twice", e.Code)
		}
		seen[e.Code] = true
		if len(e.ExpressionIDs) == 0 {
			c.Add(field+".expressionIds", CodeRequired, "at least one expression id")
		}
		ids := map[string]bool{}
		for j, id := range e.ExpressionIDs {
			xf := fmt.Sprintf("%s.expressionIds.%d", field, j)
			switch {
			case !slices.ContainsFunc(entry.Expressions, func(x Expression) bool { return x.ID == id }):
				c.Addf(xf, CodeUnknownExpression, "scope entry %s has no expression %q", e.Code, id)
			case ids[id]:
				c.Addf(xf, CodeDuplicate, "expression %s is listed twice", id)
			}
			ids[id] = true
		}
		out = append(out, SelectionEntry{Code: e.Code, ExpressionIDs: slices.Clone(e.ExpressionIDs)})
	}
	return out, c.Err()
}

// storedEntry is an entry of scope_selections.entries and
// scope_selection_log.entries (the log also keeps the domain).
type storedEntry struct {
	Code          string   `json:"code"`
	Domain        string   `json:"domain,omitempty"`
	ExpressionIDs []string `json:"expressionIds"`
}

// PutSelection validates and saves an enterprise's selection (by is the
// writing app) and logs it for the monthly statistics. It returns the
// selection as Selection would.
func (c *Catalog) PutSelection(ctx context.Context, by, uscc string, in SelectionInput) (Selection, error) {
	if err := CheckUSCC(uscc); err != nil {
		return Selection{}, err
	}
	snap, err := c.Snapshot(ctx)
	if err != nil {
		return Selection{}, err
	}
	entries, err := in.Validate(snap, uscc)
	if err != nil {
		return Selection{}, err
	}
	current := make([]storedEntry, len(entries))
	logged := make([]storedEntry, len(entries))
	for i, e := range entries {
		current[i] = storedEntry{Code: e.Code, ExpressionIDs: e.ExpressionIDs}
		logged[i] = storedEntry{Code: e.Code, Domain: snap.scopes[e.Code].Domain, ExpressionIDs: e.ExpressionIDs}
	}
	sel := Selection{USCC: uscc, SelectedBy: by}
	err = pgx.BeginFunc(ctx, c.db, func(tx pgx.Tx) error {
		var at time.Time
		// Primary key of scope_selections.
		if err := tx.QueryRow(ctx, `
			INSERT INTO scope_selections (uscc, entries, version, selected_at, selected_by)
			VALUES ($1, $2, 1, now(), $3)
			ON CONFLICT (uscc) DO UPDATE SET entries = excluded.entries,
				version = scope_selections.version + 1, selected_at = excluded.selected_at,
				selected_by = excluded.selected_by
			RETURNING version, selected_at`, uscc, current, by).Scan(&sel.Version, &at); err != nil {
			return fmt.Errorf("save selection: %w", err)
		}
		at = at.In(shanghai)
		sel.SelectedAt = &at
		if _, err := tx.Exec(ctx, `
			INSERT INTO scope_selection_log (uscc, entries, selected_at, selected_by) VALUES ($1, $2, $3, $4)`,
			uscc, logged, at, by); err != nil {
			return fmt.Errorf("log selection: %w", err)
		}
		return nil
	})
	if err != nil {
		return Selection{}, fmt.Errorf("put selection: %w", err)
	}
	sel.Entries = snap.describe(entries)
	return sel, nil
}

// Selection reads an enterprise's current selection (primary key of
// scope_selections), with each entry's name, domain and the selected
// expressions' texts from the snapshot. An enterprise that never selected
// has no entries and version 0. Unlike the catalogue, selections are read
// from the database: they are per enterprise and change at any time.
func (c *Catalog) Selection(ctx context.Context, uscc string) (Selection, error) {
	if err := CheckUSCC(uscc); err != nil {
		return Selection{}, err
	}
	snap, err := c.Snapshot(ctx)
	if err != nil {
		return Selection{}, err
	}
	sel := Selection{USCC: uscc, Entries: []SelectionEntry{}}
	var stored []storedEntry
	var at time.Time
	err = c.db.QueryRow(ctx, `SELECT entries, version, selected_at, selected_by FROM scope_selections WHERE uscc = $1`, uscc).
		Scan(&stored, &sel.Version, &at, &sel.SelectedBy)
	if errors.Is(err, pgx.ErrNoRows) {
		return sel, nil
	}
	if err != nil {
		return Selection{}, fmt.Errorf("read selection: %w", err)
	}
	at = at.In(shanghai)
	sel.SelectedAt = &at
	entries := make([]SelectionEntry, len(stored))
	for i, e := range stored {
		entries[i] = SelectionEntry{Code: e.Code, ExpressionIDs: e.ExpressionIDs}
	}
	sel.Entries = snap.describe(entries)
	return sel, nil
}

// describe fills the names, domains and expression texts of entries.
func (s *Snapshot) describe(entries []SelectionEntry) []SelectionEntry {
	out := make([]SelectionEntry, len(entries))
	for i, e := range entries {
		out[i] = e
		entry, ok := s.scopes[e.Code]
		if !ok {
			continue
		}
		out[i].Name, out[i].Domain = entry.Name, entry.Domain
		out[i].Expressions = []Expression{}
		for _, id := range e.ExpressionIDs {
			if j := slices.IndexFunc(entry.Expressions, func(x Expression) bool { return x.ID == id }); j >= 0 {
				out[i].Expressions = append(out[i].Expressions, entry.Expressions[j])
			}
		}
	}
	return out
}

// ScopeStats is GET /scopes/stats: the monthly tracking table
// (自主公示应用跟踪监测). It counts, for the enterprises that saved a
// selection during the month (Asia/Shanghai), their last selection of the
// month.
type ScopeStats struct {
	// Month is YYYY-MM; From and To bound it (To exclusive).
	Month string    `json:"month"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	// Enterprises is how many enterprises saved a selection in the month;
	// Saves how many saves they made.
	Enterprises int `json:"enterprises"`
	Saves       int `json:"saves"`
	// Domains has, per domain (the entry's domain when selected), the
	// number of enterprises that selected at least one of its entries;
	// most selected first.
	Domains []DomainStat `json:"domains"`
	// Entries has, per scope entry, the number of enterprises that
	// selected it and per expression that selected the expression.
	Entries []EntryStat `json:"entries"`
}

// DomainStat counts one domain's selections.
type DomainStat struct {
	Domain     string `json:"domain"`
	Selections int    `json:"selections"`
}

// EntryStat counts one scope entry's selections.
type EntryStat struct {
	Code        string           `json:"code"`
	Name        string           `json:"name"`
	Domain      string           `json:"domain"`
	Selections  int              `json:"selections"`
	Expressions []ExpressionStat `json:"expressions"`
}

// ExpressionStat counts one expression's selections.
type ExpressionStat struct {
	ID         string `json:"id"`
	Text       string `json:"text"`
	Selections int    `json:"selections"`
}

// ParseMonth reads a YYYY-MM month in Asia/Shanghai; "" is the current
// month at now. Anything else is a 400 invalid_month.
func ParseMonth(month string, now time.Time) (time.Time, error) {
	if month == "" {
		n := now.In(shanghai)
		return time.Date(n.Year(), n.Month(), 1, 0, 0, 0, 0, shanghai), nil
	}
	t, err := time.ParseInLocation("2006-01", month, shanghai)
	if err != nil || len(month) != 7 || t.Year() < 2000 {
		return time.Time{}, problem.BadRequest("invalid_month", "month is YYYY-MM, e.g. 2026-11")
	}
	return t, nil
}

// statsSQL aggregates a month of scope_selection_log (range scan on
// scope_selection_log_selected_at): each enterprise's last save of the
// month, unnested into entries and expressions. Rows: level ('total',
// 'domain', 'entry', 'expression'), domain, code, expression id, count.
const statsSQL = `
WITH month AS (
    SELECT id, uscc, entries, selected_at FROM scope_selection_log
    WHERE selected_at >= $1 AND selected_at < $2
), latest AS (
    SELECT DISTINCT ON (uscc) uscc, entries FROM month ORDER BY uscc, selected_at DESC, id DESC
), picked AS (
    SELECT l.uscc, e->>'code' AS code, coalesce(e->>'domain', '') AS domain, e->'expressionIds' AS ids
    FROM latest l CROSS JOIN LATERAL jsonb_array_elements(l.entries) e
)
SELECT 'total', '', '', '', count(DISTINCT uscc)::int FROM month
UNION ALL SELECT 'saves', '', '', '', count(*)::int FROM month
UNION ALL SELECT 'domain', domain, '', '', count(DISTINCT uscc)::int FROM picked GROUP BY domain
UNION ALL SELECT 'entry', max(domain), code, '', count(DISTINCT uscc)::int FROM picked GROUP BY code
UNION ALL SELECT 'expression', '', code, x, count(DISTINCT uscc)::int
    FROM picked CROSS JOIN LATERAL jsonb_array_elements_text(ids) x GROUP BY code, x`

// ScopeStats computes the tracking table for the month starting at from
// (see ParseMonth).
func (c *Catalog) ScopeStats(ctx context.Context, from time.Time) (ScopeStats, error) {
	snap, err := c.Snapshot(ctx)
	if err != nil {
		return ScopeStats{}, err
	}
	to := from.AddDate(0, 1, 0)
	st := ScopeStats{Month: from.Format("2006-01"), From: from, To: to, Domains: []DomainStat{}, Entries: []EntryStat{}}
	rows, err := c.db.Query(ctx, statsSQL, from, to)
	if err != nil {
		return ScopeStats{}, fmt.Errorf("scope stats %s: %w", st.Month, err)
	}
	defer rows.Close()
	entries := map[string]*EntryStat{}
	type exprCount struct {
		code, id string
		n        int
	}
	var exprs []exprCount
	for rows.Next() {
		var level, domain, code, id string
		var n int
		if err := rows.Scan(&level, &domain, &code, &id, &n); err != nil {
			return ScopeStats{}, fmt.Errorf("scope stats %s: %w", st.Month, err)
		}
		switch level {
		case "total":
			st.Enterprises = n
		case "saves":
			st.Saves = n
		case "domain":
			st.Domains = append(st.Domains, DomainStat{Domain: domain, Selections: n})
		case "entry":
			e := &EntryStat{Code: code, Domain: domain, Selections: n, Expressions: []ExpressionStat{}}
			if cur, ok := snap.scopes[code]; ok {
				e.Name = cur.Name
			}
			entries[code] = e
		case "expression":
			exprs = append(exprs, exprCount{code, id, n})
		}
	}
	if err := rows.Err(); err != nil {
		return ScopeStats{}, fmt.Errorf("scope stats %s: %w", st.Month, err)
	}
	for _, x := range exprs {
		e, ok := entries[x.code]
		if !ok {
			continue
		}
		es := ExpressionStat{ID: x.id, Selections: x.n}
		if cur, ok := snap.scopes[x.code]; ok {
			if j := slices.IndexFunc(cur.Expressions, func(ex Expression) bool { return ex.ID == x.id }); j >= 0 {
				es.Text = cur.Expressions[j].Text
			}
		}
		e.Expressions = append(e.Expressions, es)
	}
	for _, e := range entries {
		slices.SortFunc(e.Expressions, func(a, b ExpressionStat) int {
			return cmp.Or(cmp.Compare(b.Selections, a.Selections), cmp.Compare(a.ID, b.ID))
		})
		st.Entries = append(st.Entries, *e)
	}
	slices.SortFunc(st.Entries, func(a, b EntryStat) int {
		return cmp.Or(cmp.Compare(b.Selections, a.Selections), cmp.Compare(a.Code, b.Code))
	})
	slices.SortFunc(st.Domains, func(a, b DomainStat) int {
		return cmp.Or(cmp.Compare(b.Selections, a.Selections), cmp.Compare(a.Domain, b.Domain))
	})
	return st, nil
}
