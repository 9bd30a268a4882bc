package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Snapshot is the whole catalogue as of one revision. It is immutable and
// safe for concurrent use; the records it returns are shared and must be
// treated as read-only (copy a slice before changing it).
type Snapshot struct {
	// Revision is the catalogue revision the snapshot holds: it reflects
	// every write up to and including that revision, and no later one.
	Revision int64
	// LoadedAt is when this replica built the snapshot.
	LoadedAt time.Time

	// Each kind: by code, in code order (lists), and its search index.
	items        map[string]*Item
	itemList     []*Item
	itemText     *textIndex[*Item]
	bundles      map[string]*Bundle
	bundleList   []*Bundle
	bundleText   *textIndex[*Bundle]
	scopes       map[string]*ScopeEntry
	scopeList    []*ScopeEntry
	scopeText    *textIndex[*ScopeEntry]
	licenseTypes map[string]*LicenseType
	licenseList  []*LicenseType
	departments  map[string]*Department
	// How each kind is indexed, built once per snapshot.
	itemIn   indexer[*Item]
	bundleIn indexer[*Bundle]
	scopeIn  indexer[*ScopeEntry]

	// Ranked searches of this snapshot (a new snapshot starts empty).
	itemCache   resultCache[*Item]
	bundleCache resultCache[*Bundle]
	scopeCache  resultCache[*ScopeEntry]
}

// Item returns the item with code (published or abolished).
func (s *Snapshot) Item(code string) (*Item, bool) { it, ok := s.items[code]; return it, ok }

// Bundle returns the bundle with code.
func (s *Snapshot) Bundle(code string) (*Bundle, bool) { b, ok := s.bundles[code]; return b, ok }

// ScopeEntry returns the scope entry with code.
func (s *Snapshot) ScopeEntry(code string) (*ScopeEntry, bool) { e, ok := s.scopes[code]; return e, ok }

// LicenseType returns the license type with code.
func (s *Snapshot) LicenseType(code string) (*LicenseType, bool) {
	lt, ok := s.licenseTypes[code]
	return lt, ok
}

// Department returns the department with code, its WebhookSecret included:
// for internal use (signing deliveries); render it only through its JSON
// form, which leaves the secret out.
func (s *Snapshot) Department(code string) (*Department, bool) {
	d, ok := s.departments[code]
	return d, ok
}

// Counts is the number of records of each kind, for logs and benchmarks.
type Counts struct {
	Items, Bundles, ScopeEntries, LicenseTypes, Departments int
	// SearchTerms is the number of distinct index terms over all indexes.
	SearchTerms int
}

// Counts counts the snapshot's records.
func (s *Snapshot) Counts() Counts {
	return Counts{Items: len(s.items), Bundles: len(s.bundles), ScopeEntries: len(s.scopes),
		LicenseTypes: len(s.licenseTypes), Departments: len(s.departments),
		SearchTerms: s.itemText.terms() + s.bundleText.terms() + s.scopeText.terms()}
}

// delta is what changed after a revision: the rows read in one
// repeatable-read transaction, so that together they are the catalogue
// exactly as of revision.
type delta struct {
	revision     int64
	items        []*Item
	bundles      []*Bundle
	scopes       []*ScopeEntry
	licenseTypes []*LicenseType
	departments  []*Department
}

func (d *delta) records() int {
	return len(d.items) + len(d.bundles) + len(d.scopes) + len(d.licenseTypes) + len(d.departments)
}

func (d *delta) empty() bool { return d.records() == 0 }

// querier is a connection or transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// readRevision reads the catalogue-wide change counter (one row, primary key).
func readRevision(ctx context.Context, q querier) (int64, error) {
	var rev int64
	if err := q.QueryRow(ctx, `SELECT revision FROM catalog_revision WHERE singleton`).Scan(&rev); err != nil {
		return 0, fmt.Errorf("read catalogue revision: %w", err)
	}
	return rev, nil
}

// readDelta reads every record changed after revision since, through the
// tables' *_revision indexes (a sequential scan on the first load).
func readDelta(ctx context.Context, conn *pgx.Conn, since int64) (*delta, error) {
	d := &delta{}
	err := pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		if d.revision, err = readRevision(ctx, tx); err != nil {
			return err
		}
		if d.revision <= since {
			return nil
		}
		in := newInterner()
		if d.departments, err = readRows[Department](ctx, tx, kindDepartment, since, in); err != nil {
			return err
		}
		if d.licenseTypes, err = readRows[LicenseType](ctx, tx, kindLicenseType, since, in); err != nil {
			return err
		}
		if d.items, err = readRows[Item](ctx, tx, kindItem, since, in); err != nil {
			return err
		}
		if d.bundles, err = readRows[Bundle](ctx, tx, kindBundle, since, in); err != nil {
			return err
		}
		d.scopes, err = readRows[ScopeEntry](ctx, tx, kindScope, since, in)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read catalogue changes after revision %d: %w", since, err)
	}
	return d, nil
}

func readRows[T any](ctx context.Context, tx pgx.Tx, k kind, since int64, in *interner) ([]*T, error) {
	secretCol := "''"
	if k == kindDepartment {
		secretCol = "webhook_secret"
	}
	rows, err := tx.Query(ctx, `SELECT version, doc, `+secretCol+`, updated_at FROM `+k.table+` WHERE revision > $1`, since)
	if err != nil {
		return nil, fmt.Errorf("read %s rows: %w", k.name, err)
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		var version int
		var doc []byte
		var secret string
		var at time.Time
		if err := rows.Scan(&version, &doc, &secret, &at); err != nil {
			return nil, fmt.Errorf("read %s rows: %w", k.name, err)
		}
		rec := new(T)
		if err := json.Unmarshal(doc, rec); err != nil {
			return nil, fmt.Errorf("decode stored %s: %w", k.name, err)
		}
		fixLoaded(rec, version, at, secret)
		in.record(rec)
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s rows: %w", k.name, err)
	}
	return out, nil
}

// interner shares equal strings and content-type lists among the records
// of one load: material names, kinds, regions and codes repeat across
// thousands of items, and a replica holds them all.
type interner struct {
	strs  map[string]string
	types map[string][]string
}

func newInterner() *interner {
	return &interner{strs: map[string]string{}, types: map[string][]string{}}
}

func (in *interner) s(v string) string {
	if x, ok := in.strs[v]; ok {
		return x
	}
	in.strs[v] = v
	return v
}

func (in *interner) record(rec any) {
	switch r := rec.(type) {
	case *Item:
		r.Kind, r.Region = in.s(r.Kind), in.s(r.Region)
		r.Department.Code, r.Department.Name = in.s(r.Department.Code), in.s(r.Department.Name)
		r.Status = Status(in.s(string(r.Status)))
		// Decoding grows the slice by doubling; keep only what is used.
		r.Materials = append(make([]Material, 0, len(r.Materials)), r.Materials...)
		for i := range r.Materials {
			m := &r.Materials[i]
			m.Code, m.Name, m.LicenseType = in.s(m.Code), in.s(m.Name), in.s(m.LicenseType)
			key := strings.Join(m.ContentTypes, ",")
			if x, ok := in.types[key]; ok {
				m.ContentTypes = x
			} else {
				in.types[key] = m.ContentTypes
			}
		}
	case *Bundle:
		r.LeadDepartment = in.s(r.LeadDepartment)
		for i := range r.Items {
			r.Items[i] = in.s(r.Items[i])
		}
	case *ScopeEntry:
		r.Domain = in.s(r.Domain)
	}
}

// apply returns the snapshot that is prev (nil for none) with d applied.
// Unchanged records are shared with prev. The item index takes the changed
// items into its overlay (see textIndex); it is rebuilt in full on the
// first load, when departments or license types change (their names are
// indexed with many items) or when the overlay grows too big. The bundle
// and scope indexes, small, are rebuilt when their text may have changed.
func apply(prev *Snapshot, d *delta, now time.Time) *Snapshot {
	if prev == nil {
		prev = &Snapshot{}
	}
	s := &Snapshot{Revision: d.revision, LoadedAt: now}
	s.departments = merge(prev.departments, d.departments, func(x *Department) string { return x.Code })
	s.licenseTypes = merge(prev.licenseTypes, d.licenseTypes, func(x *LicenseType) string { return x.Code })
	s.bundles = merge(prev.bundles, d.bundles, func(x *Bundle) string { return x.Code })
	s.scopes = merge(prev.scopes, d.scopes, func(x *ScopeEntry) string { return x.Code })

	full := prev.itemText == nil || len(d.departments) > 0 || len(d.licenseTypes) > 0
	changed := d.items
	if len(d.departments) > 0 {
		// Every item shows its department's current name.
		changed = nil
		for _, it := range prev.items {
			if dep, ok := s.departments[it.Department.Code]; ok && dep.Name != it.Department.Name {
				changed = append(changed, it)
			}
		}
		changed = append(changed, d.items...)
	}
	for i, it := range changed {
		if dep, ok := s.departments[it.Department.Code]; ok && dep.Name != it.Department.Name {
			cp := *it
			cp.Department.Name = dep.Name
			changed[i] = &cp
		}
	}
	s.items = merge(prev.items, changed, func(x *Item) string { return x.Code })
	s.itemList = mergeSorted(prev.itemList, changed, func(x *Item) string { return x.Code })
	s.licenseList = mergeSorted(prev.licenseList, d.licenseTypes, func(x *LicenseType) string { return x.Code })
	s.bundleList = mergeSorted(prev.bundleList, d.bundles, func(x *Bundle) string { return x.Code })
	s.scopeList = mergeSorted(prev.scopeList, d.scopes, func(x *ScopeEntry) string { return x.Code })

	// Items whose indexed text changed: their own changes and the members,
	// before and after, of changed bundles (bundle names are indexed with
	// their items).
	codes := make([]string, 0, len(changed))
	for _, it := range changed {
		codes = append(codes, it.Code)
	}
	for _, b := range d.bundles {
		codes = append(codes, b.Items...)
		if old, ok := prev.bundles[b.Code]; ok {
			codes = append(codes, old.Items...)
		}
	}
	s.itemIn, s.bundleIn, s.scopeIn = s.itemIndexer(), s.bundleIndexer(), s.scopeIndexer()
	in := s.itemIn
	var wg sync.WaitGroup
	switch {
	case full:
		wg.Go(func() { s.itemText = fullIndex(in, s.itemList) })
	case len(codes) > 0:
		wg.Go(func() {
			if s.itemText = prev.itemText.withChanges(in, codes, s.itemList); s.itemText == nil {
				s.itemText = fullIndex(in, s.itemList)
			}
		})
	default:
		s.itemText = prev.itemText
	}
	if len(changed) > 0 || len(d.departments) > 0 || len(d.bundles) > 0 || prev.bundleText == nil {
		wg.Go(func() { s.bundleText = fullIndex(s.bundleIn, s.bundleList) })
	} else {
		s.bundleText = prev.bundleText
	}
	if len(d.scopes) > 0 || prev.scopeText == nil {
		wg.Go(func() { s.scopeText = fullIndex(s.scopeIn, s.scopeList) })
	} else {
		s.scopeText = prev.scopeText
	}
	wg.Wait()
	return s
}

// mergeSorted returns prev (sorted by key) with changed records replacing
// those of the same key and new ones inserted in order. prev is not
// modified. It costs a copy of prev and O(len(changed) log len(prev))
// key reads.
func mergeSorted[T any](prev []*T, changed []*T, key func(*T) string) []*T {
	if len(changed) == 0 && prev != nil {
		return prev
	}
	find := func(list []*T, k string) (int, bool) {
		return slices.BinarySearchFunc(list, k, func(p *T, k string) int { return strings.Compare(key(p), k) })
	}
	latest := make(map[string]*T, len(changed)) // the last change of a key wins
	for _, x := range changed {
		latest[key(x)] = x
	}
	var added []*T
	for k, x := range latest {
		if _, ok := find(prev, k); !ok {
			added = append(added, x)
		}
	}
	slices.SortFunc(added, func(a, b *T) int { return strings.Compare(key(a), key(b)) })
	out := make([]*T, 0, len(prev)+len(added))
	from := 0
	for _, x := range added {
		at, _ := find(prev, key(x))
		out = append(append(out, prev[from:at]...), x)
		from = at
	}
	out = append(out, prev[from:]...)
	for k, x := range latest {
		if i, ok := find(out, k); ok {
			out[i] = x
		}
	}
	return out
}

func merge[T any](prev map[string]*T, changed []*T, key func(*T) string) map[string]*T {
	if len(changed) == 0 && prev != nil {
		return prev
	}
	out := make(map[string]*T, len(prev)+len(changed))
	maps.Copy(out, prev)
	for _, x := range changed {
		out[key(x)] = x
	}
	return out
}

// Field weights of the search indexes. A name match outweighs every other
// field together, so name matches rank first (contract section 3).
const (
	weightName      = 10000
	weightCode      = 300
	weightDept      = 100
	weightKind      = 60
	weightMaterials = 30
	weightBundles   = 20
)

// itemIndexer indexes items by name, code, department name, kind,
// material (and linked license type) names and the names of the bundles
// that hold them, in that order of weight: 民宿 finds the items of
// 民宿一件事 after any item named so.
func (s *Snapshot) itemIndexer() indexer[*Item] {
	inBundles := map[string][]string{}
	for _, bu := range s.bundles {
		if bu.Status != StatusPublished {
			continue
		}
		for _, code := range bu.Items {
			inBundles[code] = append(inBundles[code], bu.Name)
		}
	}
	return indexer[*Item]{
		weights: []int{weightName, weightCode, weightDept, weightKind, weightMaterials, weightBundles},
		code:    func(it *Item) string { return it.Code },
		status:  func(it *Item) Status { return it.Status },
		fields: func(it *Item) [][]string {
			mats := make([]string, 0, len(it.Materials))
			for _, m := range it.Materials {
				mats = append(mats, m.Name)
				if lt, ok := s.licenseTypes[m.LicenseType]; ok {
					mats = append(mats, lt.Name)
				}
			}
			return [][]string{{it.Name}, {it.Code}, {it.Department.Name}, {it.Kind}, mats, inBundles[it.Code]}
		},
	}
}

// bundleIndexer indexes bundles by name, code, lead department name and
// the names of their items.
func (s *Snapshot) bundleIndexer() indexer[*Bundle] {
	return indexer[*Bundle]{
		weights: []int{weightName, weightCode, weightDept, weightKind},
		code:    func(b *Bundle) string { return b.Code },
		status:  func(b *Bundle) Status { return b.Status },
		fields: func(bu *Bundle) [][]string {
			names := make([]string, 0, len(bu.Items))
			for _, code := range bu.Items {
				if it, ok := s.items[code]; ok {
					names = append(names, it.Name)
				}
			}
			lead := ""
			if d, ok := s.departments[bu.LeadDepartment]; ok {
				lead = d.Name
			}
			return [][]string{{bu.Name}, {bu.Code}, {lead}, names}
		},
	}
}

// scopeIndexer indexes scope entries by name, code, domain and the texts
// of their expressions.
func (s *Snapshot) scopeIndexer() indexer[*ScopeEntry] {
	return indexer[*ScopeEntry]{
		weights: []int{weightName, weightCode, weightDept, weightKind},
		code:    func(e *ScopeEntry) string { return e.Code },
		status:  func(e *ScopeEntry) Status { return e.Status },
		fields: func(e *ScopeEntry) [][]string {
			texts := make([]string, len(e.Expressions))
			for i, x := range e.Expressions {
				texts[i] = x.Text
			}
			return [][]string{{e.Name}, {e.Code}, {e.Domain}, texts}
		},
	}
}
