package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// outcome is what one attempt came to: one count, or none and the error
// that kept it from being recorded.
type outcome struct {
	counts Counts
	err    error
}

// recordTimeout bounds recording an outcome. Recording runs detached from
// the pass's context: an answered attempt must be recorded even during
// shutdown, or it would be sent again.
const recordTimeout = 5 * time.Second

// attempt sends one claimed delivery and records the outcome.
func (d *Deliverer) attempt(ctx context.Context, c claimed) outcome {
	reason := d.send(ctx, c)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	logger := d.cfg.Logger.With("webhook_id", webhookID(c.id), "type", c.typ, "stream", c.stream,
		"department", c.department, "attempt", c.attempts)
	now := d.cfg.Now()
	var (
		o   outcome
		err error
	)
	switch {
	case reason == "":
		o.counts.Delivered = 1
		err = d.finish(rctx, c, StateDelivered, "")
		if err == nil {
			logger.DebugContext(ctx, "webhook delivered")
		}
	case ctx.Err() != nil:
		// Stopping: the attempt was cut short, not answered. Due again at
		// once, for whichever replica comes next.
		o.counts.Retried = 1
		err = d.reschedule(rctx, c, now, "abandoned: deliverer stopped")
		logger.InfoContext(ctx, "webhook attempt abandoned at shutdown")
	case !now.Before(c.createdAt.Add(d.cfg.RetryFor)):
		o.counts.Failed = 1
		err = d.finish(rctx, c, StateFailed, reason)
		logger.ErrorContext(ctx, "webhook delivery failed for good; parked", "reason", reason,
			"created_at", c.createdAt)
	default:
		// The last retry comes at the RetryFor mark itself, not after it.
		next := now.Add(d.cfg.retryDelay(c.attempts))
		if deadline := c.createdAt.Add(d.cfg.RetryFor); next.After(deadline) {
			next = deadline
		}
		o.counts.Retried = 1
		err = d.reschedule(rctx, c, next, reason)
		logger.WarnContext(ctx, "webhook attempt failed; will retry", "reason", reason, "next_attempt_at", next)
	}
	if errors.Is(err, errLeaseLost) {
		// Another replica owns the delivery now and records its own
		// outcome; ours counts for nothing.
		logger.WarnContext(ctx, "webhook attempt outlived its lease; outcome not recorded")
		return outcome{}
	}
	if err != nil {
		// Counts report recorded outcomes only. Unrecorded, the delivery
		// is taken up again after the lease (and may be sent twice).
		logger.WarnContext(ctx, "webhook attempt outcome not recorded", "err", err)
		return outcome{err: err}
	}
	return o
}

// send makes one attempt and returns "" on a 2xx answer, else why not: a
// short reason fit for the case view (no URL, no secret).
func (d *Deliverer) send(ctx context.Context, c claimed) string {
	lctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	rawURL, secret, err := d.cfg.Endpoints.Endpoint(lctx, c.department)
	cancel()
	if err != nil {
		d.cfg.Logger.WarnContext(ctx, "webhook endpoint lookup failed", "department", c.department, "err", err)
		return "webhook endpoint lookup failed"
	}
	if rawURL == "" {
		return "department has no webhook URL"
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "webhook URL is not an absolute http(s) URL"
	}
	if secret == "" {
		return "department has no webhook secret"
	}
	signer, err := newSigner(secret)
	if err != nil {
		return "webhook secret is not whsec_ followed by base64"
	}
	id := webhookID(c.id)
	at := d.cfg.Now()
	signature, err := signer.Sign(id, at, c.body)
	if err != nil {
		return "signing failed"
	}

	actx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, u.String(), bytes.NewReader(c.body))
	if err != nil {
		return "webhook URL is not an absolute http(s) URL"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "OneWindow-Webhooks/1")
	req.Header.Set(standardwebhooks.HeaderWebhookID, id)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, signature)
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		reason := d.describe(err)
		d.cfg.Logger.DebugContext(ctx, "webhook attempt error", "host", u.Host, "reason", reason)
		return reason
	}
	// Read a little of the body so the connection can be reused; what it
	// says does not matter.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "HTTP " + strconv.Itoa(resp.StatusCode)
	}
	return ""
}

// newSigner returns the library's signer for secret. The catalogue accepts
// the base64 part with or without padding; the library decodes padded
// base64 only, so the padding is restored first.
func newSigner(secret string) (*standardwebhooks.Webhook, error) {
	key := strings.TrimRight(strings.TrimPrefix(secret, "whsec_"), "=")
	if key == "" {
		return nil, errors.New("empty webhook secret")
	}
	key += strings.Repeat("=", (4-len(key)%4)%4)
	wh, err := standardwebhooks.NewWebhook("whsec_" + key)
	if err != nil {
		// The library's error quotes nothing of the secret, but say only
		// what is wrong.
		return nil, errors.New("webhook secret is not base64")
	}
	return wh, nil
}

// maxReason caps a stored reason.
const maxReason = 200

// describe turns a transport error into a short reason. It drops the
// *url.Error wrapper, whose text quotes the URL (which may carry a token).
func (d *Deliverer) describe(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer within " + d.cfg.Timeout.String()
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return "no answer within " + d.cfg.Timeout.String()
	}
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err
	}
	return truncate(err.Error(), maxReason)
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
