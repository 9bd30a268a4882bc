package catalog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/catalog/catalogtest"
	"github.com/onewindow/onewindow/shared/testenv"
)

// The benchmarks of docs/benchmarks.md (## catalog-lookup). They report;
// they never fail on a number. A catalogue of benchItems items from
// catalogtest.Generate.
const benchItems = 100_000

var (
	bigOnce sync.Once
	bigRecs catalog.Records
	bigSnap *catalog.Snapshot
)

func big(b *testing.B) (catalog.Records, *catalog.Snapshot) {
	b.Helper()
	bigOnce.Do(func() {
		bigRecs = catalogtest.Generate(benchItems, 1)
		bigSnap = catalog.NewSnapshot(1, bigRecs)
	})
	b.ResetTimer()
	return bigRecs, bigSnap
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkBuildSnapshot: building the in-memory snapshot (maps and the
// three search indexes) from 10k and 100k decoded items; reports the heap
// the snapshot keeps (MB).
func BenchmarkBuildSnapshot(b *testing.B) {
	for _, n := range []int{10_000, benchItems} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				before := heapInUse()
				recs := catalogtest.Generate(n, 1)
				b.StartTimer()
				s := catalog.NewSnapshot(1, recs)
				b.StopTimer()
				recs = catalog.Records{}
				after := heapInUse()
				b.ReportMetric(float64(after-before)/(1<<20), "MB-heap")
				b.ReportMetric(float64(s.Counts().SearchTerms), "terms")
				runtime.KeepAlive(s)
				runtime.KeepAlive(recs)
				b.StartTimer()
			}
		})
	}
}

// BenchmarkRefreshOneItem100k: a replica's refresh after one item changed:
// the records are shared with the previous snapshot, the item index is
// rebuilt.
func BenchmarkRefreshOneItem100k(b *testing.B) {
	recs, s := big(b)
	it := recs.Items[123]
	for b.Loop() {
		it.Version++
		it.Name = fmt.Sprintf("食品经营许可（变更%d）", it.Version)
		s = catalog.ApplyItems(s, it)
	}
}

func BenchmarkItemByCode(b *testing.B) {
	recs, s := big(b)
	c := catalog.Fixed(s)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	codes := make([]string, 4096)
	for i := range codes {
		codes[i] = recs.Items[rng.IntN(len(recs.Items))].Code
	}
	i := 0
	for b.Loop() {
		if _, ok, _ := c.Item(ctx, codes[i&4095]); !ok {
			b.Fatal("missing")
		}
		i++
	}
}

// BenchmarkItemJSON: what GET /items/{code} costs besides the lookup:
// encoding and the ETag hash.
func BenchmarkItemJSON(b *testing.B) {
	recs, s := big(b)
	it, _ := s.Item(recs.Items[42].Code)
	for b.Loop() {
		body, _ := json.Marshal(it)
		_ = catalog.ETag(body)
	}
}

var benchQueries = []struct{ name, q string }{
	{"1char-食", "食"},
	{"1char-证", "证"},
	{"2char-食品", "食品"},
	{"2char-许可", "许可"},
	{"2char-民宿", "民宿"},
	{"4char-营业执照", "营业执照"},
	{"long-旅馆业特种行业许可", "旅馆业特种行业许可"},
	{"two-terms-食品 告知承诺", "食品 告知承诺"},
	{"english-gmp", "gmp"},
	{"english-icp", "ICP"},
	{"english-none-food", "food"},
	{"code-prefix-130109-scjg", "130109-SCJG"},
	{"code-exact", "130109-SCJG-000001"},
}

// BenchmarkSearchItems: the first page (50) of GET /items?q= for 1- and
// 2-character Chinese, longer Chinese, English and code queries, ranked
// afresh (uncached) and from the snapshot's cache of recent searches
// (cached); reports how many items match.
func BenchmarkSearchItems(b *testing.B) {
	_, s := big(b)
	for _, mode := range []string{"uncached", "cached"} {
		for _, q := range benchQueries {
			b.Run(mode+"/"+q.name, func(b *testing.B) {
				matches := countMatches(b, s, q.q)
				for b.Loop() {
					if mode == "uncached" {
						catalog.ResetSearchCache(s)
					}
					if _, err := s.SearchItems(catalog.ItemQuery{Q: q.q}, catalog.Page{Limit: 50}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(matches), "matches")
			})
		}
	}
}

// BenchmarkSearchItemsParallel: uncached 2-character searches from every
// core, each a different query (bigrams of item names).
func BenchmarkSearchItemsParallel(b *testing.B) {
	recs, s := big(b)
	var queries []string
	for _, it := range recs.Items[:2000] {
		r := []rune(it.Name)
		queries = append(queries, string(r[len(r)/2:len(r)/2+2]))
	}
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			catalog.ResetSearchCache(s)
			q := queries[next.Add(1)%int64(len(queries))]
			_, _ = s.SearchItems(catalog.ItemQuery{Q: q}, catalog.Page{Limit: 50})
		}
	})
}

func BenchmarkExpandBundle(b *testing.B) {
	recs, s := big(b)
	for b.Loop() {
		if _, ok := s.ExpandBundle(recs.Bundles[7].Code); !ok {
			b.Fatal("missing")
		}
	}
}

func countMatches(b *testing.B, s *catalog.Snapshot, q string) int {
	b.Helper()
	n, p := 0, catalog.Page{Limit: catalog.MaxLimit}
	for {
		res, err := s.SearchItems(catalog.ItemQuery{Q: q}, p)
		if err != nil {
			b.Fatal(err)
		}
		n += len(res.Items)
		if res.NextCursor == "" {
			return n
		}
		p.Cursor = res.NextCursor
	}
}

// BenchmarkLoadFromPostgres100k: a replica's first load of 100k items
// from PostgreSQL (one repeatable-read transaction on its listener
// connection, JSON decoding, interning, indexes), and the heap it then
// holds. Needs the test PostgreSQL (bin/onewindow testenv).
func BenchmarkLoadFromPostgres100k(b *testing.B) {
	if os.Getenv(testenv.EnvPostgresURL) == "" {
		b.Skip("needs the test PostgreSQL: bin/onewindow testenv -- go test -bench ...")
	}
	pool := testenv.Pool(b)
	ctx := context.Background()
	recs := catalogtest.Generate(benchItems, 1)
	if _, err := catalogtest.BulkLoad(ctx, pool, recs, "bench"); err != nil {
		b.Fatal(err)
	}
	recs = catalog.Records{}
	for b.Loop() {
		before := heapInUse()
		start := time.Now()
		c := catalog.Open(pool, catalog.Config{})
		s, err := c.Snapshot(ctx)
		if err != nil {
			b.Fatal(err)
		}
		loadMs := float64(time.Since(start).Milliseconds())
		b.StopTimer()
		heapMB := float64(heapInUse()-before) / (1 << 20)
		if s.Counts().Items != benchItems {
			b.Fatalf("loaded %d items", s.Counts().Items)
		}
		c.Close()
		b.ReportMetric(loadMs, "ms-first-load")
		b.ReportMetric(heapMB, "MB-heap")
		b.StartTimer()
	}
}
