package calendar

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
)

// The State Council holiday schedules, one file per year (data/YYYY.json):
// {"year","basis","holidays","workdays"} with every day of each holiday
// span listed. A new year's notice is a new file; until it ships, admins
// PUT the year.
//
//go:embed data/*.json
var dataFiles embed.FS

// official is the shipped data by year, and officialCalendar the calendar
// of it alone. The files are part of the build and a test parses them, so
// a bad one fails the tests, never a replica.
var (
	official         = mustLoadOfficial()
	officialCalendar = mustCalendar(official)
)

// Official returns the calendar of the shipped State Council schedules
// alone, for code and tests that have no database. Functions use
// Store.Calendar, which adds the years admins have stored.
func Official() *Calendar { return officialCalendar }

func mustLoadOfficial() map[int]Year {
	years, err := loadOfficial(dataFiles)
	if err != nil {
		panic(err)
	}
	return years
}

func mustCalendar(years map[int]Year) *Calendar {
	list := make([]Year, 0, len(years))
	for _, y := range years {
		list = append(list, y)
	}
	c, err := New(list...)
	if err != nil {
		panic(fmt.Sprintf("shipped calendar data: %v", err))
	}
	return c
}

func loadOfficial(fsys fs.FS) (map[int]Year, error) {
	names, err := fs.Glob(fsys, "data/*.json")
	if err != nil {
		return nil, fmt.Errorf("list shipped calendar data: %w", err)
	}
	years := make(map[int]Year, len(names))
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read shipped calendar %s: %w", name, err)
		}
		var file struct {
			Year  int    `json:"year"`
			Basis string `json:"basis"`
			YearInput
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&file); err != nil {
			return nil, fmt.Errorf("decode shipped calendar %s: %w", name, err)
		}
		y, err := ParseYear(file.Year, file.YearInput)
		if err != nil {
			return nil, fmt.Errorf("shipped calendar %s: %w", name, explain(err))
		}
		if want := fmt.Sprintf("data/%d.json", y.Year); name != want {
			return nil, fmt.Errorf("shipped calendar %s holds year %d", name, y.Year)
		}
		y.Source, y.Basis = SourceOfficial, file.Basis
		years[y.Year] = y
	}
	return years, nil
}
