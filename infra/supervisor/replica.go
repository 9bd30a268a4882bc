package supervisor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// slot is one replica of one generation of a function: a goroutine that
// keeps a process running in it until the slot is cancelled.
type slot struct {
	sup    *Supervisor
	fn     *function
	index  int
	gen    int
	binary string

	ctx    context.Context // cancelled to stop the slot (scale-down, swap, Stop)
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns: no process left

	// ready is closed the first time a process of the slot is healthy;
	// failed is closed (with failErr set) if a process exits or times out
	// before that. Swap waits on them.
	ready, failed chan struct{}
	settle        sync.Once // closes ready or failed, whichever comes first
	failErr       error

	// Under fn.mu:
	cur      *Endpoint // the running process's endpoint; nil between processes
	healthy  bool      // cur answers its health checks (and is published if current)
	restarts int
}

// process is one started OS process of a slot.
type process struct {
	cmd    *exec.Cmd
	ep     *Endpoint
	port   int
	exited chan struct{} // closed when the process has been waited for
	err    error         // the exit error, set before exited is closed
}

// startSlotLocked creates slot index of generation gen running binary and
// starts its goroutine. s.mu must be held (and not stopped).
func (s *Supervisor) startSlotLocked(f *function, index, gen int, binary string) *slot {
	ctx, cancel := context.WithCancel(s.ctx)
	sl := &slot{
		sup: s, fn: f, index: index, gen: gen, binary: binary,
		ctx: ctx, cancel: cancel,
		done: make(chan struct{}), ready: make(chan struct{}), failed: make(chan struct{}),
	}
	s.wg.Add(1)
	go sl.run()
	return sl
}

func (sl *slot) name() string { return fmt.Sprintf("%s-%d", sl.fn.spec.Name, sl.index) }

// run keeps a process running until the slot is cancelled, restarting it
// with backoff whenever it exits or never becomes healthy.
func (sl *slot) run() {
	defer sl.sup.wg.Done()
	defer close(sl.done)
	defer sl.cancel()
	bo := sl.sup.cfg.Backoff()
	for {
		p, err := sl.start()
		if err != nil {
			sl.sup.log.Error("cannot start replica", "replica", sl.name(), "err", err)
			sl.fail(err)
		} else if stopped := sl.supervise(p, bo.Reset); stopped {
			return
		}
		wait := bo.NextBackOff()
		if wait < 0 { // a policy that gives up: keep trying at its last pace
			wait = 10 * time.Second
		}
		sl.sup.log.Info("restarting replica", "replica", sl.name(), "in", wait.Round(time.Millisecond).String())
		select {
		case <-sl.ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// start starts a process on a free port and records its pid.
func (sl *slot) start() (*process, error) {
	port, err := sl.sup.ports.take()
	if err != nil {
		return nil, err
	}
	logw, err := sl.openLog()
	if err != nil {
		sl.sup.ports.release(port)
		return nil, err
	}
	cmd := exec.Command(sl.binary)
	cmd.Env = append(sl.fn.spec.Env, "PORT="+strconv.Itoa(port))
	cmd.Dir = filepath.Dir(sl.binary)
	if logw != nil { // else /dev/null
		cmd.Stdout, cmd.Stderr = logw, logw
	}
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		closeLog(logw)
		sl.sup.ports.release(port)
		return nil, fmt.Errorf("start %s: %w", sl.binary, err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p := &process{cmd: cmd, port: port, exited: make(chan struct{}),
		ep: newEndpoint(sl.fn.spec.Name, sl.index, sl.gen, addr, cmd.Process.Pid)}
	logf(logw, "--- onewindow: started %s generation %d, pid %d, on %s at %s\n",
		sl.name(), sl.gen, p.ep.Pid, addr, time.Now().Format(time.RFC3339))
	go func() {
		p.err = cmd.Wait()
		closeLog(logw)
		sl.sup.ports.release(port)
		close(p.exited)
	}()
	sl.fn.mu.Lock()
	sl.cur = p.ep
	if slices.Contains(sl.fn.slots, sl) { // a swap's new slot writes it once published
		sl.writePidLocked(p.ep.Pid)
	}
	sl.fn.mu.Unlock()
	sl.sup.log.Debug("replica started", "replica", sl.name(), "generation", sl.gen, "pid", p.ep.Pid, "addr", addr)
	sl.emit(EventStarted, p.ep, nil)
	return p, nil
}

// supervise watches p until the slot is cancelled (it then stops p and
// reports true) or p ends on its own (false). resetBackoff is called once
// p has stayed healthy for stableAfter.
func (sl *slot) supervise(p *process, resetBackoff func()) (stopped bool) {
	cfg := &sl.sup.cfg

	// Starting: poll the health path until it answers, p exits, or the
	// start timeout passes.
	deadline := time.NewTimer(cfg.StartTimeout)
	defer deadline.Stop()
	poll := time.NewTicker(startPoll)
	defer poll.Stop()
	for ok := false; !ok; {
		select {
		case <-sl.ctx.Done():
			sl.stop(p)
			return true
		case <-p.exited:
			sl.exited(p, fmt.Errorf("exited before it was healthy: %v; see %s", p.err, sl.logPath()))
			return false
		case <-deadline.C:
			err := fmt.Errorf("not healthy within %s; see %s", cfg.StartTimeout, sl.logPath())
			sl.kill(p)
			sl.exited(p, err)
			return false
		case <-poll.C:
			ok = sl.check(p.ep) == nil
		}
	}
	poll.Stop()
	sl.setHealthy(p.ep, true, nil)
	sl.settle.Do(func() { close(sl.ready) })

	// Running: check every HealthInterval.
	healthySince := time.Now()
	var unhealthySince time.Time
	fails := 0
	tick := time.NewTicker(cfg.HealthInterval)
	defer tick.Stop()
	for {
		select {
		case <-sl.ctx.Done():
			sl.stop(p)
			return true
		case <-p.exited:
			if !healthySince.IsZero() && time.Since(healthySince) >= stableAfter {
				resetBackoff()
			}
			sl.exited(p, p.err)
			return false
		case <-tick.C:
		}
		err := sl.check(p.ep)
		switch {
		case err == nil:
			fails = 0
			if !sl.isHealthy() {
				sl.setHealthy(p.ep, true, nil)
				healthySince, unhealthySince = time.Now(), time.Time{}
			}
		case sl.ctx.Err() != nil:
			// Cancelled during the check: the select above stops p.
		default:
			fails++
			if fails == cfg.HealthFailures {
				sl.setHealthy(p.ep, false, err)
				healthySince, unhealthySince = time.Time{}, time.Now()
			}
			if !unhealthySince.IsZero() && time.Since(unhealthySince) >= cfg.StartTimeout {
				sl.kill(p)
				sl.exited(p, fmt.Errorf("unhealthy for %s, killed: %w", cfg.StartTimeout, err))
				return false
			}
		}
	}
}

// check asks ep for its health once.
func (sl *slot) check(ep *Endpoint) error {
	ctx, cancel := context.WithTimeout(sl.ctx, healthTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ep.Addr+"/_/health", nil)
	if err != nil {
		return err
	}
	resp, err := ep.RoundTrip(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check: %s", resp.Status)
	}
	return nil
}

func (sl *slot) isHealthy() bool {
	sl.fn.mu.Lock()
	defer sl.fn.mu.Unlock()
	return sl.healthy
}

// setHealthy publishes (or unpublishes) ep, if the slot is current.
func (sl *slot) setHealthy(ep *Endpoint, healthy bool, reason error) {
	sl.fn.mu.Lock()
	sl.healthy = healthy
	restarts := sl.restarts
	sl.fn.publishLocked()
	sl.fn.mu.Unlock()
	if healthy {
		if restarts > 0 { // back after a crash: worth a console line
			sl.sup.log.Info("replica healthy again", "replica", sl.name(), "pid", ep.Pid, "restarts", restarts)
		} else {
			sl.sup.log.Debug("replica healthy", "replica", sl.name(), "pid", ep.Pid)
		}
		sl.emit(EventHealthy, ep, nil)
		return
	}
	sl.sup.log.Warn("replica unhealthy, taken out of rotation", "replica", sl.name(), "pid", ep.Pid, "err", reason)
	sl.emit(EventUnhealthy, ep, reason)
}

// exited records that p ended on its own (or was killed for failing its
// health checks): it leaves the endpoints at once.
func (sl *slot) exited(p *process, err error) {
	<-p.exited
	p.ep.retire()
	p.ep.closeIdle()
	sl.fn.mu.Lock()
	sl.cur, sl.healthy = nil, false
	sl.restarts++
	sl.fn.publishLocked()
	sl.removePidLocked(p.ep.Pid)
	sl.fn.mu.Unlock()
	if err == nil {
		err = errors.New("exited with status 0")
	}
	sl.sup.log.Warn("replica exited", "replica", sl.name(), "pid", p.ep.Pid, "err", err)
	sl.fail(err)
	sl.emit(EventExited, p.ep, err)
}

// stop stops p on purpose: out of the endpoints, then (after the
// gateway's requests in flight, bounded by StopGrace) SIGTERM, which lets
// the process finish what it has, then SIGKILL after another StopGrace.
func (sl *slot) stop(p *process) {
	grace := sl.fn.spec.StopGrace
	sl.fn.mu.Lock()
	sl.cur, sl.healthy = nil, false
	sl.fn.publishLocked()
	sl.fn.mu.Unlock()

	drained := p.ep.retire()
	select {
	case <-drained:
	case <-p.exited:
	case <-time.After(grace):
		sl.sup.log.Warn("requests still in flight after the grace period; stopping anyway", "replica", sl.name(), "grace", grace.String())
	}
	p.ep.closeIdle()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		sl.sup.log.Warn("replica did not exit after SIGTERM; killing it", "replica", sl.name(), "pid", p.ep.Pid)
		sl.kill(p)
	}
	sl.fn.mu.Lock()
	sl.removePidLocked(p.ep.Pid)
	sl.fn.mu.Unlock()
	sl.sup.log.Debug("replica stopped", "replica", sl.name(), "pid", p.ep.Pid)
	sl.fail(ErrStopped)
	sl.emit(EventStopped, p.ep, nil)
}

// kill ends p at once and waits for it.
func (sl *slot) kill(p *process) {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// fail marks the slot failed with err unless it was ready before: a slot
// settles once, ready or failed.
func (sl *slot) fail(err error) {
	sl.settle.Do(func() {
		sl.failErr = err
		close(sl.failed)
	})
}

func (sl *slot) emit(kind EventKind, ep *Endpoint, err error) {
	sl.sup.emit(Event{Kind: kind, Function: sl.fn.spec.Name, Replica: sl.index, Generation: sl.gen,
		Pid: ep.Pid, Addr: ep.Addr, Err: err})
}

func (sl *slot) logPath() string {
	if sl.sup.cfg.LogDir == "" {
		return "(no log directory)"
	}
	return filepath.Join(sl.sup.cfg.LogDir, sl.name()+".log")
}

// openLog opens the slot's log file for appending; nil when there is no
// log directory.
func (sl *slot) openLog() (*os.File, error) {
	if sl.sup.cfg.LogDir == "" {
		return nil, nil
	}
	f, err := os.OpenFile(sl.logPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open replica log: %w", err)
	}
	return f, nil
}

func logf(f *os.File, format string, args ...any) {
	if f != nil {
		fmt.Fprintf(f, format, args...)
	}
}

func closeLog(f *os.File) {
	if f != nil {
		f.Close()
	}
}

func (sl *slot) pidPath() string {
	return filepath.Join(sl.sup.cfg.RunDir, sl.name()+".pid")
}

// Pid files name the processes of the current generation only. They are
// written and removed under fn.mu, so that a stopping process of an old
// generation never removes the file of its successor in the same slot.

// writePidLocked records pid in the slot's pid file, atomically (write,
// rename). fn.mu must be held.
func (sl *slot) writePidLocked(pid int) {
	if sl.sup.cfg.RunDir == "" {
		return
	}
	tmp := sl.pidPath() + ".tmp"
	err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)+"\n"), 0o644)
	if err == nil {
		err = os.Rename(tmp, sl.pidPath())
	}
	if err != nil {
		sl.sup.log.Warn("cannot write pid file", "replica", sl.name(), "err", err)
	}
}

// removePidLocked removes the slot's pid file if it still names pid.
// fn.mu must be held.
func (sl *slot) removePidLocked(pid int) {
	if sl.sup.cfg.RunDir == "" {
		return
	}
	b, err := os.ReadFile(sl.pidPath())
	if err != nil {
		return
	}
	if n, err := strconv.Atoi(string(bytes.TrimSpace(b))); err == nil && n == pid {
		_ = os.Remove(sl.pidPath())
	}
}
