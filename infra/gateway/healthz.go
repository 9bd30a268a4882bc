package gateway

import (
	"net/http"
	"strings"
	"time"
)

// healthz answers GET /healthz: 200 when every function has at least one
// healthy replica, else 503 naming those without. A function scaled to 0
// on purpose does not count against it.
func (g *Gateway) healthz(w http.ResponseWriter, r *http.Request) {
	var down []string
	for _, name := range g.names {
		st, ok := g.cfg.Backend.Status(name)
		if !ok || (st.Replicas > 0 && st.Available == 0) {
			down = append(down, name)
		}
	}
	if len(down) > 0 {
		p := newProblem(http.StatusServiceUnavailable, "functions_unavailable",
			"no healthy replica yet: "+strings.Join(down, ", "))
		p.RetryAfter = time.Second
		writeProblemBody(w, r, gatewayProblem{Problem: p, Unhealthy: down})
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"status": "ok", "functions": len(g.names)})
}
