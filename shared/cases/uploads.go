package cases

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/objects"
	"github.com/onewindow/onewindow/shared/problem"
)

// UploadRetention is how long an upload may wait for a submission before
// the sweep removes it (contract: unreferenced uploads go after 24 h).
const UploadRetention = 24 * time.Hour

// MaxUploadBytes is the largest file any material accepts (catalog caps a
// material's maxBytes at 100 MiB).
const MaxUploadBytes = 100 << 20

// UploadInput is the body of POST /uploads.
type UploadInput struct {
	FileName    string `json:"fileName"`
	ContentType string `json:"contentType"`
	SizeBytes   int64  `json:"sizeBytes"`
	SHA256      string `json:"sha256"`
}

// Upload is the answer to POST /uploads: where and how to PUT the bytes.
type Upload struct {
	UploadID  string            `json:"uploadId"`
	PutURL    string            `json:"putUrl"`
	ExpiresAt time.Time         `json:"expiresAt"`
	Headers   map[string]string `json:"headers"`
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (in UploadInput) validate() error {
	var v problem.Validation
	switch {
	case strings.TrimSpace(in.FileName) == "":
		v.Add("fileName", "required", "fileName is required")
	case utf8.RuneCountInString(in.FileName) > 255 || strings.ContainsAny(in.FileName, "/\\\x00") || strings.ContainsFunc(in.FileName, isControl):
		v.Add("fileName", "invalid_file_name", "a file name of at most 255 characters, without path separators or control characters")
	}
	if !slices.Contains(catalog.ContentTypes, in.ContentType) {
		v.Addf("contentType", "content_type_not_allowed", "contentType must be one of %s", strings.Join(catalog.ContentTypes, ", "))
	}
	if in.SizeBytes < 1 || in.SizeBytes > MaxUploadBytes {
		v.Addf("sizeBytes", "invalid_size", "sizeBytes must be 1..%d", MaxUploadBytes)
	}
	if !sha256Hex.MatchString(in.SHA256) {
		v.Add("sha256", "invalid_sha256", "sha256 must be 64 lowercase hex characters")
	}
	return v.Err()
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// uploadKey places an upload's object by day and id: a case's files are
// found through its rows, never by listing, and the day groups what an
// operator looks at.
func uploadKey(id uuid.UUID, at time.Time) string {
	return "uploads/" + at.In(shanghai).Format("2006/01/02") + "/" + id.String()
}

// NewUpload records an announced upload and presigns the PUT that carries
// exactly its bytes: the object store refuses another size, content type or
// SHA-256 (x-amz-checksum-sha256), and the URL is write-once.
func (d *Desk) NewUpload(ctx context.Context, app auth.App, in UploadInput) (Upload, error) {
	in.SHA256 = strings.ToLower(in.SHA256)
	if err := in.validate(); err != nil {
		return Upload{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Upload{}, fmt.Errorf("upload id: %w", err)
	}
	now := d.now()
	key := uploadKey(id, now)
	// Presigning touches no network: ask the store first, so that an
	// outage answers 503 rather than a URL that cannot work. The key is
	// new, so "not found" is the healthy answer.
	if _, err := d.objects.Stat(ctx, key); err != nil && !errors.Is(err, objects.ErrNotFound) {
		return Upload{}, fmt.Errorf("reach the object store for an upload: %w", err)
	}
	signed, err := d.objects.PresignPut(ctx, key, objects.PutPolicy{
		ContentType: in.ContentType, SizeBytes: in.SizeBytes, SHA256: in.SHA256, IfAbsent: true,
	})
	if err != nil {
		return Upload{}, fmt.Errorf("presign upload: %w", err)
	}
	if _, err := d.db.Exec(ctx, `INSERT INTO uploads
		(upload_id, app_id, object_key, file_name, content_type, size_bytes, sha256, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		id, app.ID, key, in.FileName, in.ContentType, in.SizeBytes, in.SHA256, now); err != nil {
		return Upload{}, fmt.Errorf("record upload: %w", err)
	}
	headers := make(map[string]string, len(signed.Headers))
	for k := range signed.Headers {
		headers[k] = signed.Headers.Get(k)
	}
	return Upload{UploadID: id.String(), PutURL: signed.URL, ExpiresAt: signed.ExpiresAt, Headers: headers}, nil
}

// SweepUploads removes up to max uploads that no submission used within
// UploadRetention: the object first, then the row, so a crash in between
// leaves a row that the next sweep finishes. Replicas sweeping at once take
// different rows (SKIP LOCKED); an upload that a submission attaches
// meanwhile is skipped, because attaching locks its row too.
func (d *Desk) SweepUploads(ctx context.Context, max int) (int, error) {
	tx, err := d.db.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("sweep uploads: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit a no-op
	rows, err := tx.Query(ctx, `SELECT upload_id, object_key FROM uploads
		WHERE attached_at IS NULL AND created_at < $1
		ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED`, d.now().Add(-UploadRetention), max)
	if err != nil {
		return 0, fmt.Errorf("find stale uploads: %w", err)
	}
	var ids []uuid.UUID
	var keys []string
	for rows.Next() {
		var id uuid.UUID
		var key string
		if err := rows.Scan(&id, &key); err != nil {
			return 0, fmt.Errorf("read stale upload: %w", err)
		}
		ids, keys = append(ids, id), append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("find stale uploads: %w", err)
	}
	gone := ids[:0]
	for i, key := range keys {
		if err := d.objects.Delete(ctx, key); err != nil {
			if objects.IsUnavailable(err) || errors.Is(err, context.Canceled) {
				break // the next sweep retries; keep what was done
			}
			slog.WarnContext(ctx, "sweep upload", "upload", ids[i], "err", err)
			continue
		}
		gone = append(gone, ids[i])
	}
	if _, err := tx.Exec(ctx, `DELETE FROM uploads WHERE upload_id = ANY($1)`, gone); err != nil {
		return 0, fmt.Errorf("delete swept uploads: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("sweep uploads: %w", err)
	}
	return len(gone), nil
}

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
