package payments_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/payments"
	"github.com/onewindow/onewindow/shared/serial"
	"github.com/onewindow/onewindow/shared/store"
)

var (
	benchSenders = flag.Int("payments.senders", 100, "concurrent senders of BenchmarkNotify")
	benchConns   = flag.Int("payments.conns", 8, "database connections of BenchmarkNotify's ledger (a replica has DB_MAX_CONNS, default 4)")
	benchDupRate = flag.Float64("payments.dups", 0.2, "share of BenchmarkNotify's notifications that repeat an earlier one")
	benchRate    = flag.Int("payments.rate", 2000, "notifications a second of BenchmarkNotify/paced")
)

// BenchmarkNotify measures what payment-callback does per notification,
// in process: the signature check and nonce guard of contract section 1,
// then Ledger.Notify (raw body stored, processed, the case's paid event
// and its delivery queued in the same transaction). b.N notifications
// come from -payments.senders concurrent senders; -payments.dups of them
// repeat an earlier notification (often while the first is in flight).
//
//   - closed: each sender sends its next notification when the previous is
//     answered: the most this process and database do.
//   - closed-failed: the same with failed notifications, which leave the
//     case alone: the ledger's own cost, without the paid event and its
//     delivery that cases.Desk.RecordPaid writes.
//   - paced: the senders together start -payments.rate notifications a
//     second (default 2000), each on schedule whether or not earlier ones
//     were answered; latency counts from the scheduled start, so queueing
//     shows.
//
// After the run it checks that no effect was lost or applied twice: every
// distinct notification applied once, every order paid, every case with
// exactly one paid event, every repeat answered as a duplicate.
func BenchmarkNotify(b *testing.B) {
	for _, mode := range []struct {
		name   string
		status payments.NotifyStatus
		rate   int // notifications per second; 0: closed loop
	}{{"closed", payments.NotifyPaid, 0}, {"closed-failed", payments.NotifyFailed, 0}, {"paced", payments.NotifyPaid, *benchRate}} {
		b.Run(mode.name, func(b *testing.B) { benchNotify(b, mode.status, mode.rate) })
	}
}

func benchNotify(b *testing.B, status payments.NotifyStatus, rate int) {
	h := newHarness(b)
	pool, err := store.Open(h.ctx, h.db.Config().ConnString(), store.PoolOptions{MaxConns: int32(*benchConns)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	ledger, err := payments.New(payments.Config{DB: pool, Cases: h.desk, Now: h.clock.Now, RedriveEvery: -1})
	if err != nil {
		b.Fatal(err)
	}
	provider := auth.AppRecord{ID: "unionpay-gw", Secret: "bench-secret-0123456789", Roles: []auth.Role{auth.RolePaymentProvider}, Channels: []string{"unionpay"}}
	if err := auth.SaveApps(h.ctx, pool, []auth.AppRecord{provider}); err != nil {
		b.Fatal(err)
	}
	verifier := &auth.Verifier{Apps: auth.NewRegistry(pool, 5*time.Second), Nonces: auth.NewNonceGuard(pool)}

	msgs, unique := benchStream(b.N, *benchDupRate, status)
	benchOrders(b, h, unique)
	lat := make([]time.Duration, len(msgs))
	var failures atomic.Int64
	var firstErr sync.Once
	send := func(i int, scheduled time.Time) {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		nonce := fmt.Sprintf("bench-%d-%d", i, rand.Int64())
		sig := auth.Sign(provider.Secret, auth.Signed{Function: "payment-callback", Method: "POST", Subpath: "/",
			Timestamp: ts, Nonce: nonce, Body: msgs[i]})
		hdr := http.Header{}
		hdr.Set(auth.HeaderAppID, provider.ID)
		hdr.Set(auth.HeaderTimestamp, ts)
		hdr.Set(auth.HeaderNonce, nonce)
		hdr.Set(auth.HeaderSignature, sig)
		app, err := verifier.Verify(h.ctx, auth.SignedRequest{Function: "payment-callback", Method: "POST", Subpath: "/",
			Header: hdr, Body: msgs[i]})
		if err == nil {
			_, err = ledger.Notify(h.ctx, app, nonce, msgs[i])
		}
		lat[i] = time.Since(scheduled)
		if err != nil {
			failures.Add(1)
			firstErr.Do(func() { b.Errorf("notification %d: %v", i, err) })
		}
	}

	senders := *benchSenders
	var next atomic.Int64
	var wg sync.WaitGroup
	dbName := pool.Config().ConnConfig.Database
	goCPU0, pgCPU0 := processCPU(), backendsCPU(dbName)
	b.ResetTimer()
	start := time.Now()
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(msgs) {
					return
				}
				scheduled := time.Now()
				if rate > 0 {
					scheduled = start.Add(time.Duration(i) * time.Second / time.Duration(rate))
					if d := time.Until(scheduled); d > 0 {
						<-time.After(d) // pacing the load, not synchronising
					}
				}
				send(i, scheduled)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	goCPU, pgCPU := processCPU()-goCPU0, backendsCPU(dbName).sub(pgCPU0)

	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(len(msgs))/elapsed.Seconds(), "notifications/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(failures.Load()), "errors")
	// CPU per notification, of this process and of the database's server
	// processes for this database: what bounds the rate on an idle machine
	// (cores / the sum), whatever else runs on it now.
	b.ReportMetric(float64(goCPU.Microseconds())/float64(len(msgs)), "go-cpu-µs/op")
	if pgCPU.ok {
		b.ReportMetric(float64(pgCPU.total.Microseconds())/float64(len(msgs)), "pg-cpu-µs/op")
	}
	benchCheck(b, h, pool, len(msgs), unique, status)
}

// benchStream is n notifications: paid, each for its own order, with a
// share dups of them a repeat of an earlier one (a retry). unique is the
// number of distinct ones, which are for orders 0..unique-1.
func benchStream(n int, dups float64, status payments.NotifyStatus) (msgs [][]byte, unique int) {
	r := rand.New(rand.NewPCG(1, 2))
	msgs = make([][]byte, n)
	for i := range msgs {
		if unique > 0 && r.Float64() < dups {
			// A recent one, so that many repeats race their first.
			j := max(0, unique-1-r.IntN(min(unique, 200)))
			msgs[i] = benchBody(j, status)
			continue
		}
		msgs[i] = benchBody(unique, status)
		unique++
	}
	return msgs, unique
}

const benchAmount = 2_500

// benchPaymentSerial is order i's serial, numbered clear of the allocator's.
func benchPaymentSerial(i int) string {
	return serial.Serial{Region: "130102", Channel: serial.Payment, Date: serial.Date{Year: 2026, Month: 11, Day: 23},
		Sequence: 1_000_000 + i}.String()
}

func benchBody(i int, status payments.NotifyStatus) []byte {
	b := paid(fmt.Sprintf("bench-%07d", i), benchPaymentSerial(i), benchAmount)
	b.Status = string(status)
	return b.bytes()
}

// benchOrders makes n cases awaiting payment, each with its order: one
// case through the desk (submitted, accepted, payment requested), then
// n copies of its row under new serials, whatever columns the cases
// table has, and n orders, with COPY: the desk would take minutes to take
// them one by one.
func benchOrders(b *testing.B, h *harness, n int) {
	template, _ := h.awaiting(benchAmount) // its own order stays pending: no check counts it
	at := h.clock.Now()
	caseSerials := make([]string, n)
	var orderRows [][]any
	for i := range n {
		caseSerials[i] = serial.Serial{Region: "130102", Channel: serial.Online, Date: serial.Date{Year: 2026, Month: 11, Day: 23},
			Sequence: 1_000_000 + i}.String()
		orderRows = append(orderRows, []any{benchPaymentSerial(i), caseSerials[i], "D-SW", int64(benchAmount), "pending", at, at, at})
	}
	if _, err := h.db.Exec(h.ctx, `INSERT INTO cases
		SELECT (jsonb_populate_record(c, jsonb_build_object('case_id', gen_random_uuid(), 'serial', s))).*
		FROM cases c, unnest($2::text[]) AS s WHERE c.serial = $1`, template, caseSerials); err != nil {
		b.Fatal(err)
	}
	if _, err := h.db.CopyFrom(h.ctx, pgx.Identifier{"payment_orders"}, []string{"payment_serial", "case_serial", "department",
		"amount_fen", "status", "opened_at", "created_at", "updated_at"}, pgx.CopyFromRows(orderRows)); err != nil {
		b.Fatal(err)
	}
	if _, err := h.db.Exec(h.ctx, `ANALYZE cases; ANALYZE payment_orders`); err != nil {
		b.Fatal(err)
	}
}

// benchCheck fails the benchmark if an effect was lost or applied twice.
func benchCheck(b *testing.B, h *harness, pool interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, sent, unique int, status payments.NotifyStatus) {
	want := payments.Status(status) // paid or failed
	wantPaid := unique
	if status != payments.NotifyPaid {
		wantPaid = 0
	}
	var notifications, settled, paidEvents, casesPaidTwice, receipts, duplicates, unprocessed int
	err := pool.QueryRow(h.ctx, `SELECT
		(SELECT count(*) FROM payment_notifications),
		(SELECT count(*) FROM payment_orders WHERE status = $1 AND case_paid = ($1 = 'paid')),
		(SELECT count(*) FROM case_events WHERE type = 'paid'),
		(SELECT count(*) FROM (SELECT case_id FROM case_events WHERE type = 'paid' GROUP BY case_id HAVING count(*) > 1) x),
		(SELECT count(*) FROM payment_receipts),
		(SELECT count(*) FROM payment_receipts WHERE outcome = 'duplicate'),
		(SELECT count(*) FROM payment_receipts WHERE outcome IS NULL)`, want).
		Scan(&notifications, &settled, &paidEvents, &casesPaidTwice, &receipts, &duplicates, &unprocessed)
	if err != nil {
		b.Fatal(err)
	}
	if notifications != unique || settled != unique || paidEvents != wantPaid || casesPaidTwice != 0 ||
		receipts != sent || duplicates != sent-unique || unprocessed != 0 {
		b.Fatalf("after %d notifications (%d distinct): %d applied, %d orders %s, %d paid events, %d cases paid twice, "+
			"%d receipts, %d duplicates, %d unprocessed", sent, unique, notifications, settled, want, paidEvents, casesPaidTwice,
			receipts, duplicates, unprocessed)
	}
}

// processCPU is the user and system CPU time of this process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pgCPU is the CPU time of the PostgreSQL backends serving one database,
// per pid, read from /proc (Linux); ok is false elsewhere.
type pgCPU struct {
	ok    bool
	pids  map[int]time.Duration
	total time.Duration
}

func (a pgCPU) sub(before pgCPU) pgCPU {
	if !a.ok || !before.ok {
		return pgCPU{}
	}
	out := pgCPU{ok: true}
	for pid, t := range a.pids {
		out.total += t - before.pids[pid] // a backend started since counts in full
	}
	return out
}

// backendsCPU sums utime and stime of the processes whose command line is
// "postgres: <user> <db> ...", as PostgreSQL names its backends.
func backendsCPU(db string) pgCPU {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return pgCPU{}
	}
	out := pgCPU{ok: true, pids: map[int]time.Duration{}}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if err != nil || !strings.HasPrefix(string(cmd), "postgres: ") || !slices.Contains(strings.Fields(string(cmd)), db) {
			continue
		}
		stat, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the ")" that ends the command: utime and stime are
		// the 12th and 13th, in clock ticks of 1/100 s on Linux.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		out.pids[pid] = time.Duration(u+s) * 10 * time.Millisecond
	}
	return out
}
