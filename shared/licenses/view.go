package licenses

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/catalog"
)

// Status is a license's state as answers and verification report it.
type Status string

const (
	// StatusValid: issued, not revoked, not past validUntil.
	StatusValid Status = "valid"
	// StatusRevoked: the issuing department revoked it (吊销/注销).
	StatusRevoked Status = "revoked"
	// StatusExpired: past validUntil; computed at the time of asking.
	StatusExpired Status = "expired"
	// StatusMismatch (verification only): the holder or the file's SHA-256
	// differs from the registered license.
	StatusMismatch Status = "mismatch"
	// StatusUnknown (verification only): no license with that number.
	StatusUnknown Status = "unknown"
)

// Holder is who holds a license: a person (resident ID, passport) or an
// organisation (USCC). Answers mask IDNumber (first 6 and last 4 shown).
type Holder struct {
	IDType   string `json:"idType"`
	IDNumber string `json:"idNumber"`
	Name     string `json:"name"`
}

// File describes a license's file (its bytes are behind License.URL).
type File struct {
	FileName    string `json:"fileName"`
	ContentType string `json:"contentType"`
	SizeBytes   int64  `json:"sizeBytes"`
	SHA256      string `json:"sha256"`
}

// License is a license as answers show it.
type License struct {
	LicenseNo string `json:"licenseNo"`
	TypeCode  string `json:"typeCode"`
	// TypeName is the license type's name in the catalogue, when known.
	TypeName string `json:"typeName,omitempty"`
	// Department is the issuing department's code, Region its 6-digit
	// administrative division, both as of issue.
	Department string    `json:"department"`
	Region     string    `json:"region"`
	Holder     Holder    `json:"holder"`
	IssuedAt   time.Time `json:"issuedAt"`
	// ValidUntil is the last instant the license is valid; null when it
	// does not expire (长期有效).
	ValidUntil *time.Time `json:"validUntil"`
	Status     Status     `json:"status"`
	// Data is the license's structured content (照面信息), a JSON object.
	Data         json.RawMessage `json:"data"`
	File         File            `json:"file"`
	RevokedAt    *time.Time      `json:"revokedAt,omitempty"`
	RevokeReason string          `json:"revokeReason,omitempty"`
	// URL is a presigned GET of the file, valid until URLExpiresAt (at most
	// 300 s): only in the answer to GET /licenses/{licenseNo}. A bearer
	// credential; never log it.
	URL          string     `json:"url,omitempty"`
	URLExpiresAt *time.Time `json:"urlExpiresAt,omitempty"`
}

// record is a licenses row: the view unmasked, and where its file is.
type record struct {
	License
	objectKey string
	status    string // as stored: valid or revoked
}

// columns are what scanRecord reads, in order.
const columns = `license_no, type_code, department, region, holder_id_type, holder_id, holder_name,
	issued_at, valid_until, data, object_key, file_name, content_type, size_bytes, sha256,
	status, revoked_at, coalesce(revoke_reason, '')`

func scanRecord(row pgx.Row) (record, error) {
	var r record
	err := row.Scan(&r.LicenseNo, &r.TypeCode, &r.Department, &r.Region, &r.Holder.IDType, &r.Holder.IDNumber,
		&r.Holder.Name, &r.IssuedAt, &r.ValidUntil, &r.Data, &r.objectKey, &r.File.FileName, &r.File.ContentType,
		&r.File.SizeBytes, &r.File.SHA256, &r.status, &r.RevokedAt, &r.RevokeReason)
	if err != nil {
		return record{}, fmt.Errorf("read license: %w", err)
	}
	return r, nil
}

// statusAt is the license's status at t.
func (r *record) statusAt(t time.Time) Status {
	switch {
	case r.status == string(StatusRevoked):
		return StatusRevoked
	case r.ValidUntil != nil && t.After(*r.ValidUntil):
		return StatusExpired
	}
	return StatusValid
}

// view is the record as app-facing answers show it at now: status
// computed, holder masked, times in Asia/Shanghai, names from snap (nil:
// none).
func (r record) view(now time.Time, snap *catalog.Snapshot) License {
	l := r.License
	l.Status = r.statusAt(now)
	l.Holder.IDNumber = cases.MaskID(l.Holder.IDNumber)
	l.IssuedAt = l.IssuedAt.In(shanghai)
	l.ValidUntil = inShanghai(l.ValidUntil)
	l.RevokedAt = inShanghai(l.RevokedAt)
	if snap != nil {
		if lt, ok := snap.LicenseType(l.TypeCode); ok {
			l.TypeName = lt.Name
		}
	}
	return l
}

func inShanghai(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	s := t.In(shanghai)
	return &s
}
