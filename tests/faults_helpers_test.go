package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/infra/localdeps"
	"github.com/onewindow/onewindow/shared/client"
	"github.com/onewindow/onewindow/shared/store"
	"github.com/onewindow/onewindow/shared/testenv"
)

// faultRequestTimeout bounds every request the fault tests send: above
// the functions' 15 s write_timeout, so an answer that has not come by
// then is a hang, not a slow answer.
const faultRequestTimeout = 20 * time.Second

// faultPace is how often a load worker sends: a client's pace, so that an
// outage's fast 503s do not turn the load into a busy loop on 2 cores.
const faultPace = 100 * time.Millisecond

// idempotencyLease is case-submit's Idempotency-Key lease (twice its
// write_timeout of 15 s in stack.yml, see shared/service): a key whose
// request died with its replica, or whose release failed because the
// database was down, is taken over only after it.
const idempotencyLease = 30 * time.Second

// faultDeps are a PostgreSQL and a MinIO of the fault tests' own, on fixed
// ports, so that a test can stop one and start it again on the same port
// and data. make test's shared servers serve every other package at the
// same time and must never stop.
type faultDeps struct {
	pgOpts    localdeps.PostgresOptions
	minioOpts localdeps.MinIOOptions
	pg        *localdeps.Postgres
	minio     *localdeps.MinIO
	log       *syncBuffer // both servers' output, shown when a test fails
}

// startFaultDeps starts the servers and points testenv's variables at
// them, so that startStack (which takes its database and bucket from
// testenv) runs the stack against them. The servers stop when the test
// ends, after the stack (registered later, so cleaned up first).
func startFaultDeps(t *testing.T) *faultDeps {
	t.Helper()
	pgPort, err := localdeps.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	minioPort, err := localdeps.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	d := &faultDeps{log: &syncBuffer{}}
	d.pgOpts = localdeps.PostgresOptions{Dir: filepath.Join(dir, "postgres"), Port: pgPort, Ephemeral: true, Log: d.log}
	d.minioOpts = localdeps.MinIOOptions{Dir: filepath.Join(dir, "minio"), Port: minioPort, Log: d.log}
	t.Cleanup(func() {
		d.stopMinIO()
		d.stopPostgres()
		if t.Failed() {
			t.Logf("fault servers' output:\n%s", tailOf(d.log.String(), 4000))
		}
	})
	d.startPostgres(t)
	d.startMinIO(t)
	t.Setenv(testenv.EnvPostgresURL, d.pg.AdminURL)
	t.Setenv(testenv.EnvS3Endpoint, d.minio.Endpoint)
	t.Setenv(testenv.EnvS3AccessKey, d.minio.AccessKey)
	t.Setenv(testenv.EnvS3SecretKey, d.minio.SecretKey)
	return d
}

// startPostgres starts the server on its port and data; it returns once
// the server accepts connections.
func (d *faultDeps) startPostgres(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pg, err := localdeps.StartPostgres(ctx, d.pgOpts)
	if err != nil {
		t.Fatalf("start the fault tests' PostgreSQL: %v", err)
	}
	d.pg = pg
}

// stopPostgres shuts the server down (fast shutdown: sessions are cut).
func (d *faultDeps) stopPostgres() {
	d.pg.Stop()
}

func (d *faultDeps) startMinIO(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := localdeps.StartMinIO(ctx, d.minioOpts)
	if err != nil {
		t.Fatalf("start the fault tests' MinIO: %v", err)
	}
	d.minio = m
}

func (d *faultDeps) stopMinIO() {
	d.minio.Stop()
}

// stackDatabaseURL is the DATABASE_URL the stack runs with.
func stackDatabaseURL(t *testing.T, s *runningStack) string {
	t.Helper()
	var url string
	for _, kv := range s.env {
		if v, ok := strings.CutPrefix(kv, "DATABASE_URL="); ok {
			url = v // the last one wins, as in the process
		}
	}
	if url == "" {
		t.Fatal("the stack has no DATABASE_URL")
	}
	return url
}

// openStackDB opens the stack's database for the checks a client cannot
// make (half-written rows), closed when the test ends.
func openStackDB(t *testing.T, s *runningStack) *pgxpool.Pool {
	t.Helper()
	pool, err := store.Open(context.Background(), stackDatabaseURL(t, s), store.PoolOptions{MaxConns: 2, ApplicationName: "faults-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// queryInt runs a query that answers one integer.
func queryInt(t *testing.T, db *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n int
	if err := db.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// submission is one application ready to send: its files are uploaded
// and its Idempotency-Key chosen. Retrying it is sending it again, key
// and body unchanged, as a client does after an error.
type submission struct {
	client  *client.Client
	key     string
	body    []byte
	uploads []string
}

// prepareSubmission uploads a PDF for each material and returns the
// submission of itemCode through channel that uses them; extra fields
// (receivedAt) are added to the body.
func prepareSubmission(t *testing.T, c *client.Client, itemCode, channel string, materials []string, extra map[string]any) submission {
	t.Helper()
	sub := submission{client: c, key: "fault-" + stackRandomHex(t, 8)}
	var ms []map[string]any
	for _, code := range materials {
		id := uploadThroughStack(t, c, demoPDF)
		sub.uploads = append(sub.uploads, id)
		ms = append(ms, map[string]any{"code": code, "uploadIds": []string{id}})
	}
	body := map[string]any{
		"itemCode": itemCode, "channel": channel, "region": "130102",
		"applicant": map[string]any{"type": "person", "name": "张三", "idType": "resident_id", "idNumber": "11010519491231002X", "phone": "13800138000"},
		"materials": ms, "delivery": map[string]any{"method": "pickup"},
	}
	for k, v := range extra {
		body[k] = v
	}
	var err error
	if sub.body, err = json.Marshal(body); err != nil {
		t.Fatal(err)
	}
	return sub
}

// attempt is one POST /cases of a submission and how it ended.
type attempt struct {
	key        string
	sent, done time.Time
	status     int // 0 when no answer came (err)
	code       string
	retryAfter string
	serial     string // of a 201
	replayed   bool
	err        error
}

func (a attempt) String() string {
	if a.err != nil {
		return fmt.Sprintf("key %s: no answer after %s: %v", a.key, a.done.Sub(a.sent).Round(time.Millisecond), a.err)
	}
	return fmt.Sprintf("key %s: %d %s (Retry-After %q) after %s", a.key, a.status, a.code, a.retryAfter,
		a.done.Sub(a.sent).Round(time.Millisecond))
}

// send posts the submission once.
func (sub submission) send() attempt {
	ctx, cancel := context.WithTimeout(context.Background(), faultRequestTimeout)
	defer cancel()
	h := http.Header{"Idempotency-Key": {sub.key}, "Content-Type": {"application/json"}}
	a := attempt{key: sub.key, sent: time.Now()}
	ans, err := readAnswer(sub.client.Do(ctx, "case-submit", http.MethodPost, "/cases", sub.body, h))
	a.done = time.Now()
	if err != nil {
		a.err = err
		return a
	}
	a.status, a.code, a.retryAfter = ans.status, ans.code(), ans.header.Get("Retry-After")
	a.replayed = ans.header.Get("Idempotent-Replayed") == "true"
	if a.status == http.StatusCreated {
		var receipt struct {
			Serial string `json:"serial"`
		}
		if err := json.Unmarshal(ans.body, &receipt); err != nil || receipt.Serial == "" {
			a.err = fmt.Errorf("201 without a serial: %s", ans.body)
		}
		a.serial = receipt.Serial
	}
	return a
}

// unavailableProperly reports whether a is the contract's answer to a
// dependency that is down: 503 with a Retry-After of whole seconds.
func (a attempt) unavailableProperly() bool {
	return a.err == nil && isUnavailableAnswer(a.status, a.retryAfter)
}

func isUnavailableAnswer(status int, retryAfter string) bool {
	n, err := strconv.Atoi(retryAfter)
	return status == http.StatusServiceUnavailable && err == nil && n >= 1
}

// submitLoad sends submissions from a few workers. An answer other than
// 201 puts the submission back in the queue: it is sent again, same key,
// at a later turn, as a client retries. Every attempt is recorded.
type submitLoad struct {
	queue    chan submission
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup

	mu       sync.Mutex
	subs     []submission
	attempts []attempt
	created  map[string]string // key → serial of its 201
}

// startLoad starts workers sending subs until stopAndWait, or the end of
// the test if it fails before.
func startLoad(t *testing.T, subs []submission, workers int) *submitLoad {
	l := &submitLoad{queue: make(chan submission, len(subs)), stop: make(chan struct{}),
		subs: subs, created: map[string]string{}}
	for _, s := range subs {
		l.queue <- s
	}
	for range workers {
		l.wg.Add(1)
		go l.work()
	}
	t.Cleanup(func() { l.stopOnce.Do(func() { close(l.stop) }); l.wg.Wait() })
	return l
}

func (l *submitLoad) work() {
	defer l.wg.Done()
	pace := time.NewTicker(faultPace)
	defer pace.Stop()
	for {
		var sub submission
		select {
		case <-l.stop:
			return
		case sub = <-l.queue:
		}
		a := sub.send()
		l.mu.Lock()
		l.attempts = append(l.attempts, a)
		if a.status == http.StatusCreated && a.err == nil {
			l.created[a.key] = a.serial
		}
		l.mu.Unlock()
		if a.status != http.StatusCreated {
			l.queue <- sub // never blocks: the queue holds every submission
		}
		select {
		case <-l.stop:
			return
		case <-pace.C:
		}
	}
}

// snapshot is a copy of the attempts so far.
func (l *submitLoad) snapshot() []attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.attempts)
}

// triedSince reports whether every submission has its 201 or has been
// answered again since t: the load has seen what t changed.
func (l *submitLoad) triedSince(t time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	tried := map[string]bool{}
	for _, a := range l.attempts {
		if !a.sent.Before(t) {
			tried[a.key] = true
		}
	}
	for _, s := range l.subs {
		if _, ok := l.created[s.key]; !ok && !tried[s.key] {
			return false
		}
	}
	return true
}

// createdCount is how many submissions have got their 201.
func (l *submitLoad) createdCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.created)
}

// stopAndWait stops the workers (a request in flight is answered first)
// and returns every attempt and the submissions still without a 201.
func (l *submitLoad) stopAndWait() (attempts []attempt, unsettled []submission) {
	l.stopOnce.Do(func() { close(l.stop) })
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.subs {
		if _, ok := l.created[s.key]; !ok {
			unsettled = append(unsettled, s)
		}
	}
	return l.attempts, unsettled
}

// attemptsBetween are the attempts sent at or after from and answered
// before to.
func attemptsBetween(all []attempt, from, to time.Time) []attempt {
	var out []attempt
	for _, a := range all {
		if !a.sent.Before(from) && a.done.Before(to) {
			out = append(out, a)
		}
	}
	return out
}

// statusCounts summarises attempts for the log.
func statusCounts(all []attempt) map[string]int {
	out := map[string]int{}
	for _, a := range all {
		switch {
		case a.err != nil:
			out["no answer"]++
		default:
			out[strconv.Itoa(a.status)+" "+a.code]++
		}
	}
	return out
}

// checkNoServerBug fails on any attempt that got a 500, no answer within
// faultRequestTimeout, a 503 without Retry-After, or a status outside
// allowed.
func checkNoServerBug(t *testing.T, all []attempt, allowed ...int) {
	t.Helper()
	for _, a := range all {
		switch {
		case a.err != nil:
			t.Errorf("hang or broken answer: %v", a)
		case a.status == http.StatusServiceUnavailable && !a.unavailableProperly():
			t.Errorf("503 without a Retry-After in seconds: %v", a)
		case !slices.Contains(allowed, a.status):
			t.Errorf("status outside %v: %v", allowed, a)
		}
	}
}

// scanAnswer is warning-scan's answer to POST /.
type scanAnswer struct {
	Scanned   int  `json:"scanned"`
	Issued    int  `json:"issued"`
	Escalated int  `json:"escalated"`
	Running   bool `json:"running"`
}

// triggerScans fires n scans at once, as the cron-connector does (empty,
// unsigned POST), and returns their answers.
func triggerScans(t *testing.T, s *runningStack, n int) []scanAnswer {
	t.Helper()
	answers := make([]stackAnswer, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), faultRequestTimeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/function/warning-scan/", nil)
			if err != nil {
				errs[i] = err
				return
			}
			answers[i], errs[i] = readAnswer(http.DefaultClient.Do(req))
		}()
	}
	close(start)
	wg.Wait()
	out := make([]scanAnswer, n)
	for i, a := range answers {
		if errs[i] != nil || a.status != http.StatusOK {
			t.Fatalf("scan %d: %v %v", i, a, errs[i])
		}
		if err := json.Unmarshal(a.body, &out[i]); err != nil {
			t.Fatalf("scan %d: %s: %v", i, a.body, err)
		}
	}
	return out
}
