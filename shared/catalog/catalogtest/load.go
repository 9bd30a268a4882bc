package catalogtest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/shared/catalog"
)

// BulkLoad writes recs straight into the catalogue tables of migration
// 0020_catalog.sql with COPY, all as one new catalogue revision, and
// notifies the replicas. It skips validation, versions and history: the Put
// path takes one transaction per record, minutes for 100k. Records whose
// codes exist already are left as they are (the demo's departments).
func BulkLoad(ctx context.Context, db *pgxpool.Pool, recs catalog.Records, by string) (revision int64, err error) {
	err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `UPDATE catalog_revision SET revision = revision + 1 WHERE singleton RETURNING revision`).Scan(&revision); err != nil {
			return fmt.Errorf("bump catalogue revision: %w", err)
		}
		type row struct {
			code    string
			version int
			doc     any
			at      time.Time
		}
		copyRows := func(table string, rows []row) error {
			src := make([][]any, len(rows))
			for i, r := range rows {
				doc, err := json.Marshal(r.doc)
				if err != nil {
					return fmt.Errorf("encode %s %s: %w", table, r.code, err)
				}
				src[i] = []any{r.code, max(r.version, 1), revision, doc, r.at, by}
			}
			cols := "code, version, revision, doc, updated_at, updated_by"
			if _, err := tx.Exec(ctx, `CREATE TEMP TABLE bulk_rows AS SELECT `+cols+` FROM `+table+` WITH NO DATA`); err != nil {
				return fmt.Errorf("stage %s: %w", table, err)
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"bulk_rows"},
				[]string{"code", "version", "revision", "doc", "updated_at", "updated_by"}, pgx.CopyFromRows(src)); err != nil {
				return fmt.Errorf("copy into %s: %w", table, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO `+table+` (`+cols+`) SELECT `+cols+` FROM bulk_rows ON CONFLICT (code) DO NOTHING`); err != nil {
				return fmt.Errorf("insert into %s: %w", table, err)
			}
			if _, err := tx.Exec(ctx, `DROP TABLE bulk_rows`); err != nil {
				return fmt.Errorf("stage %s: %w", table, err)
			}
			return nil
		}
		var deps, lts, items, bundles, scopes []row
		for _, x := range recs.Departments {
			deps = append(deps, row{x.Code, x.Version, x, x.UpdatedAt})
		}
		for _, x := range recs.LicenseTypes {
			lts = append(lts, row{x.Code, x.Version, x, x.UpdatedAt})
		}
		for _, x := range recs.Items {
			items = append(items, row{x.Code, x.Version, x, x.UpdatedAt})
		}
		for _, x := range recs.Bundles {
			bundles = append(bundles, row{x.Code, x.Version, x, x.UpdatedAt})
		}
		for _, x := range recs.ScopeEntries {
			scopes = append(scopes, row{x.Code, x.Version, x, x.UpdatedAt})
		}
		for _, t := range []struct {
			table string
			rows  []row
		}{{"catalog_departments", deps}, {"catalog_license_types", lts}, {"catalog_items", items},
			{"catalog_bundles", bundles}, {"catalog_scope_entries", scopes}} {
			if err := copyRows(t.table, t.rows); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, catalog.NotifyChannel, strconv.FormatInt(revision, 10))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("bulk load catalogue: %w", err)
	}
	return revision, nil
}
