package cases

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/filetype"
	"github.com/onewindow/onewindow/shared/objects"
	"github.com/onewindow/onewindow/shared/problem"
)

// submittedFile is one checked file of a material: a fresh upload or an
// attachment of the holder's earlier case.
type submittedFile struct {
	upload      *uuid.UUID
	historyOf   *uuid.UUID
	key         string
	fileName    string
	contentType string
	size        int64
	sha256      string
}

// submittedMaterial is one checked material of a submission.
type submittedMaterial struct {
	code      string
	licenseNo string
	files     []submittedFile
}

// objectChecks bounds the object-store requests one submission runs at once.
const objectChecks = 8

// checkMaterials checks the materials of a submission against the merged
// materials of what it applies for: required ones present, none unknown,
// every file within its material's limits, present in the object store
// with the declared size and SHA-256, and starting with the magic bytes of
// its declared type. Problems go to v; an error means a dependency failed.
func (d *Desk) checkMaterials(ctx context.Context, v *problem.Validation, app auth.App,
	merged []catalog.MergedMaterial, in *Submission) ([]submittedMaterial, error) {
	byCode := make(map[string]*catalog.MergedMaterial, len(merged))
	for i := range merged {
		byCode[merged[i].Code] = &merged[i]
	}
	given := map[string]bool{}
	var uploadIDs, historyIDs []uuid.UUID
	for _, m := range in.Materials {
		given[m.Code] = true
		if byCode[m.Code] == nil && catalog.ValidCode(m.Code) {
			v.Add("materials."+m.Code, CodeUnknownMaterial, "the item lists no material "+m.Code)
		}
		for _, id := range m.UploadIDs {
			if u, err := uuid.Parse(id); err == nil {
				uploadIDs = append(uploadIDs, u)
			}
		}
		if h, err := uuid.Parse(m.HistoryOf); err == nil {
			historyIDs = append(historyIDs, h)
		}
	}
	for _, mm := range merged {
		if mm.Required && !given[mm.Code] {
			v.Add("materials."+mm.Code, CodeMaterialMissing, "the required material "+mm.Name+" is missing")
		}
	}
	uploads, err := d.uploadsByID(ctx, uploadIDs)
	if err != nil {
		return nil, err
	}
	history, err := d.historyByID(ctx, app.ID, in.Applicant.IDNumber, historyIDs)
	if err != nil {
		return nil, err
	}

	var out []submittedMaterial
	var stored []storedCheck
	for _, m := range in.Materials {
		mm := byCode[m.Code]
		if mm == nil {
			continue
		}
		sm := submittedMaterial{code: m.Code}
		field := "materials." + m.Code
		switch {
		case m.LicenseNo != "":
			if err := d.checkLicense(ctx, v, field+".licenseNo", mm, m.LicenseNo, in.Applicant.IDNumber); err != nil {
				return nil, err
			}
			sm.licenseNo = m.LicenseNo
		case m.HistoryOf != "":
			h, ok := history[m.HistoryOf]
			if !ok {
				v.Add(field+".historyOf", CodeHistoryNotFound, "no earlier attachment of this holder from this app with that id")
				break
			}
			checkLimits(v, field+".historyOf", mm, h.contentType, h.size)
			sm.files = append(sm.files, h)
		}
		for j, id := range m.UploadIDs {
			f := fmt.Sprintf("%s.uploadIds.%d", field, j)
			u, ok := uploads[id]
			switch {
			case !ok || u.appID != app.ID:
				v.Add(f, CodeUploadNotFound, "no such upload")
				continue
			case u.attached:
				v.Add(f, CodeUploadUsed, "this upload belongs to another case")
				continue
			}
			if checkLimits(v, f, mm, u.contentType, u.size) {
				stored = append(stored, storedCheck{field: f, file: u.submittedFile})
			}
			sm.files = append(sm.files, u.submittedFile)
		}
		out = append(out, sm)
	}
	if err := d.checkStored(ctx, v, stored); err != nil {
		return nil, err
	}
	return out, nil
}

// checkLimits checks a file against its material's size and type limits.
func checkLimits(v *problem.Validation, field string, mm *catalog.MergedMaterial, contentType string, size int64) bool {
	ok := true
	if !slices.Contains(mm.ContentTypes, contentType) {
		v.Addf(field, CodeTypeNotAllowed, "%s is not accepted for %s", contentType, mm.Name)
		ok = false
	}
	if mm.MaxBytes > 0 && size > mm.MaxBytes {
		v.Addf(field, CodeFileTooLarge, "the file has %d bytes; %s accepts at most %d", size, mm.Name, mm.MaxBytes)
		ok = false
	}
	return ok
}

// upload is an uploads row as a submission sees it.
type upload struct {
	submittedFile
	appID    string
	attached bool
}

func (d *Desk) uploadsByID(ctx context.Context, ids []uuid.UUID) (map[string]upload, error) {
	out := map[string]upload{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := d.db.Query(ctx, `SELECT upload_id, app_id, object_key, file_name, content_type, size_bytes, sha256,
		attached_at IS NOT NULL FROM uploads WHERE upload_id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("read uploads: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u upload
		var id uuid.UUID
		if err := rows.Scan(&id, &u.appID, &u.key, &u.fileName, &u.contentType, &u.size, &u.sha256, &u.attached); err != nil {
			return nil, fmt.Errorf("read upload: %w", err)
		}
		u.upload = &id
		out[id.String()] = u
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read uploads: %w", err)
	}
	return out, nil
}

// historyByID finds earlier attachments that this app submitted for this
// holder (历史材料): another app's or another holder's are not found.
func (d *Desk) historyByID(ctx context.Context, appID, holder string, ids []uuid.UUID) (map[string]submittedFile, error) {
	out := map[string]submittedFile{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := d.db.Query(ctx, `SELECT attachment_id, object_key, file_name, content_type, size_bytes, sha256
		FROM attachments WHERE attachment_id = ANY($1) AND app_id = $2 AND holder_id = $3`, ids, appID, holder)
	if err != nil {
		return nil, fmt.Errorf("read earlier attachments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var f submittedFile
		var id uuid.UUID
		if err := rows.Scan(&id, &f.key, &f.fileName, &f.contentType, &f.size, &f.sha256); err != nil {
			return nil, fmt.Errorf("read earlier attachment: %w", err)
		}
		f.historyOf = &id
		out[id.String()] = f
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read earlier attachments: %w", err)
	}
	return out, nil
}

// storedCheck is one uploaded file to compare with what the store holds.
type storedCheck struct {
	field string
	file  submittedFile
}

// checkStored verifies uploaded files in the object store, several at once:
// present, the declared size and SHA-256, and magic bytes that match the
// declared type. The store already refused other bytes at upload time where
// it could; this is the second look the contract asks for.
func (d *Desk) checkStored(ctx context.Context, v *problem.Validation, checks []storedCheck) error {
	found := make([]*problem.FieldError, len(checks)) // in order, whatever finishes first
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(objectChecks)
	for i, c := range checks {
		g.Go(func() error {
			fe, err := d.checkStoredFile(gctx, c)
			found[i] = fe
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, fe := range found {
		if fe != nil {
			v.Add(fe.Field, fe.Code, fe.Message)
		}
	}
	return nil
}

func (d *Desk) checkStoredFile(ctx context.Context, c storedCheck) (*problem.FieldError, error) {
	f := c.file
	bad := func(code, msg string) (*problem.FieldError, error) {
		return &problem.FieldError{Field: c.field, Code: code, Message: msg}, nil
	}
	info, err := d.objects.Stat(ctx, f.key)
	if errors.Is(err, objects.ErrNotFound) {
		return bad(CodeUploadNotFound, "the file was not uploaded to putUrl")
	}
	if err != nil {
		return nil, fmt.Errorf("check upload: %w", err)
	}
	if info.Size != f.size {
		return bad(CodeSizeMismatch, fmt.Sprintf("the stored file has %d bytes, %d were declared", info.Size, f.size))
	}
	sum := info.SHA256
	if sum == "" { // a store that kept no checksum: hash the bytes
		if sum, err = d.hashObject(ctx, f.key); err != nil {
			return nil, err
		}
	}
	if sum != f.sha256 {
		return bad(CodeSHA256Mismatch, "the stored file's SHA-256 differs from the declared one")
	}
	head, err := d.objects.GetRange(ctx, f.key, 0, filetype.HeadBytes)
	if err != nil {
		return nil, fmt.Errorf("read upload head: %w", err)
	}
	if !filetype.Matches(f.contentType, head) {
		return bad(CodeTypeMismatch, "the file's content is not "+f.contentType)
	}
	return nil, nil
}

func (d *Desk) hashObject(ctx context.Context, key string) (string, error) {
	r, _, err := d.objects.Get(ctx, key)
	if err != nil {
		return "", fmt.Errorf("read upload: %w", err)
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", fmt.Errorf("hash upload: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Licenses resolves electronic licenses (电子证照) for materials given as
// {"code","licenseNo"}. document-fetch's license store implements it.
type Licenses interface {
	// Usable reports whether license licenseNo is valid at at, of type
	// typeCode (any type when empty), and held by holder.
	Usable(ctx context.Context, licenseNo, typeCode, holder string, at time.Time) (bool, error)
	// RecordUse records that app used the license for a case (用证记录),
	// in the transaction that writes the case.
	RecordUse(ctx context.Context, tx pgx.Tx, use LicenseUse) error
}

// LicenseUse is one use of a license in case handling.
type LicenseUse struct {
	LicenseNo  string
	AppID      string
	CaseSerial string
	ItemCode   string
	At         time.Time
}

func (d *Desk) checkLicense(ctx context.Context, v *problem.Validation, field string, mm *catalog.MergedMaterial, licenseNo, holder string) error {
	if d.licenses == nil {
		v.Add(field, CodeLicenseNotFound, "electronic licenses are not available here yet")
		return nil
	}
	ok, err := d.licenses.Usable(ctx, licenseNo, mm.LicenseType, holder, d.now())
	if err != nil {
		return fmt.Errorf("check license: %w", err)
	}
	if !ok {
		v.Add(field, CodeLicenseNotFound, "no valid license "+licenseNo+" of this holder for "+mm.Name)
	}
	return nil
}
