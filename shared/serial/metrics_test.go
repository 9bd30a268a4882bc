package serial

import (
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/metrics/metricstest"
)

// TestHoldingsMetrics: the gauges follow the blocks in memory, the
// prefetched one included, and count only numbers not yet handed out.
func TestHoldingsMetrics(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, Shanghai)}
	a := newAllocator(t, &fakeDB{}, Config{MinBlock: 8, Now: clock.Now})
	a.testSignals.reserved.ListenAll(16)

	steps := []struct {
		name           string
		issue          int
		reserves       string // the reservation the issue makes: "", "on demand" or "prefetch"
		blocks, number float64
	}{
		{name: "nothing issued yet", blocks: 0, number: 0},
		{name: "first block of 8, one used", issue: 1, reserves: "on demand", blocks: 1, number: 7},
		{name: "half used: prefetched block of 16", issue: 3, reserves: "prefetch", blocks: 2, number: 4 + 16},
		{name: "first block used up", issue: 4, blocks: 1, number: 16},
	}
	for _, s := range steps {
		if s.issue > 0 {
			mustIssue(t, a, "130100", Online, s.issue)
		}
		if s.reserves != "" {
			// The block is in memory once the reservation has signalled.
			if ev := waitOrTimeout(t, &a.testSignals.reserved); ev.prefetch != (s.reserves == "prefetch") || ev.err != nil {
				t.Fatalf("%s: reservation %+v, want %s", s.name, ev, s.reserves)
			}
		}
		none(t, &a.testSignals.reserved)
		got := metricstest.Collect(t, a.Collector())
		if got["onewindow_serial_blocks_in_hand"] != s.blocks || got["onewindow_serial_numbers_in_hand"] != s.number {
			t.Errorf("%s: got %v; want %v blocks and %v numbers in hand", s.name, got, s.blocks, s.number)
		}
	}
}
