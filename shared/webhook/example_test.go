package webhook_test

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/shared/webhook"
)

// case-submit writes a case and its delivery in one transaction, commits,
// and kicks the loop that sends it. The case view lists the deliveries.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://localhost/onewindow")
	if err != nil {
		panic(err)
	}
	d, err := webhook.New(pool, webhook.Config{
		// case-submit adapts its catalogue: the department's webhookUrl
		// and secret, read at every attempt.
		Endpoints: webhook.EndpointFunc(func(ctx context.Context, department string) (string, string, error) {
			return "https://ga.example/onewindow/hook", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", nil
		}),
	})
	if err != nil {
		panic(err)
	}
	go d.Run(ctx) // until ctx ends; a scheduled trigger may also call d.RunDue

	const serial = "13010012026112200000013"
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// ... insert the case itself in tx ...
		_, err := d.Enqueue(ctx, tx, webhook.Message{
			Stream:     serial,
			Department: "130100-GA",
			Type:       "case.submitted",
			Body:       []byte(`{"type":"case.submitted","case":{"serial":"` + serial + `"},"event":{}}`),
		})
		return err
	})
	if err != nil {
		panic(err)
	}
	d.Kick() // after the commit: the row is visible now

	deliveries, err := webhook.List(ctx, pool, serial)
	if err != nil {
		panic(err)
	}
	for _, x := range deliveries {
		fmt.Println(x.ID, x.Type, x.State, x.Attempts)
	}
}
