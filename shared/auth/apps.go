package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// AppRecord is an app as issued: the apps file's entries
// (`[{"id","secret","roles","departments","channels"}]`, ONEWINDOW_APPS_FILE) and the
// apps table's rows. Secret is the HMAC key, used as its UTF-8 bytes.
type AppRecord struct {
	ID          string   `json:"id"`
	Secret      string   `json:"secret"`
	Roles       []Role   `json:"roles"`
	Departments []string `json:"departments"`
	// Channels: see App.Channels.
	Channels []string `json:"channels,omitempty"`
	// RatePerSecond limits the app's requests to each replica (429 with
	// Retry-After beyond it); 0 means no limit. RateBurst is how many may
	// come at once; 0 means one second's worth. See RateLimits.
	RatePerSecond float64 `json:"ratePerSecond,omitempty"`
	RateBurst     int     `json:"rateBurst,omitempty"`
}

// App returns the record without its secret.
func (r AppRecord) App() App {
	return App{ID: r.ID, Roles: r.Roles, Departments: r.Departments, Channels: r.Channels}
}

var appIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Validate reports what makes the record unusable.
func (r AppRecord) Validate() error {
	var errs []error
	if !appIDPattern.MatchString(r.ID) {
		errs = append(errs, fmt.Errorf("app id %q: 1-64 of [A-Za-z0-9._-], starting with a letter or digit", r.ID))
	}
	if len(r.Secret) < 16 {
		errs = append(errs, fmt.Errorf("app %s: secret must be at least 16 bytes", r.ID))
	}
	if len(r.Roles) == 0 {
		errs = append(errs, fmt.Errorf("app %s: no roles", r.ID))
	}
	for _, role := range r.Roles {
		if !role.Valid() {
			errs = append(errs, fmt.Errorf("app %s: unknown role %q", r.ID, role))
		}
	}
	if r.RatePerSecond < 0 || math.IsNaN(r.RatePerSecond) || math.IsInf(r.RatePerSecond, 0) || r.RateBurst < 0 {
		errs = append(errs, fmt.Errorf("app %s: ratePerSecond and rateBurst must be finite and not negative", r.ID))
	}
	return errors.Join(errs...)
}

// ReadAppsFile reads and validates an apps file.
func ReadAppsFile(path string) ([]AppRecord, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read apps file: %w", err)
	}
	var apps []AppRecord
	if err := json.Unmarshal(b, &apps); err != nil {
		return nil, fmt.Errorf("parse apps file %s: %w", path, err)
	}
	seen := map[string]bool{}
	var errs []error
	for _, a := range apps {
		if err := a.Validate(); err != nil {
			errs = append(errs, err)
		}
		if seen[a.ID] {
			errs = append(errs, fmt.Errorf("app %s listed twice", a.ID))
		}
		seen[a.ID] = true
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("apps file %s: %w", path, err)
	}
	return apps, nil
}

// SaveApps inserts or updates apps in one transaction. Replicas see the
// change within their Registry's TTL.
func SaveApps(ctx context.Context, db *pgxpool.Pool, apps []AppRecord) error {
	for _, a := range apps {
		if err := a.Validate(); err != nil {
			return fmt.Errorf("save apps: %w", err)
		}
	}
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		for _, a := range apps {
			roles := make([]string, len(a.Roles))
			for i, r := range a.Roles {
				roles[i] = string(r)
			}
			if _, err := tx.Exec(ctx, `
				INSERT INTO apps (id, secret, roles, departments, channels, rate_per_second, rate_burst)
				VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (id) DO UPDATE SET secret = excluded.secret, roles = excluded.roles,
					departments = excluded.departments, channels = excluded.channels,
					rate_per_second = excluded.rate_per_second, rate_burst = excluded.rate_burst,
					disabled = false, updated_at = now()`,
				a.ID, a.Secret, roles, orEmpty(a.Departments), orEmpty(a.Channels), a.RatePerSecond, a.RateBurst); err != nil {
				return fmt.Errorf("save app %s: %w", a.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save apps: %w", err)
	}
	return nil
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
