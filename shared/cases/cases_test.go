package cases_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/objects"
	"github.com/onewindow/onewindow/shared/serial"
)

// One item from submission to completion: the receipt, masking, the
// deadlines of every step, the state machine's 409s, and the deliveries in
// event order.
func TestItemLifecycle(t *testing.T) {
	h := newHarness(t)
	in := h.itemSubmission(portal)
	r, err := h.desk.Submit(h.ctx, portal, in)
	if err != nil {
		t.Fatal(err)
	}
	if v := serial.Verify(r.Serial); !v.Valid || r.Status != cases.Submitted || r.Serial[6] != '1' {
		t.Fatalf("receipt %+v: want a valid online serial", r)
	}
	// Received Monday 2026-11-23 10:00; acceptDays 2 → end of Wednesday.
	if want := time.Date(2026, 11, 25, 23, 59, 59, 999_000_000, serial.Shanghai); !r.Deadlines.AcceptBy.Equal(want) {
		t.Errorf("acceptBy = %v, want %v", r.Deadlines.AcceptBy, want)
	}
	v, err := h.desk.Get(h.ctx, portal, r.Serial)
	if err != nil {
		t.Fatal(err)
	}
	if v.Applicant.IDNumber != "110105********002X" || v.Applicant.Name != "张三" {
		t.Errorf("applicant = %+v, want the ID number masked to its first 6 and last 4", v.Applicant)
	}
	if len(v.Materials) != 2 || len(v.Materials[0].Attachments) != 1 || v.Materials[0].Attachments[0].ContentType != "application/pdf" {
		t.Errorf("materials = %+v", v.Materials)
	}
	if len(v.Events) != 1 || v.Events[0].Type != cases.EventSubmitted {
		t.Errorf("events = %+v", v.Events)
	}

	_, err = h.post(culture, r.Serial, cases.EventApproved)
	wantProblem(t, err, 409, "illegal_transition")
	acc := h.mustPost(culture, r.Serial, cases.EventAccepted)
	// Accepted Monday; promisedDays 5 → Monday 11-30, legalDays 20 → 12-21.
	if acc.Status != cases.Accepted || !acc.Deadlines.PromisedDue.Equal(time.Date(2026, 11, 30, 23, 59, 59, 999_000_000, serial.Shanghai)) ||
		!acc.Deadlines.LegalDue.Equal(time.Date(2026, 12, 21, 23, 59, 59, 999_000_000, serial.Shanghai)) {
		t.Errorf("after acceptance %+v", acc.Deadlines)
	}
	h.mustPost(culture, r.Serial, cases.EventSpecialProcedureStart)
	h.clock.Add(48 * time.Hour) // Monday → Wednesday: 2 working days in the special procedure
	sp := h.mustPost(culture, r.Serial, cases.EventSpecialProcedureEnd)
	if !sp.Deadlines.PromisedDue.Equal(time.Date(2026, 12, 2, 23, 59, 59, 999_000_000, serial.Shanghai)) {
		t.Errorf("promisedDue after 2 special days = %v, want 2026-12-02", sp.Deadlines.PromisedDue)
	}
	_, err = h.post(culture, r.Serial, cases.EventPaymentRequested)
	wantProblem(t, err, 422, "validation_failed", "amountFen", "invalid")
	fee := int64(5000)
	for _, bad := range []cases.EventInput{
		{Type: cases.EventPaymentRequested, AmountFen: &fee, PaymentChannel: "union pay; --"},
		{Type: cases.EventAccepted, PaymentChannel: "unionpay"}, // only a payment request names one
	} {
		_, err = h.desk.Post(h.ctx, culture, r.Serial, bad)
		wantProblem(t, err, 422, "validation_failed", "paymentChannel", "invalid")
	}
	h.clock.Add(time.Minute)
	if _, err := h.desk.Post(h.ctx, culture, r.Serial, cases.EventInput{Type: cases.EventPaymentRequested, AmountFen: &fee}); err != nil {
		t.Fatal(err)
	}
	_, err = h.post(culture, r.Serial, cases.EventApproved)
	wantProblem(t, err, 409, "payment_outstanding")
	_, err = h.post(culture, r.Serial, cases.EventPaid)
	wantProblem(t, err, 403, "forbidden")
	_, err = h.post(portal, r.Serial, cases.EventAccepted)
	wantProblem(t, err, 403, "forbidden")
	h.clock.Add(time.Minute)
	tx, err := h.db.Begin(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.desk.RecordPaid(h.ctx, tx, r.Serial, h.clock.Now(), fee); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.mustPost(culture, r.Serial, cases.EventApproved)
	if done := h.mustPost(culture, r.Serial, cases.EventCompleted); done.Status != cases.Completed {
		t.Fatalf("status %s, want completed", done.Status)
	}
	_, err = h.post(portal, r.Serial, cases.EventWithdrawn)
	wantProblem(t, err, 409, "illegal_transition")
	// Feedback in a final status is recorded and changes nothing.
	h.clock.Add(time.Minute)
	_, err = h.desk.Post(h.ctx, portal, r.Serial, cases.EventInput{Type: cases.EventComplaint})
	wantProblem(t, err, 422, "validation_failed", "opinion", "required")
	score := 5
	ev, err := h.desk.Post(h.ctx, portal, r.Serial, cases.EventInput{Type: cases.EventEvaluation, Score: &score})
	if err != nil || ev.Status != cases.Completed {
		t.Fatalf("evaluation = %+v, %v", ev, err)
	}

	// The department got every step, in order, exactly once.
	h.drain()
	got := h.recv.deliveries("D-WL")
	want := []cases.EventType{"submitted", "accepted", "special_procedure_start", "special_procedure_end",
		"payment_requested", "paid", "approved", "completed", "evaluation"}
	if len(got) != len(want) {
		t.Fatalf("D-WL got %d deliveries, want %d: %+v", len(got), len(want), got)
	}
	for i, d := range got {
		if d.Event != want[i] || d.Serial != r.Serial {
			t.Errorf("delivery %d = %s of %s, want %s", i, d.Event, d.Serial, want[i])
		}
	}
	if got[0].Type != cases.TypeSubmitted || got[1].Type != cases.TypeEvent {
		t.Errorf("types %s, %s", got[0].Type, got[1].Type)
	}
	// The department system sees whom the case is for.
	if app := got[0].Body["case"].(map[string]any)["applicant"].(map[string]any); app["idNumber"] != person.IDNumber {
		t.Errorf("delivered applicant %v", app)
	}
	v, err = h.desk.Get(h.ctx, supervisor, r.Serial)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Deliveries) != len(want) || v.Deliveries[0].State != "delivered" || len(v.Events) != len(want) {
		t.Errorf("case view: %d deliveries (%+v), %d events", len(v.Deliveries), v.Deliveries[0], len(v.Events))
	}
}

// Every 422 of a submission in one answer, with dotted fields.
func TestSubmissionProblems(t *testing.T) {
	h := newHarness(t)
	tooBig := h.upload(portal, "application/pdf", append(append([]byte{}, pdfBytes...), make([]byte, 1000)...))
	pngAsPDF := h.upload(portal, "application/pdf", pngBytes)
	notPut := func() string {
		up, err := h.desk.NewUpload(h.ctx, portal, cases.UploadInput{FileName: "a.pdf", ContentType: "application/pdf", SizeBytes: 10,
			SHA256: strings.Repeat("ab", 32)})
		if err != nil {
			t.Fatal(err)
		}
		return up.UploadID
	}()
	// Bytes changed behind the upload's back (only possible with store credentials).
	swapped := h.upload(portal, "application/pdf", pdfBytes)
	if err := h.replaceObject(swapped, append([]byte("%PDF-1.4 other"), pdfBytes[14:]...)); err != nil {
		t.Fatal(err)
	}
	in := cases.Submission{ItemCode: "HS-WL-01", Channel: "onsite", Region: "990000",
		Applicant:  cases.Applicant{Type: "person", Name: "李四", IDType: "resident_id", IDNumber: "110105194912310021", Phone: "12345"},
		Form:       json.RawMessage(`{"rooms":0}`),
		ReceivedAt: h.clock.Now().Add(-time.Hour).Format(time.RFC3339),
		Materials: []cases.MaterialInput{
			{Code: "M-LEASE", UploadIDs: []string{tooBig, pngAsPDF, notPut, swapped}},
			{Code: "M-PHOTO", UploadIDs: []string{h.upload(portal, "application/pdf", pdfBytes)}},
			{Code: "M-NONE", HistoryOf: "0190b6a5-0000-7000-8000-000000000000"},
		}}
	_, err := h.desk.Submit(h.ctx, portal, in)
	wantProblem(t, err, 422, "validation_failed",
		"channel", "channel_not_allowed",
		"region", "invalid_region",
		"applicant.idNumber", "check_digit",
		"applicant.phone", "format",
		"receivedAt", "not_allowed",
		"form.rooms", "minimum",
		"materials.M-ID", "material_missing",
		"materials.M-NONE", "unknown_material",
		"materials.M-LEASE.uploadIds.0", "file_too_large",
		"materials.M-LEASE.uploadIds.1", "content_type_mismatch",
		"materials.M-LEASE.uploadIds.2", "upload_not_found",
		"materials.M-LEASE.uploadIds.3", "sha256_mismatch",
		"materials.M-PHOTO.uploadIds.0", "content_type_not_allowed",
	)

	in = h.itemSubmission(portal)
	in.ItemCode = "NO-SUCH"
	_, err = h.desk.Submit(h.ctx, portal, in)
	wantProblem(t, err, 422, "unknown_item")
	in.ItemCode = "OLD-01"
	_, err = h.desk.Submit(h.ctx, portal, in)
	wantProblem(t, err, 422, "item_abolished")
	// Another app's upload is not found; an upload is used once.
	in = h.itemSubmission(portal)
	_, err = h.desk.Submit(h.ctx, portal2, in)
	wantProblem(t, err, 422, "validation_failed", "materials.M-ID.uploadIds.0", "upload_not_found")
	if _, err := h.desk.Submit(h.ctx, portal, in); err != nil {
		t.Fatal(err)
	}
	_, err = h.desk.Submit(h.ctx, portal, in)
	wantProblem(t, err, 422, "validation_failed", "materials.M-ID.uploadIds.0", "upload_already_used")
}

func (h *harness) replaceObject(uploadID string, data []byte) error {
	var key string
	if err := h.db.QueryRow(h.ctx, `SELECT object_key FROM uploads WHERE upload_id = $1`, uploadID).Scan(&key); err != nil {
		return err
	}
	_, err := h.store.Put(h.ctx, key, strings.NewReader(string(data)), int64(len(data)), objects.PutOptions{})
	return err
}

// Two submissions racing for one upload: one case gets it.
func TestUploadRace(t *testing.T) {
	h := newHarness(t)
	in := h.itemSubmission(portal)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = h.desk.Submit(h.ctx, portal, in)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		wantProblem(t, err, 422, "validation_failed")
	}
	var n int
	if err := h.db.QueryRow(h.ctx, `SELECT count(*) FROM cases`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if ok != 1 || n != 1 {
		t.Fatalf("%d submissions succeeded and %d cases exist; want 1 and 1", ok, n)
	}
}

// A bundle (一件事): one bundle case over a child per item, each with its
// serial and its department; shared materials once; the bundle completes
// when every child is final.
func TestBundle(t *testing.T) {
	h := newHarness(t)
	id := h.upload(culture, "application/pdf", pdfBytes)
	in := cases.Submission{BundleCode: "HOMESTAY", Channel: "onsite", Region: "130102", Applicant: person,
		Form:       json.RawMessage(`{"rooms":2}`),
		ReceivedAt: h.clock.Now().Add(-72 * time.Hour).Format(time.RFC3339), // Friday 10:00
		Materials: []cases.MaterialInput{
			{Code: "M-ID", UploadIDs: []string{id}},
			{Code: "M-LEASE", UploadIDs: []string{h.upload(culture, "application/pdf", pdfBytes)}},
			{Code: "M-FIRE", UploadIDs: []string{h.upload(culture, "application/pdf", pdfBytes)}},
		}}
	r, err := h.desk.Submit(h.ctx, culture, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Children) != 2 || r.Children[0].ItemCode != "HS-WL-01" || r.Children[1].ItemCode != "HS-GA-01" {
		t.Fatalf("children %+v", r.Children)
	}
	seen := map[string]bool{r.Serial: true}
	for _, c := range r.Children {
		if seen[c.Serial] || !serial.Verify(c.Serial).Valid || c.Serial[6] != '2' {
			t.Fatalf("child serial %s: want distinct valid onsite serials", c.Serial)
		}
		seen[c.Serial] = true
	}
	// Received Friday: HS-WL-01 has 2 accept days (Tuesday), HS-GA-01 the
	// default 5 (next Friday); the bundle is due by the later.
	if want := time.Date(2026, 11, 27, 23, 59, 59, 999_000_000, serial.Shanghai); !r.Deadlines.AcceptBy.Equal(want) {
		t.Errorf("bundle acceptBy %v, want %v", r.Deadlines.AcceptBy, want)
	}
	// The police see their child and the bundle, not the culture child.
	if _, err := h.desk.Get(h.ctx, police, r.Children[1].Serial); err != nil {
		t.Error(err)
	}
	if _, err := h.desk.Get(h.ctx, police, r.Serial); err != nil {
		t.Error(err)
	}
	_, err = h.desk.Get(h.ctx, police, r.Children[0].Serial)
	wantProblem(t, err, 404, "not_found")
	v, err := h.desk.Get(h.ctx, culture, r.Children[1].Serial) // the submitting app sees all
	if err != nil {
		t.Fatal(err)
	}
	if v.ParentSerial != r.Serial || len(v.Materials) != 2 || v.Materials[0].Code != "M-ID" || v.Materials[1].Code != "M-FIRE" {
		t.Errorf("child view %+v", v)
	}
	_, err = h.post(culture, r.Serial, cases.EventAccepted)
	wantProblem(t, err, 409, "illegal_transition")

	h.mustPost(culture, r.Children[0].Serial, cases.EventAccepted)
	h.mustPost(culture, r.Children[0].Serial, cases.EventApproved)
	h.mustPost(culture, r.Children[0].Serial, cases.EventCompleted)
	if v, _ := h.desk.Get(h.ctx, culture, r.Serial); v.Status != cases.Submitted {
		t.Errorf("bundle %s with a child open, want submitted", v.Status)
	}
	h.mustPost(police, r.Children[1].Serial, cases.EventRejectedAcceptance)
	v, err = h.desk.Get(h.ctx, culture, r.Serial)
	if err != nil || v.Status != cases.Completed || len(v.Children) != 2 || v.Children[1].Status != cases.RejectedAcceptance {
		t.Fatalf("bundle after its children = %+v, %v", v, err)
	}
	// Each child went to its own department.
	h.drain()
	if wl, ga := h.recv.deliveries("D-WL"), h.recv.deliveries("D-GA"); len(wl) != 4 || len(ga) != 2 ||
		wl[0].Serial != r.Children[0].Serial || ga[0].Serial != r.Children[1].Serial {
		t.Errorf("deliveries D-WL %+v, D-GA %+v", wl, ga)
	}
}

// Who sees a case and who gets a 404 (never a 403 that reveals it).
func TestVisibility(t *testing.T) {
	h := newHarness(t)
	r, err := h.desk.Submit(h.ctx, portal, h.itemSubmission(portal))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		app     auth.App
		visible bool
	}{
		{portal, true}, {culture, true}, {supervisor, true}, {portal2, false}, {police, false},
	} {
		_, err := h.desk.Get(h.ctx, c.app, r.Serial)
		if c.visible && err != nil {
			t.Errorf("%s: %v", c.app.ID, err)
		}
		if !c.visible {
			wantProblem(t, err, 404, "not_found")
			_, err = h.post(c.app, r.Serial, cases.EventWithdrawn)
			wantProblem(t, err, 404, "not_found")
		}
		if ok, err := h.desk.Visible(h.ctx, c.app, r.Serial); err != nil || ok != c.visible {
			t.Errorf("Visible(%s) = %v, %v", c.app.ID, ok, err)
		}
	}
	_, err = h.desk.Get(h.ctx, portal, "13010212026112300000017")
	wantProblem(t, err, 404, "not_found")

	// The list holds the app's own cases only, by applicant and status.
	page, err := h.desk.List(h.ctx, portal, cases.ListQuery{Applicant: strings.ToLower(person.IDNumber), Limit: 10})
	if err != nil || len(page.Items) != 1 || page.Items[0].Serial != r.Serial || page.Items[0].Applicant.IDNumber != "110105********002X" {
		t.Fatalf("list = %+v, %v", page, err)
	}
	if page, _ := h.desk.List(h.ctx, portal2, cases.ListQuery{Limit: 10}); len(page.Items) != 0 {
		t.Errorf("another app lists %+v", page.Items)
	}
	if page, _ := h.desk.List(h.ctx, portal, cases.ListQuery{Status: cases.Accepted, Limit: 10}); len(page.Items) != 0 {
		t.Errorf("status filter lists %+v", page.Items)
	}
}

// The list pages through every case once, newest first.
func TestListPages(t *testing.T) {
	h := newHarness(t)
	var serials []string
	for range 5 {
		h.clock.Add(time.Second)
		r, err := h.desk.Submit(h.ctx, portal, h.itemSubmission(portal))
		if err != nil {
			t.Fatal(err)
		}
		serials = append([]string{r.Serial}, serials...)
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, err := h.desk.List(h.ctx, portal, cases.ListQuery{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Items {
			got = append(got, s.Serial)
		}
		if cursor = page.NextCursor; cursor == "" || pages > 5 {
			break
		}
	}
	if strings.Join(got, ",") != strings.Join(serials, ",") {
		t.Fatalf("pages %v, want %v", got, serials)
	}
	_, err := h.desk.List(h.ctx, portal, cases.ListQuery{Limit: 2, Cursor: "nonsense"})
	wantProblem(t, err, 400, "invalid_cursor")
}

// Event times: never in the future, never before the previous event; a
// completed supplement restarts the acceptance limit.
func TestEventTimes(t *testing.T) {
	h := newHarness(t)
	r, err := h.desk.Submit(h.ctx, portal, h.itemSubmission(portal))
	if err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) string { return h.clock.Now().Add(d).Format(time.RFC3339) }
	_, err = h.desk.Post(h.ctx, culture, r.Serial, cases.EventInput{Type: cases.EventAccepted, At: at(time.Hour)})
	wantProblem(t, err, 422, "validation_failed", "at", "in_future")
	_, err = h.desk.Post(h.ctx, culture, r.Serial, cases.EventInput{Type: cases.EventAccepted, At: at(-time.Hour)})
	wantProblem(t, err, 422, "validation_failed", "at", "before_previous_event")
	h.clock.Add(72 * time.Hour) // Thursday
	if _, err := h.desk.Post(h.ctx, culture, r.Serial, cases.EventInput{Type: cases.EventSupplementRequested, At: at(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	ev, err := h.desk.Post(h.ctx, portal, r.Serial, cases.EventInput{Type: cases.EventSupplementCompleted})
	if err != nil {
		t.Fatal(err)
	}
	// Completed Thursday 11-26 → 2 working days: Monday 11-30.
	if want := time.Date(2026, 11, 30, 23, 59, 59, 999_000_000, serial.Shanghai); ev.Status != cases.Submitted || !ev.Deadlines.AcceptBy.Equal(want) {
		t.Errorf("after the supplement: %s, acceptBy %v, want %v", ev.Status, ev.Deadlines.AcceptBy, want)
	}
}

// Uploads no case took are swept after 24 h, object and row; used ones stay.
func TestSweepUploads(t *testing.T) {
	h := newHarness(t)
	stale := h.upload(portal, "application/pdf", pdfBytes)
	in := h.itemSubmission(portal)
	if _, err := h.desk.Submit(h.ctx, portal, in); err != nil {
		t.Fatal(err)
	}
	key := func(id string) (k string) {
		h.db.QueryRow(h.ctx, `SELECT object_key FROM uploads WHERE upload_id = $1`, id).Scan(&k)
		return k
	}
	staleKey, usedKey := key(stale), key(in.Materials[0].UploadIDs[0])
	if n, err := h.desk.SweepUploads(h.ctx, 100); err != nil || n != 0 {
		t.Fatalf("sweep before 24 h = %d, %v", n, err)
	}
	h.clock.Add(cases.UploadRetention + time.Minute)
	if n, err := h.desk.SweepUploads(h.ctx, 100); err != nil || n != 1 {
		t.Fatalf("sweep after 24 h = %d, %v; want 1", n, err)
	}
	if _, err := h.store.Stat(h.ctx, staleKey); err == nil {
		t.Error("the stale upload's object is still there")
	}
	if _, err := h.store.Stat(h.ctx, usedKey); err != nil {
		t.Errorf("a used upload's object went: %v", err)
	}
	if key(stale) != "" {
		t.Error("the stale upload's row is still there")
	}
}

// The case's deliveries survive a department that fails, and arrive in
// order once it recovers.
func TestDeliveryRecovers(t *testing.T) {
	h := newHarness(t)
	h.recv.setFailing("D-WL", true)
	r, err := h.desk.Submit(h.ctx, portal, h.itemSubmission(portal))
	if err != nil {
		t.Fatal(err)
	}
	h.mustPost(culture, r.Serial, cases.EventAccepted)
	if c := h.drain(); c.Delivered != 0 || c.Retried != 1 {
		t.Fatalf("while failing: %+v; want the first retried, the second waiting behind it", c)
	}
	v, _ := h.desk.Get(h.ctx, portal, r.Serial)
	if len(v.Deliveries) != 2 || v.Deliveries[0].State != "pending" || v.Deliveries[0].Attempts != 1 || v.Deliveries[0].LastError == "" {
		t.Fatalf("deliveries while failing: %+v", v.Deliveries)
	}
	h.recv.setFailing("D-WL", false)
	h.clock.Add(time.Minute)
	for h.drain().Delivered > 0 {
	}
	got := h.recv.deliveries("D-WL")
	if len(got) != 2 || got[0].Event != cases.EventSubmitted || got[1].Event != cases.EventAccepted {
		t.Fatalf("after recovery: %+v", got)
	}
}

// An upload id is a UUID however it is spelled.
func TestUploadIDSpelling(t *testing.T) {
	h := newHarness(t)
	in := h.itemSubmission(portal)
	for i := range in.Materials {
		for j, id := range in.Materials[i].UploadIDs {
			in.Materials[i].UploadIDs[j] = "{" + strings.ToUpper(id) + "}"
		}
	}
	if _, err := h.desk.Submit(h.ctx, portal, in); err != nil {
		t.Fatalf("upper-case, braced upload ids: %v", err)
	}
}
