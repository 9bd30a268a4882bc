// Package demo loads the local stack's demonstration data: the homestay
// bundle (民宿一件事) with its seven items and departments, scope entries and
// license types, drawn from the requirement documents. `make run` calls Load
// after the migrations; loading twice changes nothing.
package demo

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/shared/catalog"
)

// LoaderApp is the app id the demo records are written as (history's
// changed_by).
const LoaderApp = "demo-loader"

// Load writes the demo data into db through the catalogue's own upserts,
// so it is validated like an admin's PUT. It is idempotent: a record whose
// content is already stored keeps its version, and a demo enterprise that
// already has a selection keeps it.
func Load(ctx context.Context, db *pgxpool.Pool) error {
	cat := catalog.Open(db, catalog.Config{})
	defer cat.Close()
	for _, d := range departments() {
		if _, err := cat.PutDepartment(ctx, LoaderApp, *d.Code, d); err != nil {
			return fmt.Errorf("demo department %s: %w", *d.Code, err)
		}
	}
	for _, lt := range licenseTypes() {
		if _, err := cat.PutLicenseType(ctx, LoaderApp, *lt.Code, lt); err != nil {
			return fmt.Errorf("demo license type %s: %w", *lt.Code, err)
		}
	}
	for _, it := range items() {
		if _, err := cat.PutItem(ctx, LoaderApp, *it.Code, it); err != nil {
			return fmt.Errorf("demo item %s: %w", *it.Code, err)
		}
	}
	for _, b := range bundles() {
		if _, err := cat.PutBundle(ctx, LoaderApp, *b.Code, b); err != nil {
			return fmt.Errorf("demo bundle %s: %w", *b.Code, err)
		}
	}
	for _, e := range scopeEntries() {
		if _, err := cat.PutScopeEntry(ctx, LoaderApp, *e.Code, e); err != nil {
			return fmt.Errorf("demo scope entry %s: %w", *e.Code, err)
		}
	}
	for _, s := range selections() {
		cur, err := cat.Selection(ctx, s.uscc)
		if err != nil {
			return fmt.Errorf("demo selection %s: %w", s.uscc, err)
		}
		if cur.Version > 0 {
			continue
		}
		if _, err := cat.PutSelection(ctx, LoaderApp, s.uscc, s.in); err != nil {
			return fmt.Errorf("demo selection %s: %w", s.uscc, err)
		}
	}
	return nil
}

// demoSecret is a fixed Standard Webhooks secret per department, so that
// loading twice changes nothing. Local demo only, like the apps file's
// secrets.
func demoSecret(code string) *string {
	sum := sha256.Sum256([]byte("onewindow local demo webhook " + code))
	s := catalog.WebhookSecretPrefix + base64.StdEncoding.EncodeToString(sum[:])
	return &s
}

func ptr[T any](v T) *T { return &v }
