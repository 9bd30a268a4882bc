package catalog

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/onewindow/onewindow/shared/idcheck"
	"github.com/onewindow/onewindow/shared/problem"
)

// The field codes of a PUT's 422 validation_failed (errors[].code).
const (
	CodeRequired           = "required"
	CodeInvalid            = "invalid"
	CodeInvalidCode        = "invalid_code"
	CodeCodeMismatch       = "code_mismatch"
	CodeTooLong            = "too_long"
	CodeOutOfRange         = "out_of_range"
	CodeDuplicate          = "duplicate"
	CodeInvalidRegion      = "invalid_region"
	CodeInvalidStatus      = "invalid_status"
	CodeInvalidURL         = "invalid_url"
	CodeInvalidSecret      = "invalid_secret"
	CodeSecretRequired     = "webhook_secret_required"
	CodeUnsupportedType    = "unsupported_content_type"
	CodeInvalidSchema      = "invalid_form_schema"
	CodeUnknownDepartment  = "unknown_department"
	CodeUnknownLicenseType = "unknown_license_type"
	CodeUnknownItem        = "unknown_item"
	CodeItemAbolished      = "item_abolished"
	CodeUnknownEntry       = "unknown_scope_entry"
	CodeEntryAbolished     = "scope_entry_abolished"
	CodeUnknownExpression  = "unknown_expression"
	CodeTooMany            = "too_many"
)

// Limits and defaults of catalogue records.
const (
	// DefaultAcceptDays is an item's acceptance time limit when a PUT
	// leaves acceptDays out (contract section 3).
	DefaultAcceptDays = 5
	// DefaultMaxBytes is a material's maxBytes when left out: 10 MiB.
	DefaultMaxBytes = 10 << 20
	// MaxMaxBytes caps a material's maxBytes: 100 MiB.
	MaxMaxBytes = 100 << 20
	// MaxDays caps every time limit in working days (about four years).
	MaxDays = 1000
	// MaxFeeFen caps a standard fee: 10 million yuan.
	MaxFeeFen = 1_000_000_000
	maxName   = 200
	maxText   = 500
	// MaxListed caps the materials of an item, the items of a bundle, the
	// expressions of a scope entry and the entries of a selection.
	MaxListed = 200
)

// ContentTypes are the file types a material may accept: those case-submit
// verifies by magic bytes.
var ContentTypes = []string{"application/pdf", "image/jpeg", "image/png", "application/ofd"}

var codePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidCode reports whether s is a well-formed code of any catalogue record:
// 1-64 of [A-Za-z0-9._-], starting with a letter or digit.
func ValidCode(s string) bool { return codePattern.MatchString(s) }

// ItemInput is the body of PUT /items/{code}. Everything a GET returns is
// accepted, so a read can be edited and written back; version and updatedAt
// are ignored (the server sets them), department may be {"code"} (its name
// is ignored) or the code as a string.
type ItemInput struct {
	Code         *string         `json:"code"`
	Name         string          `json:"name"`
	Kind         string          `json:"kind"`
	Department   RefInput        `json:"department"`
	Region       string          `json:"region"`
	LegalDays    *int            `json:"legalDays"`
	PromisedDays *int            `json:"promisedDays"`
	AcceptDays   *int            `json:"acceptDays"`
	Immediate    bool            `json:"immediate"`
	Fee          *Fee            `json:"fee"`
	Mail         bool            `json:"mail"`
	Materials    []MaterialInput `json:"materials"`
	FormSchema   json.RawMessage `json:"formSchema"`
	Status       Status          `json:"status"`
	Version      json.RawMessage `json:"version"`
	UpdatedAt    json.RawMessage `json:"updatedAt"`
}

// MaterialInput is one entry of ItemInput.Materials.
type MaterialInput struct {
	Code         string   `json:"code"`
	Name         string   `json:"name"`
	Required     bool     `json:"required"`
	MaxBytes     *int64   `json:"maxBytes"`
	ContentTypes []string `json:"contentTypes"`
	LicenseType  string   `json:"licenseType"`
}

// RefInput is a reference to another record in a PUT body: "130100-GA" or
// {"code":"130100-GA"} ({"code","name"} as a GET shows it; the name is
// ignored).
type RefInput struct {
	Code string
}

// UnmarshalJSON accepts a string or an object with code (and name).
func (d *RefInput) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &d.Code)
	}
	var obj struct {
		Code string `json:"code"`
		Name string `json:"name"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&obj); err != nil {
		return fmt.Errorf("department: a code or {\"code\"}: %w", err)
	}
	d.Code = obj.Code
	return nil
}

// checker collects the problems of one body.
type checker struct{ problem.Validation }

func (c *checker) code(field, v string) {
	switch {
	case v == "":
		c.Add(field, CodeRequired, "required")
	case !ValidCode(v):
		c.Add(field, CodeInvalidCode, "1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit")
	}
}

// bodyCode checks the body's code, when given, against the path's.
func (c *checker) bodyCode(path string, body *string) {
	c.code("code", path)
	if body != nil && *body != path {
		c.Addf("code", CodeCodeMismatch, "the body's code %q differs from the path's %q", *body, path)
	}
}

func (c *checker) count(field string, n int) {
	if n > MaxListed {
		c.Addf(field, CodeTooMany, "at most %d", MaxListed)
	}
}

func (c *checker) text(field, v string, limit int) string {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		c.Add(field, CodeRequired, "required")
	case !utf8.ValidString(v):
		c.Add(field, CodeInvalid, "not valid UTF-8")
	case utf8.RuneCountInString(v) > limit:
		c.Addf(field, CodeTooLong, "at most %d characters", limit)
	}
	return v
}

func (c *checker) region(field, v string) {
	if v == "" {
		c.Add(field, CodeRequired, "required")
		return
	}
	if err := idcheck.Region(v); err != nil {
		c.Add(field, CodeInvalidRegion, err.Error())
	}
}

func (c *checker) status(s Status) Status {
	if s == "" {
		return StatusPublished
	}
	if !s.Valid() {
		c.Add("status", CodeInvalidStatus, "published or abolished")
	}
	return s
}

func (c *checker) days(field string, v *int, def int, required bool) int {
	if v == nil {
		if required {
			c.Add(field, CodeRequired, "required (working days)")
		}
		return def
	}
	if *v < 0 || *v > MaxDays {
		c.Addf(field, CodeOutOfRange, "0 to %d working days", MaxDays)
	}
	return *v
}

// Validate checks the body of PUT /items/{code} on its own and returns the
// item it describes (without version, time and department name). The
// references (department, license types) are checked by PutItem.
func (in ItemInput) Validate(code string) (Item, error) {
	var c checker
	c.bodyCode(code, in.Code)
	it := Item{
		Code:       code,
		Name:       c.text("name", in.Name, maxName),
		Kind:       c.text("kind", in.Kind, 32),
		Department: DepartmentRef{Code: in.Department.Code},
		Region:     in.Region,
		Immediate:  in.Immediate,
		Mail:       in.Mail,
		Status:     c.status(in.Status),
		Materials:  []Material{},
	}
	c.code("department", in.Department.Code)
	c.region("region", in.Region)
	it.LegalDays = c.days("legalDays", in.LegalDays, 0, true)
	it.PromisedDays = c.days("promisedDays", in.PromisedDays, 0, true)
	it.AcceptDays = c.days("acceptDays", in.AcceptDays, DefaultAcceptDays, false)
	if in.AcceptDays != nil && *in.AcceptDays == 0 {
		c.Add("acceptDays", CodeOutOfRange, "at least 1 working day")
	}
	if in.LegalDays != nil && in.PromisedDays != nil && it.LegalDays > 0 && it.PromisedDays > it.LegalDays {
		c.Addf("promisedDays", CodeOutOfRange, "the promised limit (%d) exceeds the legal limit (%d)", it.PromisedDays, it.LegalDays)
	}
	if !it.Immediate && in.PromisedDays != nil && it.PromisedDays == 0 {
		c.Add("promisedDays", CodeOutOfRange, "at least 1 working day unless the item is immediate")
	}
	if in.Fee != nil {
		it.Fee = *in.Fee
		switch {
		case it.Fee.AmountFen < 0 || it.Fee.AmountFen > MaxFeeFen:
			c.Addf("fee.amountFen", CodeOutOfRange, "0 to %d fen", MaxFeeFen)
		case !it.Fee.Required && it.Fee.AmountFen != 0:
			c.Add("fee.amountFen", CodeInvalid, "an item that is not charged has amountFen 0")
		}
	}
	c.count("materials", len(in.Materials))
	seen := map[string]bool{}
	for i, m := range in.Materials {
		it.Materials = append(it.Materials, m.validate(&c, fmt.Sprintf("materials.%d", i), seen))
	}
	schema, err := canonicalSchema(in.FormSchema)
	if err != nil {
		c.Add("formSchema", CodeInvalidSchema, err.Error())
	}
	it.FormSchema = schema
	return it, c.Err()
}

func (m MaterialInput) validate(c *checker, field string, seen map[string]bool) Material {
	out := Material{
		Code:        m.Code,
		Name:        c.text(field+".name", m.Name, maxName),
		Required:    m.Required,
		MaxBytes:    DefaultMaxBytes,
		LicenseType: m.LicenseType,
	}
	c.code(field+".code", m.Code)
	if seen[m.Code] && m.Code != "" {
		c.Addf(field+".code", CodeDuplicate, "material %s is listed twice", m.Code)
	}
	seen[m.Code] = true
	if m.MaxBytes != nil {
		out.MaxBytes = *m.MaxBytes
		if out.MaxBytes < 1 || out.MaxBytes > MaxMaxBytes {
			c.Addf(field+".maxBytes", CodeOutOfRange, "1 to %d bytes", MaxMaxBytes)
		}
	}
	if m.ContentTypes == nil {
		out.ContentTypes = append([]string(nil), ContentTypes...)
	} else {
		if len(m.ContentTypes) == 0 {
			c.Add(field+".contentTypes", CodeRequired, "at least one content type (or leave it out for all)")
		}
		for j, ct := range m.ContentTypes {
			ct = strings.ToLower(strings.TrimSpace(ct))
			switch {
			case !contains(ContentTypes, ct):
				c.Addf(fmt.Sprintf("%s.contentTypes.%d", field, j), CodeUnsupportedType,
					"one of %s", strings.Join(ContentTypes, ", "))
			case contains(out.ContentTypes, ct):
				c.Addf(fmt.Sprintf("%s.contentTypes.%d", field, j), CodeDuplicate, "%s is listed twice", ct)
			default:
				out.ContentTypes = append(out.ContentTypes, ct)
			}
		}
	}
	if m.LicenseType != "" && !ValidCode(m.LicenseType) {
		c.Add(field+".licenseType", CodeInvalidCode, "a license type code")
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// BundleInput is the body of PUT /bundles/{code}: the bundle as GET
// /bundles lists it (items are codes); version and updatedAt are ignored.
type BundleInput struct {
	Code           *string         `json:"code"`
	Name           string          `json:"name"`
	LeadDepartment string          `json:"leadDepartment"`
	Items          []string        `json:"items"`
	PromisedDays   *int            `json:"promisedDays"`
	Status         Status          `json:"status"`
	Version        json.RawMessage `json:"version"`
	UpdatedAt      json.RawMessage `json:"updatedAt"`
}

// Validate checks the body on its own; PutBundle checks that the lead
// department and the items exist.
func (in BundleInput) Validate(code string) (Bundle, error) {
	var c checker
	c.bodyCode(code, in.Code)
	b := Bundle{
		Code:           code,
		Name:           c.text("name", in.Name, maxName),
		LeadDepartment: in.LeadDepartment,
		Items:          []string{},
		Status:         c.status(in.Status),
	}
	c.code("leadDepartment", in.LeadDepartment)
	b.PromisedDays = c.days("promisedDays", in.PromisedDays, 0, true)
	if in.PromisedDays != nil && b.PromisedDays == 0 {
		c.Add("promisedDays", CodeOutOfRange, "at least 1 working day")
	}
	if len(in.Items) == 0 {
		c.Add("items", CodeRequired, "at least one item code")
	}
	c.count("items", len(in.Items))
	seen := map[string]bool{}
	for i, ic := range in.Items {
		field := fmt.Sprintf("items.%d", i)
		c.code(field, ic)
		if seen[ic] {
			c.Addf(field, CodeDuplicate, "item %s is listed twice", ic)
		}
		seen[ic] = true
		b.Items = append(b.Items, ic)
	}
	return b, c.Err()
}

// ScopeEntryInput is the body of PUT /scopes/{code}.
type ScopeEntryInput struct {
	Code        *string         `json:"code"`
	Name        string          `json:"name"`
	Domain      string          `json:"domain"`
	Expressions []Expression    `json:"expressions"`
	Status      Status          `json:"status"`
	Version     json.RawMessage `json:"version"`
	UpdatedAt   json.RawMessage `json:"updatedAt"`
}

// Validate checks the body; a scope entry refers to nothing else.
func (in ScopeEntryInput) Validate(code string) (ScopeEntry, error) {
	var c checker
	c.bodyCode(code, in.Code)
	e := ScopeEntry{
		Code:        code,
		Name:        c.text("name", in.Name, maxName),
		Domain:      c.text("domain", in.Domain, 32),
		Expressions: []Expression{},
		Status:      c.status(in.Status),
	}
	if len(in.Expressions) == 0 {
		c.Add("expressions", CodeRequired, "at least one expression")
	}
	c.count("expressions", len(in.Expressions))
	seen := map[string]bool{}
	for i, x := range in.Expressions {
		field := fmt.Sprintf("expressions.%d", i)
		c.code(field+".id", x.ID)
		if seen[x.ID] && x.ID != "" {
			c.Addf(field+".id", CodeDuplicate, "expression %s is listed twice", x.ID)
		}
		seen[x.ID] = true
		e.Expressions = append(e.Expressions, Expression{ID: x.ID, Text: c.text(field+".text", x.Text, maxText)})
	}
	return e, c.Err()
}

// LicenseTypeInput is the body of PUT /license-types/{code}.
type LicenseTypeInput struct {
	Code       *string         `json:"code"`
	Name       string          `json:"name"`
	Department string          `json:"department"`
	Status     Status          `json:"status"`
	Version    json.RawMessage `json:"version"`
	UpdatedAt  json.RawMessage `json:"updatedAt"`
}

// Validate checks the body; PutLicenseType checks the department exists.
func (in LicenseTypeInput) Validate(code string) (LicenseType, error) {
	var c checker
	c.bodyCode(code, in.Code)
	lt := LicenseType{
		Code:       code,
		Name:       c.text("name", in.Name, maxName),
		Department: in.Department,
		Status:     c.status(in.Status),
	}
	c.code("department", in.Department)
	return lt, c.Err()
}

// DepartmentInput is the body of PUT /departments/{code}. WebhookSecret is
// write-only: left out, the stored secret stays; "" removes it.
// webhookSecretSet, version and updatedAt (as a GET shows them) are ignored.
type DepartmentInput struct {
	Code             *string         `json:"code"`
	Name             string          `json:"name"`
	Region           string          `json:"region"`
	WebhookURL       string          `json:"webhookUrl"`
	WebhookSecret    *string         `json:"webhookSecret"`
	WebhookSecretSet json.RawMessage `json:"webhookSecretSet"`
	Version          json.RawMessage `json:"version"`
	UpdatedAt        json.RawMessage `json:"updatedAt"`
}

// Validate checks the body. Whether a webhook URL has a secret (given now
// or stored before) is checked by PutDepartment.
func (in DepartmentInput) Validate(code string) (Department, error) {
	var c checker
	c.bodyCode(code, in.Code)
	d := Department{
		Code:       code,
		Name:       c.text("name", in.Name, maxName),
		Region:     in.Region,
		WebhookURL: strings.TrimSpace(in.WebhookURL),
	}
	c.region("region", in.Region)
	if d.WebhookURL != "" {
		if err := checkWebhookURL(d.WebhookURL); err != nil {
			c.Add("webhookUrl", CodeInvalidURL, err.Error())
		}
	}
	if in.WebhookSecret != nil && *in.WebhookSecret != "" {
		if err := CheckWebhookSecret(*in.WebhookSecret); err != nil {
			c.Add("webhookSecret", CodeInvalidSecret, err.Error())
		}
		d.WebhookSecret = *in.WebhookSecret
	}
	d.WebhookSecretSet = d.WebhookSecret != ""
	return d, c.Err()
}

func checkWebhookURL(s string) error {
	if len(s) > 2000 {
		return fmt.Errorf("at most 2000 bytes")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("an absolute http or https URL")
	}
	if u.User != nil {
		return fmt.Errorf("credentials do not belong in the URL; the webhook secret signs deliveries")
	}
	if u.Fragment != "" {
		return fmt.Errorf("no #fragment")
	}
	return nil
}

// WebhookSecretPrefix starts every Standard Webhooks secret.
const WebhookSecretPrefix = "whsec_"

// CheckWebhookSecret checks the form of a Standard Webhooks secret:
// "whsec_" and the standard base64 (padded or not) of 24 to 64 bytes. The
// error never repeats the secret.
func CheckWebhookSecret(s string) error {
	rest, ok := strings.CutPrefix(s, WebhookSecretPrefix)
	if !ok {
		return fmt.Errorf("a webhook secret starts with %s", WebhookSecretPrefix)
	}
	key, err := WebhookKey(rest)
	if err != nil {
		return fmt.Errorf("after %s comes base64", WebhookSecretPrefix)
	}
	if len(key) < 24 || len(key) > 64 {
		return fmt.Errorf("a webhook secret holds 24 to 64 bytes, not %d", len(key))
	}
	return nil
}

// WebhookKey decodes the base64 part of a webhook secret (after "whsec_")
// into the HMAC key, padded or not.
func WebhookKey(b64 string) ([]byte, error) {
	b64 = strings.TrimRight(b64, "=")
	return base64.RawStdEncoding.DecodeString(b64)
}
