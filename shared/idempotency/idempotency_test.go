package idempotency

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/onewindow/onewindow/shared/internal/poll"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/testenv"
)

func created(body string) func(context.Context) (Response, error) {
	return func(context.Context) (Response, error) {
		return Response{Status: 201, Header: http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"first"}}, Body: []byte(body)}, nil
	}
}

func TestReplayAndReuse(t *testing.T) {
	ctx := context.Background()
	s := New(testenv.Pool(t))
	hash := RequestHash("POST", "/cases", "", []byte(`{"a":1}`))
	resp, replayed, err := s.Do(ctx, "app", "case-submit", "k1", hash, created(`{"caseId":"1"}`))
	if err != nil || replayed || resp.Status != 201 {
		t.Fatalf("first = %+v, %v, %v", resp, replayed, err)
	}
	resp, replayed, err = s.Do(ctx, "app", "case-submit", "k1", hash, func(context.Context) (Response, error) {
		t.Fatal("the handler ran twice")
		return Response{}, nil
	})
	if err != nil || !replayed || resp.Status != 201 || string(resp.Body) != `{"caseId":"1"}` ||
		resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("X-Request-Id") != "" {
		t.Fatalf("replay = %+v, %v, %v", resp, replayed, err)
	}
	other := RequestHash("POST", "/cases", "", []byte(`{"a":2}`))
	_, _, err = s.Do(ctx, "app", "case-submit", "k1", other, created(`{}`))
	if p, ok := problem.As(err); !ok || p.Status != 409 || p.Code != "idempotency_key_reused" {
		t.Fatalf("reuse with another body = %v, want 409 idempotency_key_reused", err)
	}
	// The key is the app's and the function's own.
	for _, scope := range [][2]string{{"other-app", "case-submit"}, {"app", "document-fetch"}} {
		_, replayed, err := s.Do(ctx, scope[0], scope[1], "k1", other, created(`{}`))
		if err != nil || replayed {
			t.Fatalf("%v: replayed=%v err=%v", scope, replayed, err)
		}
	}
}

// Racing requests with one key: the handler runs once, and every request
// gets its answer, the late ones waiting for the first.
func TestRace(t *testing.T) {
	ctx := context.Background()
	db := testenv.Pool(t)
	replicas := []*Store{New(db), New(db)}
	hash := RequestHash("POST", "/", "", []byte(`{}`))
	var runs atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	results := make([]Response, 10)
	for i := range results {
		wg.Go(func() {
			resp, _, err := replicas[i%2].Do(ctx, "app", "serial-issue", "race", hash, func(context.Context) (Response, error) {
				runs.Add(1)
				<-release // hold the key in flight while the others arrive
				return Response{Status: 201, Body: []byte(`{"serials":["x"]}`)}, nil
			})
			if err != nil {
				t.Error(err)
			}
			results[i] = resp
		})
	}
	// Let the first request be in flight for a moment the others must wait through.
	poll.Until(t, func() bool { return runs.Load() == 1 })
	close(release)
	wg.Wait()
	if runs.Load() != 1 {
		t.Fatalf("handler ran %d times", runs.Load())
	}
	for i, r := range results {
		if r.Status != 201 || string(r.Body) != `{"serials":["x"]}` {
			t.Errorf("request %d got %+v", i, r)
		}
	}
}

func TestServerErrorsAreNotKept(t *testing.T) {
	ctx := context.Background()
	s := New(testenv.Pool(t))
	hash := RequestHash("POST", "/", "", nil)
	resp, _, err := s.Do(ctx, "app", "f", "k", hash, func(context.Context) (Response, error) {
		return Response{Status: 503}, nil
	})
	if err != nil || resp.Status != 503 {
		t.Fatalf("first = %+v, %v", resp, err)
	}
	resp, replayed, err := s.Do(ctx, "app", "f", "k", hash, created(`{}`))
	if err != nil || replayed || resp.Status != 201 {
		t.Fatalf("retry after 503 = %+v, replayed=%v, %v: want a fresh run", resp, replayed, err)
	}
}

// A first request whose replica died leaves its key in flight; once the
// lease is over, a retry takes it over and runs.
func TestExpiredLeaseIsTakenOver(t *testing.T) {
	ctx := context.Background()
	db := testenv.Pool(t)
	s := New(db)
	hash := RequestHash("POST", "/", "", nil)
	if _, err := db.Exec(ctx, `INSERT INTO idempotency_keys (app_id, function, key, request_hash, state, lease_until)
		VALUES ('app', 'f', 'k', $1, 'in_flight', now() - interval '1 second')`, hash); err != nil {
		t.Fatal(err)
	}
	resp, replayed, err := s.Do(ctx, "app", "f", "k", hash, created(`{"ok":true}`))
	if err != nil || replayed || resp.Status != 201 {
		t.Fatalf("takeover = %+v, replayed=%v, %v", resp, replayed, err)
	}
}

// An answer settled in the handler's transaction survives the handler
// failing after its commit (the replica died before Do stored it): the
// retry replays it and does not run the handler again.
func TestSettledAnswerCommitsWithTheHandler(t *testing.T) {
	ctx := context.Background()
	db := testenv.Pool(t)
	s := New(db)
	hash := RequestHash("POST", "/cases", "", []byte(`{}`))
	answer := Response{Status: 201, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"caseId":"c1"}`)}
	_, _, err := s.Do(ctx, "app", "f", "k", hash, func(ctx context.Context) (Response, error) {
		tx, err := db.Begin(ctx)
		if err != nil {
			return Response{}, err
		}
		defer tx.Rollback(ctx)
		if err := Settle(ctx, tx, answer); err != nil {
			return Response{}, err
		}
		if err := tx.Commit(ctx); err != nil {
			return Response{}, err
		}
		return Response{}, errors.New("replica lost after the commit")
	})
	if err == nil {
		t.Fatal("the handler's error was swallowed")
	}
	resp, replayed, err := s.Do(ctx, "app", "f", "k", hash, func(context.Context) (Response, error) {
		t.Fatal("the handler ran again after its answer had committed")
		return Response{}, nil
	})
	if err != nil || !replayed || resp.Status != 201 || string(resp.Body) != `{"caseId":"c1"}` {
		t.Fatalf("retry = %+v, replayed=%v, %v", resp, replayed, err)
	}
	// Without a claim in the context Settle is a no-op.
	if err := Settle(ctx, db, answer); err != nil {
		t.Fatal(err)
	}
}

// A request that outlives its lease has lost its key to the retry that
// took it over: its Settle fails, so its transaction rolls back and only
// the retry's records and answer remain.
func TestOverrunRequestLosesItsKey(t *testing.T) {
	ctx := context.Background()
	db := testenv.Pool(t)
	s := New(db)
	hash := RequestHash("POST", "/cases", "", []byte(`{}`))
	retry := Response{Status: 201, Body: []byte(`{"caseId":"retry"}`)}
	_, _, err := s.Do(ctx, "app", "f", "k", hash, func(ctx context.Context) (Response, error) {
		// The first request stalls past its lease; meanwhile the client's
		// retry takes the key over and finishes.
		if _, err := db.Exec(ctx, `UPDATE idempotency_keys SET lease_until = now() - interval '1 second'`); err != nil {
			return Response{}, err
		}
		if resp, replayed, err := s.Do(ctx, "app", "f", "k", hash, created(`{"caseId":"retry"}`)); err != nil || replayed || resp.Status != 201 {
			t.Fatalf("retry = %+v, replayed=%v, %v; want it to take the key over", resp, replayed, err)
		}
		tx, err := db.Begin(ctx)
		if err != nil {
			return Response{}, err
		}
		defer tx.Rollback(ctx)
		return Response{}, Settle(ctx, tx, Response{Status: 201, Body: []byte(`{"caseId":"first"}`)})
	})
	if p, ok := problem.As(err); !ok || p.Status != http.StatusServiceUnavailable || p.RetryAfter == 0 {
		t.Fatalf("the overrun request's Settle: %v, want 503 with Retry-After", err)
	}
	resp, replayed, err := s.Do(ctx, "app", "f", "k", hash, created(`{"caseId":"third"}`))
	if err != nil || !replayed || string(resp.Body) != string(retry.Body) {
		t.Fatalf("after both: %+v, replayed=%v, %v; want the retry's answer replayed", resp, replayed, err)
	}
}

func TestValidKey(t *testing.T) {
	long := make([]byte, 129)
	for i := range long {
		long[i] = 'a'
	}
	for key, ok := range map[string]bool{"a": true, "order-2026-11-23 #1": true, "": false, string(long): false, "ключ": false, "a\nb": false} {
		if err := ValidKey(key); (err == nil) != ok {
			t.Errorf("ValidKey(%q) = %v", key, err)
		}
	}
}
