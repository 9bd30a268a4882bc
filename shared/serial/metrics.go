package serial

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/onewindow/onewindow/shared/metrics"
)

// What an allocator holds in memory, per replica: the numbers that become
// gaps if the replica dies now. Blocks in hand count the current and the
// prefetched block of every key that still has numbers left.
var (
	blocksInHand = metrics.NewDesc("onewindow_serial_blocks_in_hand",
		"Reserved blocks of sequence numbers this replica holds with numbers left, over every region, channel and date.", false)
	numbersInHand = metrics.NewDesc("onewindow_serial_numbers_in_hand",
		"Reserved sequence numbers this replica has not handed out yet; lost as gaps if it stops.", false)
)

// Collector reports the blocks and numbers a holds, at every scrape.
// Register it with metrics.Register where the allocator is made.
func (a *Allocator) Collector() prometheus.Collector { return holdings{a} }

type holdings struct{ a *Allocator }

func (h holdings) Describe(ch chan<- *prometheus.Desc) {
	ch <- blocksInHand
	ch <- numbersInHand
}

func (h holdings) Collect(ch chan<- prometheus.Metric) {
	blocks, numbers := h.a.inHand()
	ch <- prometheus.MustNewConstMetric(blocksInHand, prometheus.GaugeValue, float64(blocks))
	ch <- prometheus.MustNewConstMetric(numbersInHand, prometheus.GaugeValue, float64(numbers))
}

// inHand counts the non-empty blocks and the numbers left in them. The
// counters are copied out under a.mu and read one at a time under their
// own lock: IssueInto takes c.mu before a.mu, so holding a.mu while
// taking c.mu could deadlock.
func (a *Allocator) inHand() (blocks, numbers int) {
	a.mu.Lock()
	counters := make([]*counter, 0, len(a.counters))
	for _, c := range a.counters {
		counters = append(counters, c)
	}
	a.mu.Unlock()
	for _, c := range counters {
		c.mu.Lock()
		for _, b := range []block{c.cur, c.next} {
			if b.remaining() > 0 {
				blocks++
				numbers += b.remaining()
			}
		}
		c.mu.Unlock()
	}
	return blocks, numbers
}
