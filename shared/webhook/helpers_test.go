package webhook

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// fakeClock is a settable Config.Now. It starts at the real time, so that
// the library's Verify (which checks webhook-timestamp against the real
// clock) passes until a test jumps it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	// Microseconds: what timestamptz keeps, so instants compare equal
	// after a round trip.
	return &fakeClock{t: time.Now().Truncate(time.Microsecond)}
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// newSecret returns a fresh department secret, "whsec_" + padded base64.
func newSecret(t testing.TB) string {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

// testBody is what the tests enqueue: enough for the receiver to tell
// deliveries apart.
type testBody struct {
	Stream string `json:"stream"`
	Seq    int    `json:"seq"`
}

func message(dept, stream string, seq int) Message {
	b, _ := json.Marshal(testBody{Stream: stream, Seq: seq})
	return Message{Stream: stream, Department: dept, Type: "case.event", Body: b}
}

// request is one request the receiver got.
type request struct {
	path   string
	header http.Header
	body   []byte
	msg    testBody
	status int // what the receiver answered; 0 when it never did
	// verifyErr is the library's verdict on the signature, the timestamp
	// tolerance left out (tests jump the clock).
	verifyErr error
}

// receiver is a department system. Its path picks the behaviour:
//
//	/ok        200, unless fail says otherwise (then 500)
//	/500       500
//	/redirect  302 to /ok (which must never be reached through it)
//	/block     answers 200 only once release is closed; the request's
//	           context ending (client timeout) also ends it, unanswered
type receiver struct {
	srv     *httptest.Server
	secret  string
	wh      *standardwebhooks.Webhook
	release chan struct{}
	entered chan request // every request, on arrival (buffered; drops when full)

	mu   sync.Mutex
	reqs []request
	fail func(testBody) bool // optional, for /ok: answer 500 when true
}

func (r *receiver) setFail(f func(testBody) bool) {
	r.mu.Lock()
	r.fail = f
	r.mu.Unlock()
}

func (r *receiver) failing(b testBody) bool {
	r.mu.Lock()
	f := r.fail
	r.mu.Unlock()
	return f != nil && f(b)
}

func newReceiver(t testing.TB) *receiver {
	t.Helper()
	r := &receiver{secret: newSecret(t), release: make(chan struct{}), entered: make(chan request, 1024)}
	wh, err := standardwebhooks.NewWebhook(r.secret)
	if err != nil {
		t.Fatal(err)
	}
	r.wh = wh
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() { close(r.release) }) // unblock /block before Close waits for it
		r.srv.Close()
	})
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	got := request{path: req.URL.Path, header: req.Header.Clone(), body: body,
		verifyErr: r.wh.VerifyIgnoringTimestamp(body, req.Header)}
	_ = json.Unmarshal(body, &got.msg)
	switch req.URL.Path {
	case "/ok":
		got.status = http.StatusOK
		if r.failing(got.msg) {
			got.status = http.StatusInternalServerError
		}
	case "/500":
		got.status = http.StatusInternalServerError
	case "/redirect":
		got.status = http.StatusFound
		w.Header().Set("Location", "/ok")
	case "/block":
		select {
		case r.entered <- got:
		default:
		}
		select {
		case <-r.release:
			got.status = http.StatusOK
		case <-req.Context().Done():
		}
		r.record(got)
		if got.status != 0 {
			w.WriteHeader(got.status)
		}
		return
	default:
		got.status = http.StatusNotFound
	}
	r.record(got)
	select {
	case r.entered <- got:
	default:
	}
	w.WriteHeader(got.status)
}

func (r *receiver) record(got request) {
	r.mu.Lock()
	r.reqs = append(r.reqs, got)
	r.mu.Unlock()
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.reqs...)
}

// url is the receiver's URL for a behaviour, with a token in the query
// that must never show in a stored error.
func (r *receiver) url(path string) string { return r.srv.URL + path + "?token=" + urlToken }

const urlToken = "T0KEN-in-the-url"

// endpoints is a mutable department table.
type endpoints struct {
	mu sync.Mutex
	m  map[string][2]string // department -> url, secret
}

func (e *endpoints) set(dept, url, secret string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = map[string][2]string{}
	}
	e.m[dept] = [2]string{url, secret}
}

func (e *endpoints) Endpoint(_ context.Context, dept string) (string, string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.m[dept]
	if !ok {
		return "", "", nil
	}
	if v[0] == "lookup-error" {
		return "", "", fmt.Errorf("catalogue down (secret %s)", v[1])
	}
	return v[0], v[1], nil
}

func newDeliverer(t testing.TB, db *pgxpool.Pool, clock *fakeClock, eps Endpoints, tune func(*Config)) *Deliverer {
	t.Helper()
	cfg := Config{Endpoints: eps, Now: clock.Now, Logger: slog.New(slog.NewJSONHandler(t.Output(), nil))}
	if tune != nil {
		tune(&cfg)
	}
	d, err := New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// enqueue writes msgs in one transaction and commits; it returns their
// webhook-ids.
func enqueue(t testing.TB, d *Deliverer, db *pgxpool.Pool, msgs ...Message) []string {
	t.Helper()
	var ids []string
	err := pgx.BeginFunc(context.Background(), db, func(tx pgx.Tx) error {
		for _, m := range msgs {
			id, err := d.Enqueue(context.Background(), tx, m)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	return ids
}

func runDue(t testing.TB, d *Deliverer, want Counts) {
	t.Helper()
	got, err := d.RunDue(context.Background(), 0)
	if err != nil {
		t.Fatalf("RunDue: %v", err)
	}
	if got != want {
		t.Fatalf("RunDue = %+v, want %+v", got, want)
	}
}

func list(t testing.TB, db Querier, stream string) []Delivery {
	t.Helper()
	ds, err := List(context.Background(), db, stream)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func only(t testing.TB, db Querier, stream string) Delivery {
	t.Helper()
	ds := list(t, db, stream)
	if len(ds) != 1 {
		t.Fatalf("stream %s has %d deliveries, want 1: %+v", stream, len(ds), ds)
	}
	return ds[0]
}

// within waits for a value on ch, failing the test after a generous bound
// (a hang, not a timing assumption).
func within[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("no %s within 20 s", what)
		var zero T
		return zero
	}
}

// checkSecretFree fails when a stored reason leaks the URL token or secret.
func checkSecretFree(t testing.TB, s, secret string) {
	t.Helper()
	if strings.Contains(s, urlToken) || (secret != "" && strings.Contains(s, strings.TrimPrefix(secret, "whsec_"))) ||
		strings.Contains(s, "127.0.0.1:") && strings.Contains(s, "?") {
		t.Errorf("stored error %q leaks the URL or secret", s)
	}
}
