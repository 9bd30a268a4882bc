package payments

import "github.com/onewindow/onewindow/shared/metrics"

// duplicateNotifications counts notifications that repeated a notifyId
// already processed (OutcomeDuplicate and OutcomeDuplicateConflict).
var duplicateNotifications = metrics.CallbackDuplicates("payment")

// countDuplicate counts the outcome of Notify once it is committed.
func countDuplicate(out Outcome, err error) {
	if err == nil && (out == OutcomeDuplicate || out == OutcomeDuplicateConflict) {
		duplicateNotifications.Inc()
	}
}
