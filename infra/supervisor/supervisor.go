// Package supervisor runs the local stack's function replicas as OS
// processes: it starts each replica on a free loopback port, waits until it
// answers GET /_/health, watches it, restarts it with backoff when it
// exits, scales a function up and down, and swaps a function to a new
// binary without dropping a request. It publishes, per function, the
// healthy replicas of the current generation (Endpoints); the gateway
// routes over them. It is the local stand-in for what Kubernetes does for
// OpenFaaS (faasd's supervisor).
//
// Files, per replica slot i of function fn:
//
//	<LogDir>/<fn>-<i>.log  the process's stdout and stderr, appended across restarts
//	<RunDir>/<fn>-<i>.pid  the pid of the slot's current process, while it runs
//
// The pid files are the supported way for a person or a test to find (and
// kill) a replica's process.
package supervisor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Defaults of Config.
const (
	DefaultStartTimeout   = 60 * time.Second
	DefaultHealthInterval = 2 * time.Second
	DefaultHealthFailures = 3
	DefaultStopGrace      = 15 * time.Second
	// startPoll is how often a starting process is asked for its health.
	startPoll = 50 * time.Millisecond
	// healthTimeout bounds one health request.
	healthTimeout = time.Second
	// stableAfter is how long a process must stay healthy for its crash to
	// restart the backoff from its first, short, interval.
	stableAfter = 10 * time.Second
)

// ErrUnknownFunction is returned for a function that was never Added.
var ErrUnknownFunction = errors.New("unknown function")

// ErrStopped is returned by calls made after Stop.
var ErrStopped = errors.New("supervisor stopped")

// Config configures a Supervisor. The zero value works, with no files
// written and nothing logged.
type Config struct {
	// LogDir receives <fn>-<i>.log per replica slot; "" discards the output.
	LogDir string
	// RunDir receives <fn>-<i>.pid per replica slot; "" writes none.
	RunDir string
	// StartTimeout bounds how long a new process may take to answer its
	// health check (default 60 s). A process still unhealthy after it is
	// killed and restarted; a swap's new generation that is not healthy
	// within it is abandoned. A healthy process that then fails its checks
	// for this long is also killed and restarted.
	StartTimeout time.Duration
	// HealthInterval is the period of the health check of a running
	// process (default 2 s).
	HealthInterval time.Duration
	// HealthFailures is how many consecutive failed checks take a running
	// process out of the published endpoints (default 3). One success puts
	// it back.
	HealthFailures int
	// Backoff returns the delay policy between restarts of one slot
	// (default exponential from 250 ms to 10 s, never giving up). It is
	// reset once a process has stayed healthy for 10 s.
	Backoff func() backoff.BackOff
	// OnEvent, when set, is called for every Event, from the goroutine of
	// the replica concerned. It must not block; tests use it to wait for
	// events instead of sleeping.
	OnEvent func(Event)
	// Log receives the console lines: replica exits and restarts at Warn
	// and Info, everything else at Debug. Nil discards them.
	Log *slog.Logger
}

// Spec is a function to supervise.
type Spec struct {
	// Name is the function's name (from stack.yml).
	Name string
	// Binary is the executable every replica runs.
	Binary string
	// Env is each process's environment (KEY=VALUE). The supervisor adds
	// PORT, the loopback port the process must listen on.
	Env []string
	// Replicas is how many processes to run; 0 runs none.
	Replicas int
	// StopGrace bounds each of the two stages of stopping a process: the
	// wait for the gateway's requests in flight, then the wait for its exit
	// after SIGTERM (SIGKILL follows). Default 15 s; the local stack uses
	// the function's write_timeout plus a margin.
	StopGrace time.Duration
}

// EventKind says what happened to a replica.
type EventKind string

// The kinds of Event.
const (
	// EventStarted: a process was started (Pid, Addr set).
	EventStarted EventKind = "started"
	// EventHealthy: a process answered its health check and is published.
	EventHealthy EventKind = "healthy"
	// EventUnhealthy: a running process failed HealthFailures checks and
	// was unpublished.
	EventUnhealthy EventKind = "unhealthy"
	// EventExited: a process exited on its own (Err says how); the slot
	// restarts it after a backoff.
	EventExited EventKind = "exited"
	// EventStopped: a process was stopped on purpose (swap, scale, Stop).
	EventStopped EventKind = "stopped"
	// EventSwapped: a function's new generation was published (Replica -1).
	EventSwapped EventKind = "swapped"
)

// Event reports a change of one replica process.
type Event struct {
	Kind       EventKind
	Function   string
	Replica    int
	Generation int
	Pid        int
	Addr       string
	// Err is the exit error of EventExited, or the reason of EventUnhealthy.
	Err error
}

// Supervisor runs and watches the replicas of a set of functions. Its
// methods are safe for concurrent use.
type Supervisor struct {
	cfg    Config
	log    *slog.Logger
	ports  portSet
	ctx    context.Context // cancelled by Stop; every slot's context derives from it
	cancel context.CancelFunc
	wg     sync.WaitGroup // one per slot goroutine

	mu      sync.Mutex
	stopped bool
	fns     map[string]*function
}

// function is the supervised state of one function.
type function struct {
	spec Spec
	// deploy serialises Scale and Swap of this function.
	deploy sync.Mutex

	mu         sync.Mutex // guards the fields below and every slot's cur/healthy/restarts
	binary     string
	generation int
	deployed   time.Time
	slots      []*slot // the current generation's slots, by index

	// endpoints is the published, healthy endpoints of the current
	// generation, rebuilt by publish under mu and read without it.
	endpoints atomic.Pointer[[]*Endpoint]
}

// New returns a Supervisor with nothing running. Call Stop to end it.
func New(cfg Config) *Supervisor {
	cfg.StartTimeout = cmp.Or(cfg.StartTimeout, DefaultStartTimeout)
	cfg.HealthInterval = cmp.Or(cfg.HealthInterval, DefaultHealthInterval)
	cfg.HealthFailures = cmp.Or(cfg.HealthFailures, DefaultHealthFailures)
	if cfg.Backoff == nil {
		cfg.Backoff = defaultBackoff
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Supervisor{cfg: cfg, log: log, ctx: ctx, cancel: cancel, fns: map[string]*function{}}
}

func defaultBackoff() backoff.BackOff {
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(250*time.Millisecond),
		backoff.WithMaxInterval(10*time.Second),
		backoff.WithMaxElapsedTime(0), // never give up
	)
}

// Add starts spec.Replicas processes of a new function and returns without
// waiting for them to be healthy (watch Endpoints, Status or the events).
func (s *Supervisor) Add(spec Spec) error {
	if spec.Name == "" || spec.Binary == "" {
		return errors.New("supervisor: add: a spec needs a name and a binary")
	}
	if spec.Replicas < 0 {
		return fmt.Errorf("supervisor: add %s: negative replicas", spec.Name)
	}
	spec.StopGrace = cmp.Or(spec.StopGrace, DefaultStopGrace)
	spec.Env = slices.Clip(spec.Env)
	fn := &function{spec: spec, binary: spec.Binary, generation: 1, deployed: time.Now()}
	fn.endpoints.Store(&[]*Endpoint{})

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrStopped
	}
	if _, ok := s.fns[spec.Name]; ok {
		return fmt.Errorf("supervisor: add %s: already added", spec.Name)
	}
	s.fns[spec.Name] = fn
	fn.mu.Lock()
	defer fn.mu.Unlock()
	for i := range spec.Replicas {
		fn.slots = append(fn.slots, s.startSlotLocked(fn, i, fn.generation, fn.binary))
	}
	return nil
}

// Endpoints returns the healthy replicas of fn's current generation, in
// slot order. The slice is shared: do not modify it. Unknown functions
// have none.
func (s *Supervisor) Endpoints(fn string) []*Endpoint {
	f := s.function(fn)
	if f == nil {
		return nil
	}
	return *f.endpoints.Load()
}

// Status describes a function's replicas.
type Status struct {
	Name string
	// Binary is the current generation's executable.
	Binary string
	// Generation counts deployments: 1, then one more per swap.
	Generation int
	// Deployed is when the current generation was published.
	Deployed time.Time
	// Replicas is the desired number of processes.
	Replicas int
	// Available is how many of them are healthy (published).
	Available int
	// Instances describes each slot of the current generation.
	Instances []Instance
}

// Instance describes one replica slot.
type Instance struct {
	Replica int    `json:"replica"`
	Pid     int    `json:"pid,omitempty"`  // 0 between processes
	Addr    string `json:"addr,omitempty"` // "" between processes
	Healthy bool   `json:"healthy"`
	// Restarts counts the slot's processes that exited on their own.
	Restarts int `json:"restarts"`
}

// Status returns fn's status, or false for an unknown function.
func (s *Supervisor) Status(fn string) (Status, bool) {
	f := s.function(fn)
	if f == nil {
		return Status{}, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	st := Status{
		Name:       fn,
		Binary:     f.binary,
		Generation: f.generation,
		Deployed:   f.deployed,
		Replicas:   len(f.slots),
		Available:  len(*f.endpoints.Load()),
	}
	for _, sl := range f.slots {
		in := Instance{Replica: sl.index, Healthy: sl.healthy, Restarts: sl.restarts}
		if sl.cur != nil {
			in.Pid, in.Addr = sl.cur.Pid, sl.cur.Addr
		}
		st.Instances = append(st.Instances, in)
	}
	return st, true
}

// Scale sets fn's number of replicas. New slots start at once; removed
// slots (the highest-numbered) leave the published endpoints at once and
// their processes stop in the background, after their requests in flight.
// Scale returns without waiting for either.
func (s *Supervisor) Scale(fn string, replicas int) error {
	if replicas < 0 {
		return fmt.Errorf("scale %s: negative replicas", fn)
	}
	f := s.function(fn)
	if f == nil {
		return fmt.Errorf("scale %s: %w", fn, ErrUnknownFunction)
	}
	f.deploy.Lock()
	defer f.deploy.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrStopped
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.slots); i < replicas; i++ {
		f.slots = append(f.slots, s.startSlotLocked(f, i, f.generation, f.binary))
	}
	if replicas < len(f.slots) {
		removed := f.slots[replicas:]
		f.slots = slices.Clip(f.slots[:replicas])
		f.publishLocked()
		for _, sl := range removed {
			sl.cancel()
		}
	}
	s.log.Info("scaled", "function", fn, "replicas", replicas)
	return nil
}

// Stop stops every process: each leaves the endpoints, its requests in
// flight finish, it gets SIGTERM and then, after its grace, SIGKILL. Stop
// returns when all have exited, or with an error when ctx ends first.
func (s *Supervisor) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("supervisor: stop: replicas still running: %w", ctx.Err())
	}
}

func (s *Supervisor) function(name string) *function {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fns[name]
}

// publishLocked recomputes f's published endpoints from its current
// slots. f.mu must be held.
func (f *function) publishLocked() {
	eps := make([]*Endpoint, 0, len(f.slots))
	for _, sl := range f.slots {
		if sl.cur != nil && sl.healthy {
			eps = append(eps, sl.cur)
		}
	}
	f.endpoints.Store(&eps)
}

func (s *Supervisor) emit(e Event) {
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(e)
	}
}
