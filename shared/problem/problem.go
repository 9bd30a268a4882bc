// Package problem defines the error every OneWindow function answers with: an
// RFC 9457 problem carrying one of the contract's stable codes. Shared
// packages return a *Problem for anything the caller did wrong; httpx renders
// it, and maps every other error to 500 or 503 in one place.
//
// It imports nothing of ours so that every package can use it.
package problem

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// FieldError is one entry of a 422's errors[]: Field is a dotted path into
// the request body ("applicant.idNumber", "materials.M01").
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Problem is an application/problem+json body. Code is the binding
// snake_case code of the contract; Type defaults to a URN built from it.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Code   string       `json:"code"`
	Errors []FieldError `json:"errors,omitempty"`

	// RetryAfter, when positive, becomes a Retry-After header (429, 503).
	RetryAfter time.Duration `json:"-"`
}

// New returns a problem with the given status, code and detail.
func New(status int, code, detail string) *Problem {
	return &Problem{
		Type:   "urn:onewindow:problem:" + code,
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
		Code:   code,
	}
}

// Newf is New with a formatted detail.
func Newf(status int, code, format string, args ...any) *Problem {
	return New(status, code, fmt.Sprintf(format, args...))
}

func (p *Problem) Error() string {
	if p.Detail == "" {
		return fmt.Sprintf("%d %s", p.Status, p.Code)
	}
	return fmt.Sprintf("%d %s: %s", p.Status, p.Code, p.Detail)
}

// As returns the *Problem in err's chain, if any.
func As(err error) (*Problem, bool) {
	var p *Problem
	ok := errors.As(err, &p)
	return p, ok
}

// Common problems. Each call returns a fresh value, so callers may add detail.

// BadRequest is a 400 for an unparseable or malformed request.
func BadRequest(code, detail string) *Problem { return New(http.StatusBadRequest, code, detail) }

// NotFound is the 404 for records that are absent or not visible to the caller.
func NotFound(detail string) *Problem { return New(http.StatusNotFound, "not_found", detail) }

// Forbidden is the 403 for an authenticated app whose role may not call the endpoint.
func Forbidden() *Problem {
	return New(http.StatusForbidden, "forbidden", "your app's roles may not call this endpoint")
}

// Conflict is a 409 with the given code (illegal_transition, license_exists, ...).
func Conflict(code, detail string) *Problem { return New(http.StatusConflict, code, detail) }

// Unprocessable is a 422 whose cause is one named code (invalid_region, unknown_item, ...).
func Unprocessable(code, detail string) *Problem {
	return New(http.StatusUnprocessableEntity, code, detail)
}

// NotImplemented is the 501 a function answers for parts not built yet.
func NotImplemented(detail string) *Problem {
	return New(http.StatusNotImplemented, "not_implemented", detail)
}

// Unavailable is the 503 for a dependency (database, object store) that is down.
func Unavailable(detail string) *Problem {
	p := New(http.StatusServiceUnavailable, "dependency_unavailable", detail)
	p.RetryAfter = 2 * time.Second
	return p
}

// Validation collects field errors and becomes one 422 validation_failed
// listing every problem, so a client fixes everything in one round trip.
type Validation struct {
	errs []FieldError
}

// Add records a problem with field.
func (v *Validation) Add(field, code, message string) {
	v.errs = append(v.errs, FieldError{Field: field, Code: code, Message: message})
}

// Addf is Add with a formatted message.
func (v *Validation) Addf(field, code, format string, args ...any) {
	v.Add(field, code, fmt.Sprintf(format, args...))
}

// Errors returns the problems recorded so far.
func (v *Validation) Errors() []FieldError { return v.errs }

// Err returns nil when nothing was recorded, else the 422 problem.
func (v *Validation) Err() error {
	if len(v.errs) == 0 {
		return nil
	}
	p := New(http.StatusUnprocessableEntity, "validation_failed", fmt.Sprintf("%d field(s) failed validation", len(v.errs)))
	p.Errors = append([]FieldError(nil), v.errs...)
	return p
}
