package cards

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/shared/calendar"
	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/webhook"
)

// scanLockID is the advisory lock that lets one scan run at a time per
// database. It is a session lock on the scan's own connection, so a replica
// that dies mid-scan releases it with its connection.
const scanLockID = 7_104_202_606

// scanBatch is how many due cases one transaction takes: small enough to
// keep row locks short, large enough that 10,000 due cases are a handful
// of round trips.
const scanBatch = 1000

// Report is the answer to POST /: counts only.
type Report struct {
	Scanned    int   `json:"scanned"`
	Issued     int   `json:"issued"`
	Escalated  int   `json:"escalated"`
	DurationMs int64 `json:"durationMs"`
	// Running is true when another scan held the lock: this one did nothing.
	Running bool `json:"running,omitempty"`
	// Warnings name years without a working-day calendar.
	Warnings []string `json:"warnings,omitempty"`
}

// Webhook types of card deliveries.
const (
	TypeIssued    = "card.issued"
	TypeEscalated = "card.escalated"
)

// Scan evaluates every case whose next check is due, issues and escalates
// its cards, and schedules its next check. Cases are taken in batches,
// each in one transaction with the cards and deliveries it writes, so a
// crash loses nothing: what was not committed is still due. Only one scan
// runs at a time per database; a scan that finds the lock taken returns
// at once with Running set.
func (b *Board) Scan(ctx context.Context) (Report, error) {
	start := time.Now()
	// The calendar is read fresh: a PUT on another replica counts at once.
	// Both reads come before the lock's connection is taken, so a pool of
	// one connection works too.
	cal, err := b.calendars.Current(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("scan: %w", err)
	}
	thresholds, err := b.thresholds(ctx)
	if err != nil {
		return Report{}, err
	}
	conn, err := b.db.Acquire(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("scan: %w", err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, scanLockID).Scan(&locked); err != nil {
		return Report{}, fmt.Errorf("scan lock: %w", err)
	}
	if !locked {
		return Report{Running: true, DurationMs: time.Since(start).Milliseconds()}, nil
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, scanLockID); err != nil {
			conn.Conn().Close(context.Background()) // closing the session releases it too
		}
	}()

	now := b.now()
	var rep Report
	for _, y := range cal.MissingYears(now, now.AddDate(1, 0, 0)) {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("no working-day calendar for %d: weekdays only", y))
	}
	for {
		n, err := b.scanBatch(ctx, conn, cal, thresholds, now, &rep)
		if err != nil {
			return rep, err
		}
		if n < scanBatch {
			break
		}
		slog.InfoContext(ctx, "scan progress", "scanned", rep.Scanned, "issued", rep.Issued, "escalated", rep.Escalated)
	}
	if rep.Issued+rep.Escalated > 0 {
		b.outbox.Kick()
	}
	observeScan(rep, time.Since(start))
	rep.DurationMs = time.Since(start).Milliseconds()
	return rep, nil
}

// dueCase is a case the scan evaluates, with the cards it holds.
type dueCase struct {
	id                 uuid.UUID
	serial, department string
	region, itemCode   string
	clock              Clock
	anchors            cases.Anchors
	stale              bool // deadlines written under an older calendar
	held               map[Slot]*Card
}

// scanBatch evaluates up to scanBatch due cases in one transaction and
// returns how many it took.
func (b *Board) scanBatch(ctx context.Context, conn *pgxpool.Conn, cal *calendar.Calendar, th thresholdSet, now time.Time, rep *Report) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		due, err := dueCases(ctx, tx, now)
		if err != nil {
			return err
		}
		n = len(due)
		var batch pgx.Batch
		for _, c := range due {
			if err := b.evaluate(&batch, c, cal, th.of(c.itemCode, c.department), now, rep); err != nil {
				return err
			}
		}
		if err := tx.SendBatch(ctx, &batch).Close(); err != nil {
			return fmt.Errorf("write cards: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("scan: %w", err)
	}
	rep.Scanned += n
	return n, nil
}

// dueCases locks the cases due at now, skipping those another scan or an
// event holds (they stay due), and reads their cards.
func dueCases(ctx context.Context, tx pgx.Tx, now time.Time) ([]*dueCase, error) {
	rows, err := tx.Query(ctx, `SELECT case_id, serial, coalesce(department, ''), region, coalesce(item_code, ''),
			status, immediate, accept_by, promised_due, legal_due,
			coalesce(accept_from, received_at), accepted_at, accept_days, promised_days, legal_days, special_days,
			deadlines_stale
		FROM cases WHERE next_check_at <= $1
		ORDER BY next_check_at LIMIT $2 FOR UPDATE SKIP LOCKED`, now, scanBatch)
	if err != nil {
		return nil, fmt.Errorf("find due cases: %w", err)
	}
	var due []*dueCase
	byID := map[uuid.UUID]*dueCase{}
	for rows.Next() {
		c := &dueCase{held: map[Slot]*Card{}}
		a := &c.anchors
		if err := rows.Scan(&c.id, &c.serial, &c.department, &c.region, &c.itemCode, &c.clock.Status, &c.clock.Immediate,
			&c.clock.AcceptBy, &c.clock.PromisedDue, &c.clock.LegalDue,
			&a.AcceptFrom, &a.AcceptedAt, &a.AcceptDays, &a.PromisedDays, &a.LegalDays, &a.SpecialDays, &c.stale); err != nil {
			return nil, fmt.Errorf("read due case: %w", err)
		}
		due = append(due, c)
		byID[c.id] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find due cases: %w", err)
	}
	if len(due) == 0 {
		return nil, nil
	}
	ids := make([]uuid.UUID, 0, len(due))
	for _, c := range due {
		ids = append(ids, c.id)
	}
	rows, err = tx.Query(ctx, `SELECT case_id, slot, `+cardColumns+` FROM cards WHERE case_id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("read held cards: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var caseID uuid.UUID
		var slot Slot
		var c Card
		var id uuid.UUID
		var history []byte
		if err := rows.Scan(&caseID, &slot, &id, &c.CaseSerial, &c.Rule, &c.Level, &c.Status, &c.IssuedAt, &c.UpdatedAt,
			&c.Department, &c.ItemCode, &history); err != nil {
			return nil, fmt.Errorf("read held card: %w", err)
		}
		c.CardID = id.String()
		if err := json.Unmarshal(history, &c.History); err != nil {
			return nil, fmt.Errorf("decode card history: %w", err)
		}
		byID[caseID].held[slot] = &c
	}
	for _, c := range due {
		c.anchors.Immediate = c.clock.Immediate
	}
	return due, rows.Err()
}

// evaluate queues what one case's evaluation writes: new cards, escalated
// ones, their deliveries, and the case's next check.
func (b *Board) evaluate(batch *pgx.Batch, c *dueCase, cal *calendar.Calendar,
	th Thresholds, now time.Time, rep *Report) error {
	var dues []Due
	var next *time.Time
	if c.itemCode != "" { // a bundle case holds no cards: its children do
		// A calendar change since the deadlines were written (a holiday
		// published late) marked them stale: they move with the calendar.
		// Rows without the anchors (written before they were kept) keep
		// their deadlines.
		anchored := c.anchors.AcceptedAt != nil || c.clock.Status == "submitted" || c.clock.Status == "supplement_requested"
		if c.stale && anchored {
			d := cases.DeadlinesOf(cal, c.anchors)
			batch.Queue(`UPDATE cases SET accept_by = $2, promised_due = $3, legal_due = $4, deadlines_stale = false
				WHERE case_id = $1`, c.id, d.AcceptBy, d.PromisedDue, d.LegalDue)
			c.clock.AcceptBy, c.clock.PromisedDue, c.clock.LegalDue = d.AcceptBy, d.PromisedDue, d.LegalDue
		}
		dues, next = Evaluate(c.clock, now, cal, th)
	}
	for _, d := range dues {
		held := c.held[d.Slot]
		switch {
		case held == nil:
			card := Card{CardID: uuid.Must(uuid.NewV7()).String(), CaseSerial: c.serial, Rule: d.Rule, Level: d.Level,
				Status: Active, IssuedAt: now, UpdatedAt: now, Department: c.department, ItemCode: c.itemCode,
				History: []Step{{At: now, Action: "issued", Rule: d.Rule, Level: d.Level}}}
			history, _ := json.Marshal(card.History)
			batch.Queue(`INSERT INTO cards (card_id, case_id, case_serial, department, region, item_code, slot, rule, level,
				status, issued_at, updated_at, history) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,'active',$10,$10,$11)`,
				card.CardID, c.id, c.serial, c.department, c.region, c.itemCode, d.Slot, d.Rule, d.Level, now, history)
			if err := b.push(batch, TypeIssued, card); err != nil {
				return err
			}
			rep.Issued++
		case Raise(held.Level, d.Level):
			// Escalation reinstates a revoked card: the case has since
			// crossed a further limit, which the revocation did not excuse.
			held.Rule, held.Level, held.Status, held.UpdatedAt = d.Rule, d.Level, Active, now
			held.History = append(held.History, Step{At: now, Action: "escalated", Rule: d.Rule, Level: d.Level})
			history, _ := json.Marshal(held.History)
			batch.Queue(`UPDATE cards SET rule = $2, level = $3, status = 'active', updated_at = $4, history = $5
				WHERE card_id = $1`, held.CardID, d.Rule, d.Level, now, history)
			if err := b.push(batch, TypeEscalated, *held); err != nil {
				return err
			}
			rep.Escalated++
		}
	}
	batch.Queue(`UPDATE cases SET next_check_at = $2 WHERE case_id = $1`, c.id, next)
	return nil
}

// push queues a card's delivery to its department into the scan's batch,
// so it commits with the card.
func (b *Board) push(batch *pgx.Batch, typ string, card Card) error {
	body, err := json.Marshal(struct {
		Type string `json:"type"`
		Card Card   `json:"card"`
	}{typ, card})
	if err != nil {
		return fmt.Errorf("encode card delivery: %w", err)
	}
	if _, err := b.outbox.EnqueueInBatch(batch, webhook.Message{Stream: card.CaseSerial, Department: card.Department,
		Type: typ, Body: body}); err != nil {
		return fmt.Errorf("queue card delivery: %w", err)
	}
	return nil
}
