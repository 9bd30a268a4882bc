package cards_test

import (
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/metrics/metricstest"
)

// TestScanLagMetric: the lag is the age of the oldest due check by the
// board's clock, 0 when nothing is due, and drops once a scan has taken
// the due case (L is final after it; A's next check is in the future).
func TestScanLagMetric(t *testing.T) {
	f := newFixture(t)
	steps := []struct {
		name string
		now  time.Time
		act  func()
		lag  float64 // seconds
	}{
		{name: "no cases", now: at("2026-11-02 09:00"), lag: 0},
		{name: "L due 10 min ago, A due tomorrow", now: at("2026-11-02 09:00"), act: func() {
			f.insertCase(caseSpec{Serial: "L", Item: "IT-2", Status: "accepted", Promised: ptr(end("2026-11-02")),
				Legal: ptr(end("2026-11-03")), NextCheck: ptr(at("2026-11-02 08:50"))})
			f.insertCase(caseSpec{Serial: "A", Item: "IT-1", Status: "accepted", Promised: ptr(end("2026-11-10")),
				Legal: ptr(end("2026-11-12")), NextCheck: ptr(at("2026-11-03 09:30"))})
		}, lag: 600},
		{name: "five minutes on, no scan", now: at("2026-11-02 09:05"), lag: 900},
		{name: "scanned: nothing due", now: at("2026-11-02 09:05"), act: func() { f.scanAt(at("2026-11-02 09:05")) }, lag: 0},
		{name: "B due a minute ago", now: at("2026-11-02 09:06"), act: func() {
			f.insertCase(caseSpec{Serial: "B", Item: "IT-1", Status: "accepted", Promised: ptr(end("2026-11-10")),
				Legal: ptr(end("2026-11-12")), NextCheck: ptr(at("2026-11-02 09:05"))})
		}, lag: 60},
	}
	for _, s := range steps {
		if s.act != nil {
			s.act()
		}
		f.clock.Set(s.now)
		if got := metricstest.Collect(t, f.board.Collector())["onewindow_scan_lag_seconds"]; got != s.lag {
			t.Errorf("%s: scan lag %v s, want %v", s.name, got, s.lag)
		}
	}
}
