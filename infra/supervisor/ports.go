package supervisor

import (
	"fmt"
	"net"
	"sync"
)

// portSet hands out free loopback ports, never one it has handed out and
// not yet had back: two replicas started at the same moment cannot be
// given the same port (a port is only free until someone binds it).
type portSet struct {
	mu   sync.Mutex
	used map[int]bool
}

// take returns a port that was free a moment ago and is not in use by
// another replica of this supervisor.
func (p *portSet) take() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.used == nil {
		p.used = map[int]bool{}
	}
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !p.used[port] {
			p.used[port] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("find a free port: every candidate was already handed out")
}

// release gives port back once its process has exited.
func (p *portSet) release(port int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.used, port)
}
