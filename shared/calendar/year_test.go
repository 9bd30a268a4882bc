package calendar

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/onewindow/onewindow/shared/problem"
)

func TestParseYear(t *testing.T) {
	y, err := ParseYear(2027, YearInput{
		Holidays: []string{"2027-10-01", "2027-01-01", "2027-10-02"},
		Workdays: []string{"2027-09-26"},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(y)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"year":2027,"holidays":["2027-01-01","2027-10-01","2027-10-02"],"workdays":["2027-09-26"],"source":"stored"}`
	if string(b) != want {
		t.Errorf("ParseYear = %s\nwant         %s", b, want)
	}
	// No workdays and no holidays are both allowed, as [] in JSON.
	y, err = ParseYear(2027, YearInput{Holidays: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(y); string(b) != `{"year":2027,"holidays":[],"workdays":[],"source":"stored"}` {
		t.Errorf("empty year = %s", b)
	}
}

func TestParseYearListsEveryProblem(t *testing.T) {
	tests := []struct {
		name string
		year int
		in   YearInput
		want []problem.FieldError // Field and Code only
	}{
		{"year out of range", 1999, YearInput{Holidays: []string{}}, []problem.FieldError{{Field: "year", Code: "out_of_range"}}},
		{"holidays absent", 2027, YearInput{}, []problem.FieldError{{Field: "holidays", Code: "required"}}},
		{"every rule", 2027, YearInput{
			Holidays: []string{
				"2027-10-01",
				"2027-13-01",  // 1
				"2026-10-01",  // 2
				"2027-10-01",  // 3
				"2027-10-02",  // a Saturday holiday is fine
				"1 Oct 2027",  // 5
				"2027-02-29",  // 6: not a leap year
				"2027-09-26 ", // 7
			},
			Workdays: []string{
				"2027-09-26", // 0: Sunday, fine
				"2027-09-27", // 1: Monday
				"2027-10-02", // 2: Saturday, but a holiday
				"2027-09-26", // 3
				"2028-01-01", // 4
				"2027-10-01", // 5: Friday and a holiday
			},
		}, []problem.FieldError{
			{Field: "holidays.1", Code: "invalid_date"},
			{Field: "holidays.2", Code: "outside_year"},
			{Field: "holidays.3", Code: "duplicate"},
			{Field: "holidays.5", Code: "invalid_date"},
			{Field: "holidays.6", Code: "invalid_date"},
			{Field: "holidays.7", Code: "invalid_date"},
			{Field: "workdays.3", Code: "duplicate"},
			{Field: "workdays.4", Code: "outside_year"},
			{Field: "workdays.1", Code: "not_weekend"},
			{Field: "workdays.2", Code: "holiday_and_workday"},
			{Field: "workdays.5", Code: "not_weekend"},
			{Field: "workdays.5", Code: "holiday_and_workday"},
		}},
		{"too many", 2027, YearInput{Holidays: make([]string, 367), Workdays: []string{"2027-01-04"}}, []problem.FieldError{
			{Field: "holidays", Code: "too_many"},
			{Field: "workdays.0", Code: "not_weekend"},
		}},
	}
	for _, tt := range tests {
		_, err := ParseYear(tt.year, tt.in)
		p, ok := problem.As(err)
		if !ok || p.Status != http.StatusUnprocessableEntity || p.Code != "validation_failed" {
			t.Errorf("%s: error %v, want a 422 validation_failed", tt.name, err)
			continue
		}
		var got []problem.FieldError
		for _, e := range p.Errors {
			if e.Message == "" {
				t.Errorf("%s: %s has no message", tt.name, e.Field)
			}
			got = append(got, problem.FieldError{Field: e.Field, Code: e.Code})
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: errors\n%v\nwant\n%v", tt.name, got, tt.want)
		}
	}
}

// TestShippedData: the embedded files are the State Council notices as
// summarised in the brief, every day of each span listed.
func TestShippedData(t *testing.T) {
	tests := []struct {
		year               int
		basis              string
		holidays, workdays int
	}{
		{2025, "国办发明电〔2024〕12号", 1 + 8 + 3 + 5 + 3 + 8, 5},
		{2026, "国办发明电〔2025〕7号", 3 + 9 + 3 + 5 + 3 + 3 + 7, 6},
	}
	for _, tt := range tests {
		y, ok := official[tt.year]
		if !ok {
			t.Errorf("no shipped data for %d", tt.year)
			continue
		}
		if y.Source != SourceOfficial || y.Basis != tt.basis || len(y.Holidays) != tt.holidays || len(y.Workdays) != tt.workdays {
			t.Errorf("%d: source %s, basis %s, %d holidays, %d workdays; want official, %s, %d, %d",
				tt.year, y.Source, y.Basis, len(y.Holidays), len(y.Workdays), tt.basis, tt.holidays, tt.workdays)
		}
	}
	if len(official) != len(tests) {
		t.Errorf("shipped years: %d, want %d", len(official), len(tests))
	}
}
