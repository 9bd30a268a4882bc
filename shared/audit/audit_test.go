package audit

import (
	"context"
	"testing"

	"github.com/onewindow/onewindow/shared/testenv"
)

func TestIsWrite(t *testing.T) {
	tests := []struct {
		method string
		status int
		want   bool
	}{
		{"POST", 201, true},
		{"PUT", 200, true},
		{"DELETE", 204, true},
		{"POST", 200, true},
		{"POST", 409, false}, // refused: nothing changed
		{"POST", 503, false},
		{"GET", 200, false},
		{"HEAD", 200, false},
		{"OPTIONS", 204, false},
	}
	for _, tt := range tests {
		if got := IsWrite(tt.method, tt.status); got != tt.want {
			t.Errorf("IsWrite(%s, %d) = %v, want %v", tt.method, tt.status, got, tt.want)
		}
	}
}

func TestRecordReadsBackThroughTheTrail(t *testing.T) {
	ctx := context.Background()
	db := testenv.Pool(t)
	w := Write{AppID: "sjz-xzsp-window", Function: "case-submit", Method: "POST",
		Route: "/cases/{serial}/events", Path: "/cases/13010012026112300000017/events",
		Status: 201, RequestID: "req-audit-1"}
	if err := Record(ctx, db, w); err != nil {
		t.Fatal(err)
	}
	var action, app string
	if err := db.QueryRow(ctx, `SELECT action, app_id FROM audit_trail WHERE request_id = $1`, w.RequestID).
		Scan(&action, &app); err != nil {
		t.Fatalf("read the trail: %v", err)
	}
	if want := "case-submit POST /cases/13010012026112300000017/events"; action != want || app != w.AppID {
		t.Errorf("trail row = %q by %s, want %q by %s", action, app, want, w.AppID)
	}
}
