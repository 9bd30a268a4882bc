package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/onewindow/onewindow/infra/loadgen"
	"github.com/onewindow/onewindow/infra/localstack"
	"github.com/onewindow/onewindow/shared/client"
)

// baselineFunction is the name the bench stack's gateway gives the bare
// handler (localstack.BenchUpstreamEnv); stack.yml has no such function.
const baselineFunction = "bench-baseline"

// bareHandler is the baseline every function is measured against: a
// plain net/http server in this process that answers a small JSON body
// and does nothing else (no signature check, no database). Through the
// gateway it costs what the load generator, the signing and the
// gateway's proxying cost; no function can be faster.
type bareHandler struct {
	addr string // loopback host:port
	srv  *http.Server
}

func startBareHandler() (*bareHandler, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bare handler: %w", err)
	}
	body := []byte(`{"status":"ok"}`)
	h := &bareHandler{addr: ln.Addr().String(), srv: &http.Server{ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		})}}
	go func() { _ = h.srv.Serve(ln) }() // returns ErrServerClosed on close
	return h, nil
}

// env is the variable that makes the bench stack's gateway serve the
// handler as baselineFunction.
func (h *bareHandler) env() string {
	return localstack.BenchUpstreamEnv + "=" + baselineFunction + "=" + h.addr
}

func (h *bareHandler) close() { _ = h.srv.Close() }

// baselineBenchmarks measure the bare handler through the gateway, as a
// signed GET like every function's, and directly, without the gateway.
// viaGateway is false when bench runs against a stack it did not start,
// whose gateway does not know the handler.
func baselineBenchmarks(h *bareHandler, portal *client.Client, viaGateway bool) []benchmark {
	through := benchmark{name: "baseline: bare Go handler through the gateway", scenarios: []loadgen.Scenario{{
		Name: "bench-baseline GET / (signed, through the gateway)", OK: statusIs(http.StatusOK),
		Request: func(ctx context.Context, _, _ int) (*http.Request, error) {
			return portal.Request(ctx, baselineFunction, http.MethodGet, "/", nil, nil)
		},
	}}, notes: func(loadgen.Report) string {
		return "the handler runs in the bench process: its CPU is in the load generator's share\n\n" + loadNote()
	}}
	if !viaGateway {
		through = benchmark{name: through.name, run: func(context.Context, time.Duration) (string, error) {
			return "skipped: only the stack that bench starts serves the bare handler (run without -gateway)\n", nil
		}}
	}
	direct := benchmark{name: "baseline: bare Go handler, direct", scenarios: []loadgen.Scenario{{
		Name: "bare handler GET / (direct, no gateway)", OK: statusIs(http.StatusOK),
		Request: func(ctx context.Context, _, _ int) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodGet, "http://"+h.addr+"/", nil)
		},
	}}, notes: func(loadgen.Report) string { return loadNote() }}
	return []benchmark{through, direct}
}
