package cards

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/problem"
)

// Scope is what a threshold applies to.
type Scope string

// The scopes: an item's threshold wins over its department's.
const (
	ItemScope       Scope = "item"
	DepartmentScope Scope = "department"
)

// maxYellowDays bounds Thresholds.YellowDaysBefore (the table's check).
const maxYellowDays = 30

// thresholdSet is every stored threshold, read once per scan.
type thresholdSet map[Scope]map[string]Thresholds

func (s thresholdSet) of(item, department string) Thresholds {
	if t, ok := s[ItemScope][item]; ok {
		return t
	}
	if t, ok := s[DepartmentScope][department]; ok {
		return t
	}
	return Thresholds{}
}

func (b *Board) thresholds(ctx context.Context) (thresholdSet, error) {
	rows, err := b.db.Query(ctx, `SELECT scope, code, yellow_days_before FROM card_thresholds`)
	if err != nil {
		return nil, fmt.Errorf("read card thresholds: %w", err)
	}
	set := thresholdSet{ItemScope: {}, DepartmentScope: {}}
	for rows.Next() {
		var scope Scope
		var code string
		var t Thresholds
		if err := rows.Scan(&scope, &code, &t.YellowDaysBefore); err != nil {
			return nil, fmt.Errorf("read card threshold: %w", err)
		}
		set[scope][code] = t
	}
	return set, rows.Err()
}

// Threshold reads the thresholds stored for an item or a department; the
// contract's defaults (the zero value) when none are.
func (b *Board) Threshold(ctx context.Context, scope Scope, code string) (Thresholds, error) {
	var t Thresholds
	err := b.db.QueryRow(ctx, `SELECT yellow_days_before FROM card_thresholds WHERE scope = $1 AND code = $2`,
		scope, code).Scan(&t.YellowDaysBefore)
	if errors.Is(err, pgx.ErrNoRows) {
		return Thresholds{}, nil
	}
	if err != nil {
		return Thresholds{}, fmt.Errorf("read card threshold: %w", err)
	}
	return t, nil
}

// PutThreshold stores the thresholds of an item or a department and makes
// every open case of it due, so the next scan applies them.
func (b *Board) PutThreshold(ctx context.Context, by string, scope Scope, code string, t Thresholds) error {
	if !catalog.ValidCode(code) {
		return problem.NotFound("no such " + string(scope))
	}
	if t.YellowDaysBefore < 0 || t.YellowDaysBefore > maxYellowDays {
		var v problem.Validation
		v.Addf("yellowDaysBefore", "invalid", "yellowDaysBefore is 0..%d working days", maxYellowDays)
		return v.Err()
	}
	column := "item_code"
	if scope == DepartmentScope {
		column = "department"
	}
	return pgx.BeginFunc(ctx, b.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO card_thresholds (scope, code, yellow_days_before, updated_at, updated_by)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, code) DO UPDATE
			SET yellow_days_before = excluded.yellow_days_before, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			scope, code, t.YellowDaysBefore, b.now(), by); err != nil {
			return fmt.Errorf("write card threshold: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE cases SET next_check_at = $2
			WHERE `+column+` = $1 AND next_check_at > $2`, code, b.now()); err != nil {
			return fmt.Errorf("reschedule cases: %w", err)
		}
		return nil
	})
}

// Recheck marks the deadlines of every open case stale and makes it due:
// after a calendar change every working-day instant may have moved, and
// the next scan recomputes them with the new calendar.
func (b *Board) Recheck(ctx context.Context) (int64, error) {
	tag, err := b.db.Exec(ctx, `UPDATE cases SET deadlines_stale = true,
			next_check_at = CASE WHEN next_check_at > $1 OR next_check_at IS NULL THEN $1 ELSE next_check_at END
		WHERE status NOT IN ('completed', 'rejected_acceptance', 'withdrawn') AND item_code IS NOT NULL`, b.now())
	if err != nil {
		return 0, fmt.Errorf("reschedule cases: %w", err)
	}
	return tag.RowsAffected(), nil
}
