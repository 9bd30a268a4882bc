// Package loadgen is OneWindow's load generator: a fixed number of
// concurrent clients send a weighted mix of signed requests through the
// gateway for a bounded time, and the report gives per endpoint the
// throughput, latency percentiles and errors. `make bench` and the
// benchmark figures in docs/benchmarks.md use it. It reports; it never
// judges a number.
package loadgen

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Scenario is one kind of request in the mix.
type Scenario struct {
	// Name labels the scenario's row in the report ("serial-issue POST /").
	Name string
	// Weight is the scenario's share of the mix relative to the others
	// (default 1).
	Weight int
	// Request builds the next request; worker is the client's index
	// (0..Concurrency-1) and seq counts that client's requests.
	Request func(ctx context.Context, worker, seq int) (*http.Request, error)
	// OK says whether an answer counts as a success; nil accepts any 2xx
	// and 3xx status. Its body is read and discarded either way.
	OK func(status int) bool
	// Check, when set, reads an answer that OK accepted (up to 1 MiB) and
	// returns why it is wrong, nil when it is right: an answer whose
	// status is fine can still say "mismatch". A failed check counts as an
	// error of the scenario.
	Check func(body []byte) error
}

// maxChecked bounds the body a Check reads.
const maxChecked = 1 << 20

// Options bound a run.
type Options struct {
	// Concurrency is the number of clients sending at once (default 1).
	Concurrency int
	// Duration is how long the clients send (default 10 s).
	Duration time.Duration
	// MaxRequests stops the run after this many requests in all; 0 means
	// no limit besides Duration.
	MaxRequests int
	// Client sends the requests; nil means one with keep-alive connections
	// for every client and a 30 s timeout.
	Client *http.Client
}

// Row is the report of one scenario.
type Row struct {
	Name          string
	Requests      int
	Errors        int
	PerSecond     float64
	P50, P95, P99 time.Duration
	Max           time.Duration
	// Mean is the average latency of the successful requests.
	Mean time.Duration
	// FirstError is the first failure seen, to say what went wrong.
	FirstError string
}

// Report is the outcome of a run.
type Report struct {
	Concurrency int
	Elapsed     time.Duration
	Rows        []Row // in the order of the scenarios
	Total       Row
}

type sample struct {
	scenario int
	latency  time.Duration
	err      string
}

// Run sends the mix until Duration passes, MaxRequests is reached or ctx
// is cancelled, and reports.
func Run(ctx context.Context, opts Options, scenarios ...Scenario) (Report, error) {
	if len(scenarios) == 0 {
		return Report{}, fmt.Errorf("loadgen: no scenarios")
	}
	conc := max(opts.Concurrency, 1)
	dur := opts.Duration
	if dur <= 0 {
		dur = 10 * time.Second
	}
	client := opts.Client
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = conc * 2
		tr.MaxIdleConnsPerHost = conc * 2
		client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	weights := make([]int, len(scenarios))
	total := 0
	for i, s := range scenarios {
		weights[i] = max(s.Weight, 1)
		total += weights[i]
	}
	pick := func(r *rand.Rand) int {
		n := r.IntN(total)
		for i, w := range weights {
			if n < w {
				return i
			}
			n -= w
		}
		return len(weights) - 1
	}

	runCtx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	var (
		mu      sync.Mutex
		samples = make([][]sample, conc)
		wg      sync.WaitGroup
		sent    int
	)
	take := func() bool { // bounded by MaxRequests
		if opts.MaxRequests <= 0 {
			return true
		}
		mu.Lock()
		defer mu.Unlock()
		if sent >= opts.MaxRequests {
			return false
		}
		sent++
		return true
	}
	start := time.Now()
	for w := range conc {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 42))
			for seq := 0; runCtx.Err() == nil && take(); seq++ {
				i := pick(r)
				samples[w] = append(samples[w], once(runCtx, client, scenarios[i], i, w, seq))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	rep := Report{Concurrency: conc, Elapsed: elapsed}
	per := make([][]sample, len(scenarios))
	var all []sample
	for _, ws := range samples {
		for _, s := range ws {
			if s.err == context.DeadlineExceeded.Error() && runCtx.Err() != nil {
				continue // cut off by the end of the run, not a failure
			}
			per[s.scenario] = append(per[s.scenario], s)
			all = append(all, s)
		}
	}
	for i, s := range scenarios {
		rep.Rows = append(rep.Rows, summarise(s.Name, per[i], elapsed))
	}
	rep.Total = summarise("all", all, elapsed)
	return rep, ctx.Err()
}

func once(ctx context.Context, client *http.Client, s Scenario, i, worker, seq int) sample {
	req, err := s.Request(ctx, worker, seq)
	if err != nil {
		return sample{scenario: i, err: "build request: " + err.Error()}
	}
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return sample{scenario: i, err: context.DeadlineExceeded.Error()}
		}
		return sample{scenario: i, latency: time.Since(t0), err: err.Error()}
	}
	var body []byte
	if s.Check != nil {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxChecked))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	lat := time.Since(t0)
	ok := s.OK
	if ok == nil {
		ok = func(status int) bool { return status < 400 }
	}
	switch {
	case !ok(resp.StatusCode):
		return sample{scenario: i, latency: lat, err: fmt.Sprintf("status %d", resp.StatusCode)}
	case err != nil && ctx.Err() != nil:
		return sample{scenario: i, err: context.DeadlineExceeded.Error()} // cut off by the end of the run
	case err != nil:
		return sample{scenario: i, latency: lat, err: "read answer: " + err.Error()}
	case s.Check != nil:
		if cerr := s.Check(body); cerr != nil {
			return sample{scenario: i, latency: lat, err: "check answer: " + cerr.Error()}
		}
	}
	return sample{scenario: i, latency: lat}
}

func summarise(name string, ss []sample, elapsed time.Duration) Row {
	row := Row{Name: name, Requests: len(ss)}
	lats := make([]time.Duration, 0, len(ss))
	for _, s := range ss {
		if s.err != "" {
			row.Errors++
			if row.FirstError == "" {
				row.FirstError = s.err
			}
			continue
		}
		lats = append(lats, s.latency)
	}
	if elapsed > 0 {
		row.PerSecond = float64(len(lats)) / elapsed.Seconds()
	}
	slices.Sort(lats)
	row.P50, row.P95, row.P99 = quantile(lats, 0.50), quantile(lats, 0.95), quantile(lats, 0.99)
	if len(lats) > 0 {
		row.Max = lats[len(lats)-1]
		var sum time.Duration
		for _, l := range lats {
			sum += l
		}
		row.Mean = sum / time.Duration(len(lats))
	}
	return row
}

// quantile is the nearest-rank quantile of sorted latencies.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// Markdown renders the report as a table for docs/benchmarks.md.
func (r Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| endpoint | requests | ok/s | p50 | p95 | p99 | max | errors |\n")
	fmt.Fprintf(&b, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	rows := r.Rows
	if len(rows) > 1 {
		rows = append(slices.Clone(rows), r.Total)
	}
	for _, row := range rows {
		fmt.Fprintf(&b, "| %s | %d | %.0f | %s | %s | %s | %s | %d |\n", row.Name, row.Requests, row.PerSecond,
			ms(row.P50), ms(row.P95), ms(row.P99), ms(row.Max), row.Errors)
	}
	for _, row := range rows {
		if row.FirstError != "" {
			fmt.Fprintf(&b, "\nfirst error of %s: %s\n", row.Name, row.FirstError)
		}
	}
	return b.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
