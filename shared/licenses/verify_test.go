package licenses_test

import (
	"strings"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/licenses"
)

// Every verification outcome: valid, revoked, expired, mismatch, unknown.
func TestVerify(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	h.issue("V-ok", person)
	h.issue("V-revoked", person)
	if _, err := h.reg.Revoke(h.ctx, market, "V-revoked", licenses.RevokeInput{Reason: "吊销"}); err != nil {
		t.Fatal(err)
	}
	short := h.input("V-expired", person)
	short.IssuedAt, short.ValidUntil = "2025-11-01", "2026-11-22" // through yesterday
	if _, err := h.reg.Issue(h.ctx, market, short); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		no, holder, sh string
		status         licenses.Status
	}{
		{"valid", "V-ok", person.IDNumber, sum(fileOf("V-ok")), licenses.StatusValid},
		{"valid, spelled loosely", " V-ok ", strings.ToLower(person.IDNumber), strings.ToUpper(sum(fileOf("V-ok"))), licenses.StatusValid},
		{"revoked", "V-revoked", person.IDNumber, sum(fileOf("V-revoked")), licenses.StatusRevoked},
		{"expired", "V-expired", person.IDNumber, sum(fileOf("V-expired")), licenses.StatusExpired},
		{"another holder", "V-ok", enterprise.IDNumber, sum(fileOf("V-ok")), licenses.StatusMismatch},
		{"another file", "V-ok", person.IDNumber, sum(fileOf("V-revoked")), licenses.StatusMismatch},
		{"a revoked license with another file", "V-revoked", person.IDNumber, sum(pdfBytes), licenses.StatusMismatch},
		{"unknown", "V-none", person.IDNumber, sum(pdfBytes), licenses.StatusUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := h.reg.Verify(h.ctx, licenses.VerifyInput{LicenseNo: tt.no, HolderID: tt.holder, SHA256: tt.sh})
			if err != nil {
				t.Fatal(err)
			}
			if v.Status != tt.status || v.Valid != (tt.status == licenses.StatusValid) {
				t.Errorf("verdict %+v, want %s", v, tt.status)
			}
			if (tt.status == licenses.StatusMismatch || tt.status == licenses.StatusUnknown) && v.TypeCode != "" {
				t.Errorf("a %s verdict describes the license: %+v", tt.status, v)
			}
		})
	}
	// The expired license was valid while it lasted.
	h.clock.Add(-48 * time.Hour)
	if v, _ := h.reg.Verify(h.ctx, licenses.VerifyInput{LicenseNo: "V-expired", HolderID: person.IDNumber, SHA256: sum(fileOf("V-expired"))}); !v.Valid {
		t.Errorf("before expiry: %+v", v)
	}

	_, err := h.reg.Verify(h.ctx, licenses.VerifyInput{})
	wantProblem(t, err, 422, "validation_failed", "licenseNo", "required", "holderId", "required", "sha256", "required")
	_, err = h.reg.Verify(h.ctx, licenses.VerifyInput{LicenseNo: "V-ok", HolderID: person.IDNumber, SHA256: "abc"})
	wantProblem(t, err, 422, "validation_failed", "sha256", "invalid_sha256")
}

// Only the issuing department revokes; revoking twice changes nothing.
func TestRevoke(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	h.issue("R-1", person)
	_, err := h.reg.Revoke(h.ctx, police, "R-1", licenses.RevokeInput{})
	wantProblem(t, err, 403, "forbidden")
	_, err = h.reg.Revoke(h.ctx, market, "R-none", licenses.RevokeInput{})
	wantProblem(t, err, 404, "not_found")
	_, err = h.reg.Revoke(h.ctx, market, "R-1", licenses.RevokeInput{Reason: strings.Repeat("因", 501)})
	wantProblem(t, err, 422, "validation_failed", "reason", "invalid")

	l, err := h.reg.Revoke(h.ctx, market, "R-1", licenses.RevokeInput{Reason: "企业申请注销"})
	if err != nil || l.Status != licenses.StatusRevoked || l.RevokedAt == nil || l.RevokeReason != "企业申请注销" || l.URL != "" {
		t.Fatalf("revoked = %+v, %v", l, err)
	}
	h.clock.Add(time.Hour)
	again, err := h.reg.Revoke(h.ctx, market, "R-1", licenses.RevokeInput{Reason: "again"})
	if err != nil || !again.RevokedAt.Equal(*l.RevokedAt) || again.RevokeReason != "企业申请注销" {
		t.Fatalf("revoked again = %+v, %v", again, err)
	}
}
