package shipments_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
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

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/client"
	"github.com/onewindow/onewindow/shared/config"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/service"
	"github.com/onewindow/onewindow/shared/shipments"
	"github.com/onewindow/onewindow/shared/store"
	"github.com/onewindow/onewindow/shared/testenv"
	"github.com/onewindow/onewindow/shared/webhook"
)

// The courier load of issue 7: 100 concurrent senders, 20% of pushes an
// exact repeat of the sender's previous one.
const (
	benchSenders   = 100
	benchDupShare  = 0.20
	benchWaybills  = 200 // per sender, never reused in a run; even ones registered, odd ones not (kept)
	benchPoolConns = 8   // two replicas' worth of DB_MAX_CONNS=4 (stack.yml's minimum)
	// benchPacedRate is the offered load of the paced runs: pushes per
	// second, whatever the latency, so that it shows the latency below
	// saturation (closed-loop senders wait 100 / throughput on average).
	benchPacedRate  = 300
	benchCourierApp = "ems-courier"
)

// benchJourney is each waybill's events in order: one failure, so each
// registered waybill queues one notice.
var benchJourney = []shipments.Status{shipments.StatusCreated, shipments.StatusPickedUp, shipments.StatusInTransit,
	shipments.StatusOutForDelivery, shipments.StatusFailedDelivery, shipments.StatusOutForDelivery, shipments.StatusDelivered}

// BenchmarkReceive measures pushes per second and their latency, b.N
// pushes from benchSenders senders at once, each following its own
// waybills' journeys one event per push, and then checks that nothing was
// lost or applied twice: every event stored once, the counts answered add
// up, every registered shipment at its last event, one notice per
// registered waybill that failed. "desk" calls Desk.Receive; "signed"
// goes through the service runtime as the function does (signature,
// app registry, nonce guard, routing) with a signed request per push.
func BenchmarkReceive(b *testing.B) {
	for _, mode := range []string{"desk", "signed", "signed-paced"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			url := testenv.DatabaseURL(b)
			var send func(body []byte) (shipments.Receipt, error)
			var db *pgxpool.Pool
			if mode == "desk" {
				db = benchPool(b, url)
				desk := benchDesk(b, db)
				app := auth.App{ID: benchCourierApp, Roles: []auth.Role{auth.RoleLogisticsProvider}, Channels: []string{"EMS"}}
				send = func(body []byte) (shipments.Receipt, error) { return desk.Receive(ctx, app, "bench", body) }
			} else {
				db, send = benchService(b, url)
			}
			caseSerial := benchRegister(b, db)
			run := newBenchRun(b.N)
			if mode == "signed-paced" {
				run.rate = benchPacedRate
			}

			cpu := startCPU(b, db)
			b.ResetTimer()
			run.drive(send)
			b.StopTimer()
			goCPU, pgCPU := cpu.stop()

			run.report(b)
			if n := float64(len(run.latencies)); n > 0 && goCPU+pgCPU > 0 {
				per := (goCPU + pgCPU).Seconds() * 1000 / n
				b.ReportMetric(goCPU.Seconds()*1000/n, "go-cpu-ms/push")
				b.ReportMetric(pgCPU.Seconds()*1000/n, "pg-cpu-ms/push")
				b.ReportMetric(2*1000/per, "pushes/s-on-2-idle-cores")
			}
			run.check(b, db, caseSerial)
		})
	}
}

func benchPool(b *testing.B, url string) *pgxpool.Pool {
	pool, err := store.Open(context.Background(), url, store.PoolOptions{MaxConns: benchPoolConns})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	return pool
}

func benchDesk(b *testing.B, db *pgxpool.Pool) *shipments.Desk {
	d, err := shipments.New(shipments.Config{DB: db, Cases: visibility{db}, Outbox: benchOutbox(b, db)})
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// benchOutbox queues notices and never sends them: the check counts them.
func benchOutbox(b *testing.B, db *pgxpool.Pool) *webhook.Deliverer {
	o, err := webhook.New(db, webhook.Config{Logger: slog.New(slog.DiscardHandler),
		Endpoints: webhook.EndpointFunc(func(context.Context, string) (string, string, error) { return "", "", nil })})
	if err != nil {
		b.Fatal(err)
	}
	return o
}

// benchService is the function's POST / over the service runtime, and a
// sender that signs each push as the EMS courier.
func benchService(b *testing.B, url string) (*pgxpool.Pool, func([]byte) (shipments.Receipt, error)) {
	var desk *shipments.Desk
	svc := service.NewWithConfig(config.Config{Function: "logistics-callback", DatabaseURL: url, DBMaxConns: benchPoolConns,
		Objects: config.ObjectStore{Driver: "minio"}}, func(s *service.Service, r *httpx.Router) {
		desk = benchDesk(b, s.DB())
		r.Post("/", httpx.Roles(auth.RoleLogisticsProvider), func(ctx context.Context, r *httpx.Request) (handler.Response, error) {
			rc, err := desk.Receive(ctx, r.App, r.RequestID, r.Body)
			if err != nil {
				return handler.Response{}, err
			}
			return httpx.JSON(http.StatusOK, rc), nil
		}).NotIdempotent()
	})
	b.Cleanup(svc.DB().Close)
	secret := "bench-secret-0123456789"
	if err := auth.SaveApps(context.Background(), svc.DB(), []auth.AppRecord{{ID: benchCourierApp, Secret: secret,
		Roles: []auth.Role{auth.RoleLogisticsProvider}, Channels: []string{"EMS"}}}); err != nil {
		b.Fatal(err)
	}
	c := client.New("http://gateway", benchCourierApp, secret)
	return svc.DB(), func(body []byte) (shipments.Receipt, error) {
		hr, err := c.Request(context.Background(), "logistics-callback", "POST", "/", body, nil)
		if err != nil {
			return shipments.Receipt{}, err
		}
		hr.Header.Set(httpx.PathHeader, "/")
		resp := svc.Handle(handler.Request{Method: "POST", Header: hr.Header, Body: body})
		if resp.StatusCode != http.StatusOK {
			return shipments.Receipt{}, fmt.Errorf("POST / = %d %s", resp.StatusCode, resp.Body)
		}
		var rc shipments.Receipt
		err = httpx.Decode(resp.Body, &rc)
		return rc, err
	}
}

// benchRegister writes one case and registers the even waybills of every
// sender with EMS, in one statement each.
func benchRegister(b *testing.B, db *pgxpool.Pool) string {
	ctx := context.Background()
	serialNo := "13010012026112300000001"
	if _, err := db.Exec(ctx, `INSERT INTO cases (case_id, serial, item_code, department, region, channel, status,
			app_id, holder_id, applicant, received_at, last_event_at, events, created_at, updated_at)
		VALUES ($1, $2, 'HS-WL-01', 'D-WL', '130100', 'online', 'approved', 'portal', 'H', '{}', now(), now(), 1, now(), now())`,
		uuid.New(), serialNo); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO shipments (shipment_id, carrier, waybill_no, case_id, case_serial, direction,
			department, app_id, created_at, updated_at)
		SELECT gen_random_uuid(), 'EMS', 'BW' || lpad(s::text, 3, '0') || lpad(k::text, 5, '0'), c.case_id, c.serial,
			'outbound', 'D-WL', 'culture-sys', now(), now()
		FROM cases c, generate_series(0, $1 - 1) s, generate_series(0, $2 - 1, 2) k WHERE c.serial = $3`,
		benchSenders, benchWaybills, serialNo); err != nil {
		b.Fatal(err)
	}
	return serialNo
}

func benchWaybill(sender, k int) string { return fmt.Sprintf("BW%03d%05d", sender, k) }

// benchRun is one run's pushes, answers and latencies.
type benchRun struct {
	total   int
	rate    int // pushes per second offered; 0: as fast as the senders go
	next    atomic.Int64
	issued  atomic.Int64 // paced turns handed out
	start   time.Time
	elapsed time.Duration

	mu        sync.Mutex
	latencies []time.Duration
	accepted  int
	dups      int
	errs      []error
	sent      map[string][]shipments.Status // per waybill, in order, first copies only
	repeats   int
}

func newBenchRun(total int) *benchRun {
	return &benchRun{total: total, sent: map[string][]shipments.Status{}}
}

// slot waits for the next push's turn when the run is paced and returns
// when it was due; unpaced, it returns now.
func (r *benchRun) slot() time.Time {
	if r.rate == 0 {
		return time.Now()
	}
	due := r.start.Add(time.Duration(r.issued.Add(1)-1) * time.Second / time.Duration(r.rate))
	<-time.After(time.Until(due)) // pacing the offered load, not synchronising
	return due
}

// drive runs the senders until total pushes are sent.
func (r *benchRun) drive(send func([]byte) (shipments.Receipt, error)) {
	var wg sync.WaitGroup
	r.start = time.Now()
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	for s := range benchSenders {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(s), 7))
			var lat []time.Duration
			var prev []byte
			seq := 0 // this sender's events so far
			sent := map[string][]shipments.Status{}
			accepted, dups, repeats := 0, 0, 0
			var errs []error
			for r.next.Add(1) <= int64(r.total) && seq < benchWaybills*len(benchJourney) {
				due := r.slot()
				body := prev
				if prev == nil || rnd.Float64() >= benchDupShare {
					w, st := benchWaybill(s, seq/len(benchJourney)%benchWaybills), benchJourney[seq%len(benchJourney)]
					at := base.Add(time.Duration(seq) * time.Second)
					body = fmt.Appendf(nil, `{"waybillNo":%q,"events":[{"eventId":"%s-%d","status":%q,"at":%q,"location":"石家庄"}]}`,
						w, w, seq, st, at.Format(time.RFC3339))
					sent[w] = append(sent[w], st)
					seq++
				} else {
					repeats++
				}
				rc, err := send(body)
				lat = append(lat, time.Since(due)) // from when it was due: a late start counts
				if err != nil {
					errs = append(errs, err)
					continue
				}
				accepted += rc.Accepted
				dups += rc.Duplicates
				prev = body
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			r.latencies = append(r.latencies, lat...)
			r.accepted += accepted
			r.dups += dups
			r.repeats += repeats
			r.errs = append(r.errs, errs...)
			for w, st := range sent {
				r.sent[w] = append(r.sent[w], st...)
			}
		})
	}
	wg.Wait()
	r.elapsed = time.Since(r.start)
}

func (r *benchRun) report(b *testing.B) {
	slices.Sort(r.latencies)
	q := func(p float64) time.Duration {
		return r.latencies[min(len(r.latencies)-1, int(p*float64(len(r.latencies))))]
	}
	b.ReportMetric(float64(len(r.latencies))/r.elapsed.Seconds(), "pushes/s")
	b.ReportMetric(float64(q(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(q(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(0, "ns/op") // the figures above are what counts
}

// check proves nothing was lost or applied twice.
func (r *benchRun) check(b *testing.B, db *pgxpool.Pool, caseSerial string) {
	ctx := context.Background()
	if len(r.errs) > 0 {
		b.Fatalf("%d pushes failed, first: %v", len(r.errs), r.errs[0])
	}
	events, failedRegistered := 0, 0
	for w, st := range r.sent {
		events += len(st)
		if registered(w) {
			for _, x := range st {
				if x == shipments.StatusFailedDelivery {
					failedRegistered++
				}
			}
		}
	}
	var stored, notifications, applied, notices int
	err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM shipment_events),
			(SELECT count(*) FROM logistics_notifications), (SELECT count(*) FROM logistics_notifications WHERE outcome = 'applied'),
			(SELECT count(*) FROM webhook_deliveries WHERE stream = $1 AND type = 'shipment.failed')`, caseSerial).
		Scan(&stored, &notifications, &applied, &notices)
	if err != nil {
		b.Fatal(err)
	}
	if r.accepted != events || stored != events || r.dups != r.repeats || notifications != len(r.latencies) || applied != notifications ||
		notices != failedRegistered {
		b.Fatalf("sent %d events in %d pushes (%d repeats): accepted %d, stored %d, duplicates %d, notifications %d (%d applied), notices %d of %d",
			events, len(r.latencies), r.repeats, r.accepted, stored, r.dups, notifications, applied, notices, failedRegistered)
	}
	rows, err := db.Query(ctx, `SELECT waybill_no, status FROM shipments`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var w string
		var st shipments.Status
		if err := rows.Scan(&w, &st); err != nil {
			b.Fatal(err)
		}
		want := shipments.StatusRegistered
		if s := r.sent[w]; len(s) > 0 {
			want = s[len(s)-1]
		}
		if st != want {
			b.Fatalf("%s is %s, want %s", w, st, want)
		}
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
}

// registered reports whether benchRegister registered waybill w (even k).
func registered(w string) bool {
	var k int
	fmt.Sscanf(w[5:], "%d", &k)
	return k%2 == 0
}

// cpuMeter measures the CPU time this process and the database's server
// processes serving db spend, so that the cost of a push can be told apart
// from what other processes on a shared machine take (Linux only: it
// reads /proc; elsewhere it measures nothing).
type cpuMeter struct {
	b       *testing.B
	db      *pgxpool.Pool
	self    time.Duration
	backend map[int]time.Duration
}

func startCPU(b *testing.B, db *pgxpool.Pool) *cpuMeter {
	m := &cpuMeter{b: b, db: db, self: selfCPU()}
	m.backend = m.backends()
	return m
}

// stop returns the CPU time spent since start, by this process and by the
// server processes of db's connections (those opened since included).
func (m *cpuMeter) stop() (goCPU, pgCPU time.Duration) {
	goCPU = selfCPU() - m.self
	for pid, t := range m.backends() {
		pgCPU += t - m.backend[pid]
	}
	return goCPU, pgCPU
}

func (m *cpuMeter) backends() map[int]time.Duration {
	rows, err := m.db.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		m.b.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		m.b.Fatal(err)
	}
	out := map[int]time.Duration{}
	for _, pid := range pids {
		out[int(pid)] = procCPU(int(pid))
	}
	return out
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU reads utime + stime of a process from /proc/<pid>/stat, in
// clock ticks of 10 ms (USER_HZ on Linux); 0 when unreadable.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, utime 14, stime 15.
	rest := string(b[bytes.LastIndexByte(b, ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}
