package gateway

import (
	"errors"
	"slices"
	"sync/atomic"

	"github.com/onewindow/onewindow/infra/supervisor"
)

// errNoReplica means a function has no healthy replica left to try.
var errNoReplica = errors.New("no healthy replica")

// resolver maps a function name to one of its healthy replicas, round robin.
type resolver struct {
	backend Backend
	next    map[string]*atomic.Uint64 // per function: the rotation's position
}

func newResolver(b Backend, names []string) *resolver {
	r := &resolver{backend: b, next: map[string]*atomic.Uint64{}}
	for _, n := range names {
		r.next[n] = new(atomic.Uint64)
	}
	return r
}

// pick returns a healthy replica of fn not in tried, already Acquired (the
// caller Releases it), taking turns across the replicas. A replica retired
// between the backend's answer and Acquire is skipped and the list read
// again, so a swap's new generation is found at once.
func (r *resolver) pick(fn string, tried []*supervisor.Endpoint) (*supervisor.Endpoint, error) {
	next := r.next[fn]
	for range 3 {
		eps := r.backend.Endpoints(fn)
		if len(eps) == 0 {
			return nil, errNoReplica
		}
		// Each request moves the rotation on by one; its retries go on
		// from where it started.
		start := next.Load()
		if len(tried) == 0 {
			start = next.Add(1) - 1
		}
		untried := false
		for i := range uint64(len(eps)) {
			ep := eps[(start+i)%uint64(len(eps))]
			if slices.Contains(tried, ep) {
				continue
			}
			untried = true
			if ep.Acquire() {
				return ep, nil
			}
		}
		if !untried {
			break
		}
	}
	return nil, errNoReplica
}
