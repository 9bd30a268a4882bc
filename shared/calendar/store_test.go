package calendar

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/testenv"
)

// clock is a settable StoreConfig.Now, so tests age the cache without
// sleeping.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 9, 1, 9, 0, 0, 0, Shanghai).UnixNano())
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func mustParse(t *testing.T, year int, in YearInput) Year {
	t.Helper()
	y, err := ParseYear(year, in)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

func TestStorePutGet(t *testing.T) {
	ctx := t.Context()
	s := NewStore(testenv.Pool(t), StoreConfig{})

	got, err := s.Get(ctx, 2027)
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != SourceNone || got.Holidays == nil || len(got.Holidays) != 0 || got.Workdays == nil {
		t.Errorf("Get(2027) before any PUT = %+v, want source none with empty lists", got)
	}
	got, err = s.Get(ctx, 2026)
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != SourceOfficial || got.Basis != "国办发明电〔2025〕7号" || !slices.Equal(got.Holidays, official[2026].Holidays) {
		t.Errorf("Get(2026) = %+v, want the official data", got)
	}

	in := YearInput{Holidays: []string{"2027-10-01", "2027-01-01"}, Workdays: []string{"2027-09-26"}}
	put, err := s.Put(ctx, "admin-1", mustParse(t, 2027, in))
	if err != nil {
		t.Fatal(err)
	}
	got, err = s.Get(ctx, 2027)
	if err != nil {
		t.Fatal(err)
	}
	wantHolidays := []Date{{2027, time.January, 1}, {2027, time.October, 1}}
	if got.Source != SourceStored || got.UpdatedBy != "admin-1" || got.UpdatedAt.IsZero() ||
		!got.UpdatedAt.Equal(put.UpdatedAt) || got.UpdatedAt.Location() != Shanghai ||
		!slices.Equal(got.Holidays, wantHolidays) || !slices.Equal(got.Workdays, []Date{{2027, time.September, 26}}) {
		t.Errorf("Get after Put = %+v\nPut returned %+v", got, put)
	}

	// The same data again changes nothing: time and author stay.
	again, err := s.Put(ctx, "admin-2", mustParse(t, 2027, in))
	if err != nil {
		t.Fatal(err)
	}
	if again.UpdatedBy != "admin-1" || !again.UpdatedAt.Equal(put.UpdatedAt) {
		t.Errorf("identical Put = %+v, want the stored row unchanged", again)
	}
	in.Workdays = nil
	changed, err := s.Put(ctx, "admin-2", mustParse(t, 2027, in))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, 2027); changed.UpdatedBy != "admin-2" || got.UpdatedBy != "admin-2" || len(got.Workdays) != 0 {
		t.Errorf("changed Put = %+v, Get = %+v", changed, got)
	}
}

func TestStoredYearOverridesOfficial(t *testing.T) {
	ctx := t.Context()
	pool := testenv.Pool(t)
	clk := newClock()
	writer := NewStore(pool, StoreConfig{})
	replica := NewStore(pool, StoreConfig{TTL: 30 * time.Second, Now: clk.now})

	oct8 := Date{2026, time.October, 8}
	for name, s := range map[string]*Store{"writer": writer, "replica": replica} {
		cal, err := s.Calendar(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !cal.IsWorkday(oct8) || !cal.HasYear(2025) || cal.HasYear(2027) {
			t.Fatalf("%s: calendar before PUT is not the official one", name)
		}
	}

	// An admin moves 国庆 2026 one day on and adds 2027.
	moved := official[2026]
	moved.Holidays = append(slices.Clone(moved.Holidays), oct8)
	if _, err := writer.Put(ctx, "admin", moved); err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Put(ctx, "admin", mustParse(t, 2027, YearInput{Holidays: []string{"2027-01-01"}})); err != nil {
		t.Fatal(err)
	}

	// The writer sees it at once.
	cal, err := writer.Calendar(ctx)
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 9, 30, 10, 0, 0, 0, Shanghai)
	if cal.IsWorkday(oct8) || !cal.WD(from, 1).Equal(Date{2026, time.October, 9}.End()) {
		t.Errorf("writer: 2026-10-08 still a working day after PUT")
	}
	if !cal.HasYear(2027) || cal.IsWorkday(Date{2027, time.January, 1}) || !cal.IsWorkday(Date{2025, time.October, 9}) {
		t.Errorf("writer: stored 2027 or official 2025 missing")
	}
	if y, _ := writer.Get(ctx, 2026); y.Source != SourceStored || y.Basis != "" {
		t.Errorf("Get(2026) after PUT: source %s, basis %q", y.Source, y.Basis)
	}

	// Another replica keeps its copy for the TTL, then reloads.
	clk.advance(29 * time.Second)
	if cal, _ := replica.Calendar(ctx); !cal.IsWorkday(oct8) {
		t.Errorf("replica reloaded before its TTL")
	}
	clk.advance(time.Second)
	cal, err = replica.Calendar(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cal.IsWorkday(oct8) || !cal.HasYear(2027) {
		t.Errorf("replica: stale calendar after the TTL")
	}
}

func TestPutNotifies(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	pool := testenv.Pool(t)
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		t.Fatal(err)
	}
	s := NewStore(pool, StoreConfig{})
	y2027 := mustParse(t, 2027, YearInput{Holidays: []string{"2027-01-01"}})
	for _, step := range []struct {
		year Year
		want string // the next notification's payload
	}{
		{y2027, "2027"},
		{y2027, ""}, // unchanged: nothing
		{mustParse(t, 2028, YearInput{Holidays: []string{}}), "2028"},
	} {
		if _, err := s.Put(ctx, "admin", step.year); err != nil {
			t.Fatal(err)
		}
		if step.want == "" {
			continue
		}
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n.Channel != NotifyChannel || n.Payload != step.want {
			t.Errorf("notification %s %q, want %s %q", n.Channel, n.Payload, NotifyChannel, step.want)
		}
	}
}

func TestPutRejectsInvalid(t *testing.T) {
	ctx := t.Context()
	s := NewStore(testenv.Pool(t), StoreConfig{})
	bad := Year{Year: 2027,
		Holidays: []Date{{2027, time.October, 2}, {2026, time.October, 1}},
		Workdays: []Date{{2027, time.October, 2}, {2027, time.October, 4}}, // Saturday, Monday
	}
	_, err := s.Put(ctx, "admin", bad)
	p, ok := problem.As(err)
	if !ok || p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("Put(bad) error %v, want a 422", err)
	}
	var fields []string
	for _, e := range p.Errors {
		fields = append(fields, e.Field+" "+e.Code)
	}
	want := []string{"holidays.1 outside_year", "workdays.0 holiday_and_workday", "workdays.1 not_weekend"}
	if !slices.Equal(fields, want) {
		t.Errorf("errors %v, want %v", fields, want)
	}
	if y, err := s.Get(ctx, 2027); err != nil || y.Source != SourceNone {
		t.Errorf("Get after rejected Put = %+v, %v; want nothing stored", y, err)
	}
}

// TestCalendarConcurrent: readers and a writer at once (run with -race).
func TestCalendarConcurrent(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	s := NewStore(testenv.Pool(t), StoreConfig{TTL: time.Second, Now: clk.now})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				cal, err := s.Calendar(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				_ = cal.WD(clk.now(), 10)
				clk.advance(100 * time.Millisecond)
			}
		})
	}
	for i := range 5 {
		holidays := []string{}
		for d := range i {
			holidays = append(holidays, Date{2027, time.March, 1}.AddDays(d).String())
		}
		if _, err := s.Put(ctx, "admin", mustParse(t, 2027, YearInput{Holidays: holidays})); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	cal, err := s.Calendar(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// After the last Put, 2027-03-01 to 03-04 are holidays.
	if cal.IsWorkday(Date{2027, time.March, 4}) || !cal.IsWorkday(Date{2027, time.March, 5}) {
		t.Errorf("calendar after concurrent use does not hold the last Put")
	}
}
