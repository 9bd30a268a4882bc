package payments

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/onewindow/onewindow/shared/metrics/metricstest"
)

// TestCountDuplicate: only a committed repeat of a notifyId counts.
func TestCountDuplicate(t *testing.T) {
	const series = `onewindow_callback_duplicates_total{callback="payment"}`
	tests := []struct {
		out  Outcome
		err  error
		want float64
	}{
		{OutcomeDuplicate, nil, 1},
		{OutcomeDuplicateConflict, nil, 1},
		{OutcomePaid, nil, 0},
		{OutcomeDuplicate, errors.New("commit failed"), 0},
	}
	for _, tt := range tests {
		before := metricstest.Gather(t, prometheus.DefaultGatherer)[series]
		countDuplicate(tt.out, tt.err)
		if got := metricstest.Gather(t, prometheus.DefaultGatherer)[series] - before; got != tt.want {
			t.Errorf("%s, err %v: counted %v, want %v", tt.out, tt.err, got, tt.want)
		}
	}
}
