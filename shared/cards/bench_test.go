package cards_test

// The supervision benchmarks run over 1,000,000 open cases (plus 100,000
// completed ones and 50,000 cards for the statistics), generated once per
// test binary with generate_series into a database of their own, which
// TestMain drops at the end. Generating takes tens of seconds, so it only
// happens when a benchmark runs: never in a plain `go test`, nor with
// -short. Run them once each with
//
//	go build -o bin/onewindow ./infra/cmd/onewindow
//	bin/onewindow testenv -- go test -run '^$' -bench . -benchtime 1x ./shared/cards/
//
// (-benchtime 3x for steadier figures; CARDS_BENCH_CASES=100000 for a
// smaller data set). Targets: BenchmarkScanNothingDue < 200 ms,
// BenchmarkScan10kDue < 10 s, BenchmarkStats1M < 2 s per operation.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/shared/calendar"
	"github.com/onewindow/onewindow/shared/cards"
	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/store"
	"github.com/onewindow/onewindow/shared/testenv"
	"github.com/onewindow/onewindow/shared/webhook"
)

// TestMain drops the benchmarks' database, which outlives any one
// benchmark.
func TestMain(m *testing.M) {
	code := m.Run()
	benchData.drop()
	os.Exit(code)
}

// benchNow is the benchmarks' clock: every generated deadline of an open
// case lies after it, except those of the 10,000 cases BenchmarkScan10kDue
// makes due.
var benchNow = at("2026-11-23 10:00")

const benchDue = 10_000

// benchDB is the generated database, shared by the benchmarks.
type benchDB struct {
	once  sync.Once
	admin string // maintenance URL
	name  string // the database, once created
	url   string
	err   error
	skip  string
}

var benchData benchDB

func (d *benchDB) drop() {
	if d.name == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if conn, err := pgx.Connect(ctx, d.admin); err == nil {
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+d.name+" WITH (FORCE)")
		conn.Close(ctx)
	}
}

// benchBoard returns a board over the generated database.
func benchBoard(b *testing.B) (*cards.Board, *pgxpool.Pool) {
	b.Helper()
	if testing.Short() {
		b.Skip("generates 1,000,000 cases")
	}
	benchData.once.Do(func() {
		benchData.admin = os.Getenv(testenv.EnvPostgresURL)
		if benchData.admin == "" {
			benchData.skip = "needs the test PostgreSQL: run under `bin/onewindow testenv`"
			return
		}
		n := 1_000_000
		if s := os.Getenv("CARDS_BENCH_CASES"); s != "" {
			if n, benchData.err = strconv.Atoi(s); benchData.err != nil {
				return
			}
		}
		start := time.Now()
		benchData.err = generate(n)
		b.Logf("generated %d open cases in %s", n, time.Since(start).Round(time.Millisecond))
	})
	if benchData.skip != "" {
		b.Skip(benchData.skip)
	}
	if benchData.err != nil {
		b.Fatal(benchData.err)
	}
	db, err := store.Open(context.Background(), benchData.url, store.PoolOptions{MaxConns: 4})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	outbox, err := webhook.New(db, webhook.Config{Endpoints: noEndpoints, Now: func() time.Time { return benchNow }})
	if err != nil {
		b.Fatal(err)
	}
	board, err := cards.New(cards.Config{DB: db, Calendars: calendar.NewStore(db, calendar.StoreConfig{}), Outbox: outbox,
		Now: func() time.Time { return benchNow }})
	if err != nil {
		b.Fatal(err)
	}
	return board, db
}

// generate creates the database and fills it.
func generate(n int) error {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, benchData.admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	benchData.name = "bench_cards_" + hex.EncodeToString(suffix)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+benchData.name); err != nil {
		return err
	}
	u, err := url.Parse(benchData.admin)
	if err != nil {
		return err
	}
	u.Path = "/" + benchData.name
	benchData.url = u.String()
	db, err := store.Open(ctx, benchData.url, store.PoolOptions{MaxConns: 2})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := store.Migrate(ctx, db); err != nil {
		return err
	}
	// Loading is faster without the secondary indexes: drop them, load,
	// and build them again as the migrations define them.
	rows, err := db.Query(ctx, `SELECT indexname, indexdef FROM pg_indexes
		WHERE schemaname = 'public' AND tablename IN ('cases', 'cards')
		  AND indexname NOT IN (SELECT conname FROM pg_constraint)`)
	if err != nil {
		return err
	}
	var names, defs []string
	var name, def string
	if _, err := pgx.ForEachRow(rows, []any{&name, &def}, func() error {
		names, defs = append(names, name), append(defs, def)
		return nil
	}); err != nil {
		return err
	}
	for _, name := range names {
		if _, err := db.Exec(ctx, "DROP INDEX "+name); err != nil {
			return err
		}
	}
	for i, st := range benchSQL {
		if i == len(benchSQL)-2 { // the indexes are back before the last update and VACUUM
			for _, def := range defs {
				if _, err := db.Exec(ctx, def); err != nil {
					return err
				}
			}
		}
		args := []any{benchNow, n}
		if !st.args {
			args = nil
		}
		if _, err := db.Exec(ctx, st.sql, args...); err != nil {
			return fmt.Errorf("generate: %w\n%s", err, st.sql)
		}
	}
	return nil
}

// eod is SQL for the end (23:59:59.999) of the Asia/Shanghai date of the
// instant x, like every deadline.
func eod(x string) string {
	return "((date_trunc('day', (" + x + ") AT TIME ZONE 'Asia/Shanghai') + interval '1 day - 1 millisecond') AT TIME ZONE 'Asia/Shanghai')"
}

// benchSQL fills the database, one statement per table; $1 is benchNow
// and $2 the number of open cases.
var benchSQL = []struct {
	sql  string
	args bool
}{
	// Open cases of 200 items in 50 departments and 20 regions, 60 %
	// online, received in the last three days: 30 % waiting for
	// acceptance (due in 5 days), 60 % accepted or awaiting payment
	// (promised in 12-31 days, legally 0-9 days later), 5 % waiting for a
	// supplement and 5 % in a special procedure (no next check).
	{`INSERT INTO cases (case_id, serial, item_code, department, region, channel, status, app_id, holder_id, applicant,
			accept_days, promised_days, legal_days, received_at, accepted_at, accept_by, promised_due, legal_due,
			last_event_at, events, created_at, updated_at, next_check_at, supplements, complaints, poor_evaluations)
		SELECT gen_random_uuid(), 'O' || lpad(g::text, 10, '0'), 'IT-' || g % 200, 'D-' || g % 200 % 50,
			'1301' || lpad((g % 20 + 1)::text, 2, '0'), CASE WHEN g % 5 < 3 THEN 'online' ELSE 'onsite' END,
			x.status, 'portal', 'H' || g, '{}', 5, 12 + g % 20, 21 + g % 20, x.received, x.accepted,
			` + eod(`x.received + interval '5 days'`) + `, ` + eod(`x.accepted + (12 + g % 20) * interval '1 day'`) + `,
			` + eod(`x.accepted + (12 + g % 20 + g % 10) * interval '1 day'`) + `, x.received, 2, x.received, x.received,
			CASE WHEN x.status = 'submitted' THEN ` + eod(`x.received + interval '5 days'`) + ` + interval '1 millisecond'
				WHEN x.status IN ('accepted', 'awaiting_payment') THEN ` + eod(`x.accepted + (11 + g % 20) * interval '1 day'`) + ` + interval '1 millisecond'
			END,
			(g % 17 = 0)::int, (g % 101 = 0)::int, (g % 37 = 0)::int
		FROM generate_series(1, $2::int) g, LATERAL (SELECT
			CASE WHEN g % 20 < 6 THEN 'submitted' WHEN g % 20 < 17 THEN 'accepted' WHEN g % 20 = 17 THEN 'awaiting_payment'
				WHEN g % 20 = 18 THEN 'supplement_requested' ELSE 'special_procedure' END AS status,
			$1::timestamptz - (g % 4320) * interval '1 minute' AS received,
			CASE WHEN g % 20 >= 6 THEN $1::timestamptz - (g % 14400) * interval '1 minute' END AS accepted) x`, true},
	// A year of completed cases for the statistics, a tenth as many:
	// 10 % denied, 2-25 working days each.
	{`INSERT INTO cases (case_id, serial, item_code, department, region, channel, status, app_id, holder_id, applicant,
			received_at, accepted_at, last_event_at, events, created_at, updated_at, outcome, completed_at, working_days,
			supplements, complaints, poor_evaluations)
		SELECT gen_random_uuid(), 'C' || lpad(g::text, 10, '0'), 'IT-' || g % 200, 'D-' || g % 200 % 50,
			'1301' || lpad((g % 20 + 1)::text, 2, '0'), CASE WHEN g % 4 < 3 THEN 'online' ELSE 'onsite' END,
			'completed', 'portal', 'H' || g, '{}', x.received, x.received + interval '1 day', x.done, 5, x.received,
			x.done, CASE WHEN g % 10 = 0 THEN 'denied' ELSE 'approved' END, x.done, 2 + g % 24,
			(g % 7 = 0)::int, (g % 53 = 0)::int, (g % 19 = 0)::int
		FROM generate_series(1, $2::int / 10) g, LATERAL (SELECT
			$1::timestamptz - interval '40 days' - (g % 320) * interval '1 day' AS received,
			$1::timestamptz - interval '40 days' - (g % 320) * interval '1 day' + (3 + g % 30) * interval '1 day' AS done) x`, true},
	// Cards of one open case in twenty, issued over the last month.
	{`INSERT INTO cards (card_id, case_id, case_serial, department, region, item_code, slot, rule, level, status,
			issued_at, updated_at, history)
		SELECT gen_random_uuid(), case_id, serial, department, region, item_code, 'time_limit',
			(ARRAY['promised_approaching', 'promised_exceeded', 'legal_exceeded'])[n % 3 + 1],
			(ARRAY['yellow', 'red', 'black'])[n % 3 + 1], 'active', $1::timestamptz - (n % 43200) * interval '1 minute',
			$1::timestamptz, '[]'
		FROM (SELECT case_id, serial, department, region, item_code, row_number() OVER () AS n
			FROM cases WHERE status = 'accepted' LIMIT $2::int / 20) c`, true},
	// The cases BenchmarkScan10kDue makes due: waiting for acceptance,
	// overdue, without a card yet; not due until it says so.
	{`CREATE TABLE bench_due AS SELECT case_id, serial FROM cases WHERE status = 'submitted' ORDER BY serial LIMIT 10000`, false},
	{`UPDATE cases c SET accept_by = $1::timestamptz - interval '1 day', next_check_at = $1::timestamptz + interval '1 day'
		FROM bench_due d WHERE c.case_id = d.case_id AND $2::int > 0`, true},
	{`VACUUM ANALYZE`, false},
}

func BenchmarkScanNothingDue(b *testing.B) {
	board, _ := benchBoard(b)
	ctx := context.Background()
	if _, err := board.Scan(ctx); err != nil { // warm: connections, calendar
		b.Fatal(err)
	}
	for b.Loop() {
		rep, err := board.Scan(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Scanned != 0 || rep.Running {
			b.Fatalf("scan = %+v, want nothing due", rep)
		}
	}
}

// BenchmarkScan10kDue: 10,000 cases became due since the last scan (their
// acceptance deadline passed); one scan issues their cards and queues
// their deliveries. Between iterations, untimed, the cards and deliveries
// are deleted and the cases made due again.
func BenchmarkScan10kDue(b *testing.B) {
	board, db := benchBoard(b)
	ctx := context.Background()
	reset := func(nextCheck time.Time) {
		err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
			for _, sql := range []string{
				`DELETE FROM cards WHERE case_id IN (SELECT case_id FROM bench_due)`,
				`DELETE FROM webhook_deliveries WHERE stream IN (SELECT serial FROM bench_due)`,
				`DELETE FROM webhook_streams WHERE stream IN (SELECT serial FROM bench_due)`,
			} {
				if _, err := tx.Exec(ctx, sql); err != nil {
					return err
				}
			}
			_, err := tx.Exec(ctx, `UPDATE cases c SET next_check_at = $1 FROM bench_due d WHERE c.case_id = d.case_id`, nextCheck)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	// Not due again for the other benchmarks.
	b.Cleanup(func() { reset(benchNow.Add(24 * time.Hour)) })
	if _, err := board.Scan(ctx); err != nil { // warm: connections, calendar
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		reset(benchNow.Add(-time.Minute))
		b.StartTimer()
		rep, err := board.Scan(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Scanned != benchDue || rep.Issued != benchDue {
			b.Fatalf("scan = %+v, want %d scanned and issued", rep, benchDue)
		}
	}
	b.ReportMetric(benchDue, "cards/op")
}

// BenchmarkStats1M: GET /stats over a year by item, over every case.
func BenchmarkStats1M(b *testing.B) {
	board, _ := benchBoard(b)
	ctx := context.Background()
	q, err := cards.ParseStatsQuery("2025-11-24", "2026-11-23", "item")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := board.Stats(ctx, q); err != nil { // warm: connections
		b.Fatal(err)
	}
	for b.Loop() {
		st, err := board.Stats(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		if len(st.Groups) != 200 || len(st.Items) != 200 {
			b.Fatalf("stats of %d groups and %d items, want 200 of each", len(st.Groups), len(st.Items))
		}
	}
}

// BenchmarkExtendView1M: the cards of one case for GET /cases/{serial},
// among the 50,000 cards of the data set. The plan it runs is logged.
func BenchmarkExtendView1M(b *testing.B) {
	board, db := benchBoard(b)
	ctx := context.Background()
	var v cases.View
	if err := db.QueryRow(ctx, `SELECT case_id::text, case_serial FROM cards ORDER BY card_id LIMIT 1`).Scan(&v.CaseID, &v.Serial); err != nil {
		b.Fatal(err)
	}
	if rows, err := db.Query(ctx, `EXPLAIN SELECT card_id FROM cards WHERE case_serial = $1 ORDER BY issued_at`, v.Serial); err == nil {
		plan, _ := pgx.CollectRows(rows, pgx.RowTo[string])
		b.Logf("ExtendView's query plan:\n%s", strings.Join(plan, "\n"))
	}
	if err := board.ExtendView(ctx, db, &v); err != nil { // warm: connections
		b.Fatal(err)
	}
	for b.Loop() {
		if err := board.ExtendView(ctx, db, &v); err != nil {
			b.Fatal(err)
		}
		if len(v.Cards) != 1 {
			b.Fatalf("%d cards, want 1", len(v.Cards))
		}
	}
}
