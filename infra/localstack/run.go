package localstack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/onewindow/onewindow/infra/demo"
	"github.com/onewindow/onewindow/infra/gateway"
	"github.com/onewindow/onewindow/infra/scheduler"
	"github.com/onewindow/onewindow/infra/stackfile"
	"github.com/onewindow/onewindow/infra/supervisor"
	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/config"
	"github.com/onewindow/onewindow/shared/objects"
	"github.com/onewindow/onewindow/shared/store"
)

// Defaults of Config.
const (
	DefaultAddr     = "127.0.0.1:8080"
	DefaultDataDir  = ".data"
	DefaultAppsFile = "infra/local/apps.json" // relative to the repository
	// DefaultBuildSlots is how many functions compile at once: each go
	// build already uses every core.
	DefaultBuildSlots = 2
)

// Config configures Run. Relative paths are relative to the working directory.
type Config struct {
	// RepoRoot holds stack.yml, templates/ and the functions. Required.
	RepoRoot string
	// DataDir holds PostgreSQL's and MinIO's data, builds, logs and pid
	// files (default .data). Reused by the next run.
	DataDir string
	// Addr is the gateway's listen address (default 127.0.0.1:8080). It
	// must be a loopback address unless AllowRemote.
	Addr        string
	AllowRemote bool
	// AppsFile lists the apps loaded into the database (default
	// <RepoRoot>/infra/local/apps.json).
	AppsFile string
	// BuildSlots is how many functions compile at once (default 2).
	BuildSlots int
	// Console receives the progress lines meant for a person; default stderr.
	Console io.Writer
	// Log receives the components' structured logs; default slog.Default().
	Log *slog.Logger
}

// Run starts the whole local stack and serves until ctx ends, then stops
// it: PostgreSQL and MinIO (or the external ones of DATABASE_URL and
// S3_ENDPOINT), the migrations, the apps file, the demo data, every
// function of stack.yml built from the repository and run as
// com.openfaas.scale.min processes, the gateway on cfg.Addr and the
// scheduler. Stopping goes in reverse: scheduler, gateway (requests in
// flight finish), function replicas (SIGTERM, drain), then PostgreSQL and
// MinIO. Run returns nil after a clean stop.
func Run(ctx context.Context, cfg Config) (err error) {
	if cfg.RepoRoot == "" {
		return errors.New("run: no repository root")
	}
	cfg.DataDir = cmp.Or(cfg.DataDir, DefaultDataDir)
	cfg.Addr = cmp.Or(cfg.Addr, DefaultAddr)
	cfg.AppsFile = cmp.Or(cfg.AppsFile, filepath.Join(cfg.RepoRoot, DefaultAppsFile))
	cfg.BuildSlots = cmp.Or(cfg.BuildSlots, DefaultBuildSlots)
	if cfg.Console == nil {
		cfg.Console = os.Stderr
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	say := func(format string, args ...any) { fmt.Fprintf(cfg.Console, format+"\n", args...) }
	if cfg.DataDir, err = filepath.Abs(cfg.DataDir); err != nil {
		return fmt.Errorf("run: data directory: %w", err)
	}

	stack, err := stackfile.Load(filepath.Join(cfg.RepoRoot, "stack.yml"))
	if err != nil {
		return err
	}
	jobs, err := scheduler.JobsFromStack(stack.Functions)
	if err != nil {
		return fmt.Errorf("stack.yml: %w", err)
	}
	dirs, err := prepareDataDir(cfg.DataDir)
	if err != nil {
		return err
	}

	// Listen first: a busy port should fail before minutes of building.
	if err := gateway.CheckLoopback(cfg.Addr, cfg.AllowRemote); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("gateway: listen on %s (another `onewindow run`? set ONEWINDOW_ADDR): %w", cfg.Addr, err)
	}
	defer ln.Close() // for the early returns; Shutdown closes it otherwise

	sup := supervisor.New(supervisor.Config{LogDir: dirs.logs, RunDir: dirs.run, Log: cfg.Log.With("component", "supervisor")})
	var (
		srv   *http.Server
		deps  *Deps
		sched *scheduler.Scheduler
	)
	// Stop in order: no new invocations, requests in flight finish at the
	// gateway, replicas drain and exit, then the databases they used.
	defer func() {
		if sched != nil {
			sched.Stop()
		}
		if srv != nil {
			shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if serr := srv.Shutdown(shutCtx); serr != nil {
				err = errors.Join(err, fmt.Errorf("gateway shutdown: %w", serr))
			}
		}
		stopCtx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if serr := sup.Stop(stopCtx); serr != nil {
			err = errors.Join(err, serr)
		}
		if deps != nil {
			deps.Stop()
		}
		if err == nil {
			say("stopped")
		}
	}()
	builder := &Builder{RepoRoot: cfg.RepoRoot, Stack: stack, DataDir: cfg.DataDir}
	gwFunctions, backend, err := withBenchUpstream(stack.Functions, sup, os.Getenv(BenchUpstreamEnv))
	if err != nil {
		return err
	}
	gw, err := gateway.New(gateway.Config{Functions: gwFunctions, Backend: backend, Build: builder.Build,
		Log: cfg.Log.With("component", "gateway")})
	if err != nil {
		return err
	}
	srv = &http.Server{Handler: gw, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(cfg.Log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	// Dependencies and builds at the same time: neither needs the other.
	bucket := bucketName(stack)
	binaries := make(map[string]string, len(stack.Functions))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		d, err := startDeps(gctx, cfg, dirs, bucket, say)
		deps = d
		return err
	})
	g.Go(func() error {
		return buildAll(gctx, builder, stack.Names(), cfg.BuildSlots, binaries, say)
	})
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return err
	}

	rt := runtimeEnv{deps: deps, bucket: bucket, secretsDir: dirs.secrets}
	replicas := 0
	for _, name := range stack.Names() {
		spec, err := functionSpec(stack.Functions[name], binaries[name], rt)
		if err != nil {
			return err
		}
		replicas += spec.Replicas
		if err := sup.Add(spec); err != nil {
			return err
		}
	}
	say("starting %d functions (%d replicas; logs in %s)", len(stack.Functions), replicas, dirs.logs)
	waitHealthy(ctx, sup, stack.Names(), dirs.logs, say)
	if ctx.Err() != nil {
		return nil // stopped while starting
	}

	sched = scheduler.New(scheduler.Config{Gateway: "http://" + ln.Addr().String(), Jobs: jobs,
		Log: cfg.Log.With("component", "scheduler")})
	sched.Start(ctx)

	say("OneWindow is up on http://%s (%d functions); Ctrl-C stops it", ln.Addr(), len(stack.Functions))
	select {
	case <-ctx.Done():
		say("stopping: gateway, then functions, then PostgreSQL and MinIO")
		return nil
	case err := <-served:
		return fmt.Errorf("gateway: %w", err)
	}
}

// dataDirs are the directories under the data directory.
type dataDirs struct {
	logs, run, secrets string
}

// prepareDataDir creates the data directory's layout and clears what a
// previous run left that must not be reused: binaries and pid files.
func prepareDataDir(dataDir string) (dataDirs, error) {
	d := dataDirs{
		logs:    filepath.Join(dataDir, "logs"),
		run:     filepath.Join(dataDir, "run"),
		secrets: filepath.Join(dataDir, "secrets"),
	}
	if err := os.RemoveAll(filepath.Join(dataDir, "bin")); err != nil {
		return d, fmt.Errorf("clear old binaries: %w", err)
	}
	if err := os.RemoveAll(d.run); err != nil {
		return d, fmt.Errorf("clear old pid files: %w", err)
	}
	for _, dir := range []string{d.logs, d.run, d.secrets, filepath.Join(dataDir, "build"), filepath.Join(dataDir, "bin")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return d, fmt.Errorf("create %s: %w", dir, err)
		}
	}
	// Secrets come from the environment locally; the directory stays empty.
	if err := os.Chmod(d.secrets, 0o700); err != nil {
		return d, err
	}
	return d, nil
}

// startDeps starts (or finds) PostgreSQL and MinIO, then prepares them:
// migrations, apps, demo data, bucket.
func startDeps(ctx context.Context, cfg Config, dirs dataDirs, bucket string, say func(string, ...any)) (*Deps, error) {
	logPath := filepath.Join(dirs.logs, "deps.log")
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	// The servers write to logf as long as they run: it stays open until
	// the process exits.
	say("starting PostgreSQL and MinIO under %s (their output: %s)", cfg.DataDir, logPath)
	deps, err := StartDeps(ctx, cfg.DataDir, true, logf)
	if err != nil {
		logf.Close()
		return nil, err
	}
	if err := prepareDeps(ctx, cfg, deps, say); err != nil {
		deps.Stop()
		return nil, err
	}
	if err := ensureBucket(ctx, deps, bucket); err != nil {
		deps.Stop()
		return nil, err
	}
	return deps, nil
}

func prepareDeps(ctx context.Context, cfg Config, deps *Deps, say func(string, ...any)) error {
	pool, err := store.Open(ctx, deps.DatabaseURL, store.PoolOptions{MaxConns: 2, ApplicationName: "onewindow-run"})
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := store.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	apps, err := auth.ReadAppsFile(cfg.AppsFile)
	if err != nil {
		return err
	}
	if err := auth.SaveApps(ctx, pool, apps); err != nil {
		return fmt.Errorf("load apps from %s: %w", cfg.AppsFile, err)
	}
	if err := demo.Load(ctx, pool); err != nil {
		return fmt.Errorf("load demo data: %w", err)
	}
	say("database migrated; %d apps loaded from %s; demo data loaded", len(apps), cfg.AppsFile)
	return nil
}

// ensureBucket creates the object store's bucket, as the migrations
// create the schema: the functions may assume it exists.
func ensureBucket(ctx context.Context, deps *Deps, bucket string) error {
	st, err := objects.New(ctx, config.ObjectStore{
		Driver: deps.S3Driver, Endpoint: deps.S3Endpoint, Bucket: bucket,
		AccessKey: deps.S3AccessKey, SecretKey: deps.S3SecretKey,
		Region: cmp.Or(os.Getenv("S3_REGION"), "us-east-1"), UseTLS: os.Getenv("S3_USE_TLS") == "true",
	})
	if err != nil {
		return err
	}
	if err := st.EnsureBucket(ctx); err != nil {
		return fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	return nil
}

// bucketName is $S3_BUCKET, else the S3_BUCKET of stack.yml's
// environment, else onewindow.
func bucketName(stack *stackfile.Stack) string {
	if b := os.Getenv("S3_BUCKET"); b != "" {
		return b
	}
	for _, name := range stack.Names() {
		if b := stack.Functions[name].Environment["S3_BUCKET"]; b != "" {
			return b
		}
	}
	return "onewindow"
}

// buildAll builds every function, slots at a time, into binaries.
func buildAll(ctx context.Context, b *Builder, names []string, slots int, binaries map[string]string, say func(string, ...any)) error {
	start := time.Now()
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(slots)
	var started atomic.Int32
	out := make([]string, len(names))
	for i, name := range names {
		g.Go(func() error {
			say("building %s (%d/%d)", name, started.Add(1), len(names))
			bin, err := b.Build(ctx, name)
			out[i] = bin
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for i, name := range names {
		binaries[name] = out[i]
	}
	say("built %d functions in %s", len(names), time.Since(start).Round(100*time.Millisecond))
	return nil
}

// waitHealthy waits until every function has a healthy replica (or is
// scaled to 0) or ctx ends, saying every 15 s which are still missing.
func waitHealthy(ctx context.Context, sup *supervisor.Supervisor, names []string, logDir string, say func(string, ...any)) {
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	nag := time.NewTicker(15 * time.Second)
	defer nag.Stop()
	for {
		var missing []string
		for _, name := range names {
			if st, _ := sup.Status(name); st.Replicas > 0 && st.Available == 0 {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-nag.C:
			say("still waiting for %s to answer its health check (see %s/%s-0.log)",
				strings.Join(missing, ", "), logDir, missing[0])
		case <-poll.C:
		}
	}
}
