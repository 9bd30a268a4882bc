package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/infra/localdeps"
	"github.com/onewindow/onewindow/infra/stackfile"
)

// pgbenchScript is the transaction pgbench repeats, relative to the
// repository root: the writes of one POST /cases of the bench item.
const pgbenchScript = "infra/bench/case_submit.pgbench"

// pgbenchMaxTPS sizes the uploads a pgbench run may take: this many
// transactions per second for the run's duration. A faster run takes
// them all and its clients abort, which the table shows.
const pgbenchMaxTPS = 5000

// pgbenchSchema holds scratch copies of the tables a submission writes:
// the same columns, defaults, checks and indexes (LIKE ... INCLUDING ALL)
// and the same foreign keys, which LIKE does not copy. The stack never
// reads them, so pgbench's rows reach no department and no GET.
const pgbenchSchema = `
DROP SCHEMA IF EXISTS pgbench_case CASCADE;
CREATE SCHEMA pgbench_case;
CREATE TABLE pgbench_case.uploads (LIKE uploads INCLUDING ALL);
CREATE TABLE pgbench_case.cases (LIKE cases INCLUDING ALL);
ALTER TABLE pgbench_case.cases ADD FOREIGN KEY (parent_id) REFERENCES pgbench_case.cases (case_id);
CREATE TABLE pgbench_case.case_events (LIKE case_events INCLUDING ALL);
ALTER TABLE pgbench_case.case_events ADD FOREIGN KEY (case_id) REFERENCES pgbench_case.cases (case_id);
CREATE TABLE pgbench_case.case_materials (LIKE case_materials INCLUDING ALL);
ALTER TABLE pgbench_case.case_materials ADD FOREIGN KEY (case_id) REFERENCES pgbench_case.cases (case_id);
CREATE TABLE pgbench_case.attachments (LIKE attachments INCLUDING ALL);
ALTER TABLE pgbench_case.attachments ADD FOREIGN KEY (case_id) REFERENCES pgbench_case.cases (case_id);
CREATE TABLE pgbench_case.webhook_streams (LIKE webhook_streams INCLUDING ALL);
CREATE TABLE pgbench_case.webhook_deliveries (LIKE webhook_deliveries INCLUDING ALL);
CREATE SEQUENCE pgbench_case.n;`

// pgbenchReset empties the scratch tables before a run, so every run
// starts from the same state.
const pgbenchReset = `
TRUNCATE pgbench_case.webhook_deliveries, pgbench_case.webhook_streams, pgbench_case.attachments,
	pgbench_case.case_materials, pgbench_case.case_events, pgbench_case.cases, pgbench_case.uploads;
ALTER SEQUENCE pgbench_case.n RESTART;`

// pgbenchUploads announces $1 uploads of hebei-portal; the script's
// transaction n takes uploads 2n-1 and 2n (ids from the same numbers,
// ascending like the UUIDv7 of POST /uploads).
const pgbenchUploads = `
INSERT INTO pgbench_case.uploads (upload_id, app_id, object_key, file_name, content_type, size_bytes, sha256, created_at)
SELECT lpad(to_hex(g), 32, '0')::uuid, 'hebei-portal', 'uploads/2026/11/23/' || lpad(to_hex(g), 32, '0'),
	'申请书.pdf', 'application/pdf', 611, '0e0c25a02dd695cb738ff233cc0651265215023f9ea1cefc30f6586e54b1f597', now()
FROM generate_series(1, $1::bigint) g`

// pgbenchRun is one pgbench run's outcome over its measured window: the
// end of a run that began with a warm-up.
type pgbenchRun struct {
	requested, clients int
	runSecs            int // -T: warm-up and window
	transactions       int // completed in the window
	tps                float64
	p50, p95, p99, max time.Duration
	failed             string // pgbench's "number of failed transactions", whole run
	// window is how long the measured part lasted: the last dur seconds,
	// or less when the slowest client finished its first transaction
	// later than that.
	window time.Duration
	// cold counts clients that never finished a transaction.
	cold int
	// total counts the transactions of the whole run, warm-up included.
	total int
	// cpu says how the cores were spent during the whole run.
	cpu     string
	problem string // clients aborted, or the run failed
}

// pgbenchWarmup is how long a run goes before its window: pgbench opens
// its connections one after the other in each thread, and each new
// backend fills its caches and plans the script's statements on its
// first transaction, which on 2 cores shared with other work took up to
// 150 ms per connection. The gateway runs start with warm pools, so the
// ceiling is measured warm too.
func pgbenchWarmup(clients int) time.Duration {
	return 5*time.Second + time.Duration(clients)*150*time.Millisecond
}

// pgbench measures PostgreSQL's own ceiling for a submission's writes on
// the stack's server: the script at case-submit's connection count, at 50
// and at 300 clients (as many as max_connections leaves), each measured
// over dur after a warm-up.
func (c *caseBench) pgbench(ctx context.Context, dur time.Duration) (string, error) {
	if c.cfg.Database == "" {
		return "skipped: no database URL (pass -database-url with -gateway)\n", nil
	}
	root, err := findRepoRoot()
	if err != nil {
		return "", err
	}
	script := filepath.Join(root, pgbenchScript)
	if _, err := os.Stat(script); err != nil {
		return "", fmt.Errorf("pgbench script: %w", err)
	}
	binDir, err := localdeps.PostgresBinDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(binDir, "pgbench")
	if _, err := os.Stat(bin); err != nil {
		return fmt.Sprintf("skipped: no pgbench next to the server binaries (%v)\n", err), nil
	}
	pool, err := caseSubmitPool(root)
	if err != nil {
		return "", err
	}
	conn, err := pgx.Connect(ctx, c.cfg.Database)
	if err != nil {
		return "", fmt.Errorf("connect to the stack's PostgreSQL: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	srv, err := readServer(ctx, conn)
	if err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, pgbenchSchema); err != nil {
		return "", fmt.Errorf("create the scratch tables: %w", err)
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `DROP SCHEMA IF EXISTS pgbench_case CASCADE`); err != nil {
			fmt.Fprintf(os.Stderr, "bench: drop the scratch tables: %v\n", err)
		}
	}()

	// pgbench connects as the superuser, who may use every one of
	// max_connections; the stack keeps what it holds, and a few stay free
	// for its pools to grow and for this connection.
	free := srv.maxConns - srv.inUse - 5
	secs := max(1, int(dur.Round(time.Second).Seconds()))
	var runs []pgbenchRun
	for _, clients := range []int{pool, 50, 300} {
		n := min(clients, free)
		if n < 1 {
			continue
		}
		runSecs := secs + int(pgbenchWarmup(n).Round(time.Second).Seconds())
		fmt.Fprintf(os.Stderr, "bench: pgbench, %d clients, %d s (the last %d s measured)\n", n, runSecs, secs)
		if err := resetScratch(ctx, conn, pgbenchMaxTPS*runSecs); err != nil {
			return "", err
		}
		before := sampleCPU(c.cfg.StackPID)
		run, err := runPgbench(ctx, bin, script, c.cfg.Database, n, runSecs, secs)
		if err != nil {
			return "", err
		}
		run.cpu = cpuReport(before, sampleCPU(c.cfg.StackPID), run.total, "transaction")
		run.requested = clients
		runs = append(runs, run)
	}
	return c.pgbenchSection(srv, pool, secs, runs), nil
}

// server is what the report says about the PostgreSQL server.
type server struct {
	version, fsync, syncCommit, sharedBuffers string
	maxConns, inUse                           int // inUse counts client backends, this one included
}

func readServer(ctx context.Context, conn *pgx.Conn) (server, error) {
	var s server
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('fsync'),
			current_setting('synchronous_commit'), current_setting('shared_buffers'),
			current_setting('max_connections')::int,
			(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')`).
		Scan(&s.version, &s.fsync, &s.syncCommit, &s.sharedBuffers, &s.maxConns, &s.inUse); err != nil {
		return server{}, fmt.Errorf("read server settings: %w", err)
	}
	return s, nil
}

// pgbenchSection renders the runs, and the ratio of each POST /cases run
// of this bench to pgbench at the same client count.
func (c *caseBench) pgbenchSection(srv server, pool, secs int, runs []pgbenchRun) string {
	var b strings.Builder
	fmt.Fprintf(&b, "PostgreSQL %s of the bench stack (fsync %s, synchronous_commit %s, shared_buffers %s), "+
		"max_connections %d of which %d were open from the stack; "+
		"`pgbench -n -M prepared -j %d -l -f %s` against scratch copies of the tables (schema pgbench_case); "+
		"each run warms up first and is measured over its last %d s, from no earlier than every client's first commit.\n\n",
		srv.version, srv.fsync, srv.syncCommit, srv.sharedBuffers, srv.maxConns, srv.inUse-1,
		runtime.NumCPU(), pgbenchScript, secs)
	b.WriteString("| clients | -T | transactions | tps | p50 | p95 | p99 | max | failed |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range runs {
		label := strconv.Itoa(r.clients)
		switch {
		case r.requested == pool:
			label += fmt.Sprintf(" (case-submit's most: %d replicas × DB_MAX_CONNS)", caseReplicas)
		case r.clients < r.requested:
			label = fmt.Sprintf("%d requested, %d ran (max_connections)", r.requested, r.clients)
		}
		fmt.Fprintf(&b, "| %s | %d s | %d | %.0f | %s | %s | %s | %s | %s |\n", label, r.runSecs, r.transactions, r.tps,
			millis(r.p50), millis(r.p95), millis(r.p99), millis(r.max), r.failed)
	}
	for _, r := range runs {
		if r.cold > 0 {
			fmt.Fprintf(&b, "\npgbench at %d clients: %d clients finished no transaction\n", r.clients, r.cold)
		}
		switch {
		case r.total > 0 && r.window <= 0:
			fmt.Fprintf(&b, "\npgbench at %d clients: nothing measured: %d transactions in all, but the slowest client finished its first one only at the end of the run\n",
				r.clients, r.total)
		case r.window > 0 && r.window < time.Duration(secs)*time.Second-time.Second/2:
			fmt.Fprintf(&b, "\npgbench at %d clients: measured over %s only: the slowest client finished its first transaction %s into the run\n",
				r.clients, r.window.Round(100*time.Millisecond), (time.Duration(r.runSecs)*time.Second - r.window).Round(100*time.Millisecond))
		}
		if r.problem != "" {
			fmt.Fprintf(&b, "\npgbench at %d clients: %s\n", r.clients, r.problem)
		}
		if r.cpu != "" {
			fmt.Fprintf(&b, "\npgbench at %d clients, whole run: %s", r.clients, r.cpu)
		}
	}
	for _, r := range runs {
		if ok, seen := c.submitted[r.requested]; seen && r.tps > 0 {
			fmt.Fprintf(&b, "\nPOST /cases at %d clients: %.0f/s, %.0f%% of pgbench's %.0f tps at %d clients\n",
				r.requested, ok, 100*ok/r.tps, r.tps, r.clients)
		}
	}
	fmt.Fprintf(&b, "\nload average after pgbench: %s\n", loadAverage())
	return b.String()
}

// caseSubmitPool is how many connections case-submit's replicas may hold
// at most: caseReplicas times DB_MAX_CONNS of stack.yml (default 4).
func caseSubmitPool(root string) (int, error) {
	stack, err := stackfile.Load(filepath.Join(root, "stack.yml"))
	if err != nil {
		return 0, err
	}
	conns := 4
	if v, ok := stack.Functions["case-submit"].Environment["DB_MAX_CONNS"]; ok {
		if conns, err = strconv.Atoi(v); err != nil {
			return 0, fmt.Errorf("stack.yml: case-submit's DB_MAX_CONNS %q: %w", v, err)
		}
	}
	return caseReplicas * conns, nil
}

// resetScratch empties the scratch tables and announces 2*pairs uploads.
func resetScratch(ctx context.Context, conn *pgx.Conn, pairs int) error {
	if _, err := conn.Exec(ctx, pgbenchReset); err != nil {
		return fmt.Errorf("empty the scratch tables: %w", err)
	}
	if _, err := conn.Exec(ctx, pgbenchUploads, 2*pairs); err != nil {
		return fmt.Errorf("announce the scratch uploads: %w", err)
	}
	if _, err := conn.Exec(ctx, `ANALYZE pgbench_case.uploads`); err != nil {
		return fmt.Errorf("analyze the scratch uploads: %w", err)
	}
	return nil
}

var (
	pgbenchFailed  = regexp.MustCompile(`(?m)^number of failed transactions: (.+)$`)
	pgbenchAborted = regexp.MustCompile(`^client \d+ (script \d+ )?aborted`)
)

// runPgbench runs the script for runSecs and measures, from the
// per-transaction log, the last windowSecs of it.
func runPgbench(ctx context.Context, bin, script, dbURL string, clients, runSecs, windowSecs int) (pgbenchRun, error) {
	logDir, err := os.MkdirTemp("", "onewindow-pgbench-")
	if err != nil {
		return pgbenchRun{}, fmt.Errorf("pgbench log directory: %w", err)
	}
	defer os.RemoveAll(logDir)
	cmd := exec.CommandContext(ctx, bin, "-n", "-M", "prepared", "-c", strconv.Itoa(clients),
		"-j", strconv.Itoa(min(clients, runtime.NumCPU())), "-T", strconv.Itoa(runSecs), "-f", script,
		"-l", "--log-prefix", filepath.Join(logDir, "tx"), dbURL)
	out, err := cmd.CombinedOutput()
	run := pgbenchRun{clients: clients, runSecs: runSecs}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		run.problem = fmt.Sprintf("pgbench exited with status %d", exit.ExitCode())
	case err != nil:
		return pgbenchRun{}, fmt.Errorf("run pgbench: %w", err)
	}
	text := string(out)
	run.failed = "?"
	if m := pgbenchFailed.FindStringSubmatch(text); m != nil {
		run.failed = m[1]
	}
	run.problem = strings.Trim(run.problem+"; "+pgbenchErrors(text), "; ")
	txs, err := readPgbenchLogs(logDir)
	if err != nil {
		return pgbenchRun{}, err
	}
	run.total = len(txs)
	if len(txs) == 0 && run.problem == "" {
		run.problem = "no transaction completed: " + strings.Join(strings.Fields(text), " ")
	}
	// The window is the last windowSecs of the run, or less: it begins no
	// earlier than the moment every client had finished a first
	// transaction, so no connection's start-up is in it.
	var end, warm time.Time
	first := map[int]time.Time{}
	for _, t := range txs {
		if t.end.After(end) {
			end = t.end
		}
		if f, ok := first[t.client]; !ok || t.end.Before(f) {
			first[t.client] = t.end
		}
	}
	for _, f := range first {
		if f.After(warm) {
			warm = f
		}
	}
	run.cold = clients - len(first)
	from := end.Add(-time.Duration(windowSecs) * time.Second)
	if warm.After(from) {
		from = warm
	}
	run.window = end.Sub(from)
	var lats []time.Duration
	for _, t := range txs {
		if t.end.After(from) {
			lats = append(lats, t.latency)
		}
	}
	slices.Sort(lats)
	run.transactions = len(lats)
	if run.window > 0 {
		run.tps = float64(len(lats)) / run.window.Seconds()
	}
	run.p50, run.p95, run.p99 = nearestRank(lats, 0.50), nearestRank(lats, 0.95), nearestRank(lats, 0.99)
	if len(lats) > 0 {
		run.max = lats[len(lats)-1]
	}
	return run, nil
}

// pgbenchErrors sums up pgbench's error lines: how many clients aborted
// and the first error of another kind; empty when there were none.
func pgbenchErrors(out string) string {
	aborted, first := 0, ""
	for line := range strings.Lines(out) {
		msg, ok := strings.CutPrefix(strings.TrimSpace(line), "pgbench: error: ")
		switch {
		case !ok:
		case pgbenchAborted.MatchString(msg):
			aborted++
		case first == "" && !strings.HasPrefix(msg, "Run was aborted"):
			first = msg
		}
	}
	var parts []string
	if aborted > 0 {
		parts = append(parts, fmt.Sprintf("%d clients aborted", aborted))
	}
	if first != "" {
		parts = append(parts, "first error: "+first)
	}
	return strings.Join(parts, "; ")
}

// pgbenchTx is one line of pgbench's per-transaction log.
type pgbenchTx struct {
	client  int
	latency time.Duration
	end     time.Time
}

// readPgbenchLogs reads pgbench's per-transaction logs ("client_id
// transaction_no time script_no time_epoch time_us ...", time in µs and
// the end as epoch seconds and µs); failed transactions, whose time is not
// a number, are left out.
func readPgbenchLogs(dir string) ([]pgbenchTx, error) {
	files, err := filepath.Glob(filepath.Join(dir, "tx.*"))
	if err != nil {
		return nil, fmt.Errorf("pgbench logs: %w", err)
	}
	var txs []pgbenchTx
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("pgbench log: %w", err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if t, ok := parsePgbenchTx(sc.Text()); ok {
				txs = append(txs, t)
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read pgbench log %s: %w", name, err)
		}
	}
	return txs, nil
}

func parsePgbenchTx(line string) (pgbenchTx, bool) {
	f := strings.Fields(line)
	if len(f) < 6 {
		return pgbenchTx{}, false
	}
	var n [4]int64
	for i, s := range []string{f[0], f[2], f[4], f[5]} {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return pgbenchTx{}, false
		}
		n[i] = v
	}
	return pgbenchTx{client: int(n[0]), latency: time.Duration(n[1]) * time.Microsecond, end: time.Unix(n[2], n[3]*1000)}, true
}

// nearestRank is the nearest-rank quantile of sorted latencies, as loadgen
// computes it.
func nearestRank(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// millis renders d as loadgen's tables do.
func millis(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// postgresURLOf returns the URL of the server running on the cluster in
// dir, as localdeps connects to it: the port is the fourth line of
// postmaster.pid (PostgreSQL's documented lock file).
func postgresURLOf(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return "", fmt.Errorf("find the bench stack's PostgreSQL: %w", err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return "", fmt.Errorf("find the bench stack's PostgreSQL: %s/postmaster.pid has %d lines", dir, len(lines))
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil {
		return "", fmt.Errorf("find the bench stack's PostgreSQL: port in %s/postmaster.pid: %w", dir, err)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/onewindow?sslmode=disable", port), nil
}
