// Package webhook owns OneWindow's pushes to department systems (contract
// section 4): a transactional outbox in PostgreSQL and the deliverer that
// POSTs each stored JSON body, signed per Standard Webhooks v1, to the
// department's webhook URL until it answers 2xx.
//
// A caller writes a delivery in its own transaction with Enqueue, commits,
// then calls Kick so that the in-process loop (Run) sends it at once. A
// scheduled trigger calls RunDue to re-drive whatever is due, so retries
// happen even when no replica runs the loop.
//
// Guarantees:
//
//   - Nothing is lost: a delivery exists exactly when the caller's
//     transaction commits, and stays pending until a 2xx answer or until it
//     is parked. A replica that dies between commit and delivery, or in the
//     middle of an attempt, leaves the row to another replica (after
//     Config.Lease in the second case).
//   - At least once, once in practice: replicas claim rows with FOR UPDATE
//     SKIP LOCKED and a lease, so two replicas never attempt one delivery at
//     the same time. A receiver sees a delivery twice only when an attempt
//     outlives its lease (a stalled process) or its success could not be
//     recorded; the webhook-id is the same, so receivers dedupe on it, as
//     Standard Webhooks asks them to.
//   - Order per stream: deliveries of one stream (a case) are numbered in
//     commit order, and one is attempted only after every earlier one was
//     delivered or parked as failed. A receiver therefore sees successful
//     answers in stream order. A parked delivery does not hold its stream
//     forever: the next one is then sent, so a receiver that was down for
//     more than Config.RetryFor misses the parked one (visible as failed in
//     the case's deliveries) and carries on with the later ones.
//   - Retries: an answer other than 2xx (redirects are not followed), no
//     answer within Config.Timeout (10 s), a department without a webhook
//     URL or secret, or a failed lookup of them, is a failed attempt. The
//     next one follows after an exponential backoff with jitter (5 s ± 50 %
//     doubling up to 30 min ± 50 %), until Config.RetryFor (24 h) after
//     the delivery was created; a failure at or after that instant parks
//     it as failed. A delivery that waited behind an earlier one for longer
//     than that still gets one attempt.
//
// URL and secret are looked up through Endpoints at each attempt, so a
// department that configures its webhook late still gets what was queued.
//
// Streams should each go to one receiver: a stream whose head fails holds
// back the rest of that stream only, but all of it.
package webhook
