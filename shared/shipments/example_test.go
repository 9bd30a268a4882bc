package shipments_test

import (
	"fmt"
	"time"

	"github.com/onewindow/onewindow/shared/shipments"
)

// The status of a shipment is decided by its events, not by the order they
// arrived in: the latest event wins, except that once a parcel is
// delivered or returned, no later event changes that.
func ExampleCurrent() {
	at := func(hhmm string) time.Time {
		t, _ := time.Parse("2006-01-02T15:04Z07:00", "2026-11-23T"+hhmm+"+08:00")
		return t
	}
	events := []shipments.Event{
		{EventID: "e3", Status: shipments.StatusDelivered, At: at("15:10")},
		{EventID: "e1", Status: shipments.StatusPickedUp, At: at("09:00")},
		{EventID: "e4", Status: shipments.StatusInTransit, At: at("16:00")}, // a scan after delivery: too late
		{EventID: "e2", Status: shipments.StatusOutForDelivery, At: at("13:30")},
	}
	current, _ := shipments.Current(events)
	fmt.Println(current.EventID, current.Status)
	// Output: e3 delivered
}
