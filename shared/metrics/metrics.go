// Package metrics is what an operator sees of a function in Prometheus:
// requests by route and status, their latency, the database pool, and the
// domain metrics other packages define with its constructors (outbox
// backlog, scan lag, serial blocks in hand, callback duplicates).
//
// Every metric goes to prometheus.DefaultRegisterer, which the template's
// entrypoint serves on its own port (METRICS_PORT, never through the
// gateway). Names lists every series the constructors defined, so the
// alert rules in infra/monitoring are checked against the code.
package metrics

import (
	"log/slog"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// catalogue is every series name defined through this package.
var catalogue struct {
	mu     sync.Mutex
	series map[string]bool
}

// define records name in the catalogue: for a histogram the three series
// PromQL sees (name_bucket, name_sum, name_count).
func define(name string, histogram bool) {
	catalogue.mu.Lock()
	defer catalogue.mu.Unlock()
	if catalogue.series == nil {
		catalogue.series = map[string]bool{}
	}
	if !histogram {
		catalogue.series[name] = true
		return
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		catalogue.series[name+suffix] = true
	}
}

// Names returns, sorted, every series name defined so far: those of every
// package the process imports (they define theirs in package variables),
// whether or not a value has been recorded yet.
func Names() []string {
	catalogue.mu.Lock()
	defer catalogue.mu.Unlock()
	out := make([]string, 0, len(catalogue.series))
	for name := range catalogue.series {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// The constructors below are for package variables: each registers its
// metric on prometheus.DefaultRegisterer, and a name defined twice panics
// at start-up, where the mistake is obvious.

// NewCounter defines a counter without labels.
func NewCounter(name, help string) prometheus.Counter {
	define(name, false)
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	prometheus.MustRegister(c)
	return c
}

// NewCounterVec defines a counter with labels.
func NewCounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	define(name, false)
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	prometheus.MustRegister(c)
	return c
}

// NewGauge defines a gauge without labels.
func NewGauge(name, help string) prometheus.Gauge {
	define(name, false)
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	prometheus.MustRegister(g)
	return g
}

// NewHistogram defines a histogram without labels; buckets are upper
// bounds in the metric's unit, ascending.
func NewHistogram(name, help string, buckets []float64) prometheus.Histogram {
	define(name, true)
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	prometheus.MustRegister(h)
	return h
}

// NewHistogramVec defines a histogram with labels.
func NewHistogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	define(name, true)
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	prometheus.MustRegister(h)
	return h
}

// NewDesc defines a metric that a collector reads on every scrape (a
// database query, a pool's statistics). Such collectors need what only the
// function has (its pool, its allocator), so the function hands them to
// Register; the name is in the catalogue from the start all the same.
// histogram says whether the collector reports it as a histogram.
func NewDesc(name, help string, histogram bool, labels ...string) *prometheus.Desc {
	define(name, histogram)
	return prometheus.NewDesc(name, help, labels, nil)
}

// Register registers collectors that read their values on scrape. One
// registered earlier with the same metrics is replaced: a process has one
// pool and one outbox, but tests build many, and the newest is the one in
// use. A collector that cannot be registered is logged, never fatal: a
// function without a metric still serves its requests.
func Register(cs ...prometheus.Collector) {
	for _, c := range cs {
		prometheus.Unregister(c)
		if err := prometheus.Register(c); err != nil {
			slog.Error("register metrics collector", "err", err)
		}
	}
}
