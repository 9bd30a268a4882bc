package calendar

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// NotifyChannel is the PostgreSQL channel every stored change of a year
// notifies, with the year as payload, so that warning-scan can recompute
// the deadlines the change moves.
const NotifyChannel = "calendar_changed"

// DefaultTTL is how long a Store keeps the calendar it loaded.
const DefaultTTL = 30 * time.Second

// StoreConfig tunes a Store. The zero value is the production setting.
type StoreConfig struct {
	// TTL is how long the loaded calendar is used before the next call
	// reloads it. Default DefaultTTL. A PUT through this Store shows at
	// once; one through another replica within TTL.
	TTL time.Duration
	// Now is the clock that ages the cached calendar. Default time.Now.
	Now func() time.Time
}

// Store keeps the years admins PUT in table calendar_years (migration
// 0030_calendar.sql) and serves the calendar to compute with: the shipped
// official data with each stored year replacing that year. Safe for
// concurrent use; one per process.
type Store struct {
	db  *pgxpool.Pool
	ttl time.Duration
	now func() time.Time

	// loading admits one load at a time, so that a burst of calls after
	// expiry costs one query.
	loading chan struct{}

	mu       sync.Mutex
	cached   *Calendar // nil: load on next call
	loadedAt time.Time
	// gen counts invalidations: a load that started before a Put
	// committed may have read the old rows and must not be cached.
	gen uint64
}

// NewStore returns a Store over db. It does not touch the database.
func NewStore(db *pgxpool.Pool, cfg StoreConfig) *Store {
	s := &Store{
		db:      db,
		ttl:     cmp.Or(cfg.TTL, DefaultTTL),
		now:     cfg.Now,
		loading: make(chan struct{}, 1),
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Calendar returns the calendar to compute with, loading it with one query
// when the cached copy is older than the TTL or was invalidated by Put.
func (s *Store) Calendar(ctx context.Context) (*Calendar, error) {
	if c := s.fresh(); c != nil {
		return c, nil
	}
	select {
	case s.loading <- struct{}{}:
		defer func() { <-s.loading }()
	case <-ctx.Done():
		return nil, fmt.Errorf("load working-day calendar: %w", ctx.Err())
	}
	if c := s.fresh(); c != nil { // loaded while this call waited
		return c, nil
	}
	s.mu.Lock()
	gen := s.gen
	s.mu.Unlock()
	at := s.now()
	c, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.gen == gen {
		s.cached, s.loadedAt = c, at
	}
	s.mu.Unlock()
	return c, nil
}

// Current loads the calendar from the database, bypassing the cache, and
// refreshes the cache with it. The scan uses it: a calendar PUT on another
// replica must count at the very next scan, not a TTL later.
func (s *Store) Current(ctx context.Context) (*Calendar, error) {
	s.invalidate()
	return s.Calendar(ctx)
}

func (s *Store) fresh() *Calendar {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cached == nil || s.now().Sub(s.loadedAt) >= s.ttl {
		return nil
	}
	return s.cached
}

func (s *Store) invalidate() {
	s.mu.Lock()
	s.cached = nil
	s.gen++
	s.mu.Unlock()
}

// load reads every stored year (a handful of rows) and merges them over
// the official data.
func (s *Store) load(ctx context.Context) (*Calendar, error) {
	rows, err := s.db.Query(ctx, `SELECT year, holidays, workdays FROM calendar_years`)
	if err != nil {
		return nil, fmt.Errorf("load working-day calendar: %w", err)
	}
	byYear := make(map[int]Year, len(official)+4)
	for y, data := range official {
		byYear[y] = data
	}
	var (
		year               int
		holidays, workdays []time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&year, &holidays, &workdays}, func() error {
		byYear[year] = Year{Year: year, Holidays: datesOf(holidays), Workdays: datesOf(workdays)}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load working-day calendar: %w", err)
	}
	years := make([]Year, 0, len(byYear))
	for _, y := range byYear {
		years = append(years, y)
	}
	c, err := New(years...)
	if err != nil {
		return nil, fmt.Errorf("load working-day calendar: %w", err)
	}
	return c, nil
}

// Get returns year's data as GET /calendar/{year} shows it: the stored
// row, else the official data, else an empty year with Source none.
func (s *Store) Get(ctx context.Context, year int) (Year, error) {
	y := Year{Year: year, Holidays: []Date{}, Workdays: []Date{}, Source: SourceNone}
	if year < MinYear || year > MaxYear {
		return y, nil
	}
	var holidays, workdays []time.Time
	err := s.db.QueryRow(ctx, `
		SELECT holidays, workdays, updated_at, updated_by FROM calendar_years WHERE year = $1`,
		year).Scan(&holidays, &workdays, &y.UpdatedAt, &y.UpdatedBy)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if o, ok := official[year]; ok {
			o.Holidays, o.Workdays = slices.Clone(o.Holidays), slices.Clone(o.Workdays)
			return o, nil
		}
		return y, nil
	case err != nil:
		return Year{}, fmt.Errorf("get calendar year %d: %w", year, err)
	}
	y.Holidays, y.Workdays = datesOf(holidays), datesOf(workdays)
	y.UpdatedAt = y.UpdatedAt.In(Shanghai)
	y.Source = SourceStored
	return y, nil
}

// Put stores y (from ParseYear) as written by the app by, replacing the
// official data of that year, and notifies NotifyChannel in the same
// transaction. Data equal to what is stored changes nothing and notifies
// no one. It returns the year as stored; invalid data is the 422 of
// ParseYear.
func (s *Store) Put(ctx context.Context, by string, y Year) (Year, error) {
	if err := y.check(); err != nil {
		return Year{}, err
	}
	y.Holidays, y.Workdays = sortedDates(y.Holidays), sortedDates(y.Workdays)
	changed := false
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		// The WHERE leaves an identical row, its time and author, alone.
		err := tx.QueryRow(ctx, `
			INSERT INTO calendar_years (year, holidays, workdays, updated_at, updated_by)
			VALUES ($1, $2, $3, now(), $4)
			ON CONFLICT (year) DO UPDATE SET holidays = excluded.holidays, workdays = excluded.workdays,
				updated_at = excluded.updated_at, updated_by = excluded.updated_by
			WHERE (calendar_years.holidays, calendar_years.workdays)
				IS DISTINCT FROM (excluded.holidays, excluded.workdays)
			RETURNING updated_at, updated_by`,
			y.Year, timesOf(y.Holidays), timesOf(y.Workdays), by).Scan(&y.UpdatedAt, &y.UpdatedBy)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
		changed = true
		// Delivered to listeners when the transaction commits.
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, strconv.Itoa(y.Year)); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
		return nil
	})
	if err != nil {
		return Year{}, fmt.Errorf("put calendar year %d: %w", y.Year, err)
	}
	if !changed {
		return s.Get(ctx, y.Year)
	}
	s.invalidate()
	y.UpdatedAt = y.UpdatedAt.In(Shanghai)
	y.Source, y.Basis = SourceStored, ""
	return y, nil
}

// A date column reads and writes as midnight UTC of its date.

func timesOf(dates []Date) []time.Time {
	out := make([]time.Time, len(dates))
	for i, d := range dates {
		out[i] = time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
	}
	return out
}

func datesOf(times []time.Time) []Date {
	out := make([]Date, len(times))
	for i, t := range times {
		y, m, d := t.Date()
		out[i] = Date{y, m, d}
	}
	return sortedDates(out)
}
