package metrics_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/onewindow/onewindow/shared/config"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/metrics"
	"github.com/onewindow/onewindow/shared/metrics/metricstest"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/service"
)

// newService is a function "metrics-demo" with public routes, so that
// requests reach them without a database: the pool is opened (it connects
// lazily, and never here) and migrations are left to the operator.
func newService(t *testing.T) *service.Service {
	t.Setenv("ONEWINDOW_MIGRATE", "false")
	s := service.NewWithConfig(config.Config{Function: "metrics-demo", DatabaseURL: "postgres://127.0.0.1:1/none",
		DBMaxConns: 3, Objects: config.ObjectStore{Driver: "minio"}}, func(s *service.Service, r *httpx.Router) {
		r.Get("/things/{id}", httpx.Public, func(context.Context, *httpx.Request) (handler.Response, error) {
			return httpx.JSON(http.StatusOK, map[string]string{"ok": "yes"}), nil
		})
		r.Post("/things/{id}", httpx.Public, func(context.Context, *httpx.Request) (handler.Response, error) {
			return handler.Response{}, problem.Conflict("thing_exists", "the thing exists")
		})
	})
	t.Cleanup(func() { s.DB().Close() })
	return s
}

func call(s *service.Service, method, path string) handler.Response {
	return s.Handle(handler.Request{Method: method, Header: http.Header{httpx.PathHeader: {path}}})
}

// TestRequestMetrics: each request counts under its route pattern, never
// its raw path, with the status it was answered; requests no route takes
// (here 401, unsigned) count as unmatched, and odd methods as other.
func TestRequestMetrics(t *testing.T) {
	s := newService(t)
	const serial = "13010012026112200000013"
	tests := []struct {
		method, path string
		status       int
		route, label string // the route and method labels expected
	}{
		{"GET", "/things/" + serial, 200, "/things/{id}", "GET"},
		{"POST", "/things/" + serial, 409, "/things/{id}", "POST"},
		{"GET", "/nothing/" + serial, 401, "unmatched", "GET"},
		{"BREW", "/things/" + serial, 401, "unmatched", "other"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			before := metricstest.Gather(t, prometheus.DefaultGatherer)
			if resp := call(s, tt.method, tt.path); resp.StatusCode != tt.status {
				t.Fatalf("answered %d, want %d", resp.StatusCode, tt.status)
			}
			after := metricstest.Gather(t, prometheus.DefaultGatherer)
			labels := fmt.Sprintf(`function="metrics-demo",method=%q,route=%q`, tt.label, tt.route)
			for _, series := range []string{
				fmt.Sprintf(`onewindow_requests_total{%s,status="%d"}`, labels, tt.status),
				"onewindow_request_duration_seconds_count{" + labels + "}",
			} {
				if got := after[series] - before[series]; got != 1 {
					t.Errorf("%s went up by %v, want 1", series, got)
				}
			}
			for series := range after {
				if strings.Contains(series, serial) {
					t.Errorf("a series carries the raw path: %s", series)
				}
			}
		})
	}
}

// TestPoolMetrics: the service registers its pool, reported under its name.
func TestPoolMetrics(t *testing.T) {
	newService(t)
	got := metricstest.Gather(t, prometheus.DefaultGatherer)
	for series, want := range map[string]float64{
		`onewindow_db_pool_max_connections{function="metrics-demo"}`:      3,
		`onewindow_db_pool_acquired_connections{function="metrics-demo"}`: 0,
		`onewindow_db_pool_acquire_waits_total{function="metrics-demo"}`:  0,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (reported: %v), want %v", series, v, ok, want)
		}
	}
}

// TestNamesCoverWhatIsExported: every onewindow_ series the process
// exports is in Names, so alert rules checked against Names are checked
// against the real metrics; histograms list their three series.
func TestNamesCoverWhatIsExported(t *testing.T) {
	call(newService(t), "GET", "/things/x") // registers the pool collector, records a request
	names := metrics.Names()
	for series := range metricstest.Gather(t, prometheus.DefaultGatherer) {
		name, _, _ := strings.Cut(series, "{")
		if strings.HasPrefix(name, "onewindow_") && !slices.Contains(names, name) {
			t.Errorf("%s is exported but not in Names", name)
		}
	}
	for _, want := range []string{"onewindow_requests_total", "onewindow_request_duration_seconds_bucket",
		"onewindow_request_duration_seconds_sum", "onewindow_request_duration_seconds_count", "onewindow_db_pool_max_connections"} {
		if !slices.Contains(names, want) {
			t.Errorf("Names lacks %s: %v", want, names)
		}
	}
}
