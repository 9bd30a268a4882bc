package cases

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/calendar"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/idempotency"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/serial"
)

// EventInput is the body of POST /cases/{serial}/events.
type EventInput struct {
	Type EventType `json:"type"`
	// At is when it happened, RFC 3339; default now. Never in the future,
	// never before the case's previous event.
	At        string `json:"at"`
	Operator  string `json:"operator"`
	Opinion   string `json:"opinion"`
	AmountFen *int64 `json:"amountFen"`
	Score     *int   `json:"score"`
	// PaymentChannel optionally names the payment channel a
	// payment_requested order is for (an extension of the contract):
	// then only providers bound to it, or unbound ones, may notify about
	// the order. Without it the first bound provider to notify claims it.
	PaymentChannel string `json:"paymentChannel,omitempty"`

	// paymentSerial is the serial Post drew for the order a
	// payment_requested event opens.
	paymentSerial string
}

// EventReceipt is the 201 answer to an event.
type EventReceipt struct {
	CaseID    string    `json:"caseId"`
	Serial    string    `json:"serial"`
	Status    Status    `json:"status"`
	Event     Event     `json:"event"`
	Deadlines Deadlines `json:"deadlines"`
}

var channelPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// clockSkew tolerates callers whose clocks run slightly ahead of ours.
const clockSkew = 5 * time.Second

// check validates the parts of an event that need no case; it returns the
// event's time (zero for now).
func (in *EventInput) check() (time.Time, error) {
	var v problem.Validation
	if !in.Type.Known() && in.Type != EventPaid {
		v.Add("type", CodeInvalid, "unknown event type "+string(in.Type))
	}
	var at time.Time
	if in.At != "" {
		t, err := time.Parse(time.RFC3339, in.At)
		if err != nil {
			v.Add("at", CodeInvalid, "at must be an RFC 3339 instant with offset")
		}
		at = t
	}
	if utf8.RuneCountInString(in.Operator) > 100 {
		v.Add("operator", CodeInvalid, "operator has at most 100 characters")
	}
	if utf8.RuneCountInString(in.Opinion) > 2000 {
		v.Add("opinion", CodeInvalid, "opinion has at most 2000 characters")
	}
	switch in.Type {
	case EventEvaluation:
		if in.Score == nil || *in.Score < 1 || *in.Score > 5 {
			v.Add("score", CodeInvalid, "an evaluation has a score of 1 to 5")
		}
	case EventComplaint:
		if strings.TrimSpace(in.Opinion) == "" {
			v.Add("opinion", CodeRequired, "a complaint says what it is about in opinion")
		}
	case EventPaymentRequested:
		if in.AmountFen == nil || *in.AmountFen < 1 {
			v.Add("amountFen", CodeInvalid, "a payment request has a positive amountFen")
		}
	}
	if in.PaymentChannel != "" && (in.Type != EventPaymentRequested || !channelPattern.MatchString(in.PaymentChannel)) {
		v.Add("paymentChannel", CodeInvalid, "paymentChannel belongs to payment_requested: 1-32 of [A-Za-z0-9_-]")
	}
	return at, v.Err()
}

// caseRow is the part of a case that events read and change.
type caseRow struct {
	id           uuid.UUID
	serial       string
	parent       *uuid.UUID
	itemCode     *string
	department   *string
	region       string
	appID        string
	status       Status
	immediate    bool
	acceptDays   int
	promisedDays int
	legalDays    int
	acceptedAt   *time.Time
	specialSince *time.Time
	specialDays  int
	acceptFrom   time.Time
	acceptBy     *time.Time
	promisedDue  *time.Time
	legalDue     *time.Time
	lastEventAt  time.Time
	events       int
}

const caseColumns = `case_id, serial, parent_id, item_code, department, region, app_id, status, immediate,
	accept_days, promised_days, legal_days, accepted_at, special_since, special_days,
	accept_from, accept_by, promised_due, legal_due, last_event_at, events`

func scanCase(row pgx.Row) (*caseRow, error) {
	var c caseRow
	err := row.Scan(&c.id, &c.serial, &c.parent, &c.itemCode, &c.department, &c.region, &c.appID, &c.status, &c.immediate,
		&c.acceptDays, &c.promisedDays, &c.legalDays, &c.acceptedAt, &c.specialSince, &c.specialDays,
		&c.acceptFrom, &c.acceptBy, &c.promisedDue, &c.legalDue, &c.lastEventAt, &c.events)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *caseRow) deadlines() Deadlines {
	return Deadlines{AcceptBy: c.acceptBy, PromisedDue: c.promisedDue, LegalDue: c.legalDue}
}

// lockCase reads a case for update, or a 404 when it is absent or app may
// not see it.
func (d *Desk) lockCase(ctx context.Context, tx pgx.Tx, app auth.App, serialNo string) (*caseRow, error) {
	c, err := scanCase(tx.QueryRow(ctx, `SELECT `+caseColumns+` FROM cases WHERE serial = $1 FOR UPDATE`, serialNo))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(serialNo)
	}
	if err != nil {
		return nil, fmt.Errorf("read case: %w", err)
	}
	visible, err := d.visible(ctx, tx, app, c.appID, c.department, c.id, c.itemCode == nil)
	if err != nil {
		return nil, err
	}
	if !visible {
		return nil, notFound(serialNo)
	}
	return c, nil
}

func notFound(serialNo string) error { return problem.NotFound("no case " + serialNo) }

// Post records an event on the case with serial serialNo for app, applying
// the contract's state machine and deadline rules, and queues its delivery
// to the department, all in one transaction.
func (d *Desk) Post(ctx context.Context, app auth.App, serialNo string, in EventInput) (EventReceipt, error) {
	at, err := in.check()
	if err != nil {
		return EventReceipt{}, err
	}
	if in.Type == EventPaid {
		return EventReceipt{}, problem.Newf(http.StatusForbidden, "forbidden", "paid is recorded by payment-callback only")
	}
	cal, err := d.calendar(ctx)
	if err != nil {
		return EventReceipt{}, err
	}
	if in.paymentSerial, err = d.drawPaymentSerial(ctx, app, serialNo, in.Type); err != nil {
		return EventReceipt{}, err
	}
	var receipt EventReceipt
	err = d.inTx(ctx, func(tx pgx.Tx) error {
		c, err := d.lockCase(ctx, tx, app, serialNo)
		if err != nil {
			return err
		}
		dept := ""
		if c.department != nil {
			dept = *c.department
		}
		if c.itemCode == nil && in.Type != EventWithdrawn && !in.Type.Feedback() {
			return problem.Conflict("illegal_transition", "a bundle case moves with its child cases: post events to their serials")
		}
		if !MayPost(app, in.Type, c.appID, dept) {
			return problem.Forbidden()
		}
		ev, err := d.apply(ctx, tx, cal, c, app.ID, in, at)
		if err != nil {
			return err
		}
		receipt = EventReceipt{CaseID: c.id.String(), Serial: c.serial, Status: c.status, Event: ev, Deadlines: c.deadlines()}
		answer := httpx.JSON(http.StatusCreated, receipt)
		return idempotency.Settle(ctx, tx, idempotency.Response{Status: answer.StatusCode, Header: answer.Header, Body: answer.Body})
	})
	if err != nil {
		return EventReceipt{}, err
	}
	d.kick()
	return receipt, nil
}

// drawPaymentSerial draws the serial of the order a payment request opens,
// before the event's transaction: reserving a new block of serials takes a
// connection of its own, and transactions waiting for it while holding the
// others would starve a replica's small pool. The case's region is its
// serial's; a request that turns out to be refused leaves a gap, which
// serials allow, so only department apps, who may post it, draw one.
func (d *Desk) drawPaymentSerial(ctx context.Context, app auth.App, caseSerial string, t EventType) (string, error) {
	if t != EventPaymentRequested || d.payments == nil || !app.HasRole(auth.RoleDepartment) {
		return "", nil
	}
	s, err := serial.Parse(caseSerial)
	if err != nil {
		return "", nil // no such case: lockCase answers 404
	}
	ps, err := d.serials.Issue(ctx, s.Region, serial.Payment, 1)
	if err != nil {
		return "", fmt.Errorf("draw payment serial for case %s: %w", caseSerial, err)
	}
	return ps[0].String(), nil
}

// PaymentApp is the app id events recorded by payment-callback carry.
const PaymentApp = "payment-callback"

// RecordPaid records the paid event on a case awaiting payment, in the
// caller's transaction: payment-callback calls it in the transaction that
// settles the payment order, so the case moves exactly when the payment is
// durable. A case not awaiting payment is a 409 illegal_transition.
func (d *Desk) RecordPaid(ctx context.Context, tx pgx.Tx, serialNo string, at time.Time, amountFen int64) (Event, error) {
	c, err := scanCase(tx.QueryRow(ctx, `SELECT `+caseColumns+` FROM cases WHERE serial = $1 FOR UPDATE`, serialNo))
	if errors.Is(err, pgx.ErrNoRows) {
		return Event{}, notFound(serialNo)
	}
	if err != nil {
		return Event{}, fmt.Errorf("read case: %w", err)
	}
	cal, err := d.calendar(ctx)
	if err != nil {
		return Event{}, err
	}
	if at.Before(c.lastEventAt) { // a bank's clock may lag ours; order wins
		at = c.lastEventAt
	}
	return d.apply(ctx, tx, cal, c, PaymentApp, EventInput{Type: EventPaid, AmountFen: &amountFen}, at)
}

// apply records event in on the locked case c and updates c: status,
// deadlines, and for a child case that became final, its bundle case.
// A bundle case takes only a withdrawal, which withdraws its open children.
func (d *Desk) apply(ctx context.Context, tx pgx.Tx, cal *calendar.Calendar, c *caseRow, appID string, in EventInput, at time.Time) (Event, error) {
	now := d.now()
	if at.IsZero() {
		at = now
	}
	var v problem.Validation
	switch {
	case at.After(now.Add(clockSkew)):
		v.Add("at", CodeInFuture, "at may not be in the future")
	case at.Before(c.lastEventAt):
		v.Add("at", CodeBeforePreviousEvent, "at may not be before the case's previous event at "+c.lastEventAt.Format(time.RFC3339))
	}
	if err := v.Err(); err != nil {
		return Event{}, err
	}
	next, err := Next(c.status, in.Type)
	if err != nil {
		return Event{}, err
	}
	c.status = next
	c.advanceDeadlines(cal, in.Type, at)
	ev, err := d.writeEvent(ctx, tx, cal, c, appID, in, at, now)
	if err != nil {
		return Event{}, err
	}
	if in.Type == EventPaymentRequested && d.payments != nil {
		if err := d.payments.Open(ctx, tx, PaymentRequest{CaseSerial: c.serial, Department: deref(c.department),
			PaymentSerial: in.paymentSerial, AmountFen: *in.AmountFen, Channel: in.PaymentChannel, At: at}); err != nil {
			return Event{}, fmt.Errorf("open payment order: %w", err)
		}
	}
	if c.itemCode != nil {
		if err := d.deliverEvent(ctx, tx, c, ev); err != nil {
			return Event{}, err
		}
	}
	if c.itemCode == nil && next == Withdrawn {
		if err := d.withdrawChildren(ctx, tx, cal, c, appID, in, at); err != nil {
			return Event{}, err
		}
	}
	if c.parent != nil && next.Final() {
		if err := d.completeBundle(ctx, tx, *c.parent, appID, at, now); err != nil {
			return Event{}, err
		}
	}
	return ev, nil
}

// advanceDeadlines applies the contract's deadline rules (section 6) to an
// event at time at.
func (c *caseRow) advanceDeadlines(cal *calendar.Calendar, t EventType, at time.Time) {
	switch t {
	case EventSupplementCompleted:
		c.acceptFrom = at // the acceptance limit starts again
	case EventAccepted:
		c.acceptedAt = &at
	case EventSpecialProcedureStart:
		c.specialSince = &at
	case EventSpecialProcedureEnd:
		if c.specialSince != nil {
			c.specialDays += cal.SpecialDays([]calendar.Interval{{Start: *c.specialSince, End: at}}, at)
		}
		c.specialSince = nil
	default:
		return
	}
	d := DeadlinesOf(cal, c.anchors())
	c.acceptBy, c.promisedDue, c.legalDue = d.AcceptBy, d.PromisedDue, d.LegalDue
}

func (c *caseRow) anchors() Anchors {
	return Anchors{AcceptFrom: c.acceptFrom, AcceptedAt: c.acceptedAt, Immediate: c.immediate,
		AcceptDays: c.acceptDays, PromisedDays: c.promisedDays, LegalDays: c.legalDays, SpecialDays: c.specialDays}
}

// Anchors are what an item case's deadlines are computed from.
type Anchors struct {
	// AcceptFrom is the reception, or the last completed supplement.
	AcceptFrom time.Time
	// AcceptedAt is the acceptance; nil before it.
	AcceptedAt *time.Time
	Immediate  bool
	// The item's limits in working days, and the working days spent in
	// finished special procedures.
	AcceptDays, PromisedDays, LegalDays, SpecialDays int
}

// DeadlinesOf computes a case's deadlines under cal (contract section 6):
// acceptBy from AcceptFrom; after acceptance, promisedDue and legalDue
// moved by the special-procedure days (legalDue nil without a statutory
// limit); an immediate item due at the end of its acceptance day, or the
// next working day. warning-scan recomputes them when the calendar changes.
func DeadlinesOf(cal *calendar.Calendar, a Anchors) Deadlines {
	acceptBy := cal.WD(a.AcceptFrom, a.AcceptDays)
	d := Deadlines{AcceptBy: &acceptBy}
	if a.AcceptedAt == nil {
		return d
	}
	if a.Immediate {
		due := cal.ImmediateDue(*a.AcceptedAt)
		d.PromisedDue, d.LegalDue = &due, &due
		return d
	}
	promised := cal.WD(*a.AcceptedAt, a.PromisedDays+a.SpecialDays)
	d.PromisedDue = &promised
	if a.LegalDays > 0 {
		legal := cal.WD(*a.AcceptedAt, a.LegalDays+a.SpecialDays)
		d.LegalDue = &legal
	}
	return d
}

// writeEvent appends the event to c's history and writes c's new state,
// with what supervision keeps on the row (contract section 6): the case is
// due for a look at the next scan, its outcome, its feedback counters and,
// once completed, the working days it took (cal nil: not counted).
func (d *Desk) writeEvent(ctx context.Context, tx pgx.Tx, cal *calendar.Calendar, c *caseRow, appID string, in EventInput, at, now time.Time) (Event, error) {
	c.events++
	c.lastEventAt = at
	ev := Event{Seq: c.events, Type: in.Type, At: at, AppID: appID, Operator: in.Operator, Opinion: in.Opinion,
		AmountFen: in.AmountFen, Score: in.Score, Status: c.status}
	var nextCheck, completedAt *time.Time
	if !c.status.Final() {
		nextCheck = &at
	}
	var outcome *string
	switch in.Type {
	case EventApproved, EventDenied, EventRejectedAcceptance, EventWithdrawn:
		o := string(in.Type)
		outcome = &o
	}
	var workingDays *int
	if c.status == Completed {
		completedAt = &at
		if cal != nil && c.acceptedAt != nil {
			n := cal.Between(*c.acceptedAt, at)
			workingDays = &n
		}
	}
	var supplements, complaints, poor int
	switch {
	case in.Type == EventSupplementRequested:
		supplements = 1
	case in.Type == EventComplaint:
		complaints = 1
	case in.Type == EventEvaluation && in.Score != nil && *in.Score <= 2:
		poor = 1 // 差评
	}
	var b pgx.Batch
	b.Queue(`INSERT INTO case_events (case_id, seq, type, at, app_id, operator, opinion, amount_fen, score, status, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		c.id, ev.Seq, ev.Type, at, appID, nullString(in.Operator), nullString(in.Opinion), in.AmountFen, in.Score, c.status, now)
	b.Queue(`UPDATE cases SET status = $2, accepted_at = $3, special_since = $4, special_days = $5,
		accept_by = $6, promised_due = $7, legal_due = $8, last_event_at = $9, events = $10, updated_at = $11,
		next_check_at = $12, outcome = coalesce($13, outcome), supplements = supplements + $14,
		complaints = complaints + $15, poor_evaluations = poor_evaluations + $16,
		completed_at = coalesce($17, completed_at), working_days = coalesce($18, working_days), accept_from = $19
		WHERE case_id = $1`,
		c.id, c.status, c.acceptedAt, c.specialSince, c.specialDays, c.acceptBy, c.promisedDue, c.legalDue,
		c.lastEventAt, c.events, now, nextCheck, outcome, supplements, complaints, poor, completedAt, workingDays,
		c.acceptFrom)
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return Event{}, fmt.Errorf("write event: %w", err)
	}
	return ev, nil
}

// withdrawChildren withdraws every open child of a withdrawn bundle case.
func (d *Desk) withdrawChildren(ctx context.Context, tx pgx.Tx, cal *calendar.Calendar, bundle *caseRow, appID string, in EventInput, at time.Time) error {
	rows, err := tx.Query(ctx, `SELECT `+caseColumns+` FROM cases WHERE parent_id = $1 ORDER BY serial FOR UPDATE`, bundle.id)
	if err != nil {
		return fmt.Errorf("read child cases: %w", err)
	}
	children, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*caseRow, error) { return scanCase(r) })
	if err != nil {
		return fmt.Errorf("read child cases: %w", err)
	}
	for _, child := range children {
		if child.status.Final() {
			continue
		}
		child.status = Withdrawn
		if at.Before(child.lastEventAt) {
			at = child.lastEventAt
		}
		ev, err := d.writeEvent(ctx, tx, cal, child, appID, in, at, d.now())
		if err != nil {
			return err
		}
		if err := d.deliverEvent(ctx, tx, child, ev); err != nil {
			return err
		}
	}
	return nil
}

// completeBundle completes a bundle case once every child is final.
func (d *Desk) completeBundle(ctx context.Context, tx pgx.Tx, bundleID uuid.UUID, appID string, at, now time.Time) error {
	bundle, err := scanCase(tx.QueryRow(ctx, `SELECT `+caseColumns+` FROM cases WHERE case_id = $1 FOR UPDATE`, bundleID))
	if err != nil {
		return fmt.Errorf("read bundle case: %w", err)
	}
	if bundle.status.Final() {
		return nil
	}
	var open int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM cases WHERE parent_id = $1
		AND status NOT IN ('completed', 'rejected_acceptance', 'withdrawn')`, bundleID).Scan(&open); err != nil {
		return fmt.Errorf("count open child cases: %w", err)
	}
	if open > 0 {
		return nil
	}
	bundle.status = Completed
	if at.Before(bundle.lastEventAt) {
		at = bundle.lastEventAt
	}
	_, err = d.writeEvent(ctx, tx, nil, bundle, appID, EventInput{Type: EventCompleted, Opinion: "every item of the bundle is final"}, at, now)
	return err
}
