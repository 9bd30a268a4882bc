package catalog

import (
	"encoding/json"
	"time"
)

// Status says whether a record may be used: published records can be
// applied for and selected; abolished ones stay readable (old cases refer
// to them) but case-submit refuses them (item_abolished) and searches skip
// them unless asked. Records are never deleted.
type Status string

const (
	// StatusPublished is the default of every PUT.
	StatusPublished Status = "published"
	// StatusAbolished is set by PUTting the record with this status.
	StatusAbolished Status = "abolished"
)

// Valid reports whether s is one of the two statuses.
func (s Status) Valid() bool { return s == StatusPublished || s == StatusAbolished }

// Item is a service item (事项) as every read returns it.
type Item struct {
	// Code identifies the item: 1-64 of [A-Za-z0-9._-] (the implementing
	// code, 实施编码, or a local code such as SJZ-GA-0001).
	Code string `json:"code"`
	// Name is the item's official name, 1-200 characters.
	Name string `json:"name"`
	// Kind is the item type (事项类型) as published, e.g. 行政许可,
	// 行政确认, 公共服务, 其他行政权力; free text of 1-32 characters.
	Kind string `json:"kind"`
	// Department handles the item: the code, and the name as of the
	// snapshot (renaming a department shows on its items at once).
	Department DepartmentRef `json:"department"`
	// Region is the 6-digit administrative division (GB/T 2260) the item
	// is implemented in.
	Region string `json:"region"`
	// LegalDays is the statutory time limit (法定办结时限) in working days
	// counted from acceptance; 0 for items with none (immediate items).
	LegalDays int `json:"legalDays"`
	// PromisedDays is the promised time limit (承诺办结时限) in working days
	// from acceptance, at most LegalDays when LegalDays is not 0.
	PromisedDays int `json:"promisedDays"`
	// AcceptDays is the acceptance time limit (受理时限) in working days
	// from reception; default 5.
	AcceptDays int `json:"acceptDays"`
	// Immediate marks an immediate item (即办件): due at the end of the day
	// it is accepted.
	Immediate bool `json:"immediate"`
	// Fee says whether the item is charged and how much.
	Fee Fee `json:"fee"`
	// Mail says whether results can be mailed to the applicant (邮寄送达).
	Mail bool `json:"mail"`
	// Materials are what an application must or may carry, in display
	// order; never nil.
	Materials []Material `json:"materials"`
	// FormSchema is an optional JSON Schema (an object) for the application
	// form, canonical JSON (keys sorted); null when there is none.
	FormSchema json.RawMessage `json:"formSchema"`
	// Status: published or abolished.
	Status Status `json:"status"`
	// Version starts at 1 and grows by one with every PUT that changes the
	// item; a PUT of identical content keeps it.
	Version int `json:"version"`
	// UpdatedAt is when the current version was written.
	UpdatedAt time.Time `json:"updatedAt"`
}

// DepartmentRef names a department inside another record.
type DepartmentRef struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// Fee is an item's charge.
type Fee struct {
	// Required is true when the item is charged (收费).
	Required bool `json:"required"`
	// AmountFen is the standard charge in fen (分); 0 when not charged or
	// when the amount is set per case (the department's payment_requested
	// event carries it).
	AmountFen int64 `json:"amountFen"`
}

// Material is one document an application carries (申请材料).
type Material struct {
	// Code identifies the material within the item; the same code in
	// several items of a bundle means the same document, submitted once.
	Code string `json:"code"`
	// Name is what the applicant sees, 1-200 characters.
	Name string `json:"name"`
	// Required is true when an application without it is refused
	// (material_missing).
	Required bool `json:"required"`
	// MaxBytes is the largest file accepted, in bytes; default 10 MiB,
	// at most 100 MiB.
	MaxBytes int64 `json:"maxBytes"`
	// ContentTypes are the accepted file types, a subset of
	// application/pdf, image/jpeg, image/png and application/ofd (the
	// types case-submit can check by their magic bytes); default all four.
	ContentTypes []string `json:"contentTypes"`
	// LicenseType, when set, is the code of a license type whose electronic
	// license may stand in for the file ({"code","licenseNo"} in a
	// submission).
	LicenseType string `json:"licenseType,omitempty"`
}

// Bundle is a bundle of items applied for together (一件事).
type Bundle struct {
	// Code identifies the bundle, 1-64 of [A-Za-z0-9._-].
	Code string `json:"code"`
	// Name, e.g. 民宿一件事.
	Name string `json:"name"`
	// LeadDepartment is the code of the department that leads the bundle
	// (牵头部门).
	LeadDepartment string `json:"leadDepartment"`
	// Items are the codes of the bundle's items, in order, at least one,
	// no duplicates.
	Items []string `json:"items"`
	// PromisedDays is the bundle's promised time limit in working days.
	PromisedDays int       `json:"promisedDays"`
	Status       Status    `json:"status"`
	Version      int       `json:"version"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// ScopeEntry is a business-scope entry (经营范围规范条目) with the
// expressions an enterprise may publish under it (自主公示项).
type ScopeEntry struct {
	Code string `json:"code"`
	Name string `json:"name"`
	// Domain is the key industry the entry belongs to (重点领域), e.g.
	// 生物医药, 食品, 文化艺术品, 电子元器件.
	Domain string `json:"domain"`
	// Expressions are the selectable wordings, ids unique within the entry.
	Expressions []Expression `json:"expressions"`
	Status      Status       `json:"status"`
	Version     int          `json:"version"`
	UpdatedAt   time.Time    `json:"updatedAt"`
}

// Expression is one selectable wording (自主公示项) of a scope entry.
type Expression struct {
	// ID is 1-64 of [A-Za-z0-9._-], unique within its entry; keep it when
	// rewording, since selections refer to it.
	ID   string `json:"id"`
	Text string `json:"text"`
}

// LicenseType is an entry of the license catalogue (证照目录).
type LicenseType struct {
	Code string `json:"code"`
	Name string `json:"name"`
	// Department is the code of the issuing department.
	Department string    `json:"department"`
	Status     Status    `json:"status"`
	Version    int       `json:"version"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// Department is a department that handles items, with where case-submit
// delivers its cases. Its JSON form never contains the webhook secret, only
// whether one is set.
type Department struct {
	Code string `json:"code"`
	Name string `json:"name"`
	// Region is the department's 6-digit administrative division.
	Region string `json:"region"`
	// WebhookURL receives the department's cases and events (http or
	// https); empty when the department has no system to deliver to.
	WebhookURL string `json:"webhookUrl"`
	// WebhookSecret is the Standard Webhooks signing secret, "whsec_"
	// followed by the base64 of 24 to 64 random bytes. Internal: for
	// signing deliveries only; never rendered (json:"-").
	WebhookSecret string `json:"-"`
	// WebhookSecretSet tells readers whether a secret is set.
	WebhookSecretSet bool      `json:"webhookSecretSet"`
	Version          int       `json:"version"`
	UpdatedAt        time.Time `json:"updatedAt"`
}

// Selection is an enterprise's choice of scope expressions (自主公示).
type Selection struct {
	// USCC is the enterprise's unified social credit code.
	USCC    string           `json:"uscc"`
	Entries []SelectionEntry `json:"entries"`
	// Version counts the enterprise's saves, from 1; 0 when none.
	Version int `json:"version"`
	// SelectedAt is when the selection was last saved; absent when never.
	SelectedAt *time.Time `json:"selectedAt,omitempty"`
	// SelectedBy is the app that saved it.
	SelectedBy string `json:"selectedBy,omitempty"`
}

// SelectionEntry is one selected scope entry. Name, Domain and Expressions
// are filled from the catalogue when reading (the widget shows them); a
// PUT sends only Code and ExpressionIDs.
type SelectionEntry struct {
	Code          string       `json:"code"`
	ExpressionIDs []string     `json:"expressionIds"`
	Name          string       `json:"name,omitempty"`
	Domain        string       `json:"domain,omitempty"`
	Expressions   []Expression `json:"expressions,omitempty"`
}
