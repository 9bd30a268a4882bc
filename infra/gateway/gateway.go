// Package gateway is the local stack's OpenFaaS gateway: the subset of the
// OpenFaaS HTTP API that OneWindow uses, over the function replicas that
// infra/supervisor runs. Like faasd's provider it is a resolver (function
// name to a healthy replica, round robin) and one file per operation:
//
//	/function/{name}[/{subpath}]        invoke.go        proxy to a replica
//	GET  /system/functions              function_list.go list (FunctionStatus)
//	GET  /system/function/{name}        function_list.go one function
//	POST /system/scale-function/{name}  scale.go         set the replica count
//	PUT  /system/functions              update.go        rebuild and swap one function
//	GET  /healthz                       healthz.go       200 once every function is up
//
// The /system/ endpoints take no credentials: the gateway listens on
// loopback only (see CheckLoopback). On a real OpenFaaS they sit behind
// the gateway's basic auth.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/onewindow/onewindow/infra/stackfile"
	"github.com/onewindow/onewindow/infra/supervisor"
)

// Backend runs the functions' replicas. *supervisor.Supervisor implements it.
type Backend interface {
	// Endpoints returns fn's healthy replicas; the gateway Acquires one
	// per request.
	Endpoints(fn string) []*supervisor.Endpoint
	// Status describes fn's replicas; false for an unknown function.
	Status(fn string) (supervisor.Status, bool)
	// Scale sets fn's number of replicas.
	Scale(fn string, replicas int) error
	// Swap moves fn to a new binary without dropping requests.
	Swap(ctx context.Context, fn, binary string) error
}

// BuildFunc compiles function afresh from the repository and returns the
// path of the new binary. Its error should end with the build's output.
type BuildFunc func(ctx context.Context, function string) (binary string, err error)

// Config configures a Gateway.
type Config struct {
	// Functions are the functions served, by name, as stack.yml declares
	// them (labels, annotations, environment). Required.
	Functions map[string]stackfile.Function
	// Backend runs their replicas. Required.
	Backend Backend
	// Build rebuilds a function for PUT /system/functions; nil makes that
	// endpoint answer 501.
	Build BuildFunc
	// Log receives errors and one Debug line per proxied request; nil
	// discards them.
	Log *slog.Logger
}

// Gateway is an http.Handler serving the OpenFaaS API subset above.
type Gateway struct {
	cfg      Config
	log      *slog.Logger
	names    []string // sorted function names
	resolver *resolver
	mux      *http.ServeMux
	// invocations counts requests per function (invocationCount).
	invocations map[string]*atomic.Uint64
	// deploying serialises updates per function.
	deploying sync.Map // name -> *sync.Mutex
}

// New returns a Gateway for cfg.
func New(cfg Config) (*Gateway, error) {
	if len(cfg.Functions) == 0 {
		return nil, errors.New("gateway: no functions")
	}
	if cfg.Backend == nil {
		return nil, errors.New("gateway: no backend")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	g := &Gateway{cfg: cfg, log: log, invocations: map[string]*atomic.Uint64{}, mux: http.NewServeMux()}
	for name := range cfg.Functions {
		g.names = append(g.names, name)
		g.invocations[name] = new(atomic.Uint64)
	}
	sort.Strings(g.names)
	g.resolver = newResolver(cfg.Backend, g.names)

	g.mux.HandleFunc("GET /system/functions", g.listFunctions)
	g.mux.HandleFunc("PUT /system/functions", g.updateFunction)
	g.mux.HandleFunc("GET /system/function/{name}", g.getFunction)
	g.mux.HandleFunc("POST /system/scale-function/{name}", g.scaleFunction)
	g.mux.HandleFunc("GET /healthz", g.healthz)
	g.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusNotFound, "not_found", "no such gateway endpoint: "+r.Method+" "+r.URL.Path)
	})
	return g, nil
}

// ServeHTTP routes /function/ to the replicas and everything else to the
// API. Function paths bypass ServeMux, which would clean them ("//",
// "..") and change what the function is asked for.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/function/") {
		g.invoke(w, r)
		return
	}
	g.mux.ServeHTTP(w, r)
}

// CheckLoopback refuses a listen address that is not a loopback one
// (127.0.0.0/8, ::1, localhost), unless allowRemote: the /system/
// endpoints have no authentication.
func CheckLoopback(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("gateway address %q: %w", addr, err)
	}
	if allowRemote || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("gateway address %q is not a loopback address: the /system/ API has no authentication, "+
		"so the local gateway listens on 127.0.0.1 only (allow it explicitly to listen elsewhere)", addr)
}

// known reports whether name is a function of the stack.
func (g *Gateway) known(name string) bool {
	_, ok := g.cfg.Functions[name]
	return ok
}
