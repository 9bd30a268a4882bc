package webhook

import (
	"time"

	"github.com/cenkalti/backoff/v4"
)

const (
	// retryJitter spreads retries ± 50 % around the mean, so that the
	// deliveries of a department that comes back do not arrive in waves.
	retryJitter = 0.5
	// retryMultiplier doubles the mean delay after each failed attempt.
	retryMultiplier = 2
	// maxBackoffSteps bounds the walk in retryDelay: by then any sane
	// MaxRetryInterval has been reached.
	maxBackoffSteps = 64
)

// retryDelay is the delay after the attempts-th failed attempt (1 for the
// first): FirstRetry × 2^(attempts-1), capped at MaxRetryInterval, with
// jitter. The attempt count lives in the database, not in a backoff
// object, so a fresh one is walked forward to it; only the last step's
// randomisation is kept.
func (c Config) retryDelay(attempts int) time.Duration {
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(c.FirstRetry),
		backoff.WithRandomizationFactor(retryJitter),
		backoff.WithMultiplier(retryMultiplier),
		backoff.WithMaxInterval(c.MaxRetryInterval),
		backoff.WithMaxElapsedTime(0), // RetryFor is enforced from created_at instead
	)
	delay := b.NextBackOff()
	for range min(attempts, maxBackoffSteps) - 1 {
		delay = b.NextBackOff()
	}
	return delay
}
