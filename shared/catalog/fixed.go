package catalog

import "time"

// Records is a whole catalogue in memory, for NewSnapshot.
type Records struct {
	Departments  []Department
	LicenseTypes []LicenseType
	Items        []Item
	Bundles      []Bundle
	ScopeEntries []ScopeEntry
}

// NewSnapshot builds a snapshot of r at revision, as a replica would after
// loading those records: items show their department's name and
// departments whether a secret is set. Replicas build theirs from the
// database; this is for tests and tools (benchmarks, other functions'
// unit tests with Fixed).
func NewSnapshot(revision int64, r Records) *Snapshot {
	d := &delta{revision: revision}
	in := newInterner()
	for i := range r.Departments {
		x := r.Departments[i]
		x.WebhookSecretSet = x.WebhookSecret != ""
		d.departments = append(d.departments, &x)
	}
	for i := range r.LicenseTypes {
		x := r.LicenseTypes[i]
		d.licenseTypes = append(d.licenseTypes, &x)
	}
	for i := range r.Items {
		x := r.Items[i]
		if x.Materials == nil {
			x.Materials = []Material{}
		}
		in.record(&x)
		d.items = append(d.items, &x)
	}
	for i := range r.Bundles {
		x := r.Bundles[i]
		in.record(&x)
		d.bundles = append(d.bundles, &x)
	}
	for i := range r.ScopeEntries {
		x := r.ScopeEntries[i]
		in.record(&x)
		d.scopes = append(d.scopes, &x)
	}
	return apply(nil, d, time.Now())
}

// Fixed returns a Catalog that always serves s and never touches a
// database: reads answer from s, Puts and selections fail with 503. For
// tests of code that reads the catalogue.
func Fixed(s *Snapshot) *Catalog {
	c := Open(nil, Config{})
	c.snap.Store(s)
	return c
}
