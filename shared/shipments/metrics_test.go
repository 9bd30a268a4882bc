package shipments

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/onewindow/onewindow/shared/metrics/metricstest"
)

// TestCountDuplicates: a committed push adds its duplicate events; a
// failed one adds nothing, whatever its receipt says.
func TestCountDuplicates(t *testing.T) {
	const series = `onewindow_callback_duplicates_total{callback="logistics"}`
	tests := []struct {
		name string
		r    Receipt
		err  error
		want float64
	}{
		{"two repeats", Receipt{Accepted: 1, Duplicates: 2}, nil, 2},
		{"all new", Receipt{Accepted: 3}, nil, 0},
		{"not committed", Receipt{Duplicates: 4}, errors.New("commit failed"), 0},
	}
	for _, tt := range tests {
		before := metricstest.Gather(t, prometheus.DefaultGatherer)[series]
		countDuplicates(tt.r, tt.err)
		if got := metricstest.Gather(t, prometheus.DefaultGatherer)[series] - before; got != tt.want {
			t.Errorf("%s: counted %v, want %v", tt.name, got, tt.want)
		}
	}
}
