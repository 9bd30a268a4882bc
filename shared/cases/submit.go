package cases

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/idempotency"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/serial"
)

// application is a submission resolved against the catalogue: the items it
// applies for (one, or a bundle's) and their materials merged.
type application struct {
	bundle    *catalog.ExpandedBundle
	items     []catalog.Item
	materials []catalog.MergedMaterial
}

// resolve finds the item or bundle applied for. Unknown and abolished are
// single-cause 422s: nothing else can be checked without the item.
func resolve(snap *catalog.Snapshot, in *Submission) (application, error) {
	switch {
	case in.ItemCode != "" && in.BundleCode != "":
		var v problem.Validation
		v.Add("bundleCode", CodeInvalid, "apply for an itemCode or a bundleCode, not both")
		return application{}, v.Err()
	case in.ItemCode != "":
		it, ok := snap.Item(in.ItemCode)
		if !ok {
			return application{}, problem.Unprocessable("unknown_item", "no service item "+in.ItemCode)
		}
		if it.Status == catalog.StatusAbolished {
			return application{}, problem.Unprocessable("item_abolished", "the service item "+in.ItemCode+" is abolished")
		}
		items := []catalog.Item{*it}
		return application{items: items, materials: catalog.MergeMaterials(items)}, nil
	case in.BundleCode != "":
		b, ok := snap.ExpandBundle(in.BundleCode)
		if !ok || len(b.MissingItems) > 0 {
			return application{}, problem.Unprocessable("unknown_item", "no bundle "+in.BundleCode+" with all its items")
		}
		if b.Status == catalog.StatusAbolished {
			return application{}, problem.Unprocessable("item_abolished", "the bundle "+in.BundleCode+" is abolished")
		}
		for _, it := range b.Items {
			if it.Status == catalog.StatusAbolished {
				return application{}, problem.Unprocessable("item_abolished", "the bundle's item "+it.Code+" is abolished")
			}
		}
		return application{bundle: &b, items: b.Items, materials: b.Materials}, nil
	}
	var v problem.Validation
	v.Add("itemCode", CodeRequired, "apply for an itemCode or a bundleCode")
	return application{}, v.Err()
}

// newCase is one case row to write.
type newCase struct {
	id         uuid.UUID
	serial     serial.Serial
	parent     *uuid.UUID
	item       *catalog.Item // nil for the bundle case
	department string
	acceptBy   time.Time
	materials  []submittedMaterial
}

// Submit checks a submission and writes it in one transaction: the case
// (for a bundle, the bundle case and one child per item), its materials,
// its first event, its serial and its deliveries to departments. A nil
// error means it is durable. With an Idempotency-Key the answer commits in
// the same transaction.
func (d *Desk) Submit(ctx context.Context, app auth.App, in Submission) (Receipt, error) {
	now := d.now()
	in.normalise()
	var v problem.Validation
	received := in.checkBasics(&v, app, now)
	snap, err := d.catalog.Snapshot(ctx)
	if err != nil {
		return Receipt{}, err
	}
	appl, err := resolve(snap, &in)
	if err != nil {
		return Receipt{}, err
	}
	d.checkForm(&v, appl.items, in.Form)
	materials, err := d.checkMaterials(ctx, &v, app, appl.materials, &in)
	if err != nil {
		return Receipt{}, err
	}
	if err := v.Err(); err != nil {
		return Receipt{}, err
	}
	cal, err := d.calendar(ctx)
	if err != nil {
		return Receipt{}, err
	}

	// Serials come from memory blocks: one that a failed transaction does
	// not use is a gap, never a duplicate.
	channel, _ := serial.ParseChannel(in.Channel)
	n := len(appl.items)
	if appl.bundle != nil {
		n++
	}
	serials := make([]serial.Serial, n)
	if _, err := d.serials.IssueInto(ctx, serials, in.Region, channel); err != nil {
		return Receipt{}, fmt.Errorf("issue serials: %w", err)
	}
	rows := make([]newCase, 0, n) // never grows: root stays valid
	var root *newCase
	if appl.bundle != nil {
		rows = append(rows, newCase{id: newID(), serial: serials[0], materials: materials})
		root = &rows[0]
		serials = serials[1:]
	}
	for i := range appl.items {
		it := &appl.items[i]
		c := newCase{
			id: newID(), serial: serials[i], item: it, department: it.Department.Code,
			acceptBy:  cal.WD(received, it.AcceptDays),
			materials: materialsOf(materials, it),
		}
		if root != nil {
			c.parent = &root.id
			root.acceptBy = later(root.acceptBy, c.acceptBy)
		}
		rows = append(rows, c)
	}
	receipt := Receipt{CaseID: rows[0].id.String(), Serial: rows[0].serial.String(), Status: Submitted,
		Deadlines: ReceiptDeadline{AcceptBy: rows[0].acceptBy}}
	if appl.bundle != nil {
		for _, c := range rows[1:] {
			receipt.Children = append(receipt.Children, Child{ItemCode: c.item.Code, CaseID: c.id.String(), Serial: c.serial.String()})
		}
	}
	err = d.inTx(ctx, func(tx pgx.Tx) error {
		if err := d.writeSubmission(ctx, tx, app, &in, appl, rows, received, now); err != nil {
			return err
		}
		answer := httpx.JSON(http.StatusCreated, receipt)
		return idempotency.Settle(ctx, tx, idempotency.Response{Status: answer.StatusCode, Header: answer.Header, Body: answer.Body})
	})
	if err != nil {
		return Receipt{}, err
	}
	d.kick()
	return receipt, nil
}

// normalise puts what has several spellings into one: codes without
// surrounding space, ID numbers in upper case (a resident ID's check
// character x is X), UUIDs in their canonical form (as the tables hold them).
func (in *Submission) normalise() {
	in.ItemCode = strings.TrimSpace(in.ItemCode)
	for i := range in.Materials {
		m := &in.Materials[i]
		for j, id := range m.UploadIDs {
			m.UploadIDs[j] = canonicalUUID(id)
		}
		m.HistoryOf = canonicalUUID(m.HistoryOf)
	}
	in.BundleCode = strings.TrimSpace(in.BundleCode)
	in.Applicant.IDNumber = strings.ToUpper(strings.TrimSpace(in.Applicant.IDNumber))
	in.Applicant.Name = strings.TrimSpace(in.Applicant.Name)
}

func canonicalUUID(s string) string {
	if id, err := uuid.Parse(s); err == nil {
		return id.String()
	}
	return s
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// checkForm validates the form against the schema of every item applied
// for (a bundle has one form for all its items, 一表申请); an error found by
// several schemas is listed once.
func (d *Desk) checkForm(v *problem.Validation, items []catalog.Item, form json.RawMessage) {
	seen := map[problem.FieldError]bool{}
	for _, it := range items {
		if len(it.FormSchema) == 0 {
			continue
		}
		schema, err := d.forms.Schema(fmt.Sprintf("%s@%d", it.Code, it.Version), it.FormSchema)
		if err != nil {
			// The catalogue refuses schemas that do not compile, so this is
			// a schema written before that check: the item cannot be applied for.
			v.Add("form", "form_schema_broken", "the item "+it.Code+" has a form schema that cannot be used; the catalogue must fix it")
			continue
		}
		for _, fe := range schema.Validate(form) {
			if !seen[fe] {
				seen[fe] = true
				v.Add(fe.Field, fe.Code, fe.Message)
			}
		}
	}
}

// materialsOf keeps the submitted materials an item lists.
func materialsOf(all []submittedMaterial, it *catalog.Item) []submittedMaterial {
	var out []submittedMaterial
	for _, m := range all {
		if slices.ContainsFunc(it.Materials, func(im catalog.Material) bool { return im.Code == m.code }) {
			out = append(out, m)
		}
	}
	return out
}

// writeSubmission inserts the cases, their first events, materials and
// attachments, takes the uploads, and queues the deliveries.
func (d *Desk) writeSubmission(ctx context.Context, tx pgx.Tx, app auth.App, in *Submission, appl application,
	rows []newCase, received, now time.Time) error {
	applicant, err := json.Marshal(in.Applicant)
	if err != nil {
		return fmt.Errorf("encode applicant: %w", err)
	}
	form := nullJSON(in.Form)
	var delivery []byte
	if in.Delivery != nil {
		if delivery, err = json.Marshal(in.Delivery); err != nil {
			return fmt.Errorf("encode delivery: %w", err)
		}
	}
	var b pgx.Batch
	var uploads []uuid.UUID
	for _, c := range rows {
		var itemCode, bundleCode *string
		var department *string
		var immediate bool
		var acceptDays, promisedDays, legalDays int
		if c.item != nil {
			itemCode, department = &c.item.Code, &c.department
			immediate, acceptDays, promisedDays, legalDays = c.item.Immediate, c.item.AcceptDays, c.item.PromisedDays, c.item.LegalDays
		} else {
			bundleCode = &appl.bundle.Code
			promisedDays = appl.bundle.PromisedDays
		}
		b.Queue(`INSERT INTO cases (case_id, serial, parent_id, item_code, bundle_code, department, region, channel,
			status, app_id, holder_id, applicant, form, delivery, immediate, accept_days, promised_days, legal_days,
			received_at, accept_by, last_event_at, events, created_at, updated_at, next_check_at, accept_from)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'submitted',$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$18,1,$20,$20,$18,$18)`,
			c.id, c.serial.String(), c.parent, itemCode, bundleCode, department, in.Region, in.Channel,
			app.ID, in.Applicant.IDNumber, applicant, form, delivery, immediate, acceptDays, promisedDays, legalDays,
			received, c.acceptBy, now)
		b.Queue(`INSERT INTO case_events (case_id, seq, type, at, app_id, status, recorded_at)
			VALUES ($1, 1, 'submitted', $2, $3, 'submitted', $4)`, c.id, received, app.ID, now)
		for pos, m := range c.materials {
			b.Queue(`INSERT INTO case_materials (case_id, code, position, license_no) VALUES ($1, $2, $3, $4)`,
				c.id, m.code, pos, nullString(m.licenseNo))
			for fpos, f := range m.files {
				b.Queue(`INSERT INTO attachments (attachment_id, case_id, material_code, position, object_key, file_name,
					content_type, size_bytes, sha256, app_id, holder_id, history_of, created_at)
					VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`,
					newID(), c.id, m.code, fpos, f.key, f.fileName, f.contentType, f.size, f.sha256,
					app.ID, in.Applicant.IDNumber, f.historyOf, now)
				if f.upload != nil && c.parent == nil {
					uploads = append(uploads, *f.upload)
				}
			}
		}
	}
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("write case: %w", err)
	}
	if len(uploads) > 0 {
		// Taking the uploads here, in the case's transaction, is what makes
		// an upload belong to one case even when two submissions race for it.
		tag, err := tx.Exec(ctx, `UPDATE uploads SET attached_at = $1
			WHERE upload_id = ANY($2) AND app_id = $3 AND attached_at IS NULL`, now, uploads, app.ID)
		if err != nil {
			return fmt.Errorf("take uploads: %w", err)
		}
		if int(tag.RowsAffected()) != len(uploads) {
			var v problem.Validation
			v.Add("materials", CodeUploadUsed, "an upload was used by another submission meanwhile")
			return v.Err()
		}
	}
	for _, c := range rows {
		if c.item == nil {
			continue // the bundle case itself has no department to deliver to
		}
		for _, m := range c.materials {
			if m.licenseNo == "" {
				continue
			}
			if err := d.licenses.RecordUse(ctx, tx, LicenseUse{LicenseNo: m.licenseNo, AppID: app.ID,
				CaseSerial: c.serial.String(), ItemCode: c.item.Code, At: now}); err != nil {
				return fmt.Errorf("record license use: %w", err)
			}
		}
		if err := d.deliverSubmission(ctx, tx, c.id); err != nil {
			return err
		}
	}
	return nil
}

func nullJSON(raw json.RawMessage) []byte {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// inTx runs fn in a transaction and commits it.
func (d *Desk) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := d.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit a no-op
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
