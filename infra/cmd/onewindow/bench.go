package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/onewindow/onewindow/infra/gateway"
	"github.com/onewindow/onewindow/infra/loadgen"
	"github.com/onewindow/onewindow/infra/localdeps"
	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/client"
)

// cmdBench runs the load scenarios through a gateway and prints one table
// per scenario. Without -gateway it starts a stack of its own (`onewindow
// run` on a free port, data under .data/bench) and stops it afterwards.
// `make bench` runs it; docs/benchmarks.md keeps the figures.
func cmdBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	gatewayURL := fs.String("gateway", "", "gateway URL of a running stack (default: start one)")
	appsFile := fs.String("apps", envOr("ONEWINDOW_APPS_FILE", "infra/local/apps.json"), "apps file with the signing apps")
	conc := fs.Int("c", 64, "concurrent clients")
	dur := fs.Duration("d", 10*time.Second, "duration of each scenario")
	only := fs.String("only", "", "run only scenarios whose name contains this")
	_ = fs.Parse(args)

	apps, err := auth.ReadAppsFile(*appsFile)
	if err != nil {
		return err
	}
	secrets := map[string]string{}
	for _, a := range apps {
		secrets[a.ID] = a.Secret
	}
	if *gatewayURL == "" {
		url, stop, err := startBenchStack(ctx)
		if err != nil {
			return err
		}
		defer stop()
		*gatewayURL = url
	}
	portal := client.New(*gatewayURL, "hebei-portal", secrets["hebei-portal"])

	for _, b := range benchmarks(portal) {
		if *only != "" && !strings.Contains(b.name, *only) {
			continue
		}
		if b.replicas > 0 {
			if err := gateway.ScaleAndWait(ctx, *gatewayURL, b.function, b.replicas); err != nil {
				return err
			}
		}
		fmt.Fprintf(os.Stderr, "bench: %s (%d clients, %s)\n", b.name, *conc, *dur)
		rep, err := loadgen.Run(ctx, loadgen.Options{Concurrency: *conc, Duration: *dur}, b.scenarios...)
		if err != nil {
			return err
		}
		fmt.Printf("\n### %s: %d clients, %s\n\n%s", b.name, *conc, rep.Elapsed.Round(time.Millisecond), rep.Markdown())
	}
	return nil
}

type benchmark struct {
	name      string
	function  string
	replicas  int // scale function to this first; 0 leaves it
	scenarios []loadgen.Scenario
}

func benchmarks(portal *client.Client) []benchmark {
	signed := func(name, fn, method, path string, body []byte, ok func(int) bool) loadgen.Scenario {
		return loadgen.Scenario{Name: name, OK: ok, Request: func(ctx context.Context, _, _ int) (*http.Request, error) {
			return portal.Request(ctx, fn, method, path, body, nil)
		}}
	}
	created := func(s int) bool { return s == http.StatusCreated }
	issue := signed("serial-issue POST / (count 1)", "serial-issue", "POST", "/",
		[]byte(`{"region":"130100","channel":"online","count":1}`), created)
	verify := signed("serial-issue GET /verify", "serial-issue", "GET", "/verify?serial=13010012026112200000013", nil, nil)
	return []benchmark{
		{name: "serial-issue, 1 replica", function: "serial-issue", replicas: 1, scenarios: []loadgen.Scenario{issue}},
		{name: "serial-issue, 3 replicas", function: "serial-issue", replicas: 3, scenarios: []loadgen.Scenario{issue}},
		{name: "serial-verify, 1 replica", function: "serial-issue", replicas: 1, scenarios: []loadgen.Scenario{verify}},
	}
}

// startBenchStack runs `onewindow run` as a child on a free loopback port
// with its data under .data/bench, and waits for /healthz.
func startBenchStack(ctx context.Context) (string, func(), error) {
	port, err := localdeps.FreePort()
	if err != nil {
		return "", nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
	self, err := os.Executable()
	if err != nil {
		return "", nil, fmt.Errorf("find own binary: %w", err)
	}
	dataDir := filepath.Join(envOr("ONEWINDOW_DATA_DIR", ".data"), "bench")
	logPath := filepath.Join(os.TempDir(), "onewindow-bench-stack.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(self, "run")
	cmd.Env = append(os.Environ(), "ONEWINDOW_ADDR="+addr, "ONEWINDOW_DATA_DIR="+dataDir)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return "", nil, fmt.Errorf("start the stack: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logf.Close()
	}
	fmt.Fprintf(os.Stderr, "bench: starting a stack on %s (log %s)\n", addr, logPath)
	url := "http://" + addr
	deadline := time.Now().Add(10 * time.Minute) // the first run builds MinIO and every function
	for {
		if r, err := http.Get(url + "/healthz"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return url, stop, nil
			}
		}
		select {
		case err := <-exited:
			logf.Close()
			return "", nil, fmt.Errorf("the stack exited before it was healthy (%v); see %s", err, logPath)
		case <-ctx.Done():
			stop()
			return "", nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, errors.New("the stack was not healthy within 10 minutes; see " + logPath)
		}
	}
}
