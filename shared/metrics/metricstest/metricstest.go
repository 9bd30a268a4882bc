// Package metricstest reads metrics back in tests, as flat series such as
// `onewindow_requests_total{function="f",method="GET",route="/x",status="200"}`.
package metricstest

import (
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Collect gathers c on its own and returns its series.
func Collect(t testing.TB, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatalf("register collector: %v", err)
	}
	return Gather(t, reg)
}

// Gather returns every series of g: counters and gauges by their name, a
// histogram as name_count and name_sum (buckets are left out).
func Gather(t testing.TB, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			pairs := make([]string, 0, len(m.GetLabel()))
			for _, l := range m.GetLabel() { // sorted by name already
				pairs = append(pairs, l.GetName()+"="+strconv.Quote(l.GetValue()))
			}
			labels := ""
			if len(pairs) > 0 {
				labels = "{" + strings.Join(pairs, ",") + "}"
			}
			switch {
			case m.GetHistogram() != nil:
				out[f.GetName()+"_count"+labels] = float64(m.GetHistogram().GetSampleCount())
				out[f.GetName()+"_sum"+labels] = m.GetHistogram().GetSampleSum()
			case m.GetCounter() != nil:
				out[f.GetName()+labels] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[f.GetName()+labels] = m.GetGauge().GetValue()
			case m.GetUntyped() != nil:
				out[f.GetName()+labels] = m.GetUntyped().GetValue()
			}
		}
	}
	return out
}
