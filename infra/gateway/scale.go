package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// scaleLimitLabel bounds the replica count of a function, as in OpenFaaS.
const scaleLimitLabel = "com.openfaas.scale.max"

// ScaleRequest is the body of POST /system/scale-function/{name}, as in
// OpenFaaS's ScaleServiceRequest.
type ScaleRequest struct {
	// ServiceName, when given, must be the function of the path.
	ServiceName string `json:"serviceName"`
	// Replicas is the desired count, 0 to com.openfaas.scale.max. At 0 the
	// function answers 503 function_unavailable until scaled up again
	// (nothing scales it from zero on demand here).
	Replicas *uint64 `json:"replicas"`
}

// scaleFunction answers POST /system/scale-function/{name} with 202
// Accepted: new replicas start and removed ones drain in the background;
// GET /system/function/{name} shows the progress.
func (g *Gateway) scaleFunction(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !g.known(name) {
		writeProblem(w, r, http.StatusNotFound, "function_not_found", fmt.Sprintf("error finding function %q", name))
		return
	}
	var req ScaleRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
		writeProblem(w, r, http.StatusBadRequest, "invalid_body", "the body must be JSON like {\"replicas\":2}: "+err.Error())
		return
	}
	if req.ServiceName != "" && req.ServiceName != name {
		writeProblem(w, r, http.StatusBadRequest, "invalid_body",
			fmt.Sprintf("serviceName %q does not match the function of the path, %q", req.ServiceName, name))
		return
	}
	if req.Replicas == nil {
		writeProblem(w, r, http.StatusBadRequest, "invalid_body", "replicas is required")
		return
	}
	limit, hasLimit := g.scaleLimit(name)
	if hasLimit && *req.Replicas > limit {
		writeProblem(w, r, http.StatusBadRequest, "replicas_out_of_range",
			fmt.Sprintf("%s allows at most %d replicas (label %s)", name, limit, scaleLimitLabel))
		return
	}
	if *req.Replicas > 1000 {
		writeProblem(w, r, http.StatusBadRequest, "replicas_out_of_range", "at most 1000 replicas")
		return
	}
	if err := g.cfg.Backend.Scale(name, int(*req.Replicas)); err != nil {
		g.log.Error("scale failed", "function", name, "err", err)
		writeProblem(w, r, http.StatusInternalServerError, "scale_failed", err.Error())
		return
	}
	setRequestID(w.Header(), r)
	w.WriteHeader(http.StatusAccepted)
}

// scaleLimit reads the function's com.openfaas.scale.max label.
func (g *Gateway) scaleLimit(name string) (uint64, bool) {
	v, ok := g.cfg.Functions[name].Labels[scaleLimitLabel]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		g.log.Warn("ignoring a malformed label", "function", name, "label", scaleLimitLabel, "value", v)
		return 0, false
	}
	return n, true
}
