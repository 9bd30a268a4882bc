package metrics

import "github.com/prometheus/client_golang/prometheus"

// callbackDuplicates is one family for both providers' callbacks, so one
// alert rule watches them; each package takes its child.
var callbackDuplicates = NewCounterVec("onewindow_callback_duplicates_total",
	"Repeats of what a provider had already delivered, after they were committed: payment notifications "+
		"repeating a notifyId, courier events repeating an eventId. By callback: payment or logistics.",
	"callback")

// CallbackDuplicates is the duplicates counter of callback ("payment",
// "logistics"). Taking it in a package variable exports it at 0 from the
// start, so an alert on its increase sees the first repeat.
func CallbackDuplicates(callback string) prometheus.Counter {
	return callbackDuplicates.WithLabelValues(callback)
}
