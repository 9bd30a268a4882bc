package cards

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/calendar"
	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/cursor"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/webhook"
)

// Status is where a card stands.
type Status string

// The statuses of a card.
const (
	Active              Status = "active"
	RevocationRequested Status = "revocation_requested" // 撤销申请
	Revoked             Status = "revoked"
)

// Card is one card as GET /cards shows it.
type Card struct {
	CardID     string    `json:"cardId"`
	CaseSerial string    `json:"caseSerial"`
	Rule       Rule      `json:"rule"`
	Level      Level     `json:"level"`
	Status     Status    `json:"status"`
	IssuedAt   time.Time `json:"issuedAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
	Department string    `json:"department"`
	ItemCode   string    `json:"itemCode"`
	History    []Step    `json:"history"`
}

// Step is one entry of a card's history.
type Step struct {
	At     time.Time `json:"at"`
	Action string    `json:"action"` // issued, escalated, revocation_requested, revoked, revocation_refused
	Rule   Rule      `json:"rule,omitempty"`
	Level  Level     `json:"level,omitempty"`
	By     string    `json:"by,omitempty"`
	Note   string    `json:"note,omitempty"`
}

// Board keeps the cards: the scan, revocation, listing and statistics.
type Board struct {
	db        *pgxpool.Pool
	calendars *calendar.Store
	outbox    *webhook.Deliverer
	now       func() time.Time
}

// Config is what a Board works with; Now is optional.
type Config struct {
	DB        *pgxpool.Pool
	Calendars *calendar.Store
	// Outbox pushes new and escalated cards to the case's department.
	Outbox *webhook.Deliverer
	Now    func() time.Time
}

// New returns a Board over cfg.
func New(cfg Config) (*Board, error) {
	if cfg.DB == nil || cfg.Calendars == nil || cfg.Outbox == nil {
		return nil, errors.New("cards: DB, Calendars and Outbox are required")
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Board{db: cfg.DB, calendars: cfg.Calendars, outbox: cfg.Outbox, now: now}, nil
}

const cardColumns = `card_id, case_serial, rule, level, status, issued_at, updated_at, department, item_code, history`

func scanCard(row pgx.Row) (Card, error) {
	var c Card
	var id uuid.UUID
	var history []byte
	if err := row.Scan(&id, &c.CaseSerial, &c.Rule, &c.Level, &c.Status, &c.IssuedAt, &c.UpdatedAt,
		&c.Department, &c.ItemCode, &history); err != nil {
		return Card{}, err
	}
	c.CardID = id.String()
	if err := json.Unmarshal(history, &c.History); err != nil {
		return Card{}, fmt.Errorf("decode card history: %w", err)
	}
	return c, nil
}

// Query filters GET /cards.
type Query struct {
	Department string
	Level      Level
	Status     Status
	CaseSerial string
	Limit      int
	Cursor     string
}

// List is GET /cards: supervisors and admins see every card, department
// apps those of their departments, newest first.
func (b *Board) List(ctx context.Context, app auth.App, q Query) ([]Card, string, error) {
	var v problem.Validation
	if q.Level != "" && q.Level.rank() == 0 {
		v.Add("level", "invalid", "level is yellow, red or black")
	}
	switch q.Status {
	case "", Active, RevocationRequested, Revoked:
	default:
		v.Add("status", "invalid", "status is active, revocation_requested or revoked")
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	if q.Limit <= 0 {
		q.Limit = catalog.DefaultLimit
	}
	all, departments := true, []string{}
	if !app.Oversees() {
		all, departments = false, append(departments, app.Departments...)
		if q.Department != "" && !app.ActsFor(q.Department) {
			return []Card{}, "", nil
		}
	}
	afterAt, afterID, err := cursor.Decode(q.Cursor)
	if err != nil {
		return nil, "", problem.BadRequest("invalid_cursor", "cursor is not one this list handed out")
	}
	rows, err := b.db.Query(ctx, `SELECT `+cardColumns+` FROM cards
		WHERE ($9 OR department = ANY($1)) AND ($2 = '' OR department = $2)
		  AND ($3 = '' OR level = $3) AND ($4 = '' OR status = $4) AND ($5 = '' OR case_serial = $5)
		  AND ($6::timestamptz IS NULL OR (issued_at, card_id) < ($6, $7))
		ORDER BY issued_at DESC, card_id DESC LIMIT $8`,
		departments, q.Department, string(q.Level), string(q.Status), q.CaseSerial, afterAt, afterID, q.Limit+1, all)
	if err != nil {
		return nil, "", fmt.Errorf("list cards: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Card, error) { return scanCard(r) })
	if err != nil {
		return nil, "", fmt.Errorf("list cards: %w", err)
	}
	next := ""
	if len(list) > q.Limit {
		list = list[:q.Limit]
		last := list[len(list)-1]
		next = cursor.Encode(last.IssuedAt, last.CardID)
	}
	return list, next, nil
}

// ExtendView adds a case's cards to its view (a cases.Extension for
// GET /cases/{serial}).
func (b *Board) ExtendView(ctx context.Context, q cases.Querier, v *cases.View) error {
	rows, err := q.Query(ctx, `SELECT `+cardColumns+` FROM cards
		WHERE case_id = (SELECT case_id FROM cases WHERE serial = $1) ORDER BY issued_at`, v.Serial)
	if err != nil {
		return fmt.Errorf("read case cards: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Card, error) { return scanCard(r) })
	if err != nil {
		return fmt.Errorf("read case cards: %w", err)
	}
	v.Cards = make([]json.RawMessage, 0, len(list))
	for _, c := range list {
		b, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("encode card: %w", err)
		}
		v.Cards = append(v.Cards, b)
	}
	return nil
}

// RequestRevocation is POST /cards/{cardId}/revocation: the department of
// the case asks a supervisor to revoke an active card (撤销申请).
func (b *Board) RequestRevocation(ctx context.Context, app auth.App, cardID, reason string) (Card, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || utf8.RuneCountInString(reason) > 2000 {
		var v problem.Validation
		v.Add("reason", "required", "a revocation request says why, in at most 2000 characters")
		return Card{}, v.Err()
	}
	return b.change(ctx, cardID, func(c *Card) error {
		if !app.ActsFor(c.Department) {
			return errNoCard // another department's card is not theirs to see
		}
		if c.Status != Active {
			return problem.Conflict("illegal_transition", "only an active card can be put up for revocation")
		}
		c.Status = RevocationRequested
		c.History = append(c.History, Step{At: b.now(), Action: "revocation_requested", By: app.ID, Note: reason})
		return nil
	})
}

// Decide is POST /cards/{cardId}/revocation/decision: a supervisor revokes
// the card or sends it back to active.
func (b *Board) Decide(ctx context.Context, app auth.App, cardID string, approve bool, note string) (Card, error) {
	if utf8.RuneCountInString(note) > 2000 {
		var v problem.Validation
		v.Add("note", "invalid", "a note has at most 2000 characters")
		return Card{}, v.Err()
	}
	return b.change(ctx, cardID, func(c *Card) error {
		if c.Status != RevocationRequested {
			return problem.Conflict("illegal_transition", "the card has no revocation request to decide")
		}
		action := "revocation_refused"
		c.Status = Active
		if approve {
			action, c.Status = "revoked", Revoked
		}
		c.History = append(c.History, Step{At: b.now(), Action: action, By: app.ID, Note: note})
		return nil
	})
}

var errNoCard = problem.NotFound("no such card")

// change applies fn to a card under its row lock and writes it back.
func (b *Board) change(ctx context.Context, cardID string, fn func(*Card) error) (Card, error) {
	id, err := uuid.Parse(cardID)
	if err != nil {
		return Card{}, errNoCard
	}
	var card Card
	err = pgx.BeginFunc(ctx, b.db, func(tx pgx.Tx) error {
		c, err := scanCard(tx.QueryRow(ctx, `SELECT `+cardColumns+` FROM cards WHERE card_id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoCard
		}
		if err != nil {
			return fmt.Errorf("read card: %w", err)
		}
		if err := fn(&c); err != nil {
			return err
		}
		c.UpdatedAt = b.now()
		history, err := json.Marshal(c.History)
		if err != nil {
			return fmt.Errorf("encode card history: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE cards SET status = $2, history = $3, updated_at = $4 WHERE card_id = $1`,
			id, c.Status, history, c.UpdatedAt); err != nil {
			return fmt.Errorf("write card: %w", err)
		}
		card = c
		return nil
	})
	return card, err
}
