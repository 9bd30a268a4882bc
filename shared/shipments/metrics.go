package shipments

import "github.com/onewindow/onewindow/shared/metrics"

// duplicateEvents counts courier events that repeated an eventId already
// stored, from an earlier push or within the same one.
var duplicateEvents = metrics.CallbackDuplicates("logistics")

// countDuplicates counts the duplicates of a push once it is committed.
func countDuplicates(r Receipt, err error) {
	if err == nil {
		duplicateEvents.Add(float64(r.Duplicates))
	}
}
