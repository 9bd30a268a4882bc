package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// UpdateRequest is the body of PUT /system/functions, OpenFaaS's
// FunctionDeployment. Only Service is used: the local stack always builds
// the function from the repository's working tree; image, envVars and the
// rest are ignored.
type UpdateRequest struct {
	Service string `json:"service"`
}

// UpdateResult is the answer of a successful PUT /system/functions.
type UpdateResult struct {
	Service    string `json:"service"`
	Generation int    `json:"generation"`
	Replicas   int    `json:"replicas"`
	Binary     string `json:"binary"`
	// BuildMs and SwapMs time the two steps.
	BuildMs int64 `json:"buildMs"`
	SwapMs  int64 `json:"swapMs"`
}

// updateFunction answers PUT /system/functions (faas-cli up/deploy of an
// existing function; `make redeploy FN=`): it rebuilds the function from
// the repository, starts a new generation of replicas, switches the
// routing to them once all are healthy, and lets the old ones drain. No
// request is dropped. 200 with an UpdateResult when done; 400
// build_failed with the build output, or 500 deploy_failed when the new
// replicas do not become healthy; in both cases the old generation keeps
// serving. One update per function at a time; others wait.
func (g *Gateway) updateFunction(w http.ResponseWriter, r *http.Request) {
	var req UpdateRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		writeProblem(w, r, http.StatusBadRequest, "invalid_body", "the body must be JSON like {\"service\":\"case-submit\"}: "+err.Error())
		return
	}
	if !g.known(req.Service) {
		writeProblem(w, r, http.StatusNotFound, "function_not_found", fmt.Sprintf("error finding function %q", req.Service))
		return
	}
	if g.cfg.Build == nil {
		writeProblem(w, r, http.StatusNotImplemented, "not_implemented", "this gateway cannot build functions")
		return
	}
	mu, _ := g.deploying.LoadOrStore(req.Service, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()

	ctx := r.Context()
	g.log.Info("redeploy: building", "function", req.Service)
	start := time.Now()
	binary, err := g.cfg.Build(ctx, req.Service)
	if err != nil {
		g.log.Error("redeploy: build failed; the running generation keeps serving", "function", req.Service, "err", err)
		writeProblem(w, r, http.StatusBadRequest, "build_failed",
			fmt.Sprintf("building %s failed; the running replicas keep serving: %v", req.Service, err))
		return
	}
	built := time.Now()
	g.log.Info("redeploy: swapping", "function", req.Service, "binary", binary)
	if err := g.cfg.Backend.Swap(ctx, req.Service, binary); err != nil {
		g.log.Error("redeploy: swap failed", "function", req.Service, "err", err)
		writeProblem(w, r, http.StatusInternalServerError, "deploy_failed", err.Error())
		return
	}
	st, _ := g.cfg.Backend.Status(req.Service)
	g.log.Info("redeploy: done", "function", req.Service, "generation", st.Generation)
	writeJSON(w, r, http.StatusOK, UpdateResult{
		Service:    req.Service,
		Generation: st.Generation,
		Replicas:   st.Replicas,
		Binary:     st.Binary,
		BuildMs:    built.Sub(start).Milliseconds(),
		SwapMs:     time.Since(built).Milliseconds(),
	})
}
