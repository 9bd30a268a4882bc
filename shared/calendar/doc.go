// Package calendar is the working-day calendar of contract section 6: which
// Asia/Shanghai dates are working days (Monday to Friday unless a holiday,
// plus the make-up workdays 调休), the deadlines counted in them (WD, the
// immediate-item due time), the working days spent in special procedures,
// and the per-year data behind it: the State Council schedules shipped
// with the package, replaced year by year by what an admin stores through
// PUT /calendar/{year}.
//
// A Calendar is an immutable value, safe for concurrent use and cheap to
// query: deadlines are computed from a table of running working-day counts,
// without allocating. Functions get the current one from a Store:
//
//	cals := calendar.NewStore(pool, calendar.StoreConfig{}) // once per process
//	cal, err := cals.Calendar(ctx)                          // cached for 30 s
//	acceptBy := cal.WD(receivedAt, acceptDays)
package calendar
