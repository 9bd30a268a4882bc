package cases

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/onewindow/onewindow/shared/webhook"
)

// Applicant is who applies: a person (resident ID or passport) or an
// organisation (USCC).
type Applicant struct {
	Type     string `json:"type"`
	Name     string `json:"name"`
	IDType   string `json:"idType"`
	IDNumber string `json:"idNumber"`
	Phone    string `json:"phone,omitempty"`
}

// Masked is the applicant as GET answers show it: the ID number with only
// its first 6 and last 4 characters.
func (a Applicant) Masked() Applicant {
	a.IDNumber = MaskID(a.IDNumber)
	return a
}

// MaskID keeps the first 6 and last 4 characters of an ID number (the
// region and the check part) and stars the rest; a number too short to
// keep 10 characters is starred entirely but for its last 2.
func MaskID(id string) string {
	r := []rune(id)
	if len(r) <= 10 {
		if len(r) <= 2 {
			return strings.Repeat("*", len(r))
		}
		return strings.Repeat("*", len(r)-2) + string(r[len(r)-2:])
	}
	return string(r[:6]) + strings.Repeat("*", len(r)-10) + string(r[len(r)-4:])
}

// DeliveryRequest is how the applicant wants results delivered.
type DeliveryRequest struct {
	Method  string          `json:"method"` // pickup or mail
	Address json.RawMessage `json:"address,omitempty"`
}

// DeliveryView is a case's delivery: what the applicant asked for and the
// shipments of the case, outbound (results, licenses) and inbound (paper
// materials), each as logistics-callback shows it.
type DeliveryView struct {
	Method    string            `json:"method,omitempty"`
	Address   json.RawMessage   `json:"address,omitempty"`
	Shipments []json.RawMessage `json:"shipments"`
}

// Deadlines of a case; nil until known (promisedDue and legalDue come with
// acceptance; legalDue stays nil for items without a statutory limit).
type Deadlines struct {
	AcceptBy    *time.Time `json:"acceptBy"`
	PromisedDue *time.Time `json:"promisedDue"`
	LegalDue    *time.Time `json:"legalDue"`
}

// Event is one entry of a case's history.
type Event struct {
	Seq       int       `json:"seq"`
	Type      EventType `json:"type"`
	At        time.Time `json:"at"`
	AppID     string    `json:"appId"`
	Operator  string    `json:"operator,omitempty"`
	Opinion   string    `json:"opinion,omitempty"`
	AmountFen *int64    `json:"amountFen,omitempty"`
	Score     *int      `json:"score,omitempty"`
	// Status is the case's status after the event.
	Status Status `json:"status"`
}

// Attachment is one file of a material.
type Attachment struct {
	AttachmentID string `json:"attachmentId"`
	FileName     string `json:"fileName"`
	ContentType  string `json:"contentType"`
	SizeBytes    int64  `json:"sizeBytes"`
	SHA256       string `json:"sha256"`
}

// MaterialView is one material of a case: files, or an electronic license.
type MaterialView struct {
	Code        string       `json:"code"`
	Attachments []Attachment `json:"attachments"`
	LicenseNo   string       `json:"licenseNo,omitempty"`
}

// Child is a bundle's case for one of its items.
type Child struct {
	ItemCode string `json:"itemCode"`
	CaseID   string `json:"caseId"`
	Serial   string `json:"serial"`
	Status   Status `json:"status,omitempty"`
}

// View is GET /cases/{serial}.
type View struct {
	CaseID     string `json:"caseId"`
	Serial     string `json:"serial"`
	ItemCode   string `json:"itemCode,omitempty"`
	BundleCode string `json:"bundleCode,omitempty"`
	// ParentSerial is the bundle case of a child case.
	ParentSerial string          `json:"parentSerial,omitempty"`
	Department   string          `json:"department,omitempty"`
	Region       string          `json:"region"`
	Status       Status          `json:"status"`
	Channel      string          `json:"channel"`
	Applicant    Applicant       `json:"applicant"`
	Form         json.RawMessage `json:"form,omitempty"`
	Materials    []MaterialView  `json:"materials"`
	Events       []Event         `json:"events"`
	Deadlines    Deadlines       `json:"deadlines"`
	// Cards are the case's supervision cards (warning-scan).
	Cards []json.RawMessage `json:"cards"`
	// Payment is the case's payment order (payment-callback); null without one.
	Payment json.RawMessage `json:"payment"`
	// Delivery is how results reach the applicant: the method asked for
	// and the shipments logistics-callback tracks.
	Delivery DeliveryView `json:"delivery"`
	// Deliveries are the pushes of this case to its department's system.
	Deliveries  []webhook.Delivery `json:"deliveries,omitzero"`
	Children    []Child            `json:"children"` // [] for an item case
	ReceivedAt  time.Time          `json:"receivedAt"`
	SubmittedAt time.Time          `json:"submittedAt"`
}

// Summary is one case in GET /cases.
type Summary struct {
	CaseID      string    `json:"caseId"`
	Serial      string    `json:"serial"`
	ItemCode    string    `json:"itemCode,omitempty"`
	BundleCode  string    `json:"bundleCode,omitempty"`
	Status      Status    `json:"status"`
	Applicant   Applicant `json:"applicant"`
	SubmittedAt time.Time `json:"submittedAt"`
}

// Receipt is the 201 answer to a submission.
type Receipt struct {
	CaseID    string          `json:"caseId"`
	Serial    string          `json:"serial"`
	Status    Status          `json:"status"`
	Deadlines ReceiptDeadline `json:"deadlines"`
	Children  []Child         `json:"children,omitempty"`
}

// ReceiptDeadline is the one deadline a new case has.
type ReceiptDeadline struct {
	AcceptBy time.Time `json:"acceptBy"`
}
