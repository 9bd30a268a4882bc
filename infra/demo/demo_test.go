package demo

import (
	"testing"

	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/testenv"
)

func TestLoadIsIdempotent(t *testing.T) {
	db := testenv.Pool(t)
	ctx := t.Context()
	if err := Load(ctx, db); err != nil {
		t.Fatal(err)
	}
	var rev1, hist1 int64
	if err := db.QueryRow(ctx, `SELECT (SELECT revision FROM catalog_revision), (SELECT count(*) FROM catalog_history)`).Scan(&rev1, &hist1); err != nil {
		t.Fatal(err)
	}
	if err := Load(ctx, db); err != nil {
		t.Fatal(err)
	}
	var rev2, hist2, saves int64
	if err := db.QueryRow(ctx, `SELECT (SELECT revision FROM catalog_revision), (SELECT count(*) FROM catalog_history),
		(SELECT count(*) FROM scope_selection_log)`).Scan(&rev2, &hist2, &saves); err != nil {
		t.Fatal(err)
	}
	if rev1 != rev2 || hist1 != hist2 || saves != int64(len(selections())) {
		t.Errorf("second load changed something: revision %d→%d, history %d→%d, %d saves", rev1, rev2, hist1, hist2, saves)
	}
	var maxVersion int
	if err := db.QueryRow(ctx, `SELECT max(version) FROM catalog_history`).Scan(&maxVersion); err != nil || maxVersion != 1 {
		t.Errorf("max version %d (%v), want 1", maxVersion, err)
	}

	cat := catalog.Open(db, catalog.Config{})
	defer cat.Close()
	snap, err := cat.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := snap.ExpandBundle("SJZ-YJS-MINSU")
	if !ok || b.Name != "民宿一件事" || len(b.Items) != 7 || len(b.MissingItems) != 0 {
		t.Fatalf("bundle = %+v", b)
	}
	depts := map[string]bool{}
	for _, it := range b.Items {
		depts[it.Department.Code] = true
		if len(it.Materials) < 3 {
			t.Errorf("item %s has %d materials", it.Code, len(it.Materials))
		}
	}
	for _, d := range []string{"130100-XZSP", "130100-GA", "130000-SCJG", "130000-XF"} {
		if !depts[d] {
			t.Errorf("no bundle item of department %s", d)
		}
		if dep, ok := snap.Department(d); !ok || !dep.WebhookSecretSet {
			t.Errorf("department %s = %+v", d, dep)
		}
	}
	for _, m := range b.Materials {
		if m.Code == "M-YYZZ" && len(m.Items) != 7 {
			t.Errorf("营业执照 is listed by %d items, want 7", len(m.Items))
		}
	}
	for _, q := range []string{"民宿", "食品", "消防", "许可"} {
		res, err := snap.SearchItems(catalog.ItemQuery{Q: q}, catalog.Page{})
		if err != nil || len(res.Items) == 0 {
			t.Errorf("items ?q=%s: %d, %v", q, len(res.Items), err)
		}
	}
	domains := map[string]bool{}
	res, _ := snap.SearchScopes(catalog.ScopeQuery{}, catalog.Page{Limit: 500})
	for _, e := range res.Items {
		domains[e.Domain] = true
	}
	if len(domains) < 5 {
		t.Errorf("scope domains %v, want at least 5", domains)
	}
}
