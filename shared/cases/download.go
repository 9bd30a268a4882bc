package cases

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	// Presigning touches no network: ask the store first, so that an
	// outage answers 503 rather than a URL that cannot work.
	if _, err := d.objects.Stat(ctx, key); err != nil {
		return Download{}, fmt.Errorf("find attachment %s in the object store: %w", dl.AttachmentID, err)
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
