package cards

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/onewindow/onewindow/shared/metrics/metricstest"
)

// TestObserveScan: a completed scan adds its counts and one duration; a
// scan that found another running records nothing.
func TestObserveScan(t *testing.T) {
	read := func() map[string]float64 { return metricstest.Gather(t, prometheus.DefaultGatherer) }
	tests := []struct {
		name                      string
		rep                       Report
		took                      time.Duration
		scans, cases, issued, esc float64 // increments
	}{
		{"completed", Report{Scanned: 7, Issued: 2, Escalated: 1}, 1500 * time.Millisecond, 1, 7, 2, 1},
		{"nothing due", Report{}, 20 * time.Millisecond, 1, 0, 0, 0},
		{"another scan running", Report{Running: true, Scanned: 9}, time.Millisecond, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := read()
			observeScan(tt.rep, tt.took)
			after := read()
			for name, want := range map[string]float64{
				"onewindow_scan_duration_seconds_count": tt.scans,
				"onewindow_scan_cases_total":            tt.cases,
				"onewindow_cards_issued_total":          tt.issued,
				"onewindow_cards_escalated_total":       tt.esc,
			} {
				if got := after[name] - before[name]; got != want {
					t.Errorf("%s went up by %v, want %v", name, got, want)
				}
			}
			if tt.scans > 0 && after["onewindow_scan_last_duration_seconds"] != tt.took.Seconds() {
				t.Errorf("last duration %v, want %v", after["onewindow_scan_last_duration_seconds"], tt.took.Seconds())
			}
		})
	}
}
