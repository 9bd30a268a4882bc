// Package catalog owns the service-item catalogue of contract section 3:
// items (事项), bundles (一件事), business-scope entries (经营范围规范条目)
// with enterprises' selections of them, license types (证照目录) and
// departments with their webhook settings.
//
// Writes go to PostgreSQL through the Put functions, which validate, bump
// the record's version, keep every version in catalog_history and notify
// every replica in the same transaction. Reads come from a Catalog: an
// in-memory Snapshot of the whole catalogue per process, refreshed on
// LISTEN/NOTIFY with a periodic revision check as a safety net, so reads
// never touch the database and a write is visible everywhere within
// seconds (see Catalog).
//
// Functions other than catalog-lookup use it like this:
//
//	cat := catalog.Open(s.DB(), catalog.Config{}) // once per process
//	item, ok, err := cat.Item(ctx, "SJZ-GA-0001")
//	dept, ok, err := cat.Department(ctx, item.Department.Code) // with WebhookSecret
package catalog
