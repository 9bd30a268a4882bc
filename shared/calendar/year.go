package calendar

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/onewindow/onewindow/shared/problem"
)

// The years a calendar may hold data for. PUT /calendar/{year} outside
// them is a 422; dates outside them count weekdays only.
const (
	MinYear = 2000
	MaxYear = 2199
)

// maxDates caps each list of a year: a year has at most 366 distinct
// dates, and the cap keeps a hostile body from producing a million errors.
const maxDates = 366

// Source tells where a year's data comes from.
type Source string

const (
	// SourceStored: an admin's PUT /calendar/{year}, which replaces the
	// shipped schedule of that year.
	SourceStored Source = "stored"
	// SourceOfficial: the State Council schedule shipped with the package.
	SourceOfficial Source = "official"
	// SourceNone: no data; the year counts weekdays only.
	SourceNone Source = "none"
)

// Year is one year's data, in the JSON shape of GET /calendar/{year}:
// {"year","holidays":["2026-10-01",...],"workdays":["2026-09-20",...],
// "source",...}. Holidays and Workdays (make-up workdays, 调休) are
// ascending, without duplicates, never null in JSON.
type Year struct {
	Year     int    `json:"year"`
	Holidays []Date `json:"holidays"`
	Workdays []Date `json:"workdays"`
	Source   Source `json:"source"`
	// Basis names the notice the data follows, e.g. 国办发明电〔2025〕7号;
	// set for official data only.
	Basis string `json:"basis,omitempty"`
	// UpdatedAt and UpdatedBy (the admin app) are set for stored data only.
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
	UpdatedBy string    `json:"updatedBy,omitempty"`
}

// YearInput is the body of PUT /calendar/{year}. Dates stay strings here
// so that ParseYear can name each bad one by its index.
type YearInput struct {
	Holidays []string `json:"holidays"`
	Workdays []string `json:"workdays"`
}

// ParseYear checks the body of PUT /calendar/{year} and returns the year's
// data (Source stored, dates sorted). Every problem is reported at once in
// one 422 validation_failed (*problem.Problem), its fields dotted paths:
//
//   - year: out_of_range (not MinYear..MaxYear)
//   - holidays: required (absent or null; send [] for none)
//   - holidays, workdays: too_many (more than 366 dates)
//   - holidays.N, workdays.N: invalid_date (not YYYY-MM-DD), outside_year,
//     duplicate (the later of two equal entries)
//   - workdays.N: not_weekend (a make-up workday must fall on a Saturday or
//     Sunday), holiday_and_workday (also listed as a holiday)
func ParseYear(year int, in YearInput) (Year, error) {
	return validYear(year, in.Holidays == nil, in.Holidays, in.Workdays, func(s string) (Date, bool) {
		d, err := ParseDate(s)
		return d, err == nil
	})
}

// check applies ParseYear's rules to data that did not come from a body
// (shipped files, database rows, callers of New and Put).
func (y Year) check() error {
	_, err := validYear(y.Year, false, y.Holidays, y.Workdays, func(d Date) (Date, bool) { return d, d.Valid() })
	return err
}

// validYear is ParseYear over lists of text or of Dates; parse turns an
// entry into a date.
func validYear[T any](year int, noHolidays bool, holidayList, workdayList []T, parse func(T) (Date, bool)) (Year, error) {
	var v problem.Validation
	if year < MinYear || year > MaxYear {
		v.Addf("year", "out_of_range", "year must be %d to %d, not %d", MinYear, MaxYear, year)
		return Year{}, v.Err()
	}
	if noHolidays {
		v.Add("holidays", "required", "list the year's holidays ([] for none)")
	}
	holidays, holidayAt := validDates(&v, "holidays", year, holidayList, parse)
	workdays, workdayAt := validDates(&v, "workdays", year, workdayList, parse)
	for _, d := range workdays {
		path := "workdays." + strconv.Itoa(workdayAt[d])
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			v.Addf(path, "not_weekend", "a make-up workday falls on a Saturday or Sunday; %s is a %s", d, wd)
		}
		if i, ok := holidayAt[d]; ok {
			v.Addf(path, "holiday_and_workday", "%s is also holidays.%d", d, i)
		}
	}
	if err := v.Err(); err != nil {
		return Year{}, err
	}
	return Year{Year: year, Holidays: sortedDates(holidays), Workdays: sortedDates(workdays), Source: SourceStored}, nil
}

// validDates checks one list, recording its problems in v, and returns the
// valid dates in list order without duplicates, and the index of each.
func validDates[T any](v *problem.Validation, field string, year int, list []T, parse func(T) (Date, bool)) ([]Date, map[Date]int) {
	if len(list) > maxDates {
		v.Addf(field, "too_many", "at most %d dates, not %d", maxDates, len(list))
		return nil, nil
	}
	dates := make([]Date, 0, len(list))
	at := make(map[Date]int, len(list))
	for i, entry := range list {
		path := field + "." + strconv.Itoa(i)
		d, ok := parse(entry)
		switch {
		case !ok:
			v.Addf(path, "invalid_date", "%q is not a date of the form YYYY-MM-DD", fmt.Sprint(entry))
			continue
		case d.Year != year:
			v.Addf(path, "outside_year", "%s is not in %d", d, year)
			continue
		}
		if j, dup := at[d]; dup {
			v.Addf(path, "duplicate", "%s is also %s.%d", d, field, j)
			continue
		}
		dates = append(dates, d)
		at[d] = i
	}
	return dates, at
}

// explain spells out a validation problem's fields, for errors that reach
// a log rather than a client.
func explain(err error) error {
	p, ok := problem.As(err)
	if !ok || len(p.Errors) == 0 {
		return err
	}
	var b strings.Builder
	for i, e := range p.Errors {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", e.Field, e.Message)
	}
	return fmt.Errorf("%w (%s)", err, b.String())
}
