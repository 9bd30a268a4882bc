// Package licenses is the electronic license registry (电子证照, contract
// section 5): issuing and revoking licenses with their files, verifying
// them (证照验真), handing them out only for a case the caller may see
// while recording every use (用证记录), and counting issuance and use.
// PostgreSQL holds the licenses and their uses; files stay in the object
// store where their uploads put them, and leave only as presigned GETs.
package licenses

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/objects"
	"github.com/onewindow/onewindow/shared/serial"
)

// shanghai is the zone of every calendar date (contract section 0).
var shanghai = serial.Shanghai

// Config is what a Registry works with; all but URLExpiry and Now are
// required.
type Config struct {
	DB *pgxpool.Pool
	// Catalog names each license type's issuing department and that
	// department's region.
	Catalog *catalog.Catalog
	Objects objects.Store
	// Cases decides which cases a caller may name as a purpose and checks
	// license files as it checks a submission's uploads.
	Cases *cases.Desk
	// URLExpiry is how long the presigned URL of a license file lives:
	// default, and at most, objects.MaxGetExpiry (300 s, the contract's
	// limit). Tests shorten it to watch a URL expire.
	URLExpiry time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Registry issues, revokes, verifies, hands out and counts licenses. It
// keeps no state another replica needs.
type Registry struct {
	db        *pgxpool.Pool
	catalog   *catalog.Catalog
	objects   objects.Store
	cases     *cases.Desk
	urlExpiry time.Duration
	now       func() time.Time
}

// New returns a Registry over cfg.
func New(cfg Config) (*Registry, error) {
	if cfg.DB == nil || cfg.Catalog == nil || cfg.Objects == nil || cfg.Cases == nil {
		return nil, errors.New("licenses: DB, Catalog, Objects and Cases are required")
	}
	if cfg.URLExpiry < 0 || cfg.URLExpiry > objects.MaxGetExpiry {
		return nil, fmt.Errorf("licenses: URLExpiry %v not in 0..%v", cfg.URLExpiry, objects.MaxGetExpiry)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Registry{db: cfg.DB, catalog: cfg.Catalog, objects: cfg.Objects, cases: cfg.Cases,
		urlExpiry: cmp.Or(cfg.URLExpiry, objects.MaxGetExpiry), now: now}, nil
}

// ForCases is the registry as case-submit needs it (cases.Config.Licenses):
// whether a license may stand in for a material, and the use record
// written in the case's own transaction. It needs only the database.
func ForCases(db *pgxpool.Pool) cases.Licenses { return caseUses{db: db} }

type caseUses struct{ db *pgxpool.Pool }

// Usable reports whether licenseNo is held by holder, of typeCode (any
// type when empty), issued by at and neither revoked nor expired at at.
// Served by the primary key.
func (u caseUses) Usable(ctx context.Context, licenseNo, typeCode, holder string, at time.Time) (bool, error) {
	var ok bool
	err := u.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM licenses
		WHERE license_no = $1 AND holder_id = $2 AND ($3 = '' OR type_code = $3) AND status = 'valid'
		  AND issued_at <= $4 AND (valid_until IS NULL OR valid_until >= $4))`,
		licenseNo, normalHolder(holder), typeCode, at).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("check license: %w", err)
	}
	return ok, nil
}

// RecordUse writes the use of a license as a case's material, in tx (the
// case's transaction), so the case and its use record commit together.
func (u caseUses) RecordUse(ctx context.Context, tx pgx.Tx, use cases.LicenseUse) error {
	tag, err := tx.Exec(ctx, `INSERT INTO license_uses
			(license_no, app_id, case_serial, item_code, used_at, type_code, department, region)
		SELECT license_no, $2, $3, $4, $5, type_code, department, region FROM licenses WHERE license_no = $1`,
		use.LicenseNo, use.AppID, use.CaseSerial, nullString(use.ItemCode), use.At)
	if err != nil {
		return fmt.Errorf("record use of license: %w", err)
	}
	if tag.RowsAffected() != 1 {
		// Usable found it moments ago and licenses are never deleted.
		return fmt.Errorf("record use of license: no license %q", use.LicenseNo)
	}
	return nil
}

// normalHolder is an ID number as the tables keep it: trimmed, upper case
// (a resident ID's check character x is X).
func normalHolder(id string) string { return strings.ToUpper(strings.TrimSpace(id)) }

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
