package tests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/infra/gateway"
	"github.com/onewindow/onewindow/shared/client"
)

// loadItem is what the load applies for: 食品经营备案, three required
// materials, so a submission is three uploads and one POST.
const loadItem = "HB-SCJG-SPBA-001"

// scanLockID is shared/cards' advisory lock (scanLockID there, not
// exported): holding it is what "a scan is still running" looks like.
const scanLockID = 7_104_202_606

// faultRun is the state the fault subtests share: one stack over servers
// of its own, and every portal submission sent, so that the last subtest
// can check each exists exactly once.
type faultRun struct {
	s         *runningStack
	deps      *faultDeps
	db        *pgxpool.Pool
	portal    *client.Client
	materials []string // required by loadItem

	subs      []submission      // every portal submission sent
	created   map[string]string // key → serial, once a 201 came
	unsettled []submission      // sent, no 201 yet
	lastFault time.Time         // a key held in flight then is free a lease later
}

// TestFaults breaks the local stack under load (issue 8): a case-submit
// replica killed, PostgreSQL stopped, MinIO stopped, and a scan fired
// while another runs. The stack runs against a PostgreSQL and a MinIO of
// this test's own, since make test's shared ones must keep serving the
// other packages. A submission that got an error is retried with its
// Idempotency-Key at the end, once every lease it may hold has run out;
// then each must exist exactly once, with nothing half-written.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own PostgreSQL, MinIO and stack: not in -short")
	}
	deps := startFaultDeps(t)
	s := startStack(t)
	s.waitHealthy(t, 5*time.Minute)
	f := &faultRun{s: s, deps: deps, db: openStackDB(t, s), portal: s.appClient(t, "hebei-portal"),
		created: map[string]string{}}
	f.materials = requiredMaterials(t, f.portal, loadItem)

	// The two faults that can leave keys in flight come first: the other
	// subtests run while those keys' leases run out.
	if !t.Run("a killed case-submit replica is restarted and retries create nothing twice", f.replicaKilled) ||
		!t.Run("PostgreSQL stopped: 503 with Retry-After, then back within 5 s", f.postgresStopped) {
		return // the rest needs a working stack
	}
	t.Run("MinIO stopped: uploads, fetches and submissions refused cleanly", f.minioStopped)
	t.Run("a scan fired while another runs issues nothing twice", f.overlappingScans)
	t.Run("every submission exists once and whole", f.settle)
}

// prepare makes n portal submissions of loadItem ready to send.
func (f *faultRun) prepare(t *testing.T, n int) []submission {
	t.Helper()
	subs := make([]submission, n)
	for i := range subs {
		subs[i] = prepareSubmission(t, f.portal, loadItem, "online", f.materials, nil)
	}
	f.subs = append(f.subs, subs...)
	return subs
}

// keep records a finished load's outcome for the last subtest.
func (f *faultRun) keep(attempts []attempt, unsettled []submission, fault time.Time) {
	for _, a := range attempts {
		if a.status == http.StatusCreated && a.err == nil {
			f.created[a.key] = a.serial
		}
	}
	f.unsettled = append(f.unsettled, unsettled...)
	f.lastFault = fault
}

// allAvailable reports whether every replica of fn answers its health check.
func (f *faultRun) allAvailable(fn string) bool {
	a, err := readAnswer(http.Get(f.s.url + "/system/function/" + fn))
	var st gateway.FunctionStatus
	if err != nil || a.status != http.StatusOK || json.Unmarshal(a.body, &st) != nil {
		return false
	}
	return st.Replicas > 0 && st.AvailableReplicas == st.Replicas
}

func (f *faultRun) replicaKilled(t *testing.T) {
	subs := f.prepare(t, 16)
	victim := f.s.pidFiles(t)["case-submit-0"]
	if victim == 0 {
		t.Fatalf("no pid file for case-submit-0: %v", f.s.pidFiles(t))
	}
	load := startLoad(t, subs, 3)
	pollUntil(t, time.Minute, "4 submissions created before the kill", func() bool { return load.createdCount() >= 4 })
	killed := time.Now()
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, time.Minute, "case-submit-0 restarted and every replica available", func() bool {
		pid := f.s.pidFiles(t)["case-submit-0"]
		return pid != 0 && pid != victim && processAlive(pid) && f.allAvailable("case-submit")
	})
	restarted := time.Now()
	pollUntil(t, time.Minute, "every submission created or tried again since the restart",
		func() bool { return load.triedSince(restarted) })
	attempts, unsettled := load.stopAndWait()
	f.keep(attempts, unsettled, killed)

	t.Logf("%d attempts by status %v; %d without a 201 yet; restarted %s after the kill",
		len(attempts), statusCounts(attempts), len(unsettled), restarted.Sub(killed).Round(time.Millisecond))
	// 502: the request was at the killed replica (never re-sent by the
	// gateway); 503: a retry found its key still held by that request.
	checkNoServerBug(t, attempts, http.StatusCreated, http.StatusBadGateway, http.StatusServiceUnavailable)
	for _, a := range attempts {
		if a.status == http.StatusBadGateway && a.code != "upstream_failed" {
			t.Errorf("502 from the gateway without code upstream_failed: %v", a)
		}
	}
	if processAlive(victim) {
		t.Errorf("killed pid %d still exists", victim)
	}
	// The load may have finished before the restart was seen (a quick
	// machine): new submissions after it prove the function serves again,
	// over both replicas (the gateway takes turns).
	after := startLoad(t, f.prepare(t, 4), 2)
	pollUntil(t, time.Minute, "4 submissions created after the restart", func() bool { return after.createdCount() == 4 })
	afterAttempts, afterUnsettled := after.stopAndWait()
	f.keep(afterAttempts, afterUnsettled, killed)
	checkNoServerBug(t, afterAttempts, http.StatusCreated)
}

func (f *faultRun) postgresStopped(t *testing.T) {
	subs := f.prepare(t, 12)
	probe := f.prepare(t, 1)[0]
	load := startLoad(t, subs, 3)
	pollUntil(t, time.Minute, "3 submissions created before the stop", func() bool { return load.createdCount() >= 3 })
	f.deps.stopPostgres()
	stopped := time.Now()
	pollUntil(t, 30*time.Second, "6 submissions answered while PostgreSQL is down", func() bool {
		return len(attemptsBetween(load.snapshot(), stopped, time.Now())) >= 6
	})
	restarting := time.Now()
	f.deps.startPostgres(t)
	ready := time.Now()

	// The probe is a client retrying one submission until it is created.
	var probeAttempts []attempt
	pace := time.NewTicker(faultPace)
	defer pace.Stop()
	for {
		a := probe.send()
		probeAttempts = append(probeAttempts, a)
		if a.status == http.StatusCreated {
			if took := a.done.Sub(ready); took > 5*time.Second {
				t.Errorf("first submission after PostgreSQL's return created %s after it was ready, want within 5 s", took)
			} else {
				t.Logf("first submission created %s after PostgreSQL was ready", took.Round(time.Millisecond))
			}
			break
		}
		if time.Since(ready) > 5*time.Second {
			t.Errorf("no submission created within 5 s of PostgreSQL's return; last answer: %v", a)
			break
		}
		<-pace.C
	}
	pollUntil(t, time.Minute, "every submission created or tried again since the return",
		func() bool { return load.triedSince(ready) })
	attempts, unsettled := load.stopAndWait()
	probeUnsettled := []submission{}
	if last := probeAttempts[len(probeAttempts)-1]; last.status != http.StatusCreated {
		probeUnsettled = append(probeUnsettled, probe)
	}
	f.keep(append(attempts, probeAttempts...), append(unsettled, probeUnsettled...), stopped)

	t.Logf("%d attempts by status %v; %d without a 201 yet", len(attempts), statusCounts(attempts), len(unsettled))
	checkNoServerBug(t, append(attempts, probeAttempts...), http.StatusCreated, http.StatusServiceUnavailable)
	down := attemptsBetween(attempts, stopped, restarting)
	if len(down) == 0 {
		t.Error("no submission was answered while PostgreSQL was down")
	}
	for _, a := range down {
		if !a.unavailableProperly() {
			t.Errorf("while PostgreSQL was down, want 503 with Retry-After: %v", a)
		}
	}
}

func (f *faultRun) minioStopped(t *testing.T) {
	ctx := context.Background()
	var serial string
	for _, s := range f.created {
		serial = s
		break
	}
	if serial == "" {
		t.Fatal("no case created by the earlier subtests")
	}
	attachment := f.attachmentOf(t, serial)
	sub := f.prepare(t, 1)[0]
	before := queryInt(t, f.db, `SELECT count(*) FROM cases WHERE app_id = 'hebei-portal'`)

	f.deps.stopMinIO()
	storeUp := false
	t.Cleanup(func() {
		if !storeUp { // a failed check must not leave the store down for the next subtests
			f.deps.startMinIO(t)
		}
	})
	upload, err := signedCall(ctx, f.portal, "case-submit", http.MethodPost, "/uploads", uploadAnnouncement(demoPDF))
	if err != nil || !isUnavailableAnswer(upload.status, upload.header.Get("Retry-After")) {
		t.Errorf("POST /uploads with MinIO down: %v %v, want 503 with Retry-After", upload, err)
	}
	fetch, err := signedCall(ctx, f.portal, "document-fetch", http.MethodGet, "/attachments/"+attachment, nil)
	if err != nil || !isUnavailableAnswer(fetch.status, fetch.header.Get("Retry-After")) {
		t.Errorf("GET /attachments/%s with MinIO down: %v %v, want 503 with Retry-After", attachment, fetch, err)
	}
	refused := sub.send()
	if !refused.unavailableProperly() {
		t.Errorf("a submission of uploaded files with MinIO down: %v, want 503 with Retry-After", refused)
	}
	// Refused cleanly: no case, its uploads free, its key released.
	if after := queryInt(t, f.db, `SELECT count(*) FROM cases WHERE app_id = 'hebei-portal'`); after != before {
		t.Errorf("%d portal cases before the refused submission, %d after", before, after)
	}
	if n := queryInt(t, f.db, `SELECT count(*) FROM uploads WHERE upload_id::text = ANY($1) AND attached_at IS NOT NULL`, sub.uploads); n != 0 {
		t.Errorf("the refused submission took %d uploads", n)
	}
	if n := queryInt(t, f.db, `SELECT count(*) FROM idempotency_keys WHERE key = $1`, sub.key); n != 0 {
		t.Errorf("the refused submission's Idempotency-Key is still held")
	}

	f.deps.startMinIO(t)
	storeUp = true
	ready := time.Now()
	var created attempt
	pollUntil(t, 10*time.Second, "the refused submission created once MinIO is back", func() bool {
		created = sub.send()
		return created.status == http.StatusCreated
	})
	f.created[created.key] = created.serial
	t.Logf("the refused submission was created %s after MinIO was back", created.done.Sub(ready).Round(time.Millisecond))
	uploadThroughStack(t, f.portal, demoPDF) // fails the test unless the upload and its PUT work
	fetch, err = signedCall(ctx, f.portal, "document-fetch", http.MethodGet, "/attachments/"+attachment, nil)
	var dl struct {
		URL string `json:"url"`
	}
	if err != nil || fetch.status != http.StatusOK || json.Unmarshal(fetch.body, &dl) != nil {
		t.Fatalf("GET /attachments/%s with MinIO back: %v %v", attachment, fetch, err)
	}
	file, err := readAnswer(http.Get(dl.URL))
	if err != nil || file.status != http.StatusOK || !bytes.Equal(file.body, demoPDF) {
		t.Errorf("the presigned download with MinIO back: %v %v", file, err)
	}
}

// attachmentOf is the first attachment of a portal case.
func (f *faultRun) attachmentOf(t *testing.T, serial string) string {
	t.Helper()
	a, err := signedCall(context.Background(), f.portal, "case-submit", http.MethodGet, "/cases/"+serial, nil)
	var c struct {
		Materials []struct {
			Attachments []struct {
				AttachmentID string `json:"attachmentId"`
			} `json:"attachments"`
		} `json:"materials"`
	}
	if err != nil || a.status != http.StatusOK || json.Unmarshal(a.body, &c) != nil ||
		len(c.Materials) == 0 || len(c.Materials[0].Attachments) == 0 {
		t.Fatalf("case %s: %v %v", serial, a, err)
	}
	return c.Materials[0].Attachments[0].AttachmentID
}

// uploadAnnouncement is the body of POST /uploads for data, a PDF.
func uploadAnnouncement(data []byte) []byte {
	sum := sha256.Sum256(data)
	return fmt.Appendf(nil, `{"fileName":"申请书.pdf","contentType":"application/pdf","sizeBytes":%d,"sha256":%q}`,
		len(data), hex.EncodeToString(sum[:]))
}

func (f *faultRun) overlappingScans(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lock, err := pgx.Connect(ctx, stackDatabaseURL(t, f.s))
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close(context.Background())
	// Held from here, the lock also keeps the scheduler's own scan from
	// issuing the cards of the cases below before the scans we count.
	if _, err := lock.Exec(ctx, `SELECT pg_advisory_lock($1)`, scanLockID); err != nil {
		t.Fatal(err)
	}

	// Received 29 days ago on site and never accepted: past acceptBy
	// (5 working days), so each earns one acceptance_overdue card.
	window := f.s.appClient(t, "sjz-xzsp-window")
	const item = "SJZ-XZSP-PSXK-001"
	materials := requiredMaterials(t, window, item)
	receivedAt := time.Now().AddDate(0, 0, -29).Format(time.RFC3339)
	var serials []string
	for range 3 {
		a := prepareSubmission(t, window, item, "onsite", materials, map[string]any{"receivedAt": receivedAt}).send()
		if a.status != http.StatusCreated || a.err != nil {
			t.Fatalf("overdue case: %v", a)
		}
		serials = append(serials, a.serial)
	}

	for i, a := range triggerScans(t, f.s, 2) {
		if !a.Running || a.Issued+a.Escalated != 0 {
			t.Errorf("scan %d while another holds the lock: %+v, want running and nothing issued", i, a)
		}
	}
	if _, err := lock.Exec(ctx, `SELECT pg_advisory_unlock($1)`, scanLockID); err != nil {
		t.Fatal(err)
	}
	pair := triggerScans(t, f.s, 2)
	ran, issued := 0, 0
	for _, a := range pair {
		if !a.Running {
			ran++
		}
		issued += a.Issued
	}
	// Two scans at once: one runs and the other answers running, or, when
	// the first is done before the second starts, the second finds
	// nothing left to issue. Either way each card is issued once.
	if ran == 0 || issued != len(serials) {
		t.Errorf("two scans at once: %+v, want at least one run and %d cards issued in all", pair, len(serials))
	}
	rows, err := f.db.Query(ctx, `SELECT case_serial, count(*) FROM cards WHERE case_serial = ANY($1) GROUP BY case_serial`, serials)
	if err != nil {
		t.Fatal(err)
	}
	cards := map[string]int{}
	var serial string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&serial, &n}, func() error { cards[serial] = n; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, s := range serials {
		if cards[s] != 1 {
			t.Errorf("case %s holds %d cards, want 1", s, cards[s])
		}
	}
	if again := triggerScans(t, f.s, 1)[0]; again.Running || again.Issued+again.Escalated != 0 {
		t.Errorf("a later scan: %+v, want nothing issued or escalated", again)
	}
}

// settle retries every submission still without a 201, with its key,
// until it is created; then checks that each submission ever sent exists
// exactly once and whole.
func (f *faultRun) settle(t *testing.T) {
	deadline := f.lastFault.Add(idempotencyLease + 30*time.Second)
	t.Logf("%d submissions to retry; keys held in flight free up by %s", len(f.unsettled), time.Until(deadline).Round(time.Second))
	var mu sync.Mutex
	var attempts []attempt
	var wg sync.WaitGroup
	for _, sub := range f.unsettled {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pace := time.NewTicker(500 * time.Millisecond)
			defer pace.Stop()
			for {
				a := sub.send()
				mu.Lock()
				attempts = append(attempts, a)
				mu.Unlock()
				if a.status == http.StatusCreated || time.Now().After(deadline) {
					return
				}
				<-pace.C
			}
		}()
	}
	wg.Wait()
	t.Logf("%d retries by status %v", len(attempts), statusCounts(attempts))
	checkNoServerBug(t, attempts, http.StatusCreated, http.StatusServiceUnavailable)
	for _, a := range attempts {
		if a.status == http.StatusCreated && a.err == nil {
			f.created[a.key] = a.serial
		}
	}

	// Sent again, each submission is its first answer replayed.
	serials := map[string]string{}
	for _, sub := range f.subs {
		first, ok := f.created[sub.key]
		if !ok {
			t.Errorf("submission %s never created", sub.key)
			continue
		}
		a := sub.send()
		if a.status != http.StatusCreated || !a.replayed || a.serial != first {
			t.Errorf("submission %s sent again: %v, replayed %v, serial %s, want its first serial %s replayed",
				sub.key, a, a.replayed, a.serial, first)
		}
		if other, dup := serials[first]; dup {
			t.Errorf("keys %s and %s answered the same serial %s", other, sub.key, first)
		}
		serials[first] = sub.key
		if got, err := signedCall(context.Background(), f.portal, "case-submit", http.MethodGet, "/cases/"+first, nil); err != nil || got.status != http.StatusOK {
			t.Errorf("GET /cases/%s: %v %v", first, got, err)
		}
	}

	var uploads []string
	for _, sub := range f.subs {
		uploads = append(uploads, sub.uploads...)
	}
	for _, c := range []struct {
		what string
		sql  string
		args []any
		want int
	}{
		{"portal cases, one per submission sent", `SELECT count(*) FROM cases WHERE app_id = 'hebei-portal' AND parent_id IS NULL`, nil, len(f.subs)},
		{"cases without their submission event", `SELECT count(*) FROM cases c
			WHERE NOT EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.case_id AND e.seq = 1)`, nil, 0},
		{"cases whose event count disagrees with their events", `SELECT count(*) FROM cases c
			WHERE c.events <> (SELECT count(*) FROM case_events e WHERE e.case_id = c.case_id)`, nil, 0},
		{"portal cases without one attachment per required material", `SELECT count(*) FROM cases c
			WHERE c.app_id = 'hebei-portal' AND $1 <> (SELECT count(*) FROM attachments a WHERE a.case_id = c.case_id)`,
			[]any{len(f.materials)}, 0},
		{"uploads taken without an attachment", `SELECT count(*) FROM uploads u WHERE u.attached_at IS NOT NULL
			AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.object_key = u.object_key)`, nil, 0},
		{"uploads of the submissions not taken", `SELECT count(*) FROM uploads WHERE upload_id::text = ANY($1) AND attached_at IS NULL`,
			[]any{uploads}, 0},
		{"Idempotency-Keys of case-submit still in flight", `SELECT count(*) FROM idempotency_keys
			WHERE function = 'case-submit' AND state <> 'done'`, nil, 0},
	} {
		if got := queryInt(t, f.db, c.sql, c.args...); got != c.want {
			t.Errorf("%s: %d, want %d", c.what, got, c.want)
		}
	}
}
