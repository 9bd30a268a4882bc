package licenses

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/objects"
	"github.com/onewindow/onewindow/shared/problem"
)

// Every use names the case it serves (用证须关联办件, contract section 5).
func purposeRequired() error {
	return problem.Unprocessable("purpose_required", "name the case this use serves: purpose=<case serial>")
}

// checkPurpose admits a use for purpose: a case the caller may see. An
// absent case and another's are the same 404.
func (r *Registry) checkPurpose(ctx context.Context, app auth.App, purpose string) error {
	if purpose == "" {
		return purposeRequired()
	}
	ok, err := r.cases.Visible(ctx, app, purpose)
	if err != nil {
		return fmt.Errorf("check purpose: %w", err)
	}
	if !ok {
		return problem.NotFound("no case " + purpose)
	}
	return nil
}

// recordUses inserts one use ($2 app, $3 case serial, $4 time) per row of
// the query that follows it. The reads below select `columns` into l and
// record their uses in the same statement, so no license is read for a
// use without its record.
const recordUses = `INSERT INTO license_uses (license_no, app_id, case_serial, item_code, used_at, type_code, department, region)
	SELECT license_no, $2, $3, (SELECT item_code FROM cases WHERE serial = $3), $4, type_code, department, region`

// Use is GET /licenses/{licenseNo}?purpose=<case serial>: the license with
// a presigned URL of its file, for a case the caller may see. The use
// (app, license, case, item, time) is committed before the URL exists.
func (r *Registry) Use(ctx context.Context, app auth.App, licenseNo, purpose string) (License, error) {
	if err := r.checkPurpose(ctx, app, purpose); err != nil {
		return License{}, err
	}
	now := r.now()
	// One statement: the read and its use record commit together (primary key).
	rec, err := scanRecord(r.db.QueryRow(ctx, `WITH l AS (SELECT `+columns+` FROM licenses WHERE license_no = $1),
		u AS (`+recordUses+` FROM l)
		SELECT * FROM l`, licenseNo, app.ID, purpose, now))
	if errors.Is(err, pgx.ErrNoRows) {
		return License{}, problem.NotFound("no license " + licenseNo)
	}
	if err != nil {
		return License{}, err
	}
	signed, err := r.objects.PresignGet(ctx, rec.objectKey, objects.GetPolicy{Expires: r.urlExpiry,
		FileName: rec.File.FileName, ContentType: rec.File.ContentType})
	if err != nil {
		return License{}, fmt.Errorf("presign license file: %w", err)
	}
	slog.InfoContext(ctx, "license used", "app", app.ID, "license", logged(rec.LicenseNo), "case", purpose)
	l := rec.view(now, r.snapshot(ctx))
	l.URL = signed.URL
	expires := signed.ExpiresAt.In(shanghai)
	l.URLExpiresAt = &expires
	return l, nil
}

// ListQuery selects a holder's licenses for GET /licenses.
type ListQuery struct {
	// HolderID is the holder's ID number; required.
	HolderID string
	// TypeCode filters by license type; empty for all.
	TypeCode string
	// Purpose is the serial of the case the use serves; required.
	Purpose string
	// Limit is 1..catalog.MaxLimit, 0 for catalog.DefaultLimit.
	Limit int
	// Cursor is a NextCursor of an earlier page.
	Cursor string
}

// Page is one page of GET /licenses.
type Page struct {
	Items      []License `json:"items"`
	NextCursor string    `json:"nextCursor,omitempty"`
}

// List is GET /licenses?holderId=&typeCode=&purpose=: the holder's
// licenses in number order, every status, without URLs (GET one for its
// file). Each license on the page is a use, recorded before the answer.
// The holder is required: a purpose admits the caller to one holder's
// licenses, never to browsing everyone's.
func (r *Registry) List(ctx context.Context, app auth.App, q ListQuery) (Page, error) {
	if q.Purpose == "" {
		return Page{}, purposeRequired()
	}
	holder := normalHolder(q.HolderID)
	if holder == "" {
		var v problem.Validation
		v.Add("holderId", cases.CodeRequired, "holderId is required")
		return Page{}, v.Err()
	}
	after, err := parseCursor(q.Cursor)
	if err != nil {
		return Page{}, err
	}
	if err := r.checkPurpose(ctx, app, q.Purpose); err != nil {
		return Page{}, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = catalog.DefaultLimit
	}
	limit = min(limit, catalog.MaxLimit)
	now := r.now()
	// l reads one row more than the page to know whether another follows;
	// only the page's rows are uses. Index licenses_by_holder.
	rows, err := r.db.Query(ctx, `WITH l AS (SELECT `+columns+` FROM licenses
			WHERE holder_id = $1 AND ($5 = '' OR type_code = $5) AND license_no > $6
			ORDER BY license_no LIMIT $7 + 1),
		u AS (`+recordUses+` FROM (SELECT * FROM l ORDER BY license_no LIMIT $7) page)
		SELECT * FROM l ORDER BY license_no`, holder, app.ID, q.Purpose, now, q.TypeCode, after, limit)
	if err != nil {
		return Page{}, fmt.Errorf("list licenses: %w", err)
	}
	recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (record, error) { return scanRecord(row) })
	if err != nil {
		return Page{}, fmt.Errorf("list licenses: %w", err)
	}
	snap := r.snapshot(ctx)
	page := Page{Items: make([]License, 0, min(len(recs), limit))}
	for i, rec := range recs {
		if i == limit {
			page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(recs[i-1].LicenseNo))
			break
		}
		page.Items = append(page.Items, rec.view(now, snap))
	}
	slog.InfoContext(ctx, "licenses used", "app", app.ID, "count", len(page.Items), "case", q.Purpose)
	return page, nil
}

// parseCursor reads a NextCursor: the number of the last license shown.
func parseCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 || !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
		return "", problem.BadRequest("invalid_cursor", "cursor is not one this list handed out")
	}
	return string(b), nil
}

// logged is a license number as logs show it: some numbers are ID numbers
// (a driving licence's is its holder's resident ID), and logs never hold
// those whole.
func logged(licenseNo string) string { return cases.MaskID(licenseNo) }

// snapshot is the catalogue for names in answers; without one (catalogue
// not loaded) answers go without names rather than fail.
func (r *Registry) snapshot(ctx context.Context) *catalog.Snapshot {
	snap, err := r.catalog.Snapshot(ctx)
	if err != nil {
		slog.WarnContext(ctx, "license answer without catalogue names", "err", err)
		return nil
	}
	return snap
}
