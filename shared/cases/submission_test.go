package cases

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/problem"
)

// Real identifiers: a resident ID and a USCC whose check characters are
// right, so that each test case breaks exactly one thing.
const (
	validResidentID = "11010519491231002X"
	validUSCC       = "91350100M000100Y43"
	uploadA         = "0193a6f0-1c2d-7e3f-8a4b-5c6d7e8f9a0b"
	uploadB         = "0193a6f0-1c2d-7e3f-8a4b-5c6d7e8f9a0c"
	earlierFile     = "0193a6f0-1c2d-7e3f-8a4b-5c6d7e8f9a0d"
)

var (
	platformApp   = auth.App{ID: "portal", Roles: []auth.Role{auth.RolePlatform}}
	departmentApp = auth.App{ID: "hall", Roles: []auth.Role{auth.RoleDepartment}, Departments: []string{"D001"}}
	supervisorApp = auth.App{ID: "sup", Roles: []auth.Role{auth.RoleSupervisor}}

	// submissionNow is the clock of every checkBasics test; in Asia/Shanghai
	// so that receivedAt in another offset is compared as an instant.
	submissionNow = time.Date(2026, 11, 22, 10, 30, 0, 0, time.FixedZone("CST", 8*3600))
)

// validSubmission uses every kind of material source and mail delivery, so
// that each fault below is the only one.
func validSubmission() Submission {
	return Submission{
		ItemCode: "I001",
		Channel:  "online",
		Region:   "130100",
		Applicant: Applicant{
			Type: "person", Name: "张三", IDType: "resident_id", IDNumber: validResidentID, Phone: "13800138000",
		},
		Form: json.RawMessage(`{"purpose":"新办"}`),
		Materials: []MaterialInput{
			{Code: "M01", UploadIDs: []string{uploadA, uploadB}},
			{Code: "M02", LicenseNo: "130100-BL-000001"},
			{Code: "M03", HistoryOf: earlierFile},
		},
		Delivery: &DeliveryRequest{Method: "mail", Address: json.RawMessage(`{"city":"石家庄","line":"中华大街1号"}`)},
	}
}

// fe is a FieldError without its message, which is for people and free to change.
type fe struct{ field, code string }

func fieldErrors(v *problem.Validation) []fe {
	var out []fe
	for _, e := range v.Errors() {
		out = append(out, fe{e.Field, e.Code})
	}
	return out
}

func TestCheckBasics(t *testing.T) {
	ago := func(d time.Duration) string { return submissionNow.Add(-d).Format(time.RFC3339) }
	tests := []struct {
		name   string
		app    auth.App
		change func(*Submission)
		want   []fe
		// received is the reception time expected back; zero means now.
		received time.Time
	}{
		// Valid submissions.
		{name: "platform online", app: platformApp, change: func(*Submission) {}},
		{name: "department onsite", app: departmentApp, change: func(s *Submission) { s.Channel = "onsite" }},
		{name: "department as department", app: departmentApp, change: func(s *Submission) { s.Channel = "department" }},
		{name: "organisation with USCC", app: platformApp, change: func(s *Submission) {
			s.Applicant = Applicant{Type: "org", Name: "某某科技有限公司", IDType: "uscc", IDNumber: validUSCC}
		}},
		{name: "person with passport", app: platformApp, change: func(s *Submission) {
			s.Applicant.IDType, s.Applicant.IDNumber = "passport", "E12345678"
		}},
		{name: "lowercase x check digit", app: platformApp, change: func(s *Submission) {
			s.Applicant.IDNumber = strings.ToLower(validResidentID)
		}},
		{name: "no phone", app: platformApp, change: func(s *Submission) { s.Applicant.Phone = "" }},
		{name: "name of 200 characters", app: platformApp, change: func(s *Submission) {
			s.Applicant.Name = strings.Repeat("张", 200)
		}},
		{name: "pickup without address", app: platformApp, change: func(s *Submission) {
			s.Delivery = &DeliveryRequest{Method: "pickup"}
		}},
		{name: "no delivery", app: platformApp, change: func(s *Submission) { s.Delivery = nil }},
		{name: "no form", app: platformApp, change: func(s *Submission) { s.Form = nil }},
		{name: "form null", app: platformApp, change: func(s *Submission) { s.Form = json.RawMessage(`null`) }},
		{name: "form with leading space", app: platformApp, change: func(s *Submission) { s.Form = json.RawMessage(" \n{}") }},
		{name: "no materials", app: platformApp, change: func(s *Submission) { s.Materials = nil }},
		{name: "material code with dot, dash, underscore", app: platformApp, change: func(s *Submission) {
			s.Materials[0].Code = "M-01.a_b"
		}},
		{name: "20 files in one material", app: platformApp, change: func(s *Submission) {
			s.Materials[0].UploadIDs = distinctIDs(maxFiles)
		}},
		{name: "one upload listed twice", app: platformApp, change: func(s *Submission) {
			s.Materials[1] = MaterialInput{Code: "M02", UploadIDs: []string{uploadA}}
		}, want: []fe{{"materials.M02.uploadIds.0", CodeDuplicateUpload}}},

		// receivedAt: department apps only, within 30 days, not ahead of now.
		{name: "receivedAt from a department app", app: departmentApp,
			change:   func(s *Submission) { s.Channel, s.ReceivedAt = "onsite", "2026-11-21T09:15:00+08:00" },
			received: time.Date(2026, 11, 21, 1, 15, 0, 0, time.UTC)},
		{name: "receivedAt in UTC", app: departmentApp,
			change:   func(s *Submission) { s.Channel, s.ReceivedAt = "onsite", "2026-11-22T02:00:00Z" },
			received: time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)},
		{name: "receivedAt exactly now", app: departmentApp,
			change:   func(s *Submission) { s.Channel, s.ReceivedAt = "onsite", ago(0) },
			received: submissionNow},
		{name: "receivedAt exactly 30 days old", app: departmentApp,
			change:   func(s *Submission) { s.Channel, s.ReceivedAt = "onsite", ago(MaxReceivedAge) },
			received: submissionNow.Add(-MaxReceivedAge)},
		{name: "receivedAt from a platform app", app: platformApp,
			change: func(s *Submission) { s.ReceivedAt = ago(time.Hour) },
			want:   []fe{{"receivedAt", CodeNotAllowed}}},
		{name: "unparseable receivedAt", app: departmentApp,
			change: func(s *Submission) { s.Channel, s.ReceivedAt = "onsite", "yesterday" },
			want:   []fe{{"receivedAt", CodeInvalid}}},
		{name: "receivedAt without offset", app: departmentApp,
			change: func(s *Submission) { s.Channel, s.ReceivedAt = "onsite", "2026-11-21T09:15:00" },
			want:   []fe{{"receivedAt", CodeInvalid}}},
		{name: "receivedAt as unix seconds", app: departmentApp,
			change: func(s *Submission) { s.Channel, s.ReceivedAt = "onsite", "1795000000" },
			want:   []fe{{"receivedAt", CodeInvalid}}},
		{name: "receivedAt in the future", app: departmentApp,
			change: func(s *Submission) { s.Channel, s.ReceivedAt = "onsite", ago(-clockSkew-time.Second) },
			want:   []fe{{"receivedAt", CodeInFuture}}},
		{name: "receivedAt a little ahead, within the clock skew", app: departmentApp,
			change:   func(s *Submission) { s.Channel, s.ReceivedAt = "onsite", ago(-clockSkew) },
			received: submissionNow.Add(clockSkew)},
		{name: "receivedAt older than 30 days", app: departmentApp,
			change: func(s *Submission) { s.Channel, s.ReceivedAt = "onsite", ago(MaxReceivedAge+time.Second) },
			want:   []fe{{"receivedAt", CodeTooOld}}},
		{name: "receivedAt in year 1", app: departmentApp,
			change: func(s *Submission) { s.Channel, s.ReceivedAt = "onsite", "0001-01-01T00:00:00Z" },
			want:   []fe{{"receivedAt", CodeTooOld}}},

		// Channel by role.
		{name: "channel missing", app: platformApp, change: func(s *Submission) { s.Channel = "" },
			want: []fe{{"channel", CodeRequired}}},
		{name: "channel invalid", app: platformApp, change: func(s *Submission) { s.Channel = "post" },
			want: []fe{{"channel", CodeInvalid}}},
		{name: "channel in capitals", app: platformApp, change: func(s *Submission) { s.Channel = "Online" },
			want: []fe{{"channel", CodeInvalid}}},
		{name: "platform app onsite", app: platformApp, change: func(s *Submission) { s.Channel = "onsite" },
			want: []fe{{"channel", CodeChannelNotAllowed}}},
		{name: "platform app as department", app: platformApp, change: func(s *Submission) { s.Channel = "department" },
			want: []fe{{"channel", CodeChannelNotAllowed}}},
		{name: "department app online", app: departmentApp, change: func(*Submission) {},
			want: []fe{{"channel", CodeChannelNotAllowed}}},
		{name: "supervisor online", app: supervisorApp, change: func(*Submission) {},
			want: []fe{{"channel", CodeChannelNotAllowed}}},

		// Region.
		{name: "region missing", app: platformApp, change: func(s *Submission) { s.Region = "" },
			want: []fe{{"region", "invalid_region"}}},
		{name: "region of 5 digits", app: platformApp, change: func(s *Submission) { s.Region = "13010" },
			want: []fe{{"region", "invalid_region"}}},
		{name: "region with a letter", app: platformApp, change: func(s *Submission) { s.Region = "13010A" },
			want: []fe{{"region", "invalid_region"}}},
		{name: "region of no province", app: platformApp, change: func(s *Submission) { s.Region = "990100" },
			want: []fe{{"region", "invalid_region"}}},

		// Applicant.
		{name: "applicant type missing", app: platformApp, change: func(s *Submission) { s.Applicant.Type = "" },
			want: []fe{{"applicant.type", CodeRequired}}},
		{name: "applicant type invalid", app: platformApp, change: func(s *Submission) { s.Applicant.Type = "company" },
			want: []fe{{"applicant.type", CodeInvalid}}},
		{name: "name missing", app: platformApp, change: func(s *Submission) { s.Applicant.Name = "" },
			want: []fe{{"applicant.name", CodeRequired}}},
		{name: "name blank", app: platformApp, change: func(s *Submission) { s.Applicant.Name = " \t　" },
			want: []fe{{"applicant.name", CodeRequired}}},
		{name: "name of 201 characters", app: platformApp, change: func(s *Submission) { s.Applicant.Name = strings.Repeat("张", 201) },
			want: []fe{{"applicant.name", CodeInvalid}}},
		{name: "idType missing", app: platformApp, change: func(s *Submission) { s.Applicant.IDType = "" },
			want: []fe{{"applicant.idType", CodeRequired}}},
		{name: "idType invalid", app: platformApp, change: func(s *Submission) { s.Applicant.IDType = "driving_licence" },
			want: []fe{{"applicant.idType", CodeInvalid}}},
		{name: "resident ID with a bad check digit", app: platformApp,
			change: func(s *Submission) { s.Applicant.IDNumber = "110105194912310021" },
			want:   []fe{{"applicant.idNumber", "check_digit"}}},
		// 1999-02-30 does not exist; the check digit is right for these 17 digits.
		{name: "resident ID born on 19990230", app: platformApp,
			change: func(s *Submission) { s.Applicant.IDNumber = "110105199902300015" },
			want:   []fe{{"applicant.idNumber", "birth_date"}}},
		{name: "resident ID born in 2099", app: platformApp,
			change: func(s *Submission) { s.Applicant.IDNumber = "110105209912310029" },
			want:   []fe{{"applicant.idNumber", "birth_date"}}},
		{name: "resident ID of 17 characters", app: platformApp,
			change: func(s *Submission) { s.Applicant.IDNumber = validResidentID[:17] },
			want:   []fe{{"applicant.idNumber", "format"}}},
		{name: "resident ID of no province", app: platformApp,
			change: func(s *Submission) { s.Applicant.IDNumber = "99" + validResidentID[2:] },
			want:   []fe{{"applicant.idNumber", "region"}}},
		{name: "resident ID missing", app: platformApp,
			change: func(s *Submission) { s.Applicant.IDNumber = "" },
			want:   []fe{{"applicant.idNumber", "format"}}},
		{name: "USCC with a bad check character", app: platformApp, change: func(s *Submission) {
			s.Applicant = Applicant{Type: "org", Name: "某某科技有限公司", IDType: "uscc", IDNumber: "91350100M000100Y44"}
		}, want: []fe{{"applicant.idNumber", "check_character"}}},
		{name: "USCC with a letter O", app: platformApp, change: func(s *Submission) {
			s.Applicant = Applicant{Type: "org", Name: "某某科技有限公司", IDType: "uscc", IDNumber: "91350100M000100O43"}
		}, want: []fe{{"applicant.idNumber", "format"}}},
		{name: "passport too short", app: platformApp, change: func(s *Submission) {
			s.Applicant.IDType, s.Applicant.IDNumber = "passport", "E123"
		}, want: []fe{{"applicant.idNumber", "format"}}},
		{name: "passport with a dash", app: platformApp, change: func(s *Submission) {
			s.Applicant.IDType, s.Applicant.IDNumber = "passport", "E1234-567"
		}, want: []fe{{"applicant.idNumber", "format"}}},
		{name: "person with a USCC", app: platformApp, change: func(s *Submission) {
			s.Applicant.IDType, s.Applicant.IDNumber = "uscc", validUSCC
		}, want: []fe{{"applicant.idType", CodeInvalid}}},
		{name: "organisation with a resident ID", app: platformApp, change: func(s *Submission) { s.Applicant.Type = "org" },
			want: []fe{{"applicant.idType", CodeInvalid}}},
		{name: "phone of a landline", app: platformApp, change: func(s *Submission) { s.Applicant.Phone = "03112345678" },
			want: []fe{{"applicant.phone", "format"}}},
		{name: "phone starting with 12", app: platformApp, change: func(s *Submission) { s.Applicant.Phone = "12345678901" },
			want: []fe{{"applicant.phone", "format"}}},
		{name: "phone with country code", app: platformApp, change: func(s *Submission) { s.Applicant.Phone = "+8613800138000" },
			want: []fe{{"applicant.phone", "format"}}},

		// Delivery.
		{name: "delivery method missing", app: platformApp, change: func(s *Submission) { s.Delivery.Method = "" },
			want: []fe{{"delivery.method", CodeRequired}}},
		{name: "delivery method invalid", app: platformApp, change: func(s *Submission) { s.Delivery.Method = "courier" },
			want: []fe{{"delivery.method", CodeInvalid}}},
		{name: "mail without address", app: platformApp, change: func(s *Submission) { s.Delivery.Address = nil },
			want: []fe{{"delivery.address", CodeRequired}}},
		{name: "mail to address null", app: platformApp, change: func(s *Submission) { s.Delivery.Address = json.RawMessage(`null`) },
			want: []fe{{"delivery.address", CodeRequired}}},
		{name: "mail to address string", app: platformApp, change: func(s *Submission) { s.Delivery.Address = json.RawMessage(`"石家庄"`) },
			want: []fe{{"delivery.address", CodeRequired}}},

		// Form.
		{name: "form array", app: platformApp, change: func(s *Submission) { s.Form = json.RawMessage(`[]`) },
			want: []fe{{"form", CodeInvalid}}},
		{name: "form string", app: platformApp, change: func(s *Submission) { s.Form = json.RawMessage(`"{}"`) },
			want: []fe{{"form", CodeInvalid}}},
		{name: "form number", app: platformApp, change: func(s *Submission) { s.Form = json.RawMessage(`1`) },
			want: []fe{{"form", CodeInvalid}}},

		// Materials.
		{name: "material code missing", app: platformApp, change: func(s *Submission) { s.Materials[1].Code = "" },
			want: []fe{{"materials.1.code", CodeInvalid}}},
		{name: "material code with a space", app: platformApp, change: func(s *Submission) { s.Materials[2].Code = "M 03" },
			want: []fe{{"materials.2.code", CodeInvalid}}},
		{name: "material code of 65 characters", app: platformApp, change: func(s *Submission) { s.Materials[0].Code = strings.Repeat("M", 65) },
			want: []fe{{"materials.0.code", CodeInvalid}}},
		{name: "duplicate material", app: platformApp, change: func(s *Submission) { s.Materials[2].Code = "M01" },
			want: []fe{{"materials.M01", CodeDuplicateMaterial}}},
		{name: "material without a source", app: platformApp, change: func(s *Submission) { s.Materials[1].LicenseNo = "" },
			want: []fe{{"materials.M02", CodeInvalid}}},
		{name: "material with empty uploadIds", app: platformApp, change: func(s *Submission) {
			s.Materials[0].UploadIDs = []string{}
		}, want: []fe{{"materials.M01", CodeInvalid}}},
		{name: "material with uploads and a license", app: platformApp, change: func(s *Submission) {
			s.Materials[0].LicenseNo = "130100-BL-000002"
		}, want: []fe{{"materials.M01", CodeInvalid}}},
		{name: "material with a license and history", app: platformApp, change: func(s *Submission) {
			s.Materials[1].HistoryOf = earlierFile
		}, want: []fe{{"materials.M02", CodeInvalid}}},
		{name: "bad upload id", app: platformApp, change: func(s *Submission) { s.Materials[0].UploadIDs[1] = "upload-2" },
			want: []fe{{"materials.M01.uploadIds.1", CodeUploadNotFound}}},
		{name: "empty upload id", app: platformApp, change: func(s *Submission) { s.Materials[0].UploadIDs[0] = "" },
			want: []fe{{"materials.M01.uploadIds.0", CodeUploadNotFound}}},
		{name: "21 files in one material", app: platformApp, change: func(s *Submission) {
			s.Materials[0].UploadIDs = distinctIDs(maxFiles + 1)
		}, want: []fe{{"materials.M01.uploadIds", CodeInvalid}}},
		{name: "bad historyOf", app: platformApp, change: func(s *Submission) { s.Materials[2].HistoryOf = "last-year" },
			want: []fe{{"materials.M03.historyOf", CodeHistoryNotFound}}},
		{name: "license number of 129 bytes", app: platformApp, change: func(s *Submission) {
			s.Materials[1].LicenseNo = strings.Repeat("L", 129)
		}, want: []fe{{"materials.M02.licenseNo", CodeLicenseNotFound}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSubmission()
			tt.change(&s)
			var v problem.Validation
			got := s.checkBasics(&v, tt.app, submissionNow)
			if errs := fieldErrors(&v); !slices.Equal(errs, tt.want) {
				t.Errorf("errors = %v, want %v", errs, tt.want)
			}
			if want := cmp.Or(tt.received, submissionNow); !got.Equal(want) {
				t.Errorf("received = %v, want %v", got, want)
			}
		})
	}
}

// TestCheckBasicsListsEveryFault: a client fixes everything in one round
// trip, so one fault must not hide another.
func TestCheckBasicsListsEveryFault(t *testing.T) {
	s := validSubmission()
	s.Channel = "onsite"
	s.Region = "99"
	s.Applicant.Name = ""
	s.Applicant.IDNumber = "110105194912310021"
	s.Applicant.Phone = "123"
	s.ReceivedAt = "2026-11-21T09:15:00+08:00"
	s.Delivery.Address = nil
	s.Form = json.RawMessage(`[1]`)
	s.Materials = append(s.Materials,
		MaterialInput{Code: "M01", LicenseNo: "x"},
		MaterialInput{Code: "bad code", LicenseNo: "x"},
		MaterialInput{Code: "M04", UploadIDs: []string{"nope"}, HistoryOf: "nope"},
		MaterialInput{Code: "M05", UploadIDs: []string{"0193a6f0-1c2d-7e3f-8a4b-5c6d7e8f9aff", "nope"}},
	)
	var v problem.Validation
	received := s.checkBasics(&v, platformApp, submissionNow)
	want := []fe{
		{"applicant.idNumber", "check_digit"},
		{"applicant.name", CodeRequired},
		{"applicant.phone", "format"},
		{"channel", CodeChannelNotAllowed},
		{"delivery.address", CodeRequired},
		{"form", CodeInvalid},
		{"materials.4.code", CodeInvalid},
		{"materials.M01", CodeDuplicateMaterial},
		{"materials.M04", CodeInvalid},
		{"materials.M05.uploadIds.1", CodeUploadNotFound},
		{"receivedAt", CodeNotAllowed},
		{"region", "invalid_region"},
	}
	got := fieldErrors(&v)
	slices.SortFunc(got, func(a, b fe) int { return cmp.Or(strings.Compare(a.field, b.field), strings.Compare(a.code, b.code)) })
	if !slices.Equal(got, want) {
		t.Errorf("errors =\n%v\nwant\n%v", got, want)
	}
	// A refused receivedAt is not used.
	if !received.Equal(submissionNow) {
		t.Errorf("received = %v, want now", received)
	}
	if err := v.Err(); err == nil {
		t.Error("Err() = nil with field errors recorded")
	} else if p, _ := problem.As(err); p.Code != "validation_failed" || len(p.Errors) != len(want) {
		t.Errorf("Err() = %v with %d errors, want validation_failed with %d", err, len(p.Errors), len(want))
	}
}

func TestMaskID(t *testing.T) {
	tests := []struct{ in, want string }{
		{validResidentID, "110105********002X"},
		{validUSCC, "913501********0Y43"},
		{"ABCDEFGHIJK", "ABCDEF*HIJK"}, // 11: the shortest that keeps 6 and 4
		{"E123456789", "********89"},   // 10: keeping 6 and 4 would show all
		{"E12345678", "*******78"},     // a 9-character passport
		{"ABC", "*BC"},
		{"AB", "**"},
		{"A", "*"},
		{"", ""},
		{"张三李四王五赵六钱七孙八", "张三李四王五**钱七孙八"}, // characters, not bytes
		{"张三丰", "*三丰"},
		{"张三", "**"},
		{"110105éééééééé002X", "110105********002X"},
	}
	for _, tt := range tests {
		if got := MaskID(tt.in); got != tt.want {
			t.Errorf("MaskID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	a := Applicant{Type: "person", Name: "张三", IDType: "resident_id", IDNumber: validResidentID}
	if got := a.Masked(); got.IDNumber != "110105********002X" || got.Name != a.Name || a.IDNumber != validResidentID {
		t.Errorf("Masked() = %+v (original now %+v), want only a masked copy's ID changed", got, a)
	}
}

// FuzzCheckBasics feeds arbitrary bodies, as the handler would decode them,
// to checkBasics under every kind of caller.
func FuzzCheckBasics(f *testing.F) {
	valid, err := json.Marshal(validSubmission())
	if err != nil {
		f.Fatal(err)
	}
	for role := range uint8(5) {
		f.Add(valid, role)
	}
	for _, seed := range []string{
		`{}`, `null`, `[]`, `{"channel":"onsite","receivedAt":"2026-11-21T09:15:00+08:00"}`,
		`{"applicant":{"type":"org","idType":"uscc","idNumber":"91350100M000100Y4"}}`,
		`{"applicant":{"idType":"resident_id","idNumber":"11010519990230001x"}}`,
		`{"materials":[{"code":"M01"},{"code":"M01","uploadIds":["x",""]},{"code":"","historyOf":"y"}]}`,
		`{"delivery":{"method":"mail","address":" "},"form":"x"}`,
		`{"receivedAt":"9999-12-31T23:59:59+14:00"}`,
		`{"receivedAt":"0000-01-01T00:00:00-23:59"}`,
		`{"applicant":{"name":"\u0000\uffff","idNumber":"\xff\xfe"}}`,
	} {
		f.Add([]byte(seed), uint8(1))
	}
	apps := []auth.App{
		platformApp,
		departmentApp,
		supervisorApp,
		{ID: "nobody"},
		{ID: "both", Roles: []auth.Role{auth.RolePlatform, auth.RoleDepartment}, Departments: []string{"D001"}},
	}
	f.Fuzz(func(t *testing.T, body []byte, role uint8) {
		var s Submission
		_ = json.Unmarshal(body, &s) // a partly decoded struct is input too
		app := apps[int(role)%len(apps)]
		for _, normalised := range []bool{false, true} {
			if normalised {
				s.normalise() // what Submit does before checking
			}
			var v problem.Validation
			received := s.checkBasics(&v, app, submissionNow)
			for _, e := range v.Errors() {
				if e.Field == "" || e.Code == "" || e.Message == "" {
					t.Fatalf("field error %+v lacks a field, code or message", e)
				}
			}
			// Whatever the body, the reception time is never ahead of now
			// nor older than allowed, and only a department app moves it.
			if received.After(submissionNow) || submissionNow.Sub(received) > MaxReceivedAge {
				t.Fatalf("received %v out of range for now %v", received, submissionNow)
			}
			if !app.HasRole(auth.RoleDepartment) && !received.Equal(submissionNow) {
				t.Fatalf("received %v from a non-department app", received)
			}
		}
	})
}

// FuzzMaskID checks that masking keeps the length in characters and never
// reveals the middle of an ID.
func FuzzMaskID(f *testing.F) {
	for _, seed := range []string{"", "A", "AB", "ABC", "E12345678", "E123456789", "ABCDEFGHIJK",
		validResidentID, validUSCC, "张三李四王五赵六钱七孙八", "\xff\xfe\xfd", "110105\xff\xff\xff\xff\xff\xff\xff\xff002X"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, id string) {
		got := MaskID(id)
		in, out := []rune(id), []rune(got)
		if n := utf8.RuneCountInString(id); len(out) != n {
			t.Fatalf("MaskID(%q) = %q: %d characters, want %d", id, got, len(out), n)
		}
		n := len(in)
		// shown[i] says whether character i may appear: first 6 and last 4
		// of a long ID, only the last 2 of a short one, none under 3.
		shown := func(i int) bool {
			switch {
			case n > 10:
				return i < 6 || i >= n-4
			case n > 2:
				return i >= n-2
			}
			return false
		}
		for i := range n {
			want := '*'
			if shown(i) {
				want = in[i]
			}
			if out[i] != want {
				t.Fatalf("MaskID(%q) = %q: character %d is %q, want %q", id, got, i, out[i], want)
			}
		}
	})
}

// distinctIDs returns n different upload ids.
func distinctIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("0193a6f0-1c2d-7e3f-8a4b-%012x", i)
	}
	return ids
}
