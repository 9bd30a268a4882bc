package licenses_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/licenses"
	"github.com/onewindow/onewindow/shared/objects"
)

// use is one row of license_uses.
type use struct {
	license, app, serial, item string
	at                         time.Time
}

func (h *harness) uses() []use {
	h.tb.Helper()
	rows, err := h.db.Query(h.ctx, `SELECT license_no, app_id, case_serial, coalesce(item_code, ''), used_at
		FROM license_uses ORDER BY use_id`)
	if err != nil {
		h.tb.Fatal(err)
	}
	defer rows.Close()
	var out []use
	for rows.Next() {
		var u use
		if err := rows.Scan(&u.license, &u.app, &u.serial, &u.item, &u.at); err != nil {
			h.tb.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

// Using a license needs a purpose: a case the caller may see, for every
// role; a case it may not see is the same 404 as none. Each use is
// recorded before the license (and its URL) is answered.
func TestUseNeedsAVisiblePurpose(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	h.issue("L-1", person)
	own := h.mustSubmit(portal) // HS-WL-01, department 130100-WL

	_, err := h.reg.Use(h.ctx, portal, "L-1", "")
	wantProblem(t, err, 422, "purpose_required")
	_, err = h.reg.List(h.ctx, portal, licenses.ListQuery{HolderID: person.IDNumber})
	wantProblem(t, err, 422, "purpose_required")

	tests := []struct {
		name    string
		app     auth.App
		purpose string
		ok      bool
	}{
		{"submitting platform", portal, own, true},
		{"another platform", portal2, own, false},
		{"the case's department", culture, own, true},
		{"another department", police, own, false},
		{"the issuing department, not the case's", market, own, false},
		{"supervisor", supervisor, own, true},
		{"no such case", supervisor, "13010212026112300000017", false},
	}
	var granted int
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := h.reg.Use(h.ctx, tt.app, "L-1", tt.purpose)
			_, listErr := h.reg.List(h.ctx, tt.app, licenses.ListQuery{HolderID: person.IDNumber, Purpose: tt.purpose})
			if !tt.ok {
				wantProblem(t, err, 404, "not_found")
				wantProblem(t, listErr, 404, "not_found")
				return
			}
			if err != nil || listErr != nil {
				t.Fatal(err, listErr)
			}
			granted += 2
			if l.URL == "" || l.URLExpiresAt == nil || time.Until(*l.URLExpiresAt) > objects.MaxGetExpiry || l.Holder.IDNumber != "110105********002X" {
				t.Errorf("license %+v", l)
			}
			if status, body := download(t, l.URL); status != http.StatusOK || !bytes.Equal(body, fileOf("L-1")) {
				t.Errorf("GET url = %d %q", status, body)
			}
		})
	}
	_, err = h.reg.Use(h.ctx, supervisor, "L-404", own)
	wantProblem(t, err, 404, "not_found")

	uses := h.uses()
	if len(uses) != granted {
		t.Fatalf("%d uses recorded, want %d: %+v", len(uses), granted, uses)
	}
	for _, u := range uses {
		if u.license != "L-1" || u.serial != own || u.item != "HS-WL-01" || !u.at.Equal(h.clock.Now()) ||
			(u.app != portal.ID && u.app != culture.ID && u.app != supervisor.ID) {
			t.Errorf("use %+v", u)
		}
	}
}

// The list: a holder's licenses in pages, filtered by type, one use per
// license answered.
func TestList(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	for _, no := range []string{"L-3", "L-1", "L-2"} {
		h.issue(no, person)
	}
	h.issue("L-other", enterprise)
	purpose := h.mustSubmit(portal)

	_, err := h.reg.List(h.ctx, portal, licenses.ListQuery{Purpose: purpose})
	wantProblem(t, err, 422, "validation_failed", "holderId", "required")
	_, err = h.reg.List(h.ctx, portal, licenses.ListQuery{HolderID: person.IDNumber, Purpose: purpose, Cursor: "%%"})
	wantProblem(t, err, 400, "invalid_cursor")

	var got []string
	q := licenses.ListQuery{HolderID: strings.ToLower(person.IDNumber), Purpose: purpose, Limit: 2}
	for range 3 {
		page, err := h.reg.List(h.ctx, portal, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range page.Items {
			if l.URL != "" {
				t.Errorf("a listed license carries a URL")
			}
			got = append(got, l.LicenseNo)
		}
		if q.Cursor = page.NextCursor; q.Cursor == "" {
			break
		}
	}
	if strings.Join(got, ",") != "L-1,L-2,L-3" {
		t.Errorf("listed %v", got)
	}
	if n := len(h.uses()); n != 3 {
		t.Errorf("%d uses for 3 licenses listed", n)
	}
	page, err := h.reg.List(h.ctx, portal, licenses.ListQuery{HolderID: person.IDNumber, TypeCode: "LT-TZHY", Purpose: purpose})
	if err != nil || len(page.Items) != 0 {
		t.Errorf("type filter: %+v, %v", page, err)
	}
}

// A license's URL stops working once it expires. Neither SDK lets the
// signing time be chosen, so the URL lives 1 s and the test polls it,
// bounded, as the object store's conformance test does.
func TestLicenseURLExpires(t *testing.T) {
	t.Parallel()
	h := newHarness(t, time.Second)
	h.issue("L-1", person)
	l, err := h.reg.Use(h.ctx, portal, "L-1", h.mustSubmit(portal))
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := download(t, l.URL); status != http.StatusOK {
		t.Fatalf("GET before expiry = %d", status)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		status, body := download(t, l.URL)
		if status == http.StatusForbidden && bytes.Contains(body, []byte("expired")) {
			return
		}
		if status != http.StatusOK || time.Now().After(l.URLExpiresAt.Add(5*time.Second)) {
			t.Fatalf("GET at %v (expiry %v) = %d %s", time.Now(), l.URLExpiresAt, status, body)
		}
		<-tick.C
	}
}

// case-submit takes a valid license of the applicant as a material and
// records its use in the case's transaction; others are refused.
func TestLicenseAsMaterial(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	h.issue("L-1", person)
	h.issue("L-ent", enterprise)
	h.issue("L-gone", person)
	if _, err := h.reg.Revoke(h.ctx, market, "L-gone", licenses.RevokeInput{}); err != nil {
		t.Fatal(err)
	}
	r, err := h.submit(portal, "L-1")
	if err != nil {
		t.Fatal(err)
	}
	if u := h.uses(); len(u) != 1 || u[0].license != "L-1" || u[0].serial != r.Serial || u[0].item != "HS-WL-01" || u[0].app != portal.ID {
		t.Errorf("uses %+v", u)
	}
	for _, no := range []string{"L-ent", "L-gone", "L-none"} {
		_, err := h.submit(portal, no)
		wantProblem(t, err, 422, "validation_failed", "materials.M-YYZZ.licenseNo", "license_not_found")
	}
}

// BenchmarkUse measures GET /licenses/{licenseNo}?purpose= in process
// against the real PostgreSQL and MinIO: the purpose's visibility, the
// read with its committed use record, and presigning the file. It
// reports the 99th percentile.
func BenchmarkUse(b *testing.B) {
	h := newHarness(b, 0)
	h.issue("L-1", person)
	purpose := h.mustSubmit(portal)
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.DiscardHandler)) // one line per use would drown the figures
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := h.reg.Use(h.ctx, culture, "L-1", purpose); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
