package licenses

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/idcheck"
	"github.com/onewindow/onewindow/shared/idempotency"
	"github.com/onewindow/onewindow/shared/problem"
)

// IssueInput is the body of POST /licenses and one entry of a batch.
type IssueInput struct {
	TypeCode  string `json:"typeCode"`
	LicenseNo string `json:"licenseNo"`
	Holder    Holder `json:"holder"`
	// IssuedAt and ValidUntil are RFC 3339 instants or calendar dates
	// (Asia/Shanghai): a date issues at its first instant and is valid
	// through its last. ValidUntil is optional (no expiry).
	IssuedAt   string          `json:"issuedAt"`
	ValidUntil string          `json:"validUntil"`
	Data       json.RawMessage `json:"data"`
	// UploadID is the license file, announced and PUT through case-submit's
	// POST /uploads by the issuing app.
	UploadID string `json:"uploadId"`
}

// BatchInput is the body of POST /licenses/batch.
type BatchInput struct {
	Licenses []IssueInput `json:"licenses"`
}

// Outcomes of a batch entry.
const (
	OutcomeCreated = "created"
	OutcomeExists  = "exists"
	OutcomeInvalid = "invalid"
)

// EntryResult is what became of one entry of a batch. Errors (for
// invalid) name fields relative to the entry ("holder.idNumber").
type EntryResult struct {
	Index     int                  `json:"index"`
	LicenseNo string               `json:"licenseNo"`
	Status    string               `json:"status"`
	Errors    []problem.FieldError `json:"errors,omitempty"`
}

// BatchResult is the answer to POST /licenses/batch: one result per
// entry, in order, and the counts.
type BatchResult struct {
	Results []EntryResult `json:"results"`
	Created int           `json:"created"`
	Exists  int           `json:"exists"`
	Invalid int           `json:"invalid"`
}

// Limits of what is issued.
const (
	// MaxBatch is the most entries one POST /licenses/batch carries.
	MaxBatch = 1000
	// maxLicenseNo bounds a license number, in characters.
	maxLicenseNo = 128
	// maxData bounds a license's structured data, in bytes of JSON.
	maxData = 64 << 10
	// maxName bounds a holder's name, in characters.
	maxName = 200
	// clockSkew tolerates issuing systems whose clocks run slightly ahead.
	clockSkew = 5 * time.Minute
)

// Field codes of issuance beyond those shared with submissions.
const (
	CodeUnknownType      = "unknown_license_type"
	CodeTypeAbolished    = "license_type_abolished"
	CodeForbidden        = "forbidden"
	CodeBeforeIssued     = "before_issued"
	CodeDuplicateLicense = "duplicate_license_no"
)

// entry is one license being issued: its input normalised, what was
// found wrong with it, and its row once checked.
type entry struct {
	rec       record
	uploadID  uuid.UUID
	forbidden bool // the caller does not act for the type's department
	v         problem.Validation
	outcome   string
}

// Issue is POST /licenses: one license, with its file, by a department app
// acting for the license type's issuing department (403 otherwise). A
// taken licenseNo is 409 license_exists, checked before the file so a
// repeated request learns that rather than that its upload is used. The
// license, its upload's attachment and an Idempotency-Key's answer commit
// together.
func (r *Registry) Issue(ctx context.Context, app auth.App, in IssueInput) (License, error) {
	snap, err := r.catalog.Snapshot(ctx)
	if err != nil {
		return License{}, err
	}
	now := r.now()
	e := prepare(snap, app, in, now)
	if e.forbidden {
		return License{}, problem.Forbidden()
	}
	if err := e.v.Err(); err != nil {
		return License{}, err
	}
	if err := r.markExisting(ctx, []*entry{e}); err != nil {
		return License{}, err
	}
	if e.outcome == OutcomeExists {
		return License{}, licenseExists(e.rec.LicenseNo)
	}
	if err := r.checkFiles(ctx, app, []*entry{e}); err != nil {
		return License{}, err
	}
	if err := e.v.Err(); err != nil {
		return License{}, err
	}
	var view License
	err = pgx.BeginFunc(ctx, r.db, func(tx pgx.Tx) error {
		if err := r.insert(ctx, tx, app, []*entry{e}, now); err != nil {
			return err
		}
		switch e.outcome {
		case OutcomeExists:
			return licenseExists(e.rec.LicenseNo)
		case OutcomeInvalid:
			return e.v.Err()
		}
		view = e.rec.view(now, snap)
		return settle(ctx, tx, http.StatusCreated, view)
	})
	if err != nil {
		return License{}, err
	}
	return view, nil
}

func licenseExists(no string) error {
	return problem.Conflict("license_exists", "a license numbered "+no+" exists")
}

// IssueBatch is POST /licenses/batch: up to MaxBatch licenses from
// structured data, each with its file, each with its own result: created,
// exists (the number is taken, so resending a batch is harmless) or
// invalid with its errors (an entry of a type whose department the caller
// does not act for is invalid with code forbidden).
//
// Transaction scope: the entries are checked first, outside any
// transaction (the catalogue, taken numbers, and the files in the object
// store, several at once); then every valid entry is written in ONE
// transaction, with the uploads taken in it and the answer stored for an
// Idempotency-Key. A batch therefore lands whole or (on a database or
// object store failure) not at all, and a retry after a failure answers
// the same per-entry outcomes. Entries that lose a race meanwhile (their
// number or upload taken by a concurrent request) become exists or
// invalid without disturbing the others.
func (r *Registry) IssueBatch(ctx context.Context, app auth.App, in BatchInput) (BatchResult, error) {
	if n := len(in.Licenses); n < 1 || n > MaxBatch {
		var v problem.Validation
		v.Addf("licenses", cases.CodeInvalid, "a batch has 1 to %d licenses, not %d", MaxBatch, n)
		return BatchResult{}, v.Err()
	}
	snap, err := r.catalog.Snapshot(ctx)
	if err != nil {
		return BatchResult{}, err
	}
	now := r.now()
	entries := make([]*entry, len(in.Licenses))
	numbers, uploads := map[string]bool{}, map[uuid.UUID]bool{}
	for i, li := range in.Licenses {
		e := prepare(snap, app, li, now)
		if e.forbidden {
			e.v.Add("typeCode", CodeForbidden, "your app does not act for the department that issues this license type")
		}
		if no := e.rec.LicenseNo; no != "" && numbers[no] {
			e.v.Add("licenseNo", CodeDuplicateLicense, "this licenseNo appears earlier in the batch")
		}
		if e.uploadID != uuid.Nil && uploads[e.uploadID] {
			e.v.Add("uploadId", cases.CodeDuplicateUpload, "this upload appears earlier in the batch")
		}
		numbers[e.rec.LicenseNo], uploads[e.uploadID] = true, true
		if len(e.v.Errors()) > 0 {
			e.outcome = OutcomeInvalid
		}
		entries[i] = e
	}
	if err := r.markExisting(ctx, entries); err != nil {
		return BatchResult{}, err
	}
	if err := r.checkFiles(ctx, app, entries); err != nil {
		return BatchResult{}, err
	}
	var res BatchResult
	err = pgx.BeginFunc(ctx, r.db, func(tx pgx.Tx) error {
		if err := r.insert(ctx, tx, app, entries, now); err != nil {
			return err
		}
		res = results(entries)
		return settle(ctx, tx, http.StatusOK, res)
	})
	if err != nil {
		return BatchResult{}, err
	}
	return res, nil
}

func results(entries []*entry) BatchResult {
	res := BatchResult{Results: make([]EntryResult, len(entries))}
	for i, e := range entries {
		res.Results[i] = EntryResult{Index: i, LicenseNo: e.rec.LicenseNo, Status: e.outcome, Errors: e.v.Errors()}
		switch e.outcome {
		case OutcomeCreated:
			res.Created++
		case OutcomeExists:
			res.Exists++
		default:
			res.Invalid++
		}
	}
	return res
}

// settle stores the answer to an Idempotency-Key in the transaction that
// writes what it describes; the handler answers the same status and body.
func settle(ctx context.Context, tx pgx.Tx, status int, body any) error {
	a := httpx.JSON(status, body)
	return idempotency.Settle(ctx, tx, idempotency.Response{Status: a.StatusCode, Header: a.Header, Body: a.Body})
}

// prepare normalises and checks one entry against the catalogue snapshot.
func prepare(snap *catalog.Snapshot, app auth.App, in IssueInput, now time.Time) *entry {
	e := &entry{}
	v := &e.v
	rec := &e.rec
	rec.LicenseNo = strings.TrimSpace(in.LicenseNo)
	switch n := utf8.RuneCountInString(rec.LicenseNo); {
	case n == 0:
		v.Add("licenseNo", cases.CodeRequired, "licenseNo is required")
	case n > maxLicenseNo || strings.ContainsFunc(rec.LicenseNo, unicode.IsControl) || strings.ContainsAny(rec.LicenseNo, "/\\"):
		v.Addf("licenseNo", cases.CodeInvalid, "a licenseNo of at most %d characters, without slashes or control characters", maxLicenseNo)
	}
	rec.TypeCode = strings.TrimSpace(in.TypeCode)
	switch lt, ok := snap.LicenseType(rec.TypeCode); {
	case rec.TypeCode == "":
		v.Add("typeCode", cases.CodeRequired, "typeCode is required")
	case !ok:
		v.Add("typeCode", CodeUnknownType, "the license catalogue has no type "+rec.TypeCode)
	case lt.Status == catalog.StatusAbolished:
		v.Add("typeCode", CodeTypeAbolished, "the license type "+rec.TypeCode+" is abolished")
	default:
		e.forbidden = !app.ActsFor(lt.Department)
		rec.Department = lt.Department
		if d, ok := snap.Department(lt.Department); ok {
			rec.Region = d.Region
		}
	}
	rec.Holder = in.Holder
	checkHolder(v, &rec.Holder)
	checkDates(v, rec, in.IssuedAt, in.ValidUntil, now)
	rec.Data = checkData(v, in.Data)
	switch id, err := uuid.Parse(in.UploadID); {
	case in.UploadID == "":
		v.Add("uploadId", cases.CodeRequired, "uploadId is required: the license file, from case-submit's POST /uploads")
	case err != nil:
		v.Add("uploadId", cases.CodeUploadNotFound, "no such upload")
	default:
		e.uploadID = id
	}
	return e
}

// checkHolder checks the holder's ID number by its type, as a
// submission's applicant is checked (GB 11643, GB 32100, passports).
func checkHolder(v *problem.Validation, h *Holder) {
	h.IDNumber = normalHolder(h.IDNumber)
	h.Name = strings.TrimSpace(h.Name)
	var err error
	switch h.IDType {
	case "resident_id":
		err = idcheck.ResidentID(h.IDNumber)
	case "uscc":
		err = idcheck.USCC(h.IDNumber)
	case "passport":
		if idcheck.Passport(h.IDNumber) != nil {
			err = idcheck.ErrFormat
		}
	case "":
		v.Add("holder.idType", cases.CodeRequired, "holder.idType is required: resident_id, uscc or passport")
	default:
		v.Add("holder.idType", cases.CodeInvalid, "holder.idType must be resident_id, uscc or passport")
	}
	if err != nil {
		v.Add("holder.idNumber", idcheck.CodeOf(err), "holder.idNumber is not a valid "+h.IDType)
	}
	switch n := utf8.RuneCountInString(h.Name); {
	case n == 0:
		v.Add("holder.name", cases.CodeRequired, "holder.name is required")
	case n > maxName:
		v.Addf("holder.name", cases.CodeInvalid, "holder.name has at most %d characters", maxName)
	}
}

func checkDates(v *problem.Validation, rec *record, issuedAt, validUntil string, now time.Time) {
	issued, ok := parseTime(issuedAt, false)
	switch {
	case issuedAt == "":
		v.Add("issuedAt", cases.CodeRequired, "issuedAt is required")
	case !ok:
		v.Add("issuedAt", cases.CodeInvalid, "issuedAt must be an RFC 3339 instant or a date YYYY-MM-DD")
	case issued.After(now.Add(clockSkew)):
		v.Add("issuedAt", cases.CodeInFuture, "issuedAt may not be in the future")
	default:
		rec.IssuedAt = issued
	}
	if validUntil == "" {
		return
	}
	until, ok := parseTime(validUntil, true)
	switch {
	case !ok:
		v.Add("validUntil", cases.CodeInvalid, "validUntil must be an RFC 3339 instant or a date YYYY-MM-DD")
	case !rec.IssuedAt.IsZero() && !until.After(rec.IssuedAt):
		v.Add("validUntil", CodeBeforeIssued, "validUntil must be after issuedAt")
	default:
		rec.ValidUntil = &until
	}
}

// parseTime reads an RFC 3339 instant or a calendar date in Asia/Shanghai:
// a date stands for its first instant, or with endOfDay for its last
// millisecond (as the working-day deadlines do).
func parseTime(s string, endOfDay bool) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.Truncate(time.Microsecond), true // as stored
	}
	d, err := time.ParseInLocation(time.DateOnly, s, shanghai)
	if err != nil {
		return time.Time{}, false
	}
	if endOfDay {
		d = d.AddDate(0, 0, 1).Add(-time.Millisecond)
	}
	return d, true
}

// checkData accepts a JSON object (the license's 照面信息) or nothing.
func checkData(v *problem.Validation, data json.RawMessage) json.RawMessage {
	d := bytes.TrimSpace(data)
	switch {
	case len(d) == 0 || bytes.Equal(d, []byte("null")):
		return json.RawMessage(`{}`)
	case d[0] != '{':
		v.Add("data", cases.CodeInvalid, "data must be a JSON object")
	case len(d) > maxData:
		v.Addf("data", cases.CodeInvalid, "data has at most %d bytes", maxData)
	}
	return json.RawMessage(d)
}

// markExisting marks entries still in play whose number is taken.
func (r *Registry) markExisting(ctx context.Context, entries []*entry) error {
	var numbers []string
	for _, e := range entries {
		if e.outcome == "" {
			numbers = append(numbers, e.rec.LicenseNo)
		}
	}
	if len(numbers) == 0 {
		return nil
	}
	rows, err := r.db.Query(ctx, `SELECT license_no FROM licenses WHERE license_no = ANY($1)`, numbers)
	if err != nil {
		return fmt.Errorf("find existing licenses: %w", err)
	}
	taken, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("find existing licenses: %w", err)
	}
	for _, e := range entries {
		if e.outcome == "" && slices.Contains(taken, e.rec.LicenseNo) {
			e.outcome = OutcomeExists
		}
	}
	return nil
}

// checkFiles checks the uploads of entries still in play, as case-submit
// checks a material's files.
func (r *Registry) checkFiles(ctx context.Context, app auth.App, entries []*entry) error {
	var ids []string
	var which []*entry
	for _, e := range entries {
		if e.outcome == "" {
			ids, which = append(ids, e.uploadID.String()), append(which, e)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	checks, err := r.cases.CheckUploads(ctx, app, ids)
	if err != nil {
		return fmt.Errorf("check license files: %w", err)
	}
	for i, c := range checks {
		e := which[i]
		if c.Problem != nil {
			e.v.Add("uploadId", c.Problem.Code, c.Problem.Message)
			e.outcome = OutcomeInvalid
			continue
		}
		f := c.Upload
		e.rec.objectKey = f.ObjectKey
		e.rec.File = File{FileName: f.FileName, ContentType: f.ContentType, SizeBytes: f.SizeBytes, SHA256: f.SHA256}
	}
	return nil
}

// insert writes the entries still in play in tx and settles their
// outcome. Uploads are taken first: their row locks make a racing request
// for the same upload wait and then find it attached. Licenses go in in
// number order, so two batches sharing numbers wait for one another
// instead of deadlocking; a number another request took meanwhile is
// exists, and its upload is given back.
func (r *Registry) insert(ctx context.Context, tx pgx.Tx, app auth.App, entries []*entry, now time.Time) error {
	var todo []*entry
	var ids []uuid.UUID
	for _, e := range entries {
		if e.outcome == "" {
			todo, ids = append(todo, e), append(ids, e.uploadID)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	taken, err := cases.TakeUploads(ctx, tx, app, ids, now)
	if err != nil {
		return err
	}
	slices.SortFunc(todo, func(a, b *entry) int { return strings.Compare(a.rec.LicenseNo, b.rec.LicenseNo) })
	var b pgx.Batch
	for _, e := range todo {
		if !taken[e.uploadID] {
			e.v.Add("uploadId", cases.CodeUploadUsed, "this upload was used by another request meanwhile")
			e.outcome = OutcomeInvalid
			continue
		}
		rec := &e.rec
		b.Queue(`INSERT INTO licenses (license_no, type_code, department, region, holder_id_type, holder_id, holder_name,
				issued_at, valid_until, data, upload_id, object_key, file_name, content_type, size_bytes, sha256,
				app_id, status, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,'valid',$18)
			ON CONFLICT (license_no) DO NOTHING RETURNING data`,
			rec.LicenseNo, rec.TypeCode, rec.Department, rec.Region, rec.Holder.IDType, rec.Holder.IDNumber, rec.Holder.Name,
			rec.IssuedAt, rec.ValidUntil, rec.Data, e.uploadID, rec.objectKey, rec.File.FileName, rec.File.ContentType,
			rec.File.SizeBytes, rec.File.SHA256, app.ID, now).QueryRow(func(row pgx.Row) error {
			switch err := row.Scan(&rec.Data); err {
			case nil:
				e.outcome = OutcomeCreated
				rec.status = string(StatusValid)
			case pgx.ErrNoRows:
				e.outcome = OutcomeExists
			default:
				return err
			}
			return nil
		})
	}
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("write licenses: %w", err)
	}
	var giveBack []uuid.UUID
	for _, e := range todo {
		if e.outcome == OutcomeExists {
			giveBack = append(giveBack, e.uploadID)
		}
	}
	return cases.ReleaseUploads(ctx, tx, giveBack)
}
