package metrics

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// The pool's metrics, read from pgxpool.Stat at each scrape. A pool is
// saturated when acquired reaches max: requests then wait for a
// connection, which the acquire-wait counters show.
var (
	poolAcquired = NewDesc("onewindow_db_pool_acquired_connections",
		"Connections of the function's pool in use right now.", false, "function")
	poolIdle = NewDesc("onewindow_db_pool_idle_connections",
		"Open connections of the pool waiting for work.", false, "function")
	poolTotal = NewDesc("onewindow_db_pool_connections",
		"Open connections of the pool, in use, idle or being opened.", false, "function")
	poolMax = NewDesc("onewindow_db_pool_max_connections",
		"The most connections the pool opens (DB_MAX_CONNS).", false, "function")
	poolWaits = NewDesc("onewindow_db_pool_acquire_waits_total",
		"Acquires that had to wait because every connection was in use.", false, "function")
	poolWaitSeconds = NewDesc("onewindow_db_pool_acquire_wait_seconds_total",
		"Time acquires spent waiting for a connection, in seconds.", false, "function")
)

// poolCollector reports one pool under the function label.
type poolCollector struct {
	function string
	pool     *pgxpool.Pool
}

// PoolCollector reports pool's use, labelled with function, at every
// scrape. Register it once the pool is open.
func PoolCollector(function string, pool *pgxpool.Pool) prometheus.Collector {
	return &poolCollector{function: function, pool: pool}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolAcquired, poolIdle, poolTotal, poolMax, poolWaits, poolWaitSeconds} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, c.function)
	}
	gauge(poolAcquired, float64(s.AcquiredConns()))
	gauge(poolIdle, float64(s.IdleConns()))
	gauge(poolTotal, float64(s.TotalConns()))
	gauge(poolMax, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(s.EmptyAcquireCount()), c.function)
	ch <- prometheus.MustNewConstMetric(poolWaitSeconds, prometheus.CounterValue, s.EmptyAcquireWaitTime().Seconds(), c.function)
}
