package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"unicode/utf8"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/store"
)

// JSON answers status with v encoded as JSON.
func JSON(status int, v any) handler.Response {
	b, err := json.Marshal(v)
	if err != nil {
		// Our own response types always encode; this is a programming error.
		panic(fmt.Sprintf("encode response: %v", err))
	}
	return handler.Response{
		StatusCode: status,
		Header:     http.Header{"Content-Type": {"application/json; charset=utf-8"}},
		Body:       b,
	}
}

// Problem renders p as application/problem+json.
func Problem(p *problem.Problem) handler.Response {
	b, _ := json.Marshal(p)
	h := http.Header{"Content-Type": {"application/problem+json"}}
	if p.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((p.RetryAfter+999_999_999)/1_000_000_000)))
	}
	return handler.Response{StatusCode: p.Status, Header: h, Body: b}
}

// unavailable classifies errors of a dependency that is down (not a bug).
var unavailable = []func(error) bool{store.IsUnavailable}

// RegisterUnavailable adds a test for dependency outages that answer 503.
// Call it from package init only.
func RegisterUnavailable(is func(error) bool) { unavailable = append(unavailable, is) }

// Error is the one place an error becomes an answer: a *problem.Problem is
// rendered as is; a dependency outage or a request out of time becomes 503
// with Retry-After; anything else is a logged 500 whose detail does not leak
// internals.
func Error(ctx context.Context, requestID string, err error) handler.Response {
	if p, ok := problem.As(err); ok {
		return Problem(p)
	}
	for _, is := range unavailable {
		if is(err) {
			slog.WarnContext(ctx, "dependency unavailable", "request_id", requestID, "err", err)
			return Problem(problem.Unavailable("a dependency of this function is unavailable; retry later"))
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		slog.WarnContext(ctx, "request timed out", "request_id", requestID, "err", err)
		return Problem(problem.Unavailable("the request timed out; retry later"))
	}
	slog.ErrorContext(ctx, "internal error", "request_id", requestID, "err", err)
	return Problem(problem.New(http.StatusInternalServerError, "internal_error",
		"internal error; quote request id "+requestID))
}

// Decode parses a JSON body into v strictly: bytes that are not UTF-8,
// unknown fields, duplicate keys, trailing data, wrong types and an empty
// body are 400 invalid_json naming the problem, never a 500.
func Decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return problem.BadRequest("invalid_json", "a JSON body is required")
	}
	// encoding/json would silently turn bad bytes into U+FFFD.
	if !utf8.Valid(body) {
		return problem.BadRequest("invalid_json", "the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return problem.BadRequest("invalid_json", describeJSONError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return problem.BadRequest("invalid_json", "unexpected data after the JSON value")
	}
	if key, dup := duplicateKey(body); dup {
		return problem.BadRequest("invalid_json", "the key "+strconv.Quote(key)+" appears twice in one object")
	}
	return nil
}

// duplicateKey finds a key that appears twice in one object of body, which
// has decoded already. encoding/json keeps the last of them, and another
// reader of the same bytes (a proxy, an audit, a signature check) may keep
// the first: refusing them leaves one meaning only.
func duplicateKey(body []byte) (string, bool) {
	type level struct {
		keys    map[string]bool // nil in an array
		wantKey bool
	}
	var stack []*level
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false // io.EOF: done; Decode reported anything else
		}
		var top *level
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if key, ok := tok.(string); ok && top != nil && top.keys != nil && top.wantKey {
			if top.keys[key] {
				return key, true
			}
			top.keys[key], top.wantKey = true, false
			continue
		}
		if top != nil && top.keys != nil {
			top.wantKey = true // a value ends here, or its object or array starts
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &level{keys: map[string]bool{}, wantKey: true})
		case json.Delim('['):
			stack = append(stack, &level{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
	}
}

// Decode parses the request body into v; see the function Decode.
func (r *Request) Decode(v any) error { return Decode(r.Body, v) }

func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("field %s: expected %s, got %s", typ.Field, jsonKind(typ.Type), typ.Value)
		}
		return fmt.Sprintf("expected %s, got %s", jsonKind(typ.Type), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	default:
		// encoding/json reports unknown fields as `json: unknown field "x"`.
		return err.Error()
	}
}

// jsonKind names what a Go type expects in JSON terms, so messages do not
// leak Go type names.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	default:
		return "a number"
	}
}

// NotImplemented is the handler of endpoints a later issue will build.
func NotImplemented(context.Context, *Request) (handler.Response, error) {
	return handler.Response{}, problem.NotImplemented("this endpoint is not implemented yet")
}

// Command is a route that only decodes its JSON body into In, hands it to
// do with the caller, and answers do's result as JSON with status (201 for
// a create): the shape of most POSTs, written once.
func Command[In, Out any](status int, do func(context.Context, auth.App, In) (Out, error)) HandlerFunc {
	return func(ctx context.Context, r *Request) (handler.Response, error) {
		var in In
		if err := r.Decode(&in); err != nil {
			return handler.Response{}, err
		}
		out, err := do(ctx, r.App, in)
		if err != nil {
			return handler.Response{}, err
		}
		return JSON(status, out), nil
	}
}
