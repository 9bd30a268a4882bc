package gateway

import (
	"fmt"
	"maps"
	"net/http"
	"time"

	"github.com/onewindow/onewindow/infra/stackfile"
	"github.com/onewindow/onewindow/infra/supervisor"
)

// FunctionStatus is one entry of GET /system/functions, with the fields of
// OpenFaaS's types.FunctionStatus that apply to a local process, and a
// local-only Local part.
type FunctionStatus struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	// Namespace is always openfaas-fn, the OpenFaaS default.
	Namespace string `json:"namespace"`
	// EnvProcess is what the replicas run: the binary built from the
	// repository (the image's fprocess, ./handler, on OpenFaaS).
	EnvProcess string `json:"envProcess"`
	// EnvVars is stack.yml's environment (secrets are never listed).
	EnvVars     map[string]string `json:"envVars"`
	Secrets     []string          `json:"secrets"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	Limits      *Resources        `json:"limits,omitempty"`
	Requests    *Resources        `json:"requests,omitempty"`
	// InvocationCount counts requests the gateway proxied to the function
	// since it started, failed ones included.
	InvocationCount float64 `json:"invocationCount"`
	// Replicas is the desired count; AvailableReplicas how many are healthy.
	Replicas          uint64 `json:"replicas"`
	AvailableReplicas uint64 `json:"availableReplicas"`
	// CreatedAt is when the current generation started serving.
	CreatedAt time.Time `json:"createdAt"`
	// Local is the local stack's view of the replicas (not in OpenFaaS).
	Local LocalStatus `json:"local"`
}

// Resources are a function's memory and CPU limits or requests.
type Resources struct {
	Memory string `json:"memory,omitempty"`
	CPU    string `json:"cpu,omitempty"`
}

// LocalStatus is the local-only part of FunctionStatus.
type LocalStatus struct {
	// Generation counts deployments: 1, then one more per redeploy.
	Generation int `json:"generation"`
	// Instances describe the replicas. Their pids are for people; tests
	// and scripts read the pid files under the data directory's run/.
	Instances []supervisor.Instance `json:"instances"`
}

// listFunctions answers GET /system/functions: every function, by name.
func (g *Gateway) listFunctions(w http.ResponseWriter, r *http.Request) {
	list := make([]FunctionStatus, 0, len(g.names))
	for _, name := range g.names {
		list = append(list, g.status(name))
	}
	writeJSON(w, r, http.StatusOK, list)
}

// getFunction answers GET /system/function/{name}.
func (g *Gateway) getFunction(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !g.known(name) {
		writeProblem(w, r, http.StatusNotFound, "function_not_found", fmt.Sprintf("error finding function %q", name))
		return
	}
	writeJSON(w, r, http.StatusOK, g.status(name))
}

func (g *Gateway) status(name string) FunctionStatus {
	fn := g.cfg.Functions[name]
	st, _ := g.cfg.Backend.Status(name) // zero before the function is started
	instances := st.Instances
	if instances == nil {
		instances = []supervisor.Instance{}
	}
	return FunctionStatus{
		Name:              name,
		Image:             fn.Image,
		Namespace:         "openfaas-fn",
		EnvProcess:        st.Binary,
		EnvVars:           nonNil(fn.Environment),
		Secrets:           append([]string{}, fn.Secrets...),
		Labels:            nonNil(fn.Labels),
		Annotations:       nonNil(fn.Annotations),
		Limits:            resources(fn.Limits),
		Requests:          resources(fn.Requests),
		InvocationCount:   float64(g.invocations[name].Load()),
		Replicas:          uint64(st.Replicas),
		AvailableReplicas: uint64(st.Available),
		CreatedAt:         st.Deployed,
		Local:             LocalStatus{Generation: st.Generation, Instances: instances},
	}
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}

func resources(r stackfile.Resources) *Resources {
	if r == (stackfile.Resources{}) {
		return nil
	}
	return &Resources{Memory: r.Memory, CPU: r.CPU}
}
