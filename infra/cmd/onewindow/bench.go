package main

import (
	"cmp"
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

// cmdBench runs the baselines and the load scenarios of every function
// and the mixed portal scenario through a gateway, and prints a section
// per scenario and a summary table of every endpoint. Without -gateway
// it starts a stack of its own (`onewindow run` on a free port, data
// under .data/bench) and stops it afterwards. `make bench` runs it;
// docs/benchmarks.md keeps the figures.
func cmdBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	gatewayURL := fs.String("gateway", "", "gateway URL of a running stack (default: start one)")
	appsFile := fs.String("apps", envOr("ONEWINDOW_APPS_FILE", "infra/local/apps.json"), "apps file with the signing apps")
	conc := fs.Int("c", 64, "concurrent clients of the benchmarks that do not set their own")
	dur := fs.Duration("d", 10*time.Second, "duration of each scenario")
	only := fs.String("only", "", "run only scenarios whose name contains this")
	dbURL := fs.String("database-url", os.Getenv("DATABASE_URL"),
		"the stack's PostgreSQL, for the pgbench ceiling (default: the server of the stack bench starts)")
	pairs := fs.Int("case-pairs", 0, "attachment pairs prepared for each POST /cases run (0: three times what the warm-up rate needs)")
	orders := fs.Int("payment-orders", 2000, "payment orders opened for the payment-callback run, which ends when they are used")
	mixedClients := fs.Int("mixed-clients", 300, "concurrent users of the mixed portal scenario (Dazhou: 300)")
	_ = fs.Parse(args)

	apps, err := auth.ReadAppsFile(*appsFile)
	if err != nil {
		return err
	}
	secrets := map[string]string{}
	for _, a := range apps {
		secrets[a.ID] = a.Secret
	}
	bare, err := startBareHandler()
	if err != nil {
		return err
	}
	defer bare.close()
	stackPID := 0 // the stack's root process, when bench starts it
	ownStack := *gatewayURL == ""
	if ownStack {
		dataDir := filepath.Join(envOr("ONEWINDOW_DATA_DIR", ".data"), "bench")
		url, pid, stop, err := startBenchStack(ctx, dataDir, bare.env())
		if err != nil {
			return err
		}
		defer stop()
		*gatewayURL, stackPID = url, pid
		if *dbURL == "" {
			pgDir := filepath.Join(dataDir, "postgres")
			*dbURL, err = postgresURLOf(pgDir)
			if err != nil {
				return err
			}
		}
	}
	portal := client.New(*gatewayURL, "hebei-portal", secrets["hebei-portal"])
	cases := newCaseBench(caseBenchConfig{
		Portal:   portal,
		Admin:    client.New(*gatewayURL, "onewindow-admin", secrets["onewindow-admin"]),
		Workers:  *conc,
		Pairs:    *pairs,
		Database: *dbURL,
		StackPID: stackPID,
	})
	defer cases.close()
	fx := newFixtures(newBenchApps(*gatewayURL, secrets, cases.http), cases, *conc)

	// Baselines first, on a quiet stack; the mixed scenario last, over
	// everything the others prepared.
	all := baselineBenchmarks(bare, portal, ownStack)
	all = append(all, commitCeiling(*dbURL, stackPID))
	all = append(all, benchmarks(portal)...)
	all = append(all, cases.benchmarks()...)
	all = append(all, fx.functionBenchmarks(*gatewayURL, *orders)...)
	all = append(all, fx.mixedBenchmark(*mixedClients))
	fmt.Printf("## onewindow bench\n\n%s\n", machineLine())
	var summary []summaryRow
	for _, b := range all {
		if *only != "" && !strings.Contains(b.name, *only) {
			continue
		}
		clients := cmp.Or(b.clients, *conc)
		rep, err := runBenchmark(ctx, *gatewayURL, stackPID, b, clients, *dur)
		if err != nil {
			return err
		}
		for _, row := range rep.Rows {
			summary = append(summary, summaryRow{benchmark: b.name, clients: clients, row: row})
		}
		if len(rep.Rows) > 1 {
			summary = append(summary, summaryRow{benchmark: b.name, clients: clients, row: rep.Total})
		}
	}
	fmt.Printf("\n### Summary: every endpoint measured\n\n%s", summaryMarkdown(summary))
	return nil
}

// runBenchmark scales the function, prepares, measures and prints one
// benchmark's section, with how the cores were spent during the run when
// bench started the stack (stackPID). It returns the load generator's
// report, empty for a benchmark that measures by itself.
func runBenchmark(ctx context.Context, gatewayURL string, stackPID int, b benchmark, clients int, dur time.Duration) (loadgen.Report, error) {
	if b.replicas > 0 {
		if err := gateway.ScaleAndWait(ctx, gatewayURL, b.function, b.replicas); err != nil {
			return loadgen.Report{}, err
		}
	}
	if b.prepare != nil {
		fmt.Fprintf(os.Stderr, "bench: %s: preparing\n", b.name)
		if err := b.prepare(ctx, dur); err != nil {
			return loadgen.Report{}, fmt.Errorf("%s: prepare: %w", b.name, err)
		}
	}
	if b.run != nil {
		fmt.Fprintf(os.Stderr, "bench: %s (%s)\n", b.name, dur)
		section, err := b.run(ctx, dur)
		if err != nil {
			return loadgen.Report{}, fmt.Errorf("%s: %w", b.name, err)
		}
		fmt.Printf("\n### %s\n\n%s", b.name, section)
		return loadgen.Report{}, nil
	}
	fmt.Fprintf(os.Stderr, "bench: %s (%d clients, %s)\n", b.name, clients, dur)
	before := sampleCPU(stackPID)
	rep, err := loadgen.Run(ctx, loadgen.Options{Concurrency: clients, Duration: dur, MaxRequests: b.maxRequests}, b.scenarios...)
	if err != nil {
		return loadgen.Report{}, err
	}
	cpu := cpuReport(before, sampleCPU(stackPID), rep.Total.Requests-rep.Total.Errors, "request")
	fmt.Printf("\n### %s: %d clients, %s\n\n%s", b.name, clients, rep.Elapsed.Round(time.Millisecond), rep.Markdown())
	if b.notes != nil {
		fmt.Printf("\n%s", b.notes(rep))
	}
	if cpu != "" {
		fmt.Printf("\n%s", cpu)
	}
	return rep, nil
}

type benchmark struct {
	name     string
	function string
	replicas int // scale function to this first; 0 leaves it
	// clients is the number of concurrent clients; 0 means the -c flag.
	clients int
	// maxRequests ends the run early after this many requests (prepared
	// records that would run out); 0 runs for the whole duration.
	maxRequests int
	// prepare runs after scaling and before the measured time (catalogue
	// records, uploads); nil when there is nothing to prepare.
	prepare   func(ctx context.Context, dur time.Duration) error
	scenarios []loadgen.Scenario
	// notes, when set, adds lines under the table about what the run saw.
	notes func(rep loadgen.Report) string
	// run, when set, replaces the load generator: the benchmark measures by
	// itself (pgbench) and returns its section in Markdown.
	run func(ctx context.Context, dur time.Duration) (string, error)
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
// with its data under dataDir and env added to its environment, and waits
// for /healthz. It returns the gateway's URL, the child's pid and how to
// stop it.
func startBenchStack(ctx context.Context, dataDir string, env ...string) (string, int, func(), error) {
	// Every run measures a fresh database and bucket: the records of earlier
	// runs would change the figures, and a schema from an older checkout
	// would break them. The build cache under dataDir is kept.
	for _, dir := range []string{"postgres", "minio"} {
		if err := os.RemoveAll(filepath.Join(dataDir, dir)); err != nil {
			return "", 0, nil, fmt.Errorf("clear the bench stack's %s data: %w", dir, err)
		}
	}
	port, err := localdeps.FreePort()
	if err != nil {
		return "", 0, nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
	self, err := os.Executable()
	if err != nil {
		return "", 0, nil, fmt.Errorf("find own binary: %w", err)
	}
	logPath := filepath.Join(os.TempDir(), "onewindow-bench-stack.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return "", 0, nil, err
	}
	cmd := exec.Command(self, "run")
	cmd.Env = append(os.Environ(), "ONEWINDOW_ADDR="+addr, "ONEWINDOW_DATA_DIR="+dataDir)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return "", 0, nil, fmt.Errorf("start the stack: %w", err)
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
				return url, cmd.Process.Pid, stop, nil
			}
		}
		select {
		case err := <-exited:
			logf.Close()
			return "", 0, nil, fmt.Errorf("the stack exited before it was healthy (%v); see %s", err, logPath)
		case <-ctx.Done():
			stop()
			return "", 0, nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return "", 0, nil, errors.New("the stack was not healthy within 10 minutes; see " + logPath)
		}
	}
}
