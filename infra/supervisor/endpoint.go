package supervisor

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Endpoint is one running process of a function, healthy when published:
// the address the gateway sends a request to.
//
// Every Endpoint has a connection pool of its own. A caller Acquires the
// Endpoint before it sends a request and Releases it when the response is
// done; once the supervisor retires the Endpoint (to stop its process for
// a swap, a scale-down or shutdown), Acquire fails, and the process is sent
// SIGTERM only after the requests in flight are done and the pool's idle
// connections are closed. So no request is ever written to a process that
// is shutting down, not even on a kept-alive connection.
type Endpoint struct {
	// Function is the function's name.
	Function string
	// Replica is the replica's slot, from 0; it names the log and pid files
	// (<fn>-<replica>.log, <fn>-<replica>.pid). A restarted process keeps
	// its slot.
	Replica int
	// Generation counts deployments of the function: 1 for the first
	// build, one more for every swap.
	Generation int
	// Addr is the process's loopback host:port.
	Addr string
	// Pid is the process id; 0 for an Endpoint made with NewEndpoint.
	Pid int

	transport *http.Transport

	mu       sync.Mutex
	inflight int
	retired  bool
	drained  chan struct{} // closed once retired with nothing in flight
}

// NewEndpoint returns an Endpoint for a server the supervisor did not start
// (tests, or a gateway in front of processes run by something else).
func NewEndpoint(function, addr string) *Endpoint {
	return newEndpoint(function, 0, 0, addr, 0)
}

func newEndpoint(function string, replica, generation int, addr string, pid int) *Endpoint {
	return &Endpoint{
		Function:   function,
		Replica:    replica,
		Generation: generation,
		Addr:       addr,
		Pid:        pid,
		drained:    make(chan struct{}),
		transport: &http.Transport{
			Proxy: nil, // loopback: never through HTTP_PROXY
			DialContext: (&net.Dialer{
				Timeout:   2 * time.Second,
				KeepAlive: 30 * time.Second,
			}).DialContext,
			MaxIdleConns:        64,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
			// A proxy passes Accept-Encoding and the body through untouched.
			DisableCompression: true,
		},
	}
}

// Acquire registers a request about to be sent to e. It reports false once
// e is retired; the caller must then pick another Endpoint. Every
// successful Acquire must be followed by exactly one Release.
func (e *Endpoint) Acquire() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.retired {
		return false
	}
	e.inflight++
	return true
}

// Release ends a request registered with Acquire.
func (e *Endpoint) Release() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inflight--
	if e.inflight < 0 {
		panic("supervisor: Endpoint.Release without Acquire")
	}
	if e.retired && e.inflight == 0 {
		closeOnce(e.drained)
	}
}

// RoundTrip sends req to e over e's own connection pool. req.URL.Host
// must be e.Addr; the caller holds an Acquire.
func (e *Endpoint) RoundTrip(req *http.Request) (*http.Response, error) {
	return e.transport.RoundTrip(req)
}

// String names the endpoint in logs: "case-submit-1 (pid 1234)".
func (e *Endpoint) String() string {
	return fmt.Sprintf("%s-%d (pid %d)", e.Function, e.Replica, e.Pid)
}

// retire makes Acquire fail from now on and returns a channel closed when
// no request is in flight any more.
func (e *Endpoint) retire() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.retired = true
	if e.inflight == 0 {
		closeOnce(e.drained)
	}
	return e.drained
}

// closeIdle closes the pool's idle connections.
func (e *Endpoint) closeIdle() { e.transport.CloseIdleConnections() }

// closeOnce closes ch unless it is closed; the caller serialises calls.
func closeOnce(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}
