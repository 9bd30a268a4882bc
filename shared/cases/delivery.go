package cases

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/webhook"
)

// Webhook types of case deliveries (contract section 4).
const (
	TypeSubmitted = "case.submitted"
	TypeEvent     = "case.event"
)

// notice is the body a department system receives.
type notice struct {
	Type  string `json:"type"`
	Case  View   `json:"case"`
	Event Event  `json:"event"`
}

// deliverSubmission queues case.submitted for a new case, in its transaction.
func (d *Desk) deliverSubmission(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	v, _, err := loadView(ctx, tx, "c.case_id = $1", id)
	if err != nil {
		return err
	}
	return d.enqueue(ctx, tx, TypeSubmitted, v, v.Events[0])
}

// deliverEvent queues case.event for an event just written on c.
func (d *Desk) deliverEvent(ctx context.Context, tx pgx.Tx, c *caseRow, ev Event) error {
	v, _, err := loadView(ctx, tx, "c.case_id = $1", c.id)
	if err != nil {
		return err
	}
	return d.enqueue(ctx, tx, TypeEvent, v, ev)
}

// enqueue writes one delivery to the case's department. The department
// system gets the applicant unmasked: it handles the case and needs whom it
// is for. The view has no deliveries list: it changes with every attempt.
func (d *Desk) enqueue(ctx context.Context, tx pgx.Tx, typ string, v View, ev Event) error {
	body, err := json.Marshal(notice{Type: typ, Case: v, Event: ev})
	if err != nil {
		return fmt.Errorf("encode delivery: %w", err)
	}
	if _, err := d.outbox.Enqueue(ctx, tx, webhook.Message{
		Stream: v.Serial, Department: v.Department, Type: typ, Body: body,
	}); err != nil {
		return fmt.Errorf("queue delivery: %w", err)
	}
	return nil
}
