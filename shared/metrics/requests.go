package metrics

import (
	"net/http"
	"strconv"
	"time"
)

// Unmatched is the route label of a request no route matched (404, 405).
// The raw path would give every probe of a scanner a series of its own.
const Unmatched = "unmatched"

// requestBuckets span 1 ms (a serial from memory) to 10 s (the default
// write_timeout), in seconds.
var requestBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

var (
	requests = NewCounterVec("onewindow_requests_total",
		"Requests answered, by function, route pattern (/cases/{serial}, or unmatched), method and status.",
		"function", "route", "method", "status")
	requestDuration = NewHistogramVec("onewindow_request_duration_seconds",
		"Time from routing a request to its answer, in seconds, by function, route pattern and method.",
		requestBuckets, "function", "route", "method")
)

// ObserveRequest records one answered request. route is the pattern that
// matched, or Unmatched; status 0 is the 200 the entrypoint writes for it.
func ObserveRequest(function, route, method string, status int, took time.Duration) {
	method = methodLabel(method)
	if status == 0 {
		status = http.StatusOK
	}
	requests.WithLabelValues(function, route, method, strconv.Itoa(status)).Inc()
	requestDuration.WithLabelValues(function, route, method).Observe(took.Seconds())
}

// methodLabel keeps the methods of HTTP and folds anything else a client
// sends into "other", so that no caller can add series at will.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}
