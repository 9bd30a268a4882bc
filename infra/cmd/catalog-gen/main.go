// Command catalog-gen fills a OneWindow database with a generated
// catalogue of realistic size and loads catalog-lookup through a gateway:
//
//	catalog-gen load  -database-url URL [-n 100000] [-seed 1]
//	catalog-gen bench -gateway http://127.0.0.1:8080 [-n 100000] [-seed 1] [-c 32] [-d 10s] [-replicas 1]
//
// load writes catalogtest.Generate(n, seed) with COPY as one catalogue
// revision (running replicas pick it up by NOTIFY); bench sends signed
// reads of that catalogue (the same n and seed name the same item codes) as
// the demo portal app and prints one Markdown table per scenario. The
// figures are in docs/benchmarks.md, "## catalog-lookup".
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/onewindow/onewindow/infra/gateway"
	"github.com/onewindow/onewindow/infra/loadgen"
	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/catalog/catalogtest"
	"github.com/onewindow/onewindow/shared/client"
	"github.com/onewindow/onewindow/shared/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: catalog-gen load|bench [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "load":
		err = load(ctx, os.Args[2:])
	case "bench":
		err = bench(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: load or bench", os.Args[1])
	}
	if err != nil {
		slog.Error("catalog-gen", "err", err)
		os.Exit(1)
	}
}

func load(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	dbURL := fs.String("database-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL of a migrated OneWindow database")
	n := fs.Int("n", 100_000, "items")
	seed := fs.Uint64("seed", 1, "generator seed")
	_ = fs.Parse(args)
	pool, err := store.Open(ctx, *dbURL, store.PoolOptions{MaxConns: 2, ApplicationName: "catalog-gen"})
	if err != nil {
		return err
	}
	defer pool.Close()
	start := time.Now()
	recs := catalogtest.Generate(*n, *seed)
	rev, err := catalogtest.BulkLoad(ctx, pool, recs, "catalog-gen")
	if err != nil {
		return err
	}
	fmt.Printf("loaded %d items, %d bundles, %d scope entries as catalogue revision %d in %v\n",
		len(recs.Items), len(recs.Bundles), len(recs.ScopeEntries), rev, time.Since(start).Round(time.Millisecond))
	return nil
}

func bench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	gatewayURL := fs.String("gateway", "http://127.0.0.1:8080", "gateway URL")
	appsFile := fs.String("apps", "infra/local/apps.json", "apps file with the signing app")
	appID := fs.String("app", "hebei-portal", "signing app")
	n := fs.Int("n", 100_000, "items of the loaded catalogue")
	seed := fs.Uint64("seed", 1, "generator seed of the loaded catalogue")
	conc := fs.Int("c", 32, "concurrent clients")
	dur := fs.Duration("d", 10*time.Second, "duration of each scenario")
	replicas := fs.Int("replicas", 0, "scale catalog-lookup to this many replicas first (0 leaves it)")
	adminID := fs.String("admin", "onewindow-admin", "admin app for the visibility check")
	_ = fs.Parse(args)

	apps, err := auth.ReadAppsFile(*appsFile)
	if err != nil {
		return err
	}
	var c, admin *client.Client
	for _, a := range apps {
		if a.ID == *appID {
			c = client.New(*gatewayURL, a.ID, a.Secret)
		}
		if a.ID == *adminID {
			admin = client.New(*gatewayURL, a.ID, a.Secret)
		}
	}
	if c == nil {
		return fmt.Errorf("app %s is not in %s", *appID, *appsFile)
	}
	if *replicas > 0 {
		if err := gateway.ScaleAndWait(ctx, *gatewayURL, "catalog-lookup", *replicas); err != nil {
			return err
		}
	}
	recs := catalogtest.Generate(*n, *seed)
	get := func(name string, path func(seq int) string) loadgen.Scenario {
		return loadgen.Scenario{Name: name, OK: func(s int) bool { return s == http.StatusOK },
			Request: func(ctx context.Context, worker, seq int) (*http.Request, error) {
				return c.Request(ctx, "catalog-lookup", "GET", path(worker*7919+seq), nil, nil)
			}}
	}
	search := func(q string) func(int) string {
		return func(int) string { return "/items?q=" + url.QueryEscape(q) }
	}
	// 2000 different 2-character queries (bigrams of item names): mostly
	// not yet in a replica's cache of recent searches.
	var varied []string
	for _, it := range recs.Items[:2000] {
		r := []rune(it.Name)
		varied = append(varied, string(r[len(r)/2:len(r)/2+2]))
	}
	scenarios := []loadgen.Scenario{
		get("GET /items/{code}", func(i int) string { return "/items/" + recs.Items[i%len(recs.Items)].Code }),
		get("GET /items?q=食品 (2 chars)", search("食品")),
		get("GET /items?q=证 (1 char, 90% of items)", search("证")),
		get("GET /items?q=民宿 (2 chars, rare)", search("民宿")),
		get("GET /items?q=gmp (English)", search("gmp")),
		get("GET /items?q=<2000 different 2-char queries>", func(i int) string {
			return "/items?q=" + url.QueryEscape(varied[i%len(varied)])
		}),
		get("GET /bundles/{code} (expanded)", func(i int) string { return "/bundles/" + recs.Bundles[i%len(recs.Bundles)].Code }),
	}
	// Warm-up: the replicas load the catalogue on their first request.
	for range 3 {
		if err := c.Call(ctx, "catalog-lookup", "GET", "/items?limit=1", nil, nil); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	if admin != nil {
		if err := visibility(ctx, c, admin, recs.Items[0].Code); err != nil {
			return err
		}
	}
	for _, s := range scenarios {
		fmt.Fprintf(os.Stderr, "bench: %s (%d clients, %s)\n", s.Name, *conc, *dur)
		rep, err := loadgen.Run(ctx, loadgen.Options{Concurrency: *conc, Duration: *dur}, s)
		if err != nil {
			return err
		}
		fmt.Printf("\n### %s: %d clients, %s\n\n%s", s.Name, *conc, rep.Elapsed.Round(time.Millisecond), rep.Markdown())
	}
	return nil
}

// visibility changes an item through the gateway and reports how long
// until 20 reads in a row, spread by the gateway over every replica, show
// the new version.
func visibility(ctx context.Context, reader, admin *client.Client, code string) error {
	var it map[string]any
	if err := reader.Call(ctx, "catalog-lookup", "GET", "/items/"+code, nil, &it); err != nil {
		return fmt.Errorf("visibility: read %s: %w", code, err)
	}
	delete(it, "version")
	delete(it, "updatedAt")
	it["name"] = fmt.Sprintf("%v（%d）", it["name"], time.Now().Unix())
	var written struct {
		Version int `json:"version"`
	}
	start := time.Now()
	if err := admin.Call(ctx, "catalog-lookup", "PUT", "/items/"+code, it, &written); err != nil {
		return fmt.Errorf("visibility: write %s: %w", code, err)
	}
	wrote := time.Since(start)
	for streak := 0; streak < 20; {
		var got struct {
			Version int `json:"version"`
		}
		if err := reader.Call(ctx, "catalog-lookup", "GET", "/items/"+code, nil, &got); err != nil {
			return fmt.Errorf("visibility: read %s: %w", code, err)
		}
		if got.Version == written.Version {
			streak++
		} else {
			streak = 0
		}
		if time.Since(start) > 30*time.Second {
			return fmt.Errorf("visibility: version %d not on every replica after 30 s", written.Version)
		}
	}
	fmt.Printf("\nvisibility: PUT /items/%s answered in %v; 20 reads in a row showed version %d %v after the PUT began\n",
		code, wrote.Round(time.Millisecond), written.Version, time.Since(start).Round(time.Millisecond))
	return nil
}
