package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/infra/localdeps"
)

// commitSchema is a scratch copy of request_nonces: every signed POST,
// PUT and DELETE commits one row there before its handler runs (the
// replay guard), so one such commit is the least any write costs.
const commitSchema = `
DROP SCHEMA IF EXISTS pgbench_commit CASCADE;
CREATE SCHEMA pgbench_commit;
CREATE TABLE pgbench_commit.request_nonces (LIKE request_nonces INCLUDING ALL);`

// commitScript is one transaction of one statement, as the replay guard
// sends it (CAST, because pgbench reads "::" in some versions as a
// variable's colon).
const commitScript = `INSERT INTO pgbench_commit.request_nonces (app_id, nonce) VALUES ('hebei-portal', CAST(gen_random_uuid() AS text));
`

// commitClients are the pgbench client counts: what one replica's pool
// may hold (DB_MAX_CONNS) and the load generator's default clients.
var commitClients = []int{4, 64}

// commitCeiling measures how many single-row commits per second the
// bench stack's PostgreSQL does: the ceiling of every write endpoint, whose
// request commits at least its nonce.
func commitCeiling(database string, stackPID int) benchmark {
	return benchmark{
		name: "baseline: PostgreSQL's commit ceiling (pgbench, one-row INSERT per transaction)",
		run: func(ctx context.Context, dur time.Duration) (string, error) {
			if database == "" {
				return "skipped: no database URL (pass -database-url with -gateway)\n", nil
			}
			binDir, err := localdeps.PostgresBinDir()
			if err != nil {
				return "", err
			}
			bin := filepath.Join(binDir, "pgbench")
			if _, err := os.Stat(bin); err != nil {
				return fmt.Sprintf("skipped: no pgbench next to the server binaries (%v)\n", err), nil
			}
			dir, err := os.MkdirTemp("", "onewindow-commit-")
			if err != nil {
				return "", fmt.Errorf("pgbench script directory: %w", err)
			}
			defer os.RemoveAll(dir)
			script := filepath.Join(dir, "commit.pgbench")
			if err := os.WriteFile(script, []byte(commitScript), 0o644); err != nil {
				return "", fmt.Errorf("write the pgbench script: %w", err)
			}
			conn, err := pgx.Connect(ctx, database)
			if err != nil {
				return "", fmt.Errorf("connect to the stack's PostgreSQL: %w", err)
			}
			defer conn.Close(context.WithoutCancel(ctx))
			srv, err := readServer(ctx, conn)
			if err != nil {
				return "", err
			}
			if _, err := conn.Exec(ctx, commitSchema); err != nil {
				return "", fmt.Errorf("create the scratch nonce table: %w", err)
			}
			defer func() {
				if _, err := conn.Exec(context.WithoutCancel(ctx), `DROP SCHEMA IF EXISTS pgbench_commit CASCADE`); err != nil {
					fmt.Fprintf(os.Stderr, "bench: drop the scratch nonce table: %v\n", err)
				}
			}()
			secs := max(1, int(dur.Round(time.Second).Seconds()))
			var b strings.Builder
			fmt.Fprintf(&b, "PostgreSQL %s of the bench stack (fsync %s, synchronous_commit %s); `pgbench -n -M prepared` "+
				"of `%s` against a scratch copy of request_nonces, each run warmed up and measured over its last %d s.\n\n",
				srv.version, srv.fsync, srv.syncCommit, strings.TrimSpace(commitScript), secs)
			b.WriteString("| clients | commits/s | p50 | p95 | p99 | max | failed |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
			var notes []string
			for _, clients := range commitClients {
				runSecs := secs + int(pgbenchWarmup(clients).Round(time.Second).Seconds())
				fmt.Fprintf(os.Stderr, "bench: pgbench commit ceiling, %d clients, %d s (the last %d s measured)\n", clients, runSecs, secs)
				before := sampleCPU(stackPID)
				r, err := runPgbench(ctx, bin, script, database, clients, runSecs, secs)
				if err != nil {
					return "", err
				}
				fmt.Fprintf(&b, "| %d | %.0f | %s | %s | %s | %s | %s |\n", clients, r.tps,
					millis(r.p50), millis(r.p95), millis(r.p99), millis(r.max), r.failed)
				if r.problem != "" {
					notes = append(notes, fmt.Sprintf("pgbench at %d clients: %s", clients, r.problem))
				}
				if cpu := cpuReport(before, sampleCPU(stackPID), r.total, "transaction"); cpu != "" {
					notes = append(notes, fmt.Sprintf("pgbench at %d clients, whole run: %s", clients, strings.TrimSpace(cpu)))
				}
			}
			for _, n := range notes {
				fmt.Fprintf(&b, "\n%s\n", n)
			}
			fmt.Fprintf(&b, "\n%s", loadNote())
			return b.String(), nil
		},
	}
}
