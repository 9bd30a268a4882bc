package gateway

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"github.com/onewindow/onewindow/shared/problem"
)

const requestIDHeader = "X-Request-Id"

// gatewayProblem is the contract's problem+json with the gateway's own
// extension members.
type gatewayProblem struct {
	*problem.Problem
	// Replica and Pid name the replica that failed (502 upstream_failed).
	Replica string `json:"replica,omitempty"`
	Pid     int    `json:"pid,omitempty"`
	// Unhealthy lists the functions without a healthy replica (/healthz).
	Unhealthy []string `json:"unhealthy,omitempty"`
}

func newProblem(status int, code, detail string) *problem.Problem {
	return problem.New(status, code, detail)
}

// writeProblem answers with an application/problem+json body.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, code, detail string) {
	writeProblemBody(w, r, gatewayProblem{Problem: newProblem(status, code, detail)})
}

func writeProblemBody(w http.ResponseWriter, r *http.Request, p gatewayProblem) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	setRequestID(h, r)
	if p.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(max(1, int(p.RetryAfter.Seconds()))))
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p) // a client gone: nothing to do
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	setRequestID(h, r)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// setRequestID echoes the caller's X-Request-Id, else a new one.
func setRequestID(h http.Header, r *http.Request) {
	if h.Get(requestIDHeader) != "" {
		return
	}
	id := r.Header.Get(requestIDHeader)
	if id == "" {
		id = uuid.NewString()
	}
	h.Set(requestIDHeader, id)
}
