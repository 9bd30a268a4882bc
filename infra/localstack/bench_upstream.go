package localstack

import (
	"context"
	"fmt"
	"maps"
	"net"
	"strings"

	"github.com/onewindow/onewindow/infra/gateway"
	"github.com/onewindow/onewindow/infra/stackfile"
	"github.com/onewindow/onewindow/infra/supervisor"
)

// BenchUpstreamEnv names one extra function that the gateway proxies to a
// server the stack did not start, as "name=host:port" on loopback. Only
// `onewindow bench` sets it, for its baseline: a bare Go handler reached
// through the same gateway as the functions, so that the gateway's and
// the load generator's share of a request can be told from a function's.
// stack.yml never lists it, and nothing is built or supervised for it.
const BenchUpstreamEnv = "ONEWINDOW_BENCH_UPSTREAM"

// withBenchUpstream returns the functions and backend the gateway serves:
// those of stack.yml and sup, plus the upstream of spec (BenchUpstreamEnv's
// value) when it is not empty. fns is not modified.
func withBenchUpstream(fns map[string]stackfile.Function, sup gateway.Backend, spec string) (map[string]stackfile.Function, gateway.Backend, error) {
	if spec == "" {
		return fns, sup, nil
	}
	name, addr, ok := strings.Cut(spec, "=")
	if !ok || name == "" || strings.Contains(name, "/") {
		return nil, nil, fmt.Errorf("%s=%q: want name=host:port", BenchUpstreamEnv, spec)
	}
	if _, taken := fns[name]; taken {
		return nil, nil, fmt.Errorf("%s: %s is a function of stack.yml", BenchUpstreamEnv, name)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: address %q: %w", BenchUpstreamEnv, addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, nil, fmt.Errorf("%s: address %q is not a loopback IP address", BenchUpstreamEnv, addr)
	}
	all := maps.Clone(fns)
	all[name] = stackfile.Function{Name: name, Labels: map[string]string{"com.openfaas.scale.max": "1"}}
	return all, &upstreamBackend{Backend: sup, name: name, eps: []*supervisor.Endpoint{supervisor.NewEndpoint(name, addr)}}, nil
}

// upstreamBackend is a Backend that serves one more function, name, from a
// fixed endpoint: always one replica, healthy as far as the gateway
// knows (a request to a server that is gone gets the gateway's 502).
type upstreamBackend struct {
	gateway.Backend
	name string
	eps  []*supervisor.Endpoint
}

func (b *upstreamBackend) Endpoints(fn string) []*supervisor.Endpoint {
	if fn == b.name {
		return b.eps
	}
	return b.Backend.Endpoints(fn)
}

func (b *upstreamBackend) Status(fn string) (supervisor.Status, bool) {
	if fn != b.name {
		return b.Backend.Status(fn)
	}
	return supervisor.Status{Name: fn, Generation: 1, Replicas: 1, Available: 1,
		Instances: []supervisor.Instance{{Addr: b.eps[0].Addr, Healthy: true}}}, true
}

func (b *upstreamBackend) Scale(fn string, replicas int) error {
	switch {
	case fn != b.name:
		return b.Backend.Scale(fn, replicas)
	case replicas != 1:
		return fmt.Errorf("%s is served by a process the stack did not start: it has 1 replica", fn)
	}
	return nil
}

func (b *upstreamBackend) Swap(ctx context.Context, fn, binary string) error {
	if fn == b.name {
		return fmt.Errorf("%s is served by a process the stack did not start: nothing to swap", fn)
	}
	return b.Backend.Swap(ctx, fn, binary)
}
