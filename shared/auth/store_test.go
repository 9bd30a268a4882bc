package auth

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/onewindow/onewindow/shared/internal/poll"
	"github.com/onewindow/onewindow/shared/testenv"
)

func TestSaveAppsAndRegistry(t *testing.T) {
	ctx := context.Background()
	db := testenv.Pool(t)
	apps := []AppRecord{
		{ID: "hebei-portal", Secret: secret, Roles: []Role{RolePlatform}},
		{ID: "sjz-police-system", Secret: "local-demo-secret-sjz-police", Roles: []Role{RoleDepartment}, Departments: []string{"130100-GA"},
			RatePerSecond: 2.5, RateBurst: 7},
	}
	if err := SaveApps(ctx, db, apps); err != nil {
		t.Fatal(err)
	}
	if err := SaveApps(ctx, db, apps); err != nil { // idempotent
		t.Fatal(err)
	}
	reg := NewRegistry(db, 0)
	rec, found, err := reg.Lookup(ctx, "sjz-police-system")
	if err != nil || !found || rec.Secret != "local-demo-secret-sjz-police" || !rec.App().ActsFor("130100-GA") ||
		rec.RatePerSecond != 2.5 || rec.RateBurst != 7 {
		t.Fatalf("Lookup = %+v, %v, %v", rec, found, err)
	}
	if _, found, err := reg.Lookup(ctx, "stranger"); err != nil || found {
		t.Fatalf("Lookup(stranger) found=%v err=%v", found, err)
	}
	if _, err := db.Exec(ctx, `UPDATE apps SET disabled = true WHERE id = 'hebei-portal'`); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := NewRegistry(db, 0).Lookup(ctx, "hebei-portal"); found {
		t.Error("a disabled app is found")
	}
	if err := SaveApps(ctx, db, []AppRecord{{ID: "x", Secret: "short", Roles: []Role{"king"}}}); err == nil {
		t.Error("SaveApps accepted an invalid app")
	}
}

func TestReadAppsFile(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "apps.json")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	apps, err := ReadAppsFile(filepath.Join("..", "..", "infra", "local", "apps.json"))
	if err != nil || len(apps) < 6 {
		t.Fatalf("the local stack's apps file: %d apps, %v", len(apps), err)
	}
	for _, bad := range []string{
		`{`,
		`[{"id":"a","secret":"0123456789abcdef","roles":["platform"]},{"id":"a","secret":"0123456789abcdef","roles":["platform"]}]`,
		`[{"id":"a","secret":"0123456789abcdef","roles":[]}]`,
		`[{"id":"a b","secret":"0123456789abcdef","roles":["admin"]}]`,
	} {
		if _, err := ReadAppsFile(write(bad)); err == nil {
			t.Errorf("ReadAppsFile accepted %s", bad)
		}
	}
}

// Two replicas racing with the same nonce: exactly one is fresh.
func TestNonceGuardRace(t *testing.T) {
	ctx := context.Background()
	db := testenv.Pool(t)
	guards := []*NonceGuard{NewNonceGuard(db), NewNonceGuard(db)}
	for round := range 20 {
		nonce := "race-nonce-" + string(rune('a'+round))
		var fresh atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				ok, err := guards[i%2].Remember(ctx, "hebei-portal", nonce)
				if err != nil {
					t.Error(err)
				}
				if ok {
					fresh.Add(1)
				}
			})
		}
		wg.Wait()
		if fresh.Load() != 1 {
			t.Fatalf("round %d: %d fresh answers, want exactly 1", round, fresh.Load())
		}
	}
	// The same nonce of another app is its own.
	if ok, err := guards[0].Remember(ctx, "wechat-hall", "race-nonce-a"); err != nil || !ok {
		t.Fatalf("another app's nonce: fresh=%v err=%v", ok, err)
	}
	// A nonce older than the window may be used again.
	if _, err := db.Exec(ctx, `UPDATE request_nonces SET seen_at = now() - interval '11 minutes' WHERE nonce = 'race-nonce-b'`); err != nil {
		t.Fatal(err)
	}
	if ok, err := guards[1].Remember(ctx, "hebei-portal", "race-nonce-b"); err != nil || !ok {
		t.Fatalf("expired nonce: fresh=%v err=%v", ok, err)
	}
	if ok, _ := guards[0].Remember(ctx, "hebei-portal", "race-nonce-b"); ok {
		t.Fatal("the renewed nonce is fresh again")
	}
}

// Nonces that arrive while a batch is in the database wait and go together
// in the next statement, each answered on its own: a pair asked twice in
// one batch is fresh once.
func TestNonceGuardBatches(t *testing.T) {
	ctx := context.Background()
	db := testenv.Pool(t)
	g := NewNonceGuard(db)

	// Hold the first batch in the database: an open transaction has
	// inserted the pair it asks for, so its upsert waits on that row.
	blocker, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback(ctx)
	if _, err := blocker.Exec(ctx, `INSERT INTO request_nonces (app_id, nonce) VALUES ('hebei-portal', 'batch-blocker')`); err != nil {
		t.Fatal(err)
	}
	first := make(chan bool, 1)
	go func() {
		ok, err := g.Remember(ctx, "hebei-portal", "batch-blocker")
		if err != nil {
			t.Error(err)
		}
		first <- ok
	}()
	poll.Until(t, func() bool { // its batch waits on the blocker's row lock
		var n int
		err := db.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO request_nonces%'`).Scan(&n)
		return err == nil && n == 1
	})

	const distinct, asks = 50, 3
	fresh := make([]atomic.Int32, distinct)
	var wg sync.WaitGroup
	for i := range distinct * asks {
		wg.Go(func() {
			ok, err := g.Remember(ctx, "wechat-hall", fmt.Sprintf("batch-nonce-%03d", i%distinct))
			if err != nil {
				t.Error(err)
			}
			if ok {
				fresh[i%distinct].Add(1)
			}
		})
	}
	poll.Until(t, func() bool { return g.batch.Waiting() == distinct*asks })

	if err := blocker.Rollback(ctx); err != nil { // the first batch goes on, then the queued one
		t.Fatal(err)
	}
	if !<-first {
		t.Error("the blocked nonce is not fresh once the other transaction rolled back")
	}
	wg.Wait()
	for i := range fresh {
		if n := fresh[i].Load(); n != 1 {
			t.Errorf("batch-nonce-%03d: %d fresh answers of %d, want exactly 1", i, n, asks)
		}
	}
}
