// Package monitoring holds OneWindow's Prometheus alert rules
// (alerts.yml) and the test that keeps every metric they name in step with
// the metrics shared/ defines.
package monitoring
