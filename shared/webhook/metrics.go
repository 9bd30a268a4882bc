package webhook

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/onewindow/onewindow/shared/metrics"
)

// The outbox as an operator watches it. Every replica that registers the
// collector reports the same database-wide values: alert on max().
var (
	pendingDeliveries = metrics.NewDesc("onewindow_outbox_pending_deliveries",
		"Deliveries to department systems not yet delivered or parked as failed.", false)
	oldestPendingAge = metrics.NewDesc("onewindow_outbox_oldest_pending_age_seconds",
		"Age of the oldest pending delivery in seconds, 0 when none is pending; deliveries are parked after Config.RetryFor (24 h).", false)
)

// scrapeQueryTimeout bounds the backlog query of one scrape: Collect has
// no context of its own, and a slow database must not stall the scrape.
const scrapeQueryTimeout = 2 * time.Second

// backlogSQL reads the backlog in one statement. Index
// webhook_deliveries_pending (partial, state = 'pending') confines it to
// the pending rows, so its cost grows with the backlog, not the history.
const backlogSQL = `SELECT count(*), min(created_at) FROM webhook_deliveries WHERE state = 'pending'`

// Collector reports the outbox backlog at every scrape, with one query.
// Register it (metrics.Register) in the one function that delivers.
func (d *Deliverer) Collector() prometheus.Collector { return backlog{d} }

type backlog struct{ d *Deliverer }

func (b backlog) Describe(ch chan<- *prometheus.Desc) {
	ch <- pendingDeliveries
	ch <- oldestPendingAge
}

// Collect reports nothing when the query fails (logged): the other metrics
// of the scrape still arrive, and the outage shows in the request metrics.
func (b backlog) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeQueryTimeout)
	defer cancel()
	var pending int64
	var oldest *time.Time
	if err := b.d.db.QueryRow(ctx, backlogSQL).Scan(&pending, &oldest); err != nil {
		b.d.cfg.Logger.WarnContext(ctx, "outbox metrics: read the backlog", "err", err)
		return
	}
	age := 0.0
	if oldest != nil {
		age = max(b.d.cfg.Now().Sub(*oldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(pendingDeliveries, prometheus.GaugeValue, float64(pending))
	ch <- prometheus.MustNewConstMetric(oldestPendingAge, prometheus.GaugeValue, age)
}
