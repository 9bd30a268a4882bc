package cases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/cursor"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/webhook"
)

// visible reports whether app may see a case (contract section 4): the app
// that submitted it, department apps of its department (for a bundle case,
// of any child's department), supervisors and admins.
func (d *Desk) visible(ctx context.Context, q Querier, app auth.App, submitter string, department *string, id uuid.UUID, bundle bool) (bool, error) {
	switch {
	case app.ID == submitter || app.Oversees():
		return true, nil
	case !app.HasRole(auth.RoleDepartment):
		return false, nil
	case department != nil:
		return app.ActsFor(*department), nil
	case !bundle:
		return false, nil
	}
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM cases WHERE parent_id = $1 AND department = ANY($2))`,
		id, app.Departments).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("check bundle visibility: %w", err)
	}
	return ok, nil
}

// Visible reports whether app may see the case with serial serialNo; an
// absent case is not visible. document-fetch asks it before a file or a
// license use that names the case.
func (d *Desk) Visible(ctx context.Context, app auth.App, serialNo string) (bool, error) {
	var submitter string
	var department *string
	var id uuid.UUID
	var bundle bool
	err := d.db.QueryRow(ctx, `SELECT app_id, department, case_id, item_code IS NULL FROM cases WHERE serial = $1`, serialNo).
		Scan(&submitter, &department, &id, &bundle)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read case: %w", err)
	}
	return d.visible(ctx, d.db, app, submitter, department, id, bundle)
}

// Get is GET /cases/{serial}: the case with its events, materials,
// deadlines, children and deliveries, the applicant's ID number masked;
// a 404 for an absent case and for one app may not see.
//
// Its 5-6 reads share one connection: taken from the pool once, not once
// per read, so under load a progress query waits for the pool once.
func (d *Desk) Get(ctx context.Context, app auth.App, serialNo string) (View, error) {
	conn, err := d.db.Acquire(ctx)
	if err != nil {
		return View{}, fmt.Errorf("read case: %w", err)
	}
	defer conn.Release()
	v, who, err := loadView(ctx, conn, "c.serial = $1", serialNo)
	if errors.Is(err, pgx.ErrNoRows) {
		return View{}, notFound(serialNo)
	}
	if err != nil {
		return View{}, err
	}
	ok, err := d.visible(ctx, conn, app, who.submitter, who.department, who.id, v.ItemCode == "")
	if err != nil {
		return View{}, err
	}
	if !ok {
		return View{}, notFound(serialNo)
	}
	v.Applicant = v.Applicant.Masked()
	if v.Deliveries, err = webhook.List(ctx, conn, v.Serial); err != nil {
		return View{}, fmt.Errorf("read case deliveries: %w", err)
	}
	if v.Deliveries == nil {
		v.Deliveries = []webhook.Delivery{} // shown as [], unlike in a delivery's own body
	}
	for _, x := range d.extensions {
		if err := x.ExtendView(ctx, conn, &v); err != nil {
			return View{}, fmt.Errorf("case view: %w", err)
		}
	}
	return v, nil
}

// dbtx is a pool or a transaction.
type dbtx interface {
	Querier
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// owner is what visibility needs to know of a case.
type owner struct {
	id         uuid.UUID
	submitter  string
	department *string
}

// loadView reads the case that where (with one argument) selects, in full
// and unmasked.
func loadView(ctx context.Context, q dbtx, where string, arg any) (View, owner, error) {
	var v View
	var who owner
	var itemCode, bundleCode, parentSerial *string
	var applicant, form, delivery []byte
	err := q.QueryRow(ctx, `SELECT c.case_id, c.serial, c.item_code, c.bundle_code, p.serial, c.department, c.region,
			c.status, c.channel, c.app_id, c.applicant, c.form, c.delivery, c.accept_by, c.promised_due, c.legal_due,
			c.received_at, c.created_at
		FROM cases c LEFT JOIN cases p ON p.case_id = c.parent_id WHERE `+where, arg).
		Scan(&who.id, &v.Serial, &itemCode, &bundleCode, &parentSerial, &who.department, &v.Region,
			&v.Status, &v.Channel, &who.submitter, &applicant, &form, &delivery,
			&v.Deadlines.AcceptBy, &v.Deadlines.PromisedDue, &v.Deadlines.LegalDue, &v.ReceivedAt, &v.SubmittedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return View{}, owner{}, err
	}
	if err != nil {
		return View{}, owner{}, fmt.Errorf("read case: %w", err)
	}
	v.CaseID = who.id.String()
	v.ItemCode, v.BundleCode, v.ParentSerial, v.Department = deref(itemCode), deref(bundleCode), deref(parentSerial), deref(who.department)
	if err := json.Unmarshal(applicant, &v.Applicant); err != nil {
		return View{}, owner{}, fmt.Errorf("decode applicant: %w", err)
	}
	v.Form = form
	if delivery != nil {
		var asked DeliveryRequest
		if err := json.Unmarshal(delivery, &asked); err != nil {
			return View{}, owner{}, fmt.Errorf("decode delivery: %w", err)
		}
		v.Delivery.Method, v.Delivery.Address = asked.Method, asked.Address
	}
	v.Delivery.Shipments = []json.RawMessage{}
	if err := readDetails(ctx, q, who.id, &v); err != nil {
		return View{}, owner{}, err
	}
	return v, who, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// readDetails reads a case's events, materials and children in one round trip.
func readDetails(ctx context.Context, q dbtx, id uuid.UUID, v *View) error {
	var b pgx.Batch
	v.Events, v.Materials, v.Cards, v.Children = []Event{}, []MaterialView{}, []json.RawMessage{}, []Child{}
	b.Queue(`SELECT seq, type, at, app_id, coalesce(operator, ''), coalesce(opinion, ''), amount_fen, score, status
		FROM case_events WHERE case_id = $1 ORDER BY seq`, id).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var e Event
			var score *int16
			if err := rows.Scan(&e.Seq, &e.Type, &e.At, &e.AppID, &e.Operator, &e.Opinion, &e.AmountFen, &score, &e.Status); err != nil {
				return err
			}
			if score != nil {
				s := int(*score)
				e.Score = &s
			}
			v.Events = append(v.Events, e)
		}
		return rows.Err()
	})
	b.Queue(`SELECT code, coalesce(license_no, '') FROM case_materials WHERE case_id = $1 ORDER BY position`, id).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				m := MaterialView{Attachments: []Attachment{}}
				if err := rows.Scan(&m.Code, &m.LicenseNo); err != nil {
					return err
				}
				v.Materials = append(v.Materials, m)
			}
			return rows.Err()
		})
	b.Queue(`SELECT material_code, attachment_id, file_name, content_type, size_bytes, sha256
		FROM attachments WHERE case_id = $1 ORDER BY material_code, position`, id).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var code string
			var a Attachment
			if err := rows.Scan(&code, &a.AttachmentID, &a.FileName, &a.ContentType, &a.SizeBytes, &a.SHA256); err != nil {
				return err
			}
			for i := range v.Materials {
				if v.Materials[i].Code == code {
					v.Materials[i].Attachments = append(v.Materials[i].Attachments, a)
				}
			}
		}
		return rows.Err()
	})
	b.Queue(`SELECT item_code, case_id, serial, status FROM cases WHERE parent_id = $1 ORDER BY serial`, id).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var c Child
				if err := rows.Scan(&c.ItemCode, &c.CaseID, &c.Serial, &c.Status); err != nil {
					return err
				}
				v.Children = append(v.Children, c)
			}
			return rows.Err()
		})
	if err := q.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("read case details: %w", err)
	}
	return nil
}

// ListQuery selects an app's own cases for GET /cases.
type ListQuery struct {
	// Applicant is the applicant's ID number; empty for all.
	Applicant string
	// Status filters by status; empty for all.
	Status Status
	Limit  int
	Cursor string
}

// Page is one page of GET /cases.
type Page struct {
	Items      []Summary `json:"items"`
	NextCursor string    `json:"nextCursor,omitempty"`
}

// List is GET /cases: the calling app's own cases (bundle cases, not their
// children), newest first, cursor-paged.
func (d *Desk) List(ctx context.Context, app auth.App, q ListQuery) (Page, error) {
	var v problem.Validation
	if q.Status != "" {
		if _, ok := transitions[q.Status]; !ok && !q.Status.Final() {
			v.Add("status", CodeInvalid, "unknown status "+string(q.Status))
		}
	}
	if q.Limit <= 0 {
		q.Limit = catalog.DefaultLimit
	}
	afterAt, afterID, err := cursor.Decode(q.Cursor)
	if err != nil {
		return Page{}, problem.BadRequest("invalid_cursor", "cursor is not one this list handed out")
	}
	if err := v.Err(); err != nil {
		return Page{}, err
	}
	rows, err := d.db.Query(ctx, `SELECT case_id, serial, coalesce(item_code, ''), coalesce(bundle_code, ''), status, applicant, created_at
		FROM cases
		WHERE app_id = $1 AND parent_id IS NULL
		  AND ($2 = '' OR holder_id = $2) AND ($3 = '' OR status = $3)
		  AND ($4::timestamptz IS NULL OR (created_at, case_id) < ($4, $5))
		ORDER BY created_at DESC, case_id DESC LIMIT $6`,
		app.ID, strings.ToUpper(q.Applicant), string(q.Status), afterAt, afterID, q.Limit+1)
	if err != nil {
		return Page{}, fmt.Errorf("list cases: %w", err)
	}
	page := Page{Items: []Summary{}}
	for rows.Next() {
		var s Summary
		var id uuid.UUID
		var applicant []byte
		if err := rows.Scan(&id, &s.Serial, &s.ItemCode, &s.BundleCode, &s.Status, &applicant, &s.SubmittedAt); err != nil {
			return Page{}, fmt.Errorf("list cases: %w", err)
		}
		if err := json.Unmarshal(applicant, &s.Applicant); err != nil {
			return Page{}, fmt.Errorf("decode applicant: %w", err)
		}
		s.CaseID, s.Applicant = id.String(), s.Applicant.Masked()
		page.Items = append(page.Items, s)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("list cases: %w", err)
	}
	if len(page.Items) > q.Limit {
		page.Items = page.Items[:q.Limit]
		last := page.Items[q.Limit-1]
		page.NextCursor = cursor.Encode(last.SubmittedAt, last.CaseID)
	}
	return page, nil
}

// HistoryMaterial is one file a holder submitted before through the same
// app (历史材料), reusable as {"code","historyOf":attachmentId}.
type HistoryMaterial struct {
	AttachmentID string    `json:"attachmentId"`
	MaterialCode string    `json:"materialCode"`
	FileName     string    `json:"fileName"`
	ContentType  string    `json:"contentType"`
	SizeBytes    int64     `json:"sizeBytes"`
	SubmittedAt  time.Time `json:"submittedAt"`
	CaseSerial   string    `json:"caseSerial"`
}

// History lists the holder's reusable materials from app's earlier cases,
// newest first, each file once (the copy in its first case). document-fetch
// serves it as GET /materials; Submit accepts the ids as historyOf.
func (d *Desk) History(ctx context.Context, app auth.App, holder string, limit int) ([]HistoryMaterial, error) {
	rows, err := d.db.Query(ctx, `SELECT * FROM (
			SELECT DISTINCT ON (a.object_key) a.attachment_id, a.material_code, a.file_name,
				a.content_type, a.size_bytes, a.created_at, c.serial
			FROM attachments a JOIN cases c ON c.case_id = a.case_id
			WHERE a.app_id = $1 AND a.holder_id = $2
			ORDER BY a.object_key, a.created_at, c.parent_id NULLS FIRST) h
		ORDER BY created_at DESC LIMIT $3`, app.ID, strings.ToUpper(holder), limit)
	if err != nil {
		return nil, fmt.Errorf("read history materials: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (HistoryMaterial, error) {
		var h HistoryMaterial
		err := r.Scan(&h.AttachmentID, &h.MaterialCode, &h.FileName, &h.ContentType, &h.SizeBytes, &h.SubmittedAt, &h.CaseSerial)
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("read history materials: %w", err)
	}
	return out, nil
}
