package cards

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/onewindow/onewindow/shared/metrics"
)

// What the scan did, recorded by the replica that ran it. The duration
// histogram's count is the number of scans completed: an alert on its
// increase catches a schedule that stopped firing.
var (
	scanDuration = metrics.NewHistogram("onewindow_scan_duration_seconds",
		"Duration of completed supervision scans in seconds (a scan that found another running is not counted).",
		[]float64{.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300})
	scanLastDuration = metrics.NewGauge("onewindow_scan_last_duration_seconds",
		"Duration of the last scan this replica completed, in seconds.")
	scannedCases = metrics.NewCounter("onewindow_scan_cases_total",
		"Due cases the supervision scans evaluated.")
	cardsIssued = metrics.NewCounter("onewindow_cards_issued_total",
		"Cards (yellow, red, black) the supervision scans issued.")
	cardsEscalated = metrics.NewCounter("onewindow_cards_escalated_total",
		"Cards the supervision scans escalated to a graver level.")
)

// observeScan records a completed scan that took took.
func observeScan(rep Report, took time.Duration) {
	if rep.Running {
		return // another replica's scan is the one that counts
	}
	scanDuration.Observe(took.Seconds())
	scanLastDuration.Set(took.Seconds())
	scannedCases.Add(float64(rep.Scanned))
	cardsIssued.Add(float64(rep.Issued))
	cardsEscalated.Add(float64(rep.Escalated))
}

// scanLag is how far the scan is behind: now minus the oldest next check
// still due. The scan runs every 5 minutes and takes every due case, so
// it stays under that while the scan keeps up.
var scanLag = metrics.NewDesc("onewindow_scan_lag_seconds",
	"Seconds since the oldest due check of an open case (next_check_at), 0 when none is due.", false)

// scrapeQueryTimeout bounds the lag query of one scrape: Collect has no
// context of its own, and a slow database must not stall the scrape.
const scrapeQueryTimeout = 2 * time.Second

// oldestCheckSQL reads the earliest next check of an open case (final
// cases have none). Index cases_next_check answers min() from its first
// entry.
const oldestCheckSQL = `SELECT min(next_check_at) FROM cases WHERE next_check_at IS NOT NULL`

// Collector reports the scan lag at every scrape, with one query.
// Register it (metrics.Register) in the function that runs the scan.
func (b *Board) Collector() prometheus.Collector { return lag{b} }

type lag struct{ b *Board }

func (l lag) Describe(ch chan<- *prometheus.Desc) { ch <- scanLag }

// Collect reports nothing when the query fails (logged): the other metrics
// of the scrape still arrive, and the outage shows in the request metrics.
func (l lag) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeQueryTimeout)
	defer cancel()
	var oldest *time.Time
	if err := l.b.db.QueryRow(ctx, oldestCheckSQL).Scan(&oldest); err != nil {
		slog.WarnContext(ctx, "scan metrics: read the oldest due check", "err", err)
		return
	}
	seconds := 0.0
	if oldest != nil {
		seconds = max(l.b.now().Sub(*oldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(scanLag, prometheus.GaugeValue, seconds)
}
