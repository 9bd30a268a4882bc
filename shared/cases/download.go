package cases

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/objects"
	"github.com/onewindow/onewindow/shared/problem"
)

// Download is the answer to GET /attachments/{attachmentId}: a presigned
// GET of the file and what the caller needs to check it. URL is a bearer
// credential until ExpiresAt; never log it.
type Download struct {
	URL          string    `json:"url"`
	ExpiresAt    time.Time `json:"expiresAt"`
	ContentType  string    `json:"contentType"`
	SizeBytes    int64     `json:"sizeBytes"`
	SHA256       string    `json:"sha256"`
	FileName     string    `json:"fileName"`
	AttachmentID string    `json:"attachmentId"`
	CaseSerial   string    `json:"caseSerial"`
}

// FetchAttachment hands app a presigned download of an attachment of a case
// it may see (the case's visibility, contract section 4), valid for expires
// (0: the contract's maximum, 300 s; more is refused by the object store
// package). An absent attachment and one of a case app may not see are the
// same 404. Each fetch is recorded (app, attachment, case, time) and
// committed before the URL is returned, so no file leaves unlogged.
func (d *Desk) FetchAttachment(ctx context.Context, app auth.App, attachmentID string, expires time.Duration) (Download, error) {
	id, err := uuid.Parse(attachmentID)
	if err != nil {
		return Download{}, attachmentNotFound()
	}
	var key string
	var caseID uuid.UUID
	var submitter string
	var department *string
	var bundle bool
	dl := Download{AttachmentID: id.String()}
	err = d.db.QueryRow(ctx, `SELECT a.object_key, a.file_name, a.content_type, a.size_bytes, a.sha256,
			c.case_id, c.serial, c.app_id, c.department, c.item_code IS NULL
		FROM attachments a JOIN cases c ON c.case_id = a.case_id WHERE a.attachment_id = $1`, id).
		Scan(&key, &dl.FileName, &dl.ContentType, &dl.SizeBytes, &dl.SHA256,
			&caseID, &dl.CaseSerial, &submitter, &department, &bundle)
	if errors.Is(err, pgx.ErrNoRows) {
		return Download{}, attachmentNotFound()
	}
	if err != nil {
		return Download{}, fmt.Errorf("read attachment: %w", err)
	}
	ok, err := d.visible(ctx, d.db, app, submitter, department, caseID, bundle)
	if err != nil {
		return Download{}, err
	}
	if !ok {
		slog.InfoContext(ctx, "attachment fetch refused", "app", app.ID, "attachment", dl.AttachmentID)
		return Download{}, attachmentNotFound()
	}
	signed, err := d.objects.PresignGet(ctx, key, objects.GetPolicy{Expires: expires, FileName: dl.FileName, ContentType: dl.ContentType})
	if err != nil {
		return Download{}, fmt.Errorf("presign attachment %s: %w", dl.AttachmentID, err)
	}
	// Signing touches no network, so logging after it still comes before
	// anything leaves; a log that fails means no URL.
	if _, err := d.db.Exec(ctx, `INSERT INTO attachment_fetches (attachment_id, case_id, app_id, fetched_at)
		VALUES ($1, $2, $3, $4)`, id, caseID, app.ID, d.now()); err != nil {
		return Download{}, fmt.Errorf("log attachment fetch: %w", err)
	}
	slog.InfoContext(ctx, "attachment fetched", "app", app.ID, "attachment", dl.AttachmentID, "case", dl.CaseSerial)
	dl.URL, dl.ExpiresAt = signed.URL, signed.ExpiresAt
	return dl, nil
}

func attachmentNotFound() error { return problem.NotFound("no such attachment") }

// The upload checks below serve records other than cases that keep an
// uploaded file: document-fetch's electronic licenses. They belong with
// uploads.go and live here only because this file is document-fetch's
// part of the package; they reuse the submission's checks rather than
// copying them.

// StoredUpload is an upload that passed CheckUploads.
type StoredUpload struct {
	UploadID    uuid.UUID
	ObjectKey   string
	FileName    string
	ContentType string
	SizeBytes   int64
	SHA256      string
}

// UploadCheck is the outcome of CheckUploads for one upload. Problem is nil
// when the upload may be used; otherwise it carries the submission's field
// code (upload_not_found, upload_already_used, size_mismatch,
// sha256_mismatch, content_type_mismatch) with Field left for the caller.
type UploadCheck struct {
	Upload  StoredUpload
	Problem *problem.FieldError
}

// CheckUploads checks uploads as a submission checks a material's files:
// announced by app, not yet attached to anything, present in the object
// store with the declared size and SHA-256, and starting with the magic
// bytes of the declared type. It answers one check per id, in order; the
// error is a dependency's. The object store is asked several at once.
func (d *Desk) CheckUploads(ctx context.Context, app auth.App, ids []string) ([]UploadCheck, error) {
	out := make([]UploadCheck, len(ids))
	parsed := make([]uuid.UUID, 0, len(ids))
	for _, id := range ids {
		if u, err := uuid.Parse(id); err == nil {
			parsed = append(parsed, u)
		}
	}
	uploads, err := d.uploadsByID(ctx, parsed)
	if err != nil {
		return nil, err
	}
	var stored []storedCheck
	for i, id := range ids {
		u, ok := uploads[canonicalUUID(id)]
		switch {
		case !ok || u.appID != app.ID:
			out[i].Problem = &problem.FieldError{Code: CodeUploadNotFound, Message: "no such upload"}
		case u.attached:
			out[i].Problem = &problem.FieldError{Code: CodeUploadUsed, Message: "this upload belongs to another record"}
		default:
			out[i].Upload = StoredUpload{UploadID: *u.upload, ObjectKey: u.key, FileName: u.fileName,
				ContentType: u.contentType, SizeBytes: u.size, SHA256: u.sha256}
			stored = append(stored, storedCheck{field: strconv.Itoa(i), file: u.submittedFile})
		}
	}
	var v problem.Validation
	if err := d.checkStored(ctx, &v, stored); err != nil {
		return nil, err
	}
	for _, fe := range v.Errors() {
		i, _ := strconv.Atoi(fe.Field) // our own index, set above
		out[i].Problem = &problem.FieldError{Code: fe.Code, Message: fe.Message}
	}
	return out, nil
}

// TakeUploads marks app's unattached uploads ids as attached at at, in
// tx, and returns those it took. Taking them in the transaction that writes
// the record which keeps the file is what makes an upload belong to one
// record when two requests race for it, and what keeps the upload sweep
// (which skips locked and attached rows) from deleting it.
func TakeUploads(ctx context.Context, tx pgx.Tx, app auth.App, ids []uuid.UUID, at time.Time) (map[uuid.UUID]bool, error) {
	taken := make(map[uuid.UUID]bool, len(ids))
	if len(ids) == 0 {
		return taken, nil
	}
	rows, err := tx.Query(ctx, `UPDATE uploads SET attached_at = $1
		WHERE upload_id = ANY($2) AND app_id = $3 AND attached_at IS NULL RETURNING upload_id`, at, ids, app.ID)
	if err != nil {
		return nil, fmt.Errorf("take uploads: %w", err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("take uploads: %w", err)
	}
	for _, id := range got {
		taken[id] = true
	}
	return taken, nil
}

// ReleaseUploads gives back uploads that TakeUploads took in tx for a
// record that was then not written (a license number taken meanwhile), so
// their app may use them again or the sweep may remove them.
func ReleaseUploads(ctx context.Context, tx pgx.Tx, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `UPDATE uploads SET attached_at = NULL WHERE upload_id = ANY($1)`, ids); err != nil {
		return fmt.Errorf("release uploads: %w", err)
	}
	return nil
}

// ValidPassport reports whether s is a passport number as a submission's
// applicant check accepts it, for license holders. It belongs in idcheck.
func ValidPassport(s string) bool { return passport(s) }
