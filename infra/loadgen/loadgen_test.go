package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunCountsAndBounds(t *testing.T) {
	var hits, fails atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			fails.Add(1)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		hits.Add(1)
	}))
	defer srv.Close()
	get := func(path string) func(ctx context.Context, _, _ int) (*http.Request, error) {
		return func(ctx context.Context, _, _ int) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
		}
	}
	rep, err := Run(context.Background(), Options{Concurrency: 4, Duration: time.Minute, MaxRequests: 400},
		Scenario{Name: "ok", Weight: 3, Request: get("/ok")},
		Scenario{Name: "fail", Weight: 1, Request: get("/fail")})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Total.Requests != 400 || int64(rep.Rows[0].Requests) != hits.Load() || int64(rep.Rows[1].Errors) != fails.Load() {
		t.Fatalf("report %+v; server saw %d ok, %d failed", rep, hits.Load(), fails.Load())
	}
	if rep.Rows[0].Errors != 0 || rep.Rows[1].FirstError != "status 500" || rep.Rows[0].P99 < rep.Rows[0].P50 {
		t.Fatalf("rows %+v", rep.Rows)
	}
	// 3:1 weights over 400 requests: the share is near 75%.
	if share := float64(rep.Rows[0].Requests) / 400; share < 0.6 || share > 0.9 {
		t.Errorf("ok share %.2f, want about 0.75", share)
	}
	if md := rep.Markdown(); !strings.Contains(md, "| ok | ") || !strings.Contains(md, "| all | 400 |") {
		t.Errorf("markdown:\n%s", md)
	}
}

func TestQuantile(t *testing.T) {
	var lats []time.Duration
	for i := 1; i <= 100; i++ {
		lats = append(lats, time.Duration(i)*time.Millisecond)
	}
	for q, want := range map[float64]time.Duration{0.5: 50 * time.Millisecond, 0.99: 99 * time.Millisecond, 1: 100 * time.Millisecond} {
		if got := quantile(lats, q); got != want {
			t.Errorf("quantile(%v) = %v, want %v", q, got, want)
		}
	}
	if row := summarise("r", []sample{{latency: time.Millisecond}, {latency: 3 * time.Millisecond}, {latency: time.Hour, err: "status 500"}}, time.Second); row.Mean != 2*time.Millisecond {
		t.Errorf("mean %v, want 2ms: the failed request is not in it", row.Mean)
	}
	if quantile(nil, 0.5) != 0 {
		t.Error("empty")
	}
}

func TestCheckCountsWrongAnswersAsErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/valid":
			_, _ = w.Write([]byte(`{"valid":true}`))
		case "/mismatch":
			_, _ = w.Write([]byte(`{"valid":false}`))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	valid := func(body []byte) error {
		if !strings.Contains(string(body), `"valid":true`) {
			return fmt.Errorf("answer %s", body)
		}
		return nil
	}
	for _, tc := range []struct {
		name, path string
		check      func([]byte) error
		wantErrors int
		wantFirst  string
	}{
		{"a right answer passes", "/valid", valid, 0, ""},
		{"a 200 that says mismatch fails", "/mismatch", valid, 20, `check answer: answer {"valid":false}`},
		{"the status is judged before the body", "/missing", valid, 20, "status 404"},
		{"no check: any 2xx passes", "/mismatch", nil, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Run(context.Background(), Options{Concurrency: 2, Duration: time.Minute, MaxRequests: 20},
				Scenario{Name: tc.name, Check: tc.check, Request: func(ctx context.Context, _, _ int) (*http.Request, error) {
					return http.NewRequestWithContext(ctx, "GET", srv.URL+tc.path, nil)
				}})
			if err != nil {
				t.Fatal(err)
			}
			row := rep.Rows[0]
			if row.Requests != 20 || row.Errors != tc.wantErrors || row.FirstError != tc.wantFirst {
				t.Errorf("row %+v, want 20 requests, %d errors, first %q", row, tc.wantErrors, tc.wantFirst)
			}
		})
	}
}
