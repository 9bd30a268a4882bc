package cases

import (
	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/problem"
)

// Status is where a case stands in its life (contract section 4).
type Status string

// The statuses of the contract.
const (
	Submitted           Status = "submitted"
	SupplementRequested Status = "supplement_requested" // 补正
	Accepted            Status = "accepted"             // 受理
	SpecialProcedure    Status = "special_procedure"    // 特别程序
	AwaitingPayment     Status = "awaiting_payment"
	Approved            Status = "approved"
	Denied              Status = "denied" // 不予批准
	Completed           Status = "completed"
	RejectedAcceptance  Status = "rejected_acceptance" // 不予受理
	Withdrawn           Status = "withdrawn"
)

// Final reports whether nothing more can happen to the case.
func (s Status) Final() bool {
	return s == Completed || s == RejectedAcceptance || s == Withdrawn
}

// EventType is what happened to a case.
type EventType string

// The event types of the contract. Submitted is the first event of every
// case, written by the submission itself.
const (
	EventSubmitted             EventType = "submitted"
	EventAccepted              EventType = "accepted"
	EventRejectedAcceptance    EventType = "rejected_acceptance"
	EventSupplementRequested   EventType = "supplement_requested"
	EventSupplementCompleted   EventType = "supplement_completed"
	EventSpecialProcedureStart EventType = "special_procedure_start"
	EventSpecialProcedureEnd   EventType = "special_procedure_end"
	EventPaymentRequested      EventType = "payment_requested"
	EventPaid                  EventType = "paid"
	EventApproved              EventType = "approved"
	EventDenied                EventType = "denied"
	EventCompleted             EventType = "completed"
	EventWithdrawn             EventType = "withdrawn"
	EventEvaluation            EventType = "evaluation" // 好差评
	EventComplaint             EventType = "complaint"  // 投诉
)

// transitions is the contract's state machine: from a status, the event
// types it accepts and where each leads.
var transitions = map[Status]map[EventType]Status{
	Submitted: {
		EventAccepted:            Accepted,
		EventRejectedAcceptance:  RejectedAcceptance,
		EventSupplementRequested: SupplementRequested,
	},
	SupplementRequested: {EventSupplementCompleted: Submitted},
	Accepted: {
		EventSpecialProcedureStart: SpecialProcedure,
		EventPaymentRequested:      AwaitingPayment,
		EventApproved:              Approved,
		EventDenied:                Denied,
	},
	SpecialProcedure: {EventSpecialProcedureEnd: Accepted},
	AwaitingPayment:  {EventPaid: Accepted},
	Approved:         {EventCompleted: Completed},
	Denied:           {EventCompleted: Completed},
}

// Feedback reports whether the event records the applicant's view of the
// case (an evaluation or a complaint) without changing its status.
func (t EventType) Feedback() bool { return t == EventEvaluation || t == EventComplaint }

// Known reports whether t is an event type of the contract that follows a
// submission (paid included; who may post which is MayPost's question).
func (t EventType) Known() bool {
	if t.Feedback() || t == EventWithdrawn {
		return true
	}
	for _, next := range transitions {
		if _, ok := next[t]; ok {
			return true
		}
	}
	return false
}

// Next is the status after event t in status s, or a 409: illegal_transition,
// or payment_outstanding for an approval while a payment is awaited.
func Next(s Status, t EventType) (Status, error) {
	switch {
	case t.Feedback(): // in any status, final ones included
		return s, nil
	case s.Final():
		return "", illegal(s, t)
	case t == EventWithdrawn:
		return Withdrawn, nil
	}
	if next, ok := transitions[s][t]; ok {
		return next, nil
	}
	if s == AwaitingPayment && t == EventApproved {
		return "", problem.Conflict("payment_outstanding", "the case awaits a payment; it can be approved once paid")
	}
	return "", illegal(s, t)
}

func illegal(s Status, t EventType) error {
	return problem.Conflict("illegal_transition", "a case in status "+string(s)+" does not take the event "+string(t))
}

// applicantEvents are those the submitting app may post; the handling
// department posts every other type except paid, which only payment-callback
// records.
var applicantEvents = map[EventType]bool{
	EventSupplementCompleted: true,
	EventWithdrawn:           true,
	EventEvaluation:          true,
	EventComplaint:           true,
}

// MayPost reports whether app may post events of type t to a case that
// submitter submitted and that department handles.
func MayPost(app auth.App, t EventType, submitter, department string) bool {
	if t == EventPaid || t == EventSubmitted {
		return false
	}
	if app.HasRole(auth.RoleDepartment) && app.ActsFor(department) {
		return true
	}
	return app.ID == submitter && applicantEvents[t]
}
