package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/problem"
)

// NotifyChannel is the PostgreSQL channel every catalogue write notifies,
// with the new catalogue revision as payload.
const NotifyChannel = "catalog_changed"

// kind is one record table of migration 0020_catalog.sql. Its SQL is built
// from these fixed names only.
type kind struct {
	name  string // as in catalog_history.kind
	table string
}

var (
	kindItem        = kind{"item", "catalog_items"}
	kindBundle      = kind{"bundle", "catalog_bundles"}
	kindScope       = kind{"scope", "catalog_scope_entries"}
	kindLicenseType = kind{"license_type", "catalog_license_types"}
	kindDepartment  = kind{"department", "catalog_departments"}
)

// record is what the write path needs of a record type.
type record[T any] interface {
	*T
	// stamp sets the version and the time of the version.
	stamp(version int, at time.Time)
	// content clears what a PUT does not decide (version, time, names
	// copied from other records), leaving what tells two versions apart.
	content()
}

func (it *Item) stamp(v int, at time.Time)        { it.Version, it.UpdatedAt = v, at }
func (b *Bundle) stamp(v int, at time.Time)       { b.Version, b.UpdatedAt = v, at }
func (e *ScopeEntry) stamp(v int, at time.Time)   { e.Version, e.UpdatedAt = v, at }
func (lt *LicenseType) stamp(v int, at time.Time) { lt.Version, lt.UpdatedAt = v, at }
func (d *Department) stamp(v int, at time.Time)   { d.Version, d.UpdatedAt = v, at }

func (it *Item) content()        { it.stamp(0, time.Time{}); it.Department.Name = "" }
func (b *Bundle) content()       { b.stamp(0, time.Time{}) }
func (e *ScopeEntry) content()   { e.stamp(0, time.Time{}) }
func (lt *LicenseType) content() { lt.stamp(0, time.Time{}) }
func (d *Department) content() {
	d.stamp(0, time.Time{})
	d.WebhookSecretSet = false
	d.WebhookSecret = ""
}

// put is one upsert: the steps every PutX shares.
type put[T any, P record[T]] struct {
	kind kind
	code string
	by   string
	rec  *T
	// refs checks references to other records inside the transaction,
	// adding problems to c; existing is the stored record (nil when new)
	// and secret its stored webhook secret (departments).
	refs func(ctx context.Context, tx pgx.Tx, c *checker, existing *T, secret string) error
	// secret, for departments, is the webhook secret to store.
	secret func() string
}

// Written is the answer of a Put: the record as stored, whether this call
// changed it (false for a PUT of identical content, which keeps the
// version), and the catalogue revision that holds it.
type Written[T any] struct {
	Record  T
	Changed bool
	// Created is true when the PUT made the record (its version 1).
	Created  bool
	Revision int64
}

// run validates references, compares with the stored version and, when the
// content differs, writes the next version, its history row and the
// notification, all in one transaction.
func (w put[T, P]) run(ctx context.Context, c *Catalog) (Written[T], error) {
	if c.db == nil {
		return Written[T]{}, problem.Unavailable("the catalogue has no database")
	}
	var out Written[T]
	err := pgx.BeginFunc(ctx, c.db, func(tx pgx.Tx) error {
		var rev int64
		var now time.Time
		// Serialises catalogue writers on the counter's row (primary key).
		if err := tx.QueryRow(ctx, `SELECT revision, now() FROM catalog_revision WHERE singleton FOR UPDATE`).Scan(&rev, &now); err != nil {
			return fmt.Errorf("lock catalogue revision: %w", err)
		}
		existing, oldVersion, oldSecret, oldDoc, err := loadOne[T](ctx, tx, w.kind, w.code)
		if err != nil {
			return err
		}
		var chk checker
		if w.refs != nil {
			if err := w.refs(ctx, tx, &chk, existing, oldSecret); err != nil {
				return err
			}
		}
		if err := chk.Err(); err != nil {
			return err
		}
		newSecret := ""
		if w.secret != nil {
			newSecret = w.secret()
		}
		newContent, err := contentJSON[T, P](*w.rec)
		if err != nil {
			return err
		}
		if existing != nil {
			oldContent, err := contentJSON[T, P](*existing)
			if err != nil {
				return err
			}
			if bytes.Equal(oldContent, newContent) && oldSecret == newSecret {
				out = Written[T]{Record: *existing, Revision: rev}
				return nil
			}
		}
		version := oldVersion + 1
		rev++
		at := now.In(shanghai)
		P(w.rec).stamp(version, at)
		doc, err := json.Marshal(w.rec)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", w.kind.name, w.code, err)
		}
		changed := changedFields(oldDoc, doc)
		if oldSecret != newSecret {
			changed = append(changed, "webhookSecret")
		}
		if _, err := tx.Exec(ctx, `UPDATE catalog_revision SET revision = $1 WHERE singleton`, rev); err != nil {
			return fmt.Errorf("bump catalogue revision: %w", err)
		}
		if err := w.upsert(ctx, tx, version, rev, doc, at, newSecret); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO catalog_history (kind, code, version, revision, doc, changed, changed_by, changed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			w.kind.name, w.code, version, rev, doc, changed, w.by, at); err != nil {
			return fmt.Errorf("record history of %s %s: %w", w.kind.name, w.code, err)
		}
		// Delivered to every listener when the transaction commits.
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, strconv.FormatInt(rev, 10)); err != nil {
			return fmt.Errorf("notify catalogue change: %w", err)
		}
		out = Written[T]{Record: *w.rec, Changed: true, Created: existing == nil, Revision: rev}
		return nil
	})
	if err != nil {
		if _, ok := problem.As(err); ok {
			return Written[T]{}, err
		}
		return Written[T]{}, fmt.Errorf("put %s %s: %w", w.kind.name, w.code, err)
	}
	if out.Changed {
		c.awaitRevision(ctx, out.Revision)
	}
	return out, nil
}

func (w put[T, P]) upsert(ctx context.Context, tx pgx.Tx, version int, rev int64, doc []byte, at time.Time, secret string) error {
	var err error
	if w.kind == kindDepartment {
		_, err = tx.Exec(ctx, `
			INSERT INTO catalog_departments (code, version, revision, doc, webhook_secret, updated_at, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (code) DO UPDATE SET version = excluded.version, revision = excluded.revision,
				doc = excluded.doc, webhook_secret = excluded.webhook_secret,
				updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			w.code, version, rev, doc, secret, at, w.by)
	} else {
		_, err = tx.Exec(ctx, `
			INSERT INTO `+w.kind.table+` (code, version, revision, doc, updated_at, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (code) DO UPDATE SET version = excluded.version, revision = excluded.revision,
				doc = excluded.doc, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			w.code, version, rev, doc, at, w.by)
	}
	if err != nil {
		return fmt.Errorf("write %s %s: %w", w.kind.name, w.code, err)
	}
	return nil
}

// loadOne reads the stored record (nil when there is none) through the
// table's primary key.
func loadOne[T any](ctx context.Context, tx pgx.Tx, k kind, code string) (*T, int, string, []byte, error) {
	secretCol := "''"
	if k == kindDepartment {
		secretCol = "webhook_secret"
	}
	var version int
	var doc []byte
	var secret string
	var at time.Time
	err := tx.QueryRow(ctx, `SELECT version, doc, `+secretCol+`, updated_at FROM `+k.table+` WHERE code = $1 FOR UPDATE`, code).
		Scan(&version, &doc, &secret, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, "", nil, nil
	}
	if err != nil {
		return nil, 0, "", nil, fmt.Errorf("read %s %s: %w", k.name, code, err)
	}
	var rec T
	if err := json.Unmarshal(doc, &rec); err != nil {
		return nil, 0, "", nil, fmt.Errorf("decode stored %s %s: %w", k.name, code, err)
	}
	fixLoaded(&rec, version, at, secret)
	return &rec, version, secret, doc, nil
}

// fixLoaded completes a record decoded from a doc column.
func fixLoaded(rec any, version int, at time.Time, secret string) {
	at = at.In(shanghai)
	switch r := rec.(type) {
	case *Item:
		r.stamp(version, at)
		r.FormSchema = recanonical(r.FormSchema)
		if r.Materials == nil {
			r.Materials = []Material{}
		}
	case *Bundle:
		r.stamp(version, at)
	case *ScopeEntry:
		r.stamp(version, at)
	case *LicenseType:
		r.stamp(version, at)
	case *Department:
		r.stamp(version, at)
		r.WebhookSecret = secret
		r.WebhookSecretSet = secret != ""
	}
}

func contentJSON[T any, P record[T]](rec T) ([]byte, error) {
	P(&rec).content()
	if it, ok := any(&rec).(*Item); ok {
		it.FormSchema = recanonical(it.FormSchema)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encode record: %w", err)
	}
	return b, nil
}

// changedFields lists the top-level fields of newDoc whose values differ
// from oldDoc's (all of them when oldDoc is nil), ignoring version and
// updatedAt.
func changedFields(oldDoc, newDoc []byte) []string {
	var o, n map[string]json.RawMessage
	_ = json.Unmarshal(newDoc, &n)
	if len(oldDoc) > 0 {
		_ = json.Unmarshal(oldDoc, &o)
	}
	changed := []string{}
	for k, v := range n {
		if k == "version" || k == "updatedAt" {
			continue
		}
		if ov, ok := o[k]; !ok || !jsonEqual(ov, v) {
			changed = append(changed, k)
		}
	}
	slices.Sort(changed)
	return changed
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	ca, _ := json.Marshal(x)
	cb, _ := json.Marshal(y)
	return bytes.Equal(ca, cb)
}

// statuses returns the status of each of codes that exists in k's table,
// through its primary key.
func statuses(ctx context.Context, tx pgx.Tx, k kind, codes []string) (map[string]Status, error) {
	out := map[string]Status{}
	if len(codes) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, `SELECT code, coalesce(doc->>'status', '') FROM `+k.table+` WHERE code = ANY($1)`, codes)
	if err != nil {
		return nil, fmt.Errorf("look up %s codes: %w", k.name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var code string
		var st Status
		if err := rows.Scan(&code, &st); err != nil {
			return nil, fmt.Errorf("look up %s codes: %w", k.name, err)
		}
		out[code] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look up %s codes: %w", k.name, err)
	}
	return out, nil
}

// departmentName returns a department's name, "" when there is none.
func departmentName(ctx context.Context, tx pgx.Tx, code string) (string, error) {
	var name string
	err := tx.QueryRow(ctx, `SELECT doc->>'name' FROM catalog_departments WHERE code = $1`, code).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up department %s: %w", code, err)
	}
	return name, nil
}

// PutItem validates in as the body of PUT /items/{code} and stores it as
// the item's next version (by is the writing app's id). A body with the
// content already stored changes nothing. Problems are one 422
// validation_failed: the body's own (see ItemInput.Validate) and unknown
// department or license types.
func (c *Catalog) PutItem(ctx context.Context, by, code string, in ItemInput) (Written[Item], error) {
	it, err := in.Validate(code)
	if err != nil {
		return Written[Item]{}, err
	}
	w, err := put[Item, *Item]{kind: kindItem, code: code, by: by, rec: &it,
		refs: func(ctx context.Context, tx pgx.Tx, c *checker, _ *Item, _ string) error {
			name, err := departmentName(ctx, tx, it.Department.Code)
			if err != nil {
				return err
			}
			if name == "" {
				c.Addf("department", CodeUnknownDepartment, "no department %s", it.Department.Code)
			}
			it.Department.Name = name
			var lts []string
			for _, m := range it.Materials {
				if m.LicenseType != "" {
					lts = append(lts, m.LicenseType)
				}
			}
			known, err := statuses(ctx, tx, kindLicenseType, lts)
			if err != nil {
				return err
			}
			for i, m := range it.Materials {
				if _, ok := known[m.LicenseType]; m.LicenseType != "" && !ok {
					c.Addf(fmt.Sprintf("materials.%d.licenseType", i), CodeUnknownLicenseType, "no license type %s", m.LicenseType)
				}
			}
			return nil
		}}.run(ctx, c)
	if err == nil && !w.Changed {
		w.Record.Department.Name = it.Department.Name // the stored copy has the name as of its writing
	}
	return w, err
}

// PutBundle stores the next version of a bundle; its lead department and
// items must exist, and a published bundle's items must be published.
func (c *Catalog) PutBundle(ctx context.Context, by, code string, in BundleInput) (Written[Bundle], error) {
	b, err := in.Validate(code)
	if err != nil {
		return Written[Bundle]{}, err
	}
	return put[Bundle, *Bundle]{kind: kindBundle, code: code, by: by, rec: &b,
		refs: func(ctx context.Context, tx pgx.Tx, c *checker, _ *Bundle, _ string) error {
			name, err := departmentName(ctx, tx, b.LeadDepartment)
			if err != nil {
				return err
			}
			if name == "" {
				c.Addf("leadDepartment", CodeUnknownDepartment, "no department %s", b.LeadDepartment)
			}
			known, err := statuses(ctx, tx, kindItem, b.Items)
			if err != nil {
				return err
			}
			for i, ic := range b.Items {
				st, ok := known[ic]
				switch {
				case !ok:
					c.Addf(fmt.Sprintf("items.%d", i), CodeUnknownItem, "no item %s", ic)
				case st == StatusAbolished && b.Status == StatusPublished:
					c.Addf(fmt.Sprintf("items.%d", i), CodeItemAbolished, "item %s is abolished", ic)
				}
			}
			return nil
		}}.run(ctx, c)
}

// PutScopeEntry stores the next version of a business-scope entry.
// Removing an expression that enterprises selected leaves their
// selections as they were; reads show only the expressions that exist.
func (c *Catalog) PutScopeEntry(ctx context.Context, by, code string, in ScopeEntryInput) (Written[ScopeEntry], error) {
	e, err := in.Validate(code)
	if err != nil {
		return Written[ScopeEntry]{}, err
	}
	return put[ScopeEntry, *ScopeEntry]{kind: kindScope, code: code, by: by, rec: &e}.run(ctx, c)
}

// PutLicenseType stores the next version of a license type; its issuing
// department must exist.
func (c *Catalog) PutLicenseType(ctx context.Context, by, code string, in LicenseTypeInput) (Written[LicenseType], error) {
	lt, err := in.Validate(code)
	if err != nil {
		return Written[LicenseType]{}, err
	}
	return put[LicenseType, *LicenseType]{kind: kindLicenseType, code: code, by: by, rec: &lt,
		refs: func(ctx context.Context, tx pgx.Tx, c *checker, _ *LicenseType, _ string) error {
			name, err := departmentName(ctx, tx, lt.Department)
			if err != nil {
				return err
			}
			if name == "" {
				c.Addf("department", CodeUnknownDepartment, "no department %s", lt.Department)
			}
			return nil
		}}.run(ctx, c)
}

// PutDepartment stores the next version of a department. A webhookSecret
// left out keeps the stored one; a webhook URL needs a secret (given or
// stored). The answer carries the secret (for the caller's own use); the
// JSON form never shows it.
func (c *Catalog) PutDepartment(ctx context.Context, by, code string, in DepartmentInput) (Written[Department], error) {
	d, err := in.Validate(code)
	if err != nil {
		return Written[Department]{}, err
	}
	return put[Department, *Department]{kind: kindDepartment, code: code, by: by, rec: &d,
		refs: func(_ context.Context, _ pgx.Tx, c *checker, _ *Department, stored string) error {
			if in.WebhookSecret == nil {
				d.WebhookSecret = stored
			}
			d.WebhookSecretSet = d.WebhookSecret != ""
			if d.WebhookURL != "" && d.WebhookSecret == "" {
				c.Add("webhookSecret", CodeSecretRequired, "a department with a webhookUrl needs a webhookSecret")
			}
			return nil
		},
		secret: func() string { return d.WebhookSecret },
	}.run(ctx, c)
}

// HistoryEntry is one stored version of a record.
type HistoryEntry struct {
	Version int `json:"version"`
	// Changed lists the top-level fields that differ from the previous
	// version (all of them for version 1).
	Changed   []string  `json:"changed"`
	ChangedBy string    `json:"changedBy"`
	ChangedAt time.Time `json:"changedAt"`
	// Record is the record as it was in that version (departments without
	// their secret).
	Record json.RawMessage `json:"record"`
}

// History kinds for History: the path segment of the record's endpoint.
var historyKinds = map[string]kind{
	"items": kindItem, "bundles": kindBundle, "scopes": kindScope,
	"license-types": kindLicenseType, "departments": kindDepartment,
}

// History returns up to limit versions of the record at /{collection}/{code}
// (collection: items, bundles, scopes, license-types, departments), newest
// first, starting below version before (0 for the newest). It reads the
// database (catalog_history's primary key): it is an admin's tool.
func (c *Catalog) History(ctx context.Context, collection, code string, before, limit int) ([]HistoryEntry, error) {
	k, ok := historyKinds[collection]
	if !ok {
		return nil, fmt.Errorf("history: unknown collection %q", collection)
	}
	if c.db == nil {
		return nil, problem.Unavailable("the catalogue has no database")
	}
	if before <= 0 {
		before = int(^uint32(0) >> 1)
	}
	rows, err := c.db.Query(ctx, `
		SELECT version, changed, changed_by, changed_at, doc FROM catalog_history
		WHERE kind = $1 AND code = $2 AND version < $3 ORDER BY version DESC LIMIT $4`,
		k.name, code, before, limit)
	if err != nil {
		return nil, fmt.Errorf("read history of %s %s: %w", k.name, code, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (HistoryEntry, error) {
		var h HistoryEntry
		err := row.Scan(&h.Version, &h.Changed, &h.ChangedBy, &h.ChangedAt, &h.Record)
		h.ChangedAt = h.ChangedAt.In(shanghai)
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("read history of %s %s: %w", k.name, code, err)
	}
	return out, nil
}

// shanghai is Asia/Shanghai (UTC+8 without daylight saving since 1991).
var shanghai = time.FixedZone("CST", 8*60*60)
