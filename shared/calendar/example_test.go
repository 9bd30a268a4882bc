package calendar_test

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/shared/calendar"
)

func ExampleCalendar_WD() {
	cal := calendar.Official()
	received := time.Date(2026, 9, 30, 10, 0, 0, 0, calendar.Shanghai)
	// Three working days after 9-30: 10-08, 10-09 and the make-up 10-10.
	fmt.Println(cal.WD(received, 3).Format(time.RFC3339Nano))
	// Output: 2026-10-10T23:59:59.999+08:00
}

func ExampleCalendar_ImmediateDue() {
	cal := calendar.Official()
	accepted := time.Date(2026, 10, 3, 15, 0, 0, 0, calendar.Shanghai) // 国庆
	fmt.Println(cal.ImmediateDue(accepted).Format(time.RFC3339Nano))
	// Output: 2026-10-08T23:59:59.999+08:00
}

func ExampleCalendar_SpecialDays() {
	cal := calendar.Official()
	sh := calendar.Shanghai
	procedures := []calendar.Interval{
		{Start: time.Date(2026, 9, 30, 9, 0, 0, 0, sh), End: time.Date(2026, 10, 12, 9, 0, 0, 0, sh)},
		{Start: time.Date(2026, 10, 12, 11, 0, 0, 0, sh)}, // still running
	}
	now := time.Date(2026, 10, 14, 15, 0, 0, 0, sh)
	fmt.Println(cal.SpecialDays(procedures, now))
	// Output: 6
}

func ExampleParseYear() {
	_, err := calendar.ParseYear(2027, calendar.YearInput{
		Holidays: []string{"2027-10-01", "2027-10-01"},
		Workdays: []string{"2027-09-27"},
	})
	fmt.Println(err)
	// Output: 422 validation_failed: 2 field(s) failed validation
}

// Warning-scan serves PUT /calendar/{year} like this; the handler has
// decoded the body and checked the caller is an admin.
func ExampleStore_Put() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://localhost/onewindow")
	if err != nil {
		panic(err)
	}
	cals := calendar.NewStore(pool, calendar.StoreConfig{})
	year, err := calendar.ParseYear(2027, calendar.YearInput{
		Holidays: []string{"2027-01-01"},
		Workdays: []string{},
	})
	if err != nil {
		panic(err) // the 422 to answer
	}
	stored, err := cals.Put(ctx, "admin-app", year)
	if err != nil {
		panic(err)
	}
	fmt.Println(stored.Source)
}
