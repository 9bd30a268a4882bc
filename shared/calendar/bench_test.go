package calendar

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkWD is warning-scan's hot path: a deadline per case per scan,
// from acceptance dates spread over two years.
func BenchmarkWD(b *testing.B) {
	cal := Official()
	starts := make([]time.Time, 512)
	for i := range starts {
		starts[i] = time.Date(2025, 1, 1, 9, 30, 0, 0, Shanghai).Add(time.Duration(i) * 37 * time.Hour)
	}
	for _, n := range []int{1, 20, 300} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_ = cal.WD(starts[i%len(starts)], n)
				i++
			}
		})
	}
}

func BenchmarkBetween(b *testing.B) {
	cal := Official()
	a := time.Date(2025, 3, 1, 9, 30, 0, 0, Shanghai)
	end := time.Date(2026, 10, 12, 9, 30, 0, 0, Shanghai)
	b.ReportAllocs()
	for b.Loop() {
		_ = cal.Between(a, end)
	}
}
