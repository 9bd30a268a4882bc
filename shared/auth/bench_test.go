package auth

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/onewindow/onewindow/shared/testenv"
)

// BenchmarkNonceGuard is the replay guard's cost per write request, from 64
// goroutines sharing one replica's pool (what serial-issue's POST pays);
// ns/op is wall time per nonce over all goroutines. "one statement each" is
// what the guard did before it batched, for comparison.
func BenchmarkNonceGuard(b *testing.B) {
	ctx := context.Background()
	db := testenv.Pool(b)
	var n atomic.Int64
	remember := map[string]func(nonce string) error{
		"one statement each": func(nonce string) error {
			_, err := db.Exec(ctx, `
				INSERT INTO request_nonces (app_id, nonce) VALUES ($1, $2)
				ON CONFLICT (app_id, nonce) DO UPDATE SET seen_at = now()
				WHERE request_nonces.seen_at < now() - make_interval(secs => $3)`,
				"hebei-portal", nonce, NonceWindow.Seconds())
			return err
		},
	}
	guard := NewNonceGuard(db)
	remember["batched"] = func(nonce string) error {
		_, err := guard.Remember(ctx, "hebei-portal", nonce)
		return err
	}
	for _, name := range []string{"batched", "one statement each"} {
		b.Run(name, func(b *testing.B) {
			b.SetParallelism(32) // × GOMAXPROCS goroutines
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := remember[name](fmt.Sprintf("bench-%d", n.Add(1))); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
