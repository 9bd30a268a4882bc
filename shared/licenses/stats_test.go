package licenses_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/licenses"
)

// Issuance and use counted by department, region and type over Shanghai
// dates.
func TestStats(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	h.issue("S-1", person)
	h.issue("S-2", enterprise)
	tz := h.input("S-TZ", person)
	tz.TypeCode, tz.IssuedAt = "LT-TZHY", "2026-11-20T23:30:00+08:00"
	tz.UploadID = h.upload(police, "application/pdf", fileOf("S-TZ"))
	if _, err := h.reg.Issue(h.ctx, police, tz); err != nil {
		t.Fatal(err)
	}
	purpose := h.mustSubmit(portal)
	for _, no := range []string{"S-1", "S-1", "S-TZ"} {
		if _, err := h.reg.Use(h.ctx, supervisor, no, purpose); err != nil {
			t.Fatal(err)
		}
	}
	h.clock.Add(-24 * time.Hour) // a use yesterday, 2026-11-22
	if _, err := h.reg.Use(h.ctx, supervisor, "S-2", purpose); err != nil {
		t.Fatal(err)
	}

	type item struct {
		key   string
		count int64
	}
	tests := []struct {
		name     string
		count    func(licenses.StatsQuery) (licenses.Stats, error)
		q        licenses.StatsQuery
		want     []item
		wantName string
	}{
		{"issued by department", h.stats(h.reg.Issuance), licenses.StatsQuery{From: "2026-01-01", To: "2026-12-31"},
			[]item{{"130000-SCJG", 2}, {"130100-GA", 1}}, "河北省市场监督管理局"},
		{"issued by region", h.stats(h.reg.Issuance), licenses.StatsQuery{From: "2026-01-01", To: "2026-12-31", GroupBy: "region"},
			[]item{{"130000", 2}, {"130100", 1}}, ""},
		{"issued by type, one Shanghai day", h.stats(h.reg.Issuance), licenses.StatsQuery{From: "2026-11-20", To: "2026-11-20", GroupBy: "type"},
			[]item{{"LT-TZHY", 1}}, "特种行业许可证"},
		{"issued in a quiet range", h.stats(h.reg.Issuance), licenses.StatsQuery{From: "2026-02-01", To: "2026-11-19"}, nil, ""},
		{"used by type", h.stats(h.reg.Usage), licenses.StatsQuery{From: "2026-11-22", To: "2026-11-23", GroupBy: "type"},
			[]item{{"LT-YYZZ", 3}, {"LT-TZHY", 1}}, "营业执照"},
		{"used today by department", h.stats(h.reg.Usage), licenses.StatsQuery{From: "2026-11-23", To: "2026-11-23", GroupBy: "department"},
			[]item{{"130000-SCJG", 2}, {"130100-GA", 1}}, "河北省市场监督管理局"},
		{"used yesterday by region", h.stats(h.reg.Usage), licenses.StatsQuery{From: "2026-11-22", To: "2026-11-22", GroupBy: "region"},
			[]item{{"130000", 1}}, ""},
	}
	check := func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s, err := tt.count(tt.q)
				if err != nil {
					t.Fatal(err)
				}
				var got []item
				var total int64
				for _, it := range s.Items {
					got = append(got, item{it.Key, it.Count})
					total += it.Count
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) || s.Total != total || s.Items == nil {
					t.Errorf("items %v (total %d), want %v", got, s.Total, tt.want)
				}
				if len(s.Items) > 0 && s.Items[0].Name != tt.wantName {
					t.Errorf("name %q, want %q", s.Items[0].Name, tt.wantName)
				}
			})
		}
	}
	// The days of the uses are open: counted from the uses themselves.
	t.Run("open days", check)
	// Three days on, they are rolled up; the counts stay the same.
	h.clock.Add(72 * time.Hour)
	t.Run("closed days", check)
	var days int
	if err := h.db.QueryRow(h.ctx, `SELECT count(*) FROM license_use_days WHERE day IN ('2026-11-22', '2026-11-23')`).Scan(&days); err != nil || days != 3 {
		t.Errorf("%d roll-up rows for the two days (%v), want 3", days, err)
	}
	// A range over closed days and today adds both.
	if _, err := h.reg.Use(h.ctx, supervisor, "S-TZ", purpose); err != nil {
		t.Fatal(err)
	}
	if s, err := h.reg.Usage(h.ctx, licenses.StatsQuery{From: "2026-11-01", To: "2026-11-30", GroupBy: "type"}); err != nil ||
		fmt.Sprint(s.Items) != "[{LT-YYZZ 营业执照 3} {LT-TZHY 特种行业许可证 2}]" {
		t.Errorf("closed and open days = %+v, %v", s.Items, err)
	}

	for _, q := range []struct {
		q           licenses.StatsQuery
		field, code string
	}{
		{licenses.StatsQuery{To: "2026-01-01"}, "from", "required"},
		{licenses.StatsQuery{From: "2026-1-1", To: "2026-01-01"}, "from", "invalid"},
		{licenses.StatsQuery{From: "2026-02-01", To: "2026-01-01"}, "to", "invalid"},
		{licenses.StatsQuery{From: "2026-01-01", To: "2026-01-01", GroupBy: "item"}, "groupBy", "invalid"},
	} {
		_, err := h.reg.Usage(h.ctx, q.q)
		wantProblem(t, err, 422, "validation_failed", q.field, q.code)
	}
}

func (h *harness) stats(f func(ctx context.Context, q licenses.StatsQuery) (licenses.Stats, error)) func(licenses.StatsQuery) (licenses.Stats, error) {
	return func(q licenses.StatsQuery) (licenses.Stats, error) { return f(h.ctx, q) }
}

// BenchmarkStats answers GET /stats/usage over 1,000,000 use records (a
// year of uses of 100,000 licenses of 25 types, issued by 10 departments
// in 10 regions; a type has one department, a department one region) and
// GET /stats/issuance over those licenses, against the real PostgreSQL.
// Usage is measured before the year's days are rolled up (every use
// counted from license_uses) and after. The rows are generated in SQL the
// way a year of production leaves them: vacuumed and analysed
// (autovacuum's job there).
func BenchmarkStats(b *testing.B) {
	h := newHarness(b, 0)
	purpose := h.mustSubmit(portal)
	start := time.Now()
	conn, err := h.db.Acquire(h.ctx)
	if err != nil {
		b.Fatal(err)
	}
	// A bulk load skips the per-row foreign-key checks (superuser only;
	// the test server's user is one).
	for _, sql := range []string{
		`SET session_replication_role = replica`,
		`INSERT INTO licenses (license_no, type_code, department, region, holder_id_type, holder_id, holder_name,
			issued_at, valid_until, data, upload_id, object_key, file_name, content_type, size_bytes, sha256,
			app_id, status, created_at)
		SELECT 'G-' || i, 'LT-' || (i % 25), 'D-' || (i % 25 % 10), '1301' || lpad((i % 25 % 10)::text, 2, '0'), 'resident_id',
			'H' || (i % 50000), '某人', timestamptz '2026-01-01 00:00+08' + (i % 365) * interval '1 day',
			NULL, '{}', gen_random_uuid(), 'uploads/g/' || i, 'g.pdf', 'application/pdf', 100, repeat('0', 64),
			'gen', 'valid', now()
		FROM generate_series(1, 100000) i`,
		`INSERT INTO license_uses (license_no, app_id, case_serial, item_code, used_at, type_code, department, region)
		SELECT 'G-' || (i % 100000 + 1), 'app-' || (i % 7), '` + purpose + `', 'HS-WL-01',
			timestamptz '2026-01-01 00:00+08' + (i % 365) * interval '1 day' + (i % 86400) * interval '1 second',
			'LT-' || ((i % 100000 + 1) % 25), 'D-' || ((i % 100000 + 1) % 25 % 10),
			'1301' || lpad(((i % 100000 + 1) % 25 % 10)::text, 2, '0')
		FROM generate_series(1, 1000000) i`,
		`RESET session_replication_role`,
		`VACUUM ANALYZE licenses`,
		`VACUUM ANALYZE license_uses`,
	} {
		if _, err := conn.Exec(h.ctx, sql); err != nil {
			b.Fatal(err)
		}
	}
	conn.Release()
	b.Logf("generated 100,000 licenses and 1,000,000 uses in %v", time.Since(start))

	year := licenses.StatsQuery{From: "2026-01-01", To: "2026-12-31"}
	month := licenses.StatsQuery{From: "2026-06-01", To: "2026-06-30"}
	run := func(name string, count func(context.Context, licenses.StatsQuery) (licenses.Stats, error), q licenses.StatsQuery, by string, total int64) {
		b.Run(name, func(b *testing.B) {
			q.GroupBy = by
			for b.Loop() {
				s, err := count(h.ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if total > 0 && s.Total != total {
					b.Fatalf("total %d, want %d", s.Total, total)
				}
			}
		})
	}
	// Before the year's days are closed: every use counted from license_uses.
	h.clock.Add(-330 * 24 * time.Hour) // 2025-12-28
	run("usage/year/department/open", h.reg.Usage, year, "department", 1_000_000)
	// After: the first request closes the year, the next ones read the roll-up.
	h.clock.Add(370 * 24 * time.Hour) // 2027-01-02
	start = time.Now()
	if _, err := h.reg.Usage(h.ctx, year); err != nil {
		b.Fatal(err)
	}
	b.Logf("closing 365 days of 1,000,000 uses took %v, once", time.Since(start))
	run("usage/year/department/closed", h.reg.Usage, year, "department", 1_000_000)
	run("usage/year/region/closed", h.reg.Usage, year, "region", 1_000_000)
	run("usage/year/type/closed", h.reg.Usage, year, "type", 1_000_000)
	run("usage/month/department/closed", h.reg.Usage, month, "department", 0)
	run("issuance/year/type", h.reg.Issuance, year, "type", 100_000)
}
