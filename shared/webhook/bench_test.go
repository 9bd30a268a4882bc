package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/testenv"
)

// BenchmarkRunDue measures delivery throughput: b.N deliveries, one per
// stream, committed beforehand, sent by one RunDue to a receiver that
// answers 204 at once. What it costs is the claim, the POST and the
// finishing transaction per delivery.
func BenchmarkRunDue(b *testing.B) {
	db := testenv.Pool(b)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(srv.Close)
	secret := newSecret(b)
	eps := EndpointFunc(func(context.Context, string) (string, string, error) { return srv.URL, secret, nil })
	d, err := New(db, Config{Endpoints: eps, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	body := []byte(`{"type":"case.event","case":{"serial":"13010012026112200000013"},"event":{"type":"accepted"}}`)

	b.StopTimer()
	for i := 0; i < b.N; i += 500 {
		err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
			for j := i; j < min(i+500, b.N); j++ {
				m := Message{Stream: fmt.Sprintf("bench-%d", j), Department: "D1", Type: "case.event", Body: body}
				if _, err := d.Enqueue(ctx, tx, m); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StartTimer()
	c, err := d.RunDue(ctx, 0)
	b.StopTimer()
	if err != nil || c.Delivered != b.N {
		b.Fatalf("RunDue = %+v, %v; want %d delivered", c, err, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
