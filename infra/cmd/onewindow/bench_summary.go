package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/onewindow/onewindow/infra/loadgen"
)

// summaryRow is one endpoint of one benchmark, for the closing table.
type summaryRow struct {
	benchmark string
	clients   int
	row       loadgen.Row
}

// summaryMarkdown is the closing table of a bench run: every endpoint of
// every benchmark that ran, with the benchmarks' totals ("all").
func summaryMarkdown(rows []summaryRow) string {
	var b strings.Builder
	b.WriteString("| benchmark | endpoint | clients | ok/s | mean | p50 | p95 | p99 | errors |\n")
	b.WriteString("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %d | %.0f | %s | %s | %s | %s | %d |\n", r.benchmark, r.row.Name, r.clients,
			r.row.PerSecond, millis(r.row.Mean), millis(r.row.P50), millis(r.row.P95), millis(r.row.P99), r.row.Errors)
	}
	return b.String()
}

// machineLine says when and where a bench ran: the date, the cores and
// their model, the load average at the start and the Go version.
func machineLine() string {
	return fmt.Sprintf("%s; %d cores (%s); load average at the start %s; %s, %s/%s\n",
		time.Now().Format("2006-01-02 15:04 MST"), runtime.NumCPU(), cpuModel(), loadAverage(),
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// cpuModel is the first "model name" of /proc/cpuinfo, or "unknown".
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
