package cases

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/idcheck"
	"github.com/onewindow/onewindow/shared/problem"
)

// Submission is the body of POST /cases.
type Submission struct {
	ItemCode   string           `json:"itemCode"`
	BundleCode string           `json:"bundleCode"`
	Channel    string           `json:"channel"`
	Region     string           `json:"region"`
	Applicant  Applicant        `json:"applicant"`
	Form       json.RawMessage  `json:"form"`
	Materials  []MaterialInput  `json:"materials"`
	Delivery   *DeliveryRequest `json:"delivery"`
	// ReceivedAt is the on-site reception time, RFC 3339; department apps only.
	ReceivedAt string `json:"receivedAt"`
}

// MaterialInput is one material of a submission: uploaded files, an
// electronic license, or a file of the holder's earlier case.
type MaterialInput struct {
	Code      string   `json:"code"`
	UploadIDs []string `json:"uploadIds"`
	LicenseNo string   `json:"licenseNo"`
	HistoryOf string   `json:"historyOf"`
}

// MaxReceivedAge is how far back an on-site reception time may lie.
const MaxReceivedAge = 30 * 24 * time.Hour

// maxFiles bounds the files of one material.
const maxFiles = 20

// Field error codes of a submission beyond idcheck's.
const (
	CodeRequired            = "required"
	CodeMaterialMissing     = "material_missing"
	CodeUnknownMaterial     = "unknown_material"
	CodeDuplicateMaterial   = "duplicate_material"
	CodeDuplicateUpload     = "duplicate_upload"
	CodeUploadNotFound      = "upload_not_found"
	CodeUploadUsed          = "upload_already_used"
	CodeFileTooLarge        = "file_too_large"
	CodeSizeMismatch        = "size_mismatch"
	CodeSHA256Mismatch      = "sha256_mismatch"
	CodeTypeNotAllowed      = "content_type_not_allowed"
	CodeTypeMismatch        = "content_type_mismatch"
	CodeHistoryNotFound     = "history_not_found"
	CodeLicenseNotFound     = "license_not_found"
	CodeChannelNotAllowed   = "channel_not_allowed"
	CodeNotAllowed          = "not_allowed"
	CodeInvalid             = "invalid"
	CodeInFuture            = "in_future"
	CodeTooOld              = "too_old"
	CodeBeforePreviousEvent = "before_previous_event"
)

// channelsOf are the channels each applicant role submits through: portals
// online; department systems and hall windows on site or as the department.
func channelAllowed(app auth.App, channel string) bool {
	switch channel {
	case "online":
		return app.HasRole(auth.RolePlatform)
	case "onsite", "department":
		return app.HasRole(auth.RoleDepartment)
	}
	return false
}

// checkBasics validates everything of a submission that needs neither the
// catalogue nor storage, adding to v; it returns the reception time.
func (in *Submission) checkBasics(v *problem.Validation, app auth.App, now time.Time) time.Time {
	switch {
	case in.Channel == "":
		v.Add("channel", CodeRequired, "channel is required: online, onsite or department")
	case in.Channel != "online" && in.Channel != "onsite" && in.Channel != "department":
		v.Add("channel", CodeInvalid, "channel must be online, onsite or department")
	case !channelAllowed(app, in.Channel):
		v.Add("channel", CodeChannelNotAllowed, "platform apps submit online; department apps onsite or department")
	}
	if err := idcheck.Region(in.Region); err != nil {
		v.Add("region", "invalid_region", "region must be a 6-digit administrative division code")
	}
	in.Applicant.check(v)
	received := now
	if in.ReceivedAt != "" {
		t, err := time.Parse(time.RFC3339, in.ReceivedAt)
		switch {
		case !app.HasRole(auth.RoleDepartment):
			v.Add("receivedAt", CodeNotAllowed, "only department apps record an on-site reception time")
		case err != nil:
			v.Add("receivedAt", CodeInvalid, "receivedAt must be an RFC 3339 instant with offset")
		case t.After(now.Add(clockSkew)):
			v.Add("receivedAt", CodeInFuture, "receivedAt may not be in the future")
		case now.Sub(t) > MaxReceivedAge:
			v.Add("receivedAt", CodeTooOld, "receivedAt may be at most 30 days old")
		default:
			received = t
		}
	}
	if d := in.Delivery; d != nil {
		switch d.Method {
		case "":
			v.Add("delivery.method", CodeRequired, "delivery.method is required: pickup or mail")
		case "pickup":
		case "mail":
			if a := bytes.TrimSpace(d.Address); len(a) == 0 || a[0] != '{' {
				v.Add("delivery.address", CodeRequired, "mail delivery needs an address object")
			}
		default:
			v.Add("delivery.method", CodeInvalid, "delivery.method must be pickup or mail")
		}
	}
	if f := bytes.TrimSpace(in.Form); len(f) > 0 && f[0] != '{' && !bytes.Equal(f, []byte("null")) {
		v.Add("form", CodeInvalid, "form must be a JSON object")
	}
	seen, files := map[string]bool{}, map[string]bool{}
	for i, m := range in.Materials {
		field := "materials." + m.Code
		if !catalog.ValidCode(m.Code) {
			v.Addf(fmt.Sprintf("materials.%d.code", i), CodeInvalid, "a material code of 1-64 characters [A-Za-z0-9._-]")
			continue
		}
		if seen[m.Code] {
			v.Add(field, CodeDuplicateMaterial, "each material appears once; list several files in uploadIds")
		}
		seen[m.Code] = true
		sources := 0
		if len(m.UploadIDs) > 0 {
			sources++
		}
		if m.LicenseNo != "" {
			sources++
		}
		if m.HistoryOf != "" {
			sources++
		}
		if sources != 1 {
			v.Add(field, CodeInvalid, "a material has exactly one of uploadIds, licenseNo or historyOf")
			continue
		}
		if len(m.UploadIDs) > maxFiles {
			v.Addf(field+".uploadIds", CodeInvalid, "at most %d files per material", maxFiles)
		}
		for j, id := range m.UploadIDs {
			f := fmt.Sprintf("%s.uploadIds.%d", field, j)
			switch {
			case uuid.Validate(id) != nil:
				v.Add(f, CodeUploadNotFound, "no such upload")
			case files[id]:
				v.Add(f, CodeDuplicateUpload, "each upload is listed once")
			}
			files[id] = true
		}
		if m.HistoryOf != "" {
			if _, err := uuid.Parse(m.HistoryOf); err != nil {
				v.Add(field+".historyOf", CodeHistoryNotFound, "no earlier attachment of this holder with that id")
			}
		}
		if len(m.LicenseNo) > 128 {
			v.Add(field+".licenseNo", CodeLicenseNotFound, "no such license")
		}
	}
	return received
}

// check validates the applicant: the ID number by its type (GB 11643 for
// resident IDs, GB 32100 for USCCs) and the mobile number.
func (a *Applicant) check(v *problem.Validation) {
	switch a.Type {
	case "person", "org":
	case "":
		v.Add("applicant.type", CodeRequired, "applicant.type is required: person or org")
	default:
		v.Add("applicant.type", CodeInvalid, "applicant.type must be person or org")
	}
	switch n := utf8.RuneCountInString(strings.TrimSpace(a.Name)); {
	case n == 0:
		v.Add("applicant.name", CodeRequired, "applicant.name is required")
	case n > 200:
		v.Add("applicant.name", CodeInvalid, "applicant.name has at most 200 characters")
	}
	var err error
	switch a.IDType {
	case "resident_id":
		err = idcheck.ResidentID(a.IDNumber)
	case "uscc":
		err = idcheck.USCC(a.IDNumber)
	case "passport":
		err = idcheck.Passport(a.IDNumber)
	case "":
		v.Add("applicant.idType", CodeRequired, "applicant.idType is required: resident_id, uscc or passport")
	default:
		v.Add("applicant.idType", CodeInvalid, "applicant.idType must be resident_id, uscc or passport")
	}
	if err != nil {
		v.Add("applicant.idNumber", idcheck.CodeOf(err), "applicant.idNumber is not a valid "+a.IDType)
	}
	switch {
	case a.Type == "person" && a.IDType == "uscc":
		v.Add("applicant.idType", CodeInvalid, "a person applies with a resident ID or a passport")
	case a.Type == "org" && a.IDType != "" && a.IDType != "uscc":
		v.Add("applicant.idType", CodeInvalid, "an organisation applies with its USCC")
	}
	if a.Phone != "" {
		if err := idcheck.Mobile(a.Phone); err != nil {
			v.Add("applicant.phone", idcheck.CodeOf(err), "applicant.phone is not a mainland mobile number")
		}
	}
}
