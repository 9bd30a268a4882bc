package licenses

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/problem"
)

// VerifyInput is the body of POST /licenses/verify (证照验真): the number,
// the holder's ID number and the SHA-256 of the file in hand. All three
// are required: a verification that ignores one proves less than it says.
type VerifyInput struct {
	LicenseNo string `json:"licenseNo"`
	HolderID  string `json:"holderId"`
	SHA256    string `json:"sha256"`
}

// Verdict is the answer to a verification. Only a license whose holder
// and file match is described further: a mismatch tells nothing about the
// registered license.
type Verdict struct {
	Valid      bool       `json:"valid"`
	Status     Status     `json:"status"`
	LicenseNo  string     `json:"licenseNo,omitempty"`
	TypeCode   string     `json:"typeCode,omitempty"`
	ValidUntil *time.Time `json:"validUntil,omitempty"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Verify checks a license in hand against the registry: unknown (no such
// number), mismatch (holder or file differ), then revoked, expired or
// valid. Served by the primary key; it records nothing, since no license
// content leaves.
func (r *Registry) Verify(ctx context.Context, in VerifyInput) (Verdict, error) {
	no := strings.TrimSpace(in.LicenseNo)
	holder := normalHolder(in.HolderID)
	sum := strings.ToLower(strings.TrimSpace(in.SHA256))
	var v problem.Validation
	if no == "" {
		v.Add("licenseNo", cases.CodeRequired, "licenseNo is required")
	}
	if holder == "" {
		v.Add("holderId", cases.CodeRequired, "holderId is required")
	}
	switch {
	case sum == "":
		v.Add("sha256", cases.CodeRequired, "sha256 of the file is required")
	case !sha256Hex.MatchString(sum):
		v.Add("sha256", "invalid_sha256", "sha256 must be 64 hex characters")
	}
	if err := v.Err(); err != nil {
		return Verdict{}, err
	}
	rec, err := scanRecord(r.db.QueryRow(ctx, `SELECT `+columns+` FROM licenses WHERE license_no = $1`, no))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return Verdict{Status: StatusUnknown}, nil
	case err != nil:
		return Verdict{}, err
	case rec.Holder.IDNumber != holder || rec.File.SHA256 != sum:
		return Verdict{Status: StatusMismatch}, nil
	}
	st := rec.statusAt(r.now())
	return Verdict{Valid: st == StatusValid, Status: st, LicenseNo: rec.LicenseNo, TypeCode: rec.TypeCode,
		ValidUntil: inShanghai(rec.ValidUntil), RevokedAt: inShanghai(rec.RevokedAt)}, nil
}

// RevokeInput is the optional body of POST /licenses/{licenseNo}/revoke.
type RevokeInput struct {
	Reason string `json:"reason"`
}

// maxReason bounds a revocation's reason, in characters.
const maxReason = 500

// Revoke is POST /licenses/{licenseNo}/revoke: the issuing department's
// apps revoke a license (403 for other apps; 404 when there is none).
// Revoking a revoked license changes nothing and answers it again. The
// answer carries no URL: revoking is not a use.
func (r *Registry) Revoke(ctx context.Context, app auth.App, licenseNo string, in RevokeInput) (License, error) {
	in.Reason = strings.TrimSpace(in.Reason)
	if utf8.RuneCountInString(in.Reason) > maxReason {
		var v problem.Validation
		v.Addf("reason", cases.CodeInvalid, "reason has at most %d characters", maxReason)
		return License{}, v.Err()
	}
	now := r.now().Truncate(time.Microsecond) // as stored
	var view License
	err := pgx.BeginFunc(ctx, r.db, func(tx pgx.Tx) error {
		// The row lock orders racing revocations; the second finds it revoked.
		rec, err := scanRecord(tx.QueryRow(ctx, `SELECT `+columns+` FROM licenses WHERE license_no = $1 FOR UPDATE`, licenseNo))
		if errors.Is(err, pgx.ErrNoRows) {
			return problem.NotFound("no license " + licenseNo)
		}
		if err != nil {
			return err
		}
		if !app.ActsFor(rec.Department) {
			return problem.Forbidden()
		}
		if rec.status != string(StatusRevoked) {
			if _, err := tx.Exec(ctx, `UPDATE licenses SET status = 'revoked', revoked_at = $2, revoked_by = $3,
				revoke_reason = $4 WHERE license_no = $1`, licenseNo, now, app.ID, nullString(in.Reason)); err != nil {
				return fmt.Errorf("revoke license: %w", err)
			}
			rec.status, rec.RevokedAt, rec.RevokeReason = string(StatusRevoked), &now, in.Reason
			slog.InfoContext(ctx, "license revoked", "app", app.ID, "license", logged(licenseNo))
		}
		view = rec.view(now, r.snapshot(ctx))
		return settle(ctx, tx, http.StatusOK, view)
	})
	if err != nil {
		return License{}, err
	}
	return view, nil
}
