package audit

import (
	"context"
	"fmt"
	"sync"
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
	trail := NewTrail(db)
	if err := trail.Record(ctx, w); err != nil {
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

// Concurrent writes share statements and every one of them lands.
func TestConcurrentRecordsAllLand(t *testing.T) {
	ctx := context.Background()
	db := testenv.Pool(t)
	trail := NewTrail(db)
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			w := Write{AppID: "hebei-portal", Function: "serial-issue", Method: "POST", Route: "/", Path: "/",
				Status: 201, RequestID: fmt.Sprintf("req-many-%03d", i)}
			if err := trail.Record(ctx, w); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var rows, distinct int
	if err := db.QueryRow(ctx, `SELECT count(*), count(DISTINCT request_id) FROM audit_log WHERE request_id LIKE 'req-many-%'`).
		Scan(&rows, &distinct); err != nil || rows != n || distinct != n {
		t.Errorf("%d rows, %d distinct (%v), want %d of each", rows, distinct, err, n)
	}
}
