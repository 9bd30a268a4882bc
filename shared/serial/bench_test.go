package serial

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/onewindow/onewindow/shared/testenv"
)

// benchRegion picks the benchmark's region. A long run can use up the 9,999,999
// sequence numbers of a key, so on ErrExhausted the benchmark moves on to
// the next region code (110000, 110001, ...).
type benchRegion struct{ i atomic.Int64 }

func (r *benchRegion) get() (int64, string) {
	i := r.i.Load()
	return i, fmt.Sprintf("11%04d", i)
}

// issue draws len(dst) serials, switching region when the current one is
// exhausted.
func (r *benchRegion) issue(b *testing.B, a *Allocator, dst []Serial, region *string, idx *int64) {
	for {
		_, err := a.IssueInto(context.Background(), dst, *region, Online)
		if err == nil {
			return
		}
		if !errors.Is(err, ErrExhausted) {
			b.Fatal(err)
		}
		r.i.CompareAndSwap(*idx, *idx+1)
		*idx, *region = r.get()
	}
}

// BenchmarkIssue measures drawing and formatting serials in one goroutine,
// the in-memory path with background prefetching against the test
// PostgreSQL.
func BenchmarkIssue(b *testing.B) {
	a := newAllocator(b, testenv.Pool(b), Config{})
	for _, count := range []int{1, 100} {
		b.Run(fmt.Sprintf("count=%d", count), func(b *testing.B) {
			var rot benchRegion
			rot.i.Store(int64(count)) // a key of its own
			idx, region := rot.get()
			dst := make([]Serial, count)
			buf := make([]byte, 0, Len*count)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				rot.issue(b, a, dst, &region, &idx)
				buf = buf[:0]
				for _, s := range dst {
					buf = s.AppendTo(buf)
				}
				n += count
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "serials/s")
		})
	}
}

// BenchmarkIssueParallel is BenchmarkIssue with GOMAXPROCS goroutines
// drawing one serial at a time from the same key.
func BenchmarkIssueParallel(b *testing.B) {
	a := newAllocator(b, testenv.Pool(b), Config{})
	var rot benchRegion
	rot.i.Store(1000)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		idx, region := rot.get()
		dst := make([]Serial, 1)
		buf := make([]byte, 0, Len)
		for pb.Next() {
			rot.issue(b, a, dst, &region, &idx)
			buf = dst[0].AppendTo(buf[:0])
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "serials/s")
}
