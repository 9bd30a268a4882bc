package licenses_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/licenses"
)

// Issuing one license: every field checked, only the type's department
// issues, the file checked like a submission's and taken for good, a
// number issued once.
func TestIssue(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	l := h.issue("91350100M000100Y43-1", enterprise)
	if l.Status != licenses.StatusValid || l.Holder.IDNumber != "913501********0Y43" || l.TypeName != "营业执照" ||
		l.Department != "130000-SCJG" || l.Region != "130000" || l.URL != "" || l.File.SizeBytes == 0 {
		t.Errorf("issued %+v", l)
	}
	if l.ValidUntil == nil || !l.ValidUntil.Equal(time.Date(2046, 1, 4, 23, 59, 59, 999e6, time.FixedZone("CST", 8*3600))) {
		t.Errorf("validUntil %v, want the end of 2046-01-04 in Shanghai", l.ValidUntil)
	}
	var data map[string]string
	if json.Unmarshal(l.Data, &data) != nil || data["注册资本"] != "100万元" {
		t.Errorf("data %s", l.Data)
	}

	// The file's upload is attached, so the sweep a day later keeps it.
	h.clock.Add(25 * time.Hour)
	if _, err := h.desk.SweepUploads(h.ctx, 100); err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := h.db.QueryRow(h.ctx, `SELECT l.object_key FROM licenses l JOIN uploads u USING (upload_id)
		WHERE u.attached_at IS NOT NULL`).Scan(&stored); err != nil {
		t.Fatalf("the license's upload is gone or unattached: %v", err)
	}
	if _, err := h.store.Stat(h.ctx, stored); err != nil {
		t.Fatalf("the license's file is gone: %v", err)
	}

	in := h.input("91350100M000100Y43-1", enterprise)
	_, err := h.reg.Issue(h.ctx, market, in)
	wantProblem(t, err, 409, "license_exists")

	_, err = h.reg.Issue(h.ctx, police, h.input("N-2", enterprise))
	wantProblem(t, err, 403, "forbidden")

	tests := []struct {
		name        string
		edit        func(*licenses.IssueInput)
		field, code string
	}{
		{"no number", func(in *licenses.IssueInput) { in.LicenseNo = " " }, "licenseNo", "required"},
		{"a slash", func(in *licenses.IssueInput) { in.LicenseNo = "A/B" }, "licenseNo", "invalid"},
		{"no type", func(in *licenses.IssueInput) { in.TypeCode = "" }, "typeCode", "required"},
		{"unknown type", func(in *licenses.IssueInput) { in.TypeCode = "LT-NONE" }, "typeCode", licenses.CodeUnknownType},
		{"abolished type", func(in *licenses.IssueInput) { in.TypeCode = "LT-OLD" }, "typeCode", licenses.CodeTypeAbolished},
		{"bad check digit", func(in *licenses.IssueInput) { in.Holder.IDNumber = "110105194912310021" }, "holder.idNumber", "check_digit"},
		{"bad USCC", func(in *licenses.IssueInput) {
			in.Holder = licenses.Holder{IDType: "uscc", IDNumber: "91350100M000100Y42", Name: "x"}
		}, "holder.idNumber", "check_character"},
		{"bad passport", func(in *licenses.IssueInput) { in.Holder.IDType = "passport"; in.Holder.IDNumber = "E1" }, "holder.idNumber", "format"},
		{"unknown id type", func(in *licenses.IssueInput) { in.Holder.IDType = "hkmo" }, "holder.idType", "invalid"},
		{"no name", func(in *licenses.IssueInput) { in.Holder.Name = "" }, "holder.name", "required"},
		{"no issue date", func(in *licenses.IssueInput) { in.IssuedAt = "" }, "issuedAt", "required"},
		{"bad issue date", func(in *licenses.IssueInput) { in.IssuedAt = "2026-13-01" }, "issuedAt", "invalid"},
		{"issued next year", func(in *licenses.IssueInput) { in.IssuedAt = "2027-01-01" }, "issuedAt", "in_future"},
		{"expiring before issue", func(in *licenses.IssueInput) { in.ValidUntil = "2025-12-31" }, "validUntil", licenses.CodeBeforeIssued},
		{"data not an object", func(in *licenses.IssueInput) { in.Data = json.RawMessage(`[1]`) }, "data", "invalid"},
		{"no upload", func(in *licenses.IssueInput) { in.UploadID = "" }, "uploadId", "required"},
		{"malformed upload", func(in *licenses.IssueInput) { in.UploadID = "x" }, "uploadId", cases.CodeUploadNotFound},
		{"another app's upload", func(in *licenses.IssueInput) { in.UploadID = h.upload(police, "application/pdf", pdfBytes) },
			"uploadId", cases.CodeUploadNotFound},
		{"a disguised file", func(in *licenses.IssueInput) {
			in.UploadID = h.upload(market, "image/png", pdfBytes)
		}, "uploadId", cases.CodeTypeMismatch},
		{"the upload of another license", func(in *licenses.IssueInput) { in.UploadID = mustUploadOf(t, h, "91350100M000100Y43-1") },
			"uploadId", cases.CodeUploadUsed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := h.input("N-"+tt.name, person)
			tt.edit(&in)
			_, err := h.reg.Issue(h.ctx, market, in)
			wantProblem(t, err, 422, "validation_failed", tt.field, tt.code)
		})
	}

	// A license without expiry, issued at an instant.
	in = h.input("N-forever", person)
	in.IssuedAt, in.ValidUntil, in.Data = "2026-11-23T09:00:00+08:00", "", nil
	l, err = h.reg.Issue(h.ctx, market, in)
	if err != nil || l.ValidUntil != nil || string(l.Data) != "{}" {
		t.Fatalf("issue without expiry = %+v, %v", l, err)
	}
}

func mustUploadOf(t *testing.T, h *harness, no string) string {
	var id string
	if err := h.db.QueryRow(h.ctx, `SELECT upload_id FROM licenses WHERE license_no = $1`, no).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// A batch: each entry its own result; created ones are written together;
// resending it creates nothing twice.
func TestIssueBatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	h.issue("B-EXISTS", person)
	ok1, ok2 := h.input("B-1", person), h.input("B-2", enterprise)
	dup := h.input("B-1", person)
	exists := h.input("B-EXISTS", person)
	forbidden := h.input("B-3", person)
	forbidden.TypeCode = "LT-TZHY"
	bad := h.input("B-4", person)
	bad.Holder.IDNumber = "110105194912310021"
	sameUpload := h.input("B-5", person)
	sameUpload.UploadID = ok1.UploadID
	batch := licenses.BatchInput{Licenses: []licenses.IssueInput{ok1, ok2, dup, exists, forbidden, bad, sameUpload}}

	res, err := h.reg.IssueBatch(h.ctx, market, batch)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ status, field, code string }{
		{licenses.OutcomeCreated, "", ""},
		{licenses.OutcomeCreated, "", ""},
		{licenses.OutcomeInvalid, "licenseNo", licenses.CodeDuplicateLicense},
		{licenses.OutcomeExists, "", ""},
		{licenses.OutcomeInvalid, "typeCode", licenses.CodeForbidden},
		{licenses.OutcomeInvalid, "holder.idNumber", "check_digit"},
		{licenses.OutcomeInvalid, "uploadId", cases.CodeDuplicateUpload},
	}
	for i, w := range want {
		r := res.Results[i]
		if r.Index != i || r.Status != w.status || (w.field != "" && (len(r.Errors) == 0 || r.Errors[0].Field != w.field || r.Errors[0].Code != w.code)) {
			t.Errorf("entry %d = %+v, want %+v", i, r, w)
		}
	}
	if res.Created != 2 || res.Exists != 1 || res.Invalid != 4 {
		t.Errorf("counts %d/%d/%d", res.Created, res.Exists, res.Invalid)
	}
	again, err := h.reg.IssueBatch(h.ctx, market, licenses.BatchInput{Licenses: []licenses.IssueInput{ok1, ok2}})
	if err != nil || again.Exists != 2 || again.Created != 0 {
		t.Fatalf("resent batch = %+v, %v", again, err)
	}
	var n int
	if err := h.db.QueryRow(h.ctx, `SELECT count(*) FROM licenses`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d licenses (%v), want 3", n, err)
	}

	_, err = h.reg.IssueBatch(h.ctx, market, licenses.BatchInput{})
	wantProblem(t, err, 422, "validation_failed", "licenses", "invalid")
	_, err = h.reg.IssueBatch(h.ctx, market, licenses.BatchInput{Licenses: make([]licenses.IssueInput, licenses.MaxBatch+1)})
	wantProblem(t, err, 422, "validation_failed", "licenses", "invalid")
}

// BenchmarkIssueBatch issues full batches of 1,000 licenses, each with
// its own upload: the files checked in the object store several at once,
// the rows written in one transaction. Uploading the files is not timed.
func BenchmarkIssueBatch(b *testing.B) {
	h := newHarness(b, 0)
	template := h.input("F-0", person)
	for n := 0; n < b.N; n++ {
		b.StopTimer()
		batch := licenses.BatchInput{Licenses: make([]licenses.IssueInput, licenses.MaxBatch)}
		var g errgroup.Group
		g.SetLimit(8)
		for i := range batch.Licenses {
			g.Go(func() error {
				e := template
				e.LicenseNo = fmt.Sprintf("F-%d-%04d", n, i)
				id, err := h.tryUpload(market, "application/pdf", pdfBytes)
				e.UploadID = id
				batch.Licenses[i] = e
				return err
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := h.reg.IssueBatch(h.ctx, market, batch)
		if err != nil || res.Created != licenses.MaxBatch {
			b.Fatalf("full batch = %d created, %v", res.Created, err)
		}
	}
}
