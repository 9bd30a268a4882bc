package supervisor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/onewindow/onewindow/infra/supervisor"
	"github.com/onewindow/onewindow/infra/supervisor/supervisortest"
)

func TestMain(m *testing.M) {
	supervisortest.MaybeRun()
	os.Exit(m.Run())
}

type harness struct {
	sup    *supervisor.Supervisor
	ev     *supervisortest.Events
	runDir string
	logDir string
}

func newHarness(t *testing.T, tweak func(*supervisor.Config)) *harness {
	t.Helper()
	dir := t.TempDir()
	h := &harness{ev: supervisortest.NewEvents(), runDir: filepath.Join(dir, "run"), logDir: filepath.Join(dir, "logs")}
	for _, d := range []string{h.runDir, h.logDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := supervisor.Config{
		LogDir:         h.logDir,
		RunDir:         h.runDir,
		StartTimeout:   10 * time.Second,
		HealthInterval: 100 * time.Millisecond,
		Backoff:        func() backoff.BackOff { return backoff.NewConstantBackOff(20 * time.Millisecond) },
		OnEvent:        h.ev.Record,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	h.sup = supervisor.New(cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), supervisortest.WaitTimeout)
		defer cancel()
		if err := h.sup.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return h
}

func (h *harness) add(t *testing.T, name string, replicas int, env ...string) {
	t.Helper()
	err := h.sup.Add(supervisor.Spec{Name: name, Binary: os.Args[0], Replicas: replicas,
		Env: supervisortest.Env(append([]string{"ONEWINDOW_FUNCTION=" + name}, env...)...), StopGrace: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
}

func (h *harness) pid(t *testing.T, fn string, replica int) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(h.runDir, fmt.Sprintf("%s-%d.pid", fn, replica)))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// ask sends GET path to ep and decodes the fake's answer.
func ask(t *testing.T, ep *supervisor.Endpoint, path string) supervisortest.Answer {
	t.Helper()
	if !ep.Acquire() {
		t.Fatalf("%s is retired", ep)
	}
	defer ep.Release()
	req, _ := http.NewRequest(http.MethodGet, "http://"+ep.Addr+path, nil)
	resp, err := ep.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s: %v", ep, err)
	}
	defer resp.Body.Close()
	var a supervisortest.Answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("%s: decode: %v", ep, err)
	}
	return a
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestStartsReplicasAndWritesPidFiles(t *testing.T) {
	h := newHarness(t, nil)
	mark := h.ev.Mark()
	h.add(t, "fn-a", 2)
	healthy := h.ev.WaitN(t, mark, "fn-a", supervisor.EventHealthy, 2)

	eps := h.sup.Endpoints("fn-a")
	if len(eps) != 2 {
		t.Fatalf("endpoints: got %d, want 2", len(eps))
	}
	for i, ep := range eps {
		if ep.Replica != i || ep.Generation != 1 {
			t.Errorf("endpoint %d: replica %d generation %d", i, ep.Replica, ep.Generation)
		}
		if pid := h.pid(t, "fn-a", i); pid != ep.Pid || pid != healthy[i].Pid {
			t.Errorf("replica %d: pid file %d, endpoint %d, event %d", i, pid, ep.Pid, healthy[i].Pid)
		}
		a := ask(t, ep, "/x?y=1")
		if a.Pid != ep.Pid || a.Function != "fn-a" || a.RequestURI != "/x?y=1" {
			t.Errorf("replica %d answered %+v", i, a)
		}
		if _, err := os.Stat(filepath.Join(h.logDir, fmt.Sprintf("fn-a-%d.log", i))); err != nil {
			t.Errorf("log file: %v", err)
		}
	}
	st, ok := h.sup.Status("fn-a")
	if !ok || st.Replicas != 2 || st.Available != 2 || st.Generation != 1 || len(st.Instances) != 2 {
		t.Errorf("status: %+v", st)
	}
	if _, ok := h.sup.Status("nope"); ok {
		t.Error("status of an unknown function")
	}
}

func TestRestartsAKilledReplica(t *testing.T) {
	h := newHarness(t, nil)
	mark := h.ev.Mark()
	h.add(t, "fn-a", 2)
	h.ev.WaitN(t, mark, "fn-a", supervisor.EventHealthy, 2)
	victim, survivor := h.pid(t, "fn-a", 0), h.pid(t, "fn-a", 1)

	mark = h.ev.Mark()
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	exited := h.ev.Wait(t, mark, "replica 0 exited", func(ev supervisor.Event) bool {
		return ev.Kind == supervisor.EventExited && ev.Pid == victim
	})
	if exited.Err == nil || !strings.Contains(exited.Err.Error(), "killed") {
		t.Errorf("exit error: %v", exited.Err)
	}
	back := h.ev.Wait(t, mark, "replica 0 healthy again", func(ev supervisor.Event) bool {
		return ev.Kind == supervisor.EventHealthy && ev.Replica == 0
	})
	if back.Pid == victim {
		t.Fatalf("replica 0 still has pid %d", victim)
	}
	// The other replica was never touched.
	for _, ev := range h.ev.Since(mark) {
		if ev.Replica == 1 {
			t.Errorf("replica 1 had an event during replica 0's crash: %+v", ev)
		}
	}
	if got := h.pid(t, "fn-a", 0); got != back.Pid {
		t.Errorf("pid file: %d, want %d", got, back.Pid)
	}
	if got := h.pid(t, "fn-a", 1); got != survivor {
		t.Errorf("pid file of replica 1: %d, want %d", got, survivor)
	}
	st, _ := h.sup.Status("fn-a")
	if st.Instances[0].Restarts != 1 || st.Instances[1].Restarts != 0 || st.Available != 2 {
		t.Errorf("status after restart: %+v", st)
	}
}

func TestScale(t *testing.T) {
	h := newHarness(t, nil)
	mark := h.ev.Mark()
	h.add(t, "fn-a", 1)
	h.ev.WaitN(t, mark, "fn-a", supervisor.EventHealthy, 1)

	mark = h.ev.Mark()
	if err := h.sup.Scale("fn-a", 3); err != nil {
		t.Fatal(err)
	}
	h.ev.WaitN(t, mark, "fn-a", supervisor.EventHealthy, 2)
	if n := len(h.sup.Endpoints("fn-a")); n != 3 {
		t.Fatalf("after scaling to 3: %d endpoints", n)
	}
	pids := []int{h.pid(t, "fn-a", 0), h.pid(t, "fn-a", 1), h.pid(t, "fn-a", 2)}

	mark = h.ev.Mark()
	if err := h.sup.Scale("fn-a", 1); err != nil {
		t.Fatal(err)
	}
	// Out of rotation at once, stopped in the background.
	if eps := h.sup.Endpoints("fn-a"); len(eps) != 1 || eps[0].Pid != pids[0] {
		t.Fatalf("after scaling to 1: %v", eps)
	}
	h.ev.WaitN(t, mark, "fn-a", supervisor.EventStopped, 2)
	for _, i := range []int{1, 2} {
		if alive(pids[i]) {
			t.Errorf("replica %d (pid %d) still running", i, pids[i])
		}
		if _, err := os.Stat(filepath.Join(h.runDir, fmt.Sprintf("fn-a-%d.pid", i))); !os.IsNotExist(err) {
			t.Errorf("pid file of stopped replica %d: %v", i, err)
		}
	}

	if err := h.sup.Scale("fn-a", 0); err != nil {
		t.Fatal(err)
	}
	if n := len(h.sup.Endpoints("fn-a")); n != 0 {
		t.Errorf("scaled to 0: %d endpoints", n)
	}
	if err := h.sup.Scale("nope", 1); err == nil {
		t.Error("scaled an unknown function")
	}
	if err := h.sup.Scale("fn-a", -1); err == nil {
		t.Error("scaled to -1")
	}
}

func TestSwap(t *testing.T) {
	h := newHarness(t, nil)
	mark := h.ev.Mark()
	h.add(t, "fn-a", 2)
	h.ev.WaitN(t, mark, "fn-a", supervisor.EventHealthy, 2)
	old := h.sup.Endpoints("fn-a")

	v2 := filepath.Join(t.TempDir(), "v2")
	if err := os.Symlink(os.Args[0], v2); err != nil {
		t.Fatal(err)
	}
	if err := h.sup.Swap(context.Background(), "fn-a", v2); err != nil {
		t.Fatal(err)
	}
	eps := h.sup.Endpoints("fn-a")
	if len(eps) != 2 {
		t.Fatalf("after swap: %d endpoints", len(eps))
	}
	for i, ep := range eps {
		if ep.Generation != 2 {
			t.Errorf("endpoint %d: generation %d", i, ep.Generation)
		}
		if a := ask(t, ep, "/"); a.Version != "v2" {
			t.Errorf("endpoint %d runs %q", i, a.Version)
		}
		if got := h.pid(t, "fn-a", i); got != ep.Pid {
			t.Errorf("pid file %d: %d, want %d", i, got, ep.Pid)
		}
	}
	for _, ep := range old { // Swap returns once the old generation is gone
		if alive(ep.Pid) {
			t.Errorf("old %s still running", ep)
		}
		if ep.Acquire() {
			t.Errorf("old %s can still be acquired", ep)
		}
	}
	st, _ := h.sup.Status("fn-a")
	if st.Generation != 2 || st.Binary != v2 {
		t.Errorf("status: %+v", st)
	}
}

func TestSwapToABrokenBinaryKeepsTheOldGeneration(t *testing.T) {
	h := newHarness(t, nil)
	mark := h.ev.Mark()
	h.add(t, "fn-a", 2)
	h.ev.WaitN(t, mark, "fn-a", supervisor.EventHealthy, 2)
	old := h.sup.Endpoints("fn-a")

	broken := filepath.Join(t.TempDir(), "broken")
	if err := os.WriteFile(broken, []byte("#!/bin/sh\necho cannot start >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := h.sup.Swap(context.Background(), "fn-a", broken)
	if err == nil || !strings.Contains(err.Error(), "exited before it was healthy") ||
		!strings.Contains(err.Error(), "generation 1 keeps serving") {
		t.Fatalf("swap error: %v", err)
	}
	eps := h.sup.Endpoints("fn-a")
	if len(eps) != 2 || eps[0] != old[0] || eps[1] != old[1] {
		t.Fatalf("endpoints changed: %v, were %v", eps, old)
	}
	for i, ep := range eps {
		ask(t, ep, "/")
		if got := h.pid(t, "fn-a", i); got != ep.Pid {
			t.Errorf("pid file %d: %d, want the old generation's %d", i, got, ep.Pid)
		}
	}
	if log, _ := os.ReadFile(filepath.Join(h.logDir, "fn-a-0.log")); !strings.Contains(string(log), "cannot start") {
		t.Errorf("the broken binary's output is not in the log:\n%s", log)
	}
}

func TestAProcessThatNeverGetsHealthyIsRestarted(t *testing.T) {
	h := newHarness(t, func(c *supervisor.Config) { c.StartTimeout = 300 * time.Millisecond })
	mark := h.ev.Mark()
	h.add(t, "fn-a", 1, supervisortest.EnvHealth+"=fail")
	first := h.ev.Wait(t, mark, "start timeout", func(ev supervisor.Event) bool {
		return ev.Kind == supervisor.EventExited
	})
	if !strings.Contains(first.Err.Error(), "not healthy within") {
		t.Errorf("exit error: %v", first.Err)
	}
	h.ev.Wait(t, mark, "a second process", func(ev supervisor.Event) bool {
		return ev.Kind == supervisor.EventStarted && ev.Pid != first.Pid
	})
	if n := len(h.sup.Endpoints("fn-a")); n != 0 {
		t.Errorf("an unhealthy process was published (%d endpoints)", n)
	}
}

func TestStopEndsEveryProcess(t *testing.T) {
	h := newHarness(t, nil)
	mark := h.ev.Mark()
	h.add(t, "fn-a", 2)
	h.add(t, "fn-b", 1)
	h.ev.WaitN(t, mark, "fn-a", supervisor.EventHealthy, 2)
	h.ev.WaitN(t, mark, "fn-b", supervisor.EventHealthy, 1)
	pids := []int{h.pid(t, "fn-a", 0), h.pid(t, "fn-a", 1), h.pid(t, "fn-b", 0)}

	// A request acquired before Stop begins is answered before its
	// process gets SIGTERM.
	ep := h.sup.Endpoints("fn-b")[0]
	if !ep.Acquire() {
		t.Fatal("cannot acquire")
	}
	answered := make(chan error, 1)
	go func() {
		defer ep.Release()
		req, _ := http.NewRequest(http.MethodGet, "http://"+ep.Addr+"/slow?ms=300", nil)
		resp, err := ep.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %s", resp.Status)
			}
		}
		answered <- err
	}()

	ctx, cancel := context.WithTimeout(context.Background(), supervisortest.WaitTimeout)
	defer cancel()
	if err := h.sup.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-answered; err != nil {
		t.Errorf("request in flight during Stop: %v", err)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d survived Stop", pid)
		}
	}
	if files, _ := filepath.Glob(filepath.Join(h.runDir, "*.pid")); len(files) != 0 {
		t.Errorf("pid files left: %v", files)
	}
	if err := h.sup.Scale("fn-a", 3); err == nil {
		t.Error("scaled after Stop")
	}
}
