package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/infra/gateway"
)

// signedProbe is a signed request per function that a caller of the
// platform role may make; any answer of the function itself will do.
var signedProbe = map[string]string{
	"case-submit":        "/cases/13010012026112200000013",
	"serial-issue":       "/verify?serial=13010012026112200000013",
	"document-fetch":     "/materials?holderId=130102199003071234",
	"warning-scan":       "/calendar/2026",
	"catalog-lookup":     "/items?q=%E6%B0%91%E5%AE%BF&limit=5",
	"payment-callback":   "/orders/13010092026112200000017",
	"logistics-callback": "/shipments/EMS1234567890",
}

// TestStack runs `onewindow run` (make run) as a subprocess against the
// test PostgreSQL and MinIO and checks the local stack end to end:
// listing, authentication through the gateway, the scan trigger, a
// redeploy under load, a killed replica coming back, scaling, and a clean
// stop on SIGTERM that leaves no process behind.
func TestStack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the whole stack: not in -short")
	}
	s := startStack(t)
	s.waitHealthy(t, 5*time.Minute) // the builds are cached after TestBuildContexts
	stack := loadStack(t, s.root)
	names := stack.Names()
	portal := s.appClient(t, "hebei-portal")
	ctx := context.Background()

	t.Run("lists the functions of stack.yml", func(t *testing.T) {
		// /healthz is 200 once every function has a healthy replica; the
		// second replica of a function may still be starting.
		var list []gateway.FunctionStatus
		pollUntil(t, time.Minute, "every replica available", func() bool {
			a, err := readAnswer(http.Get(s.url + "/system/functions"))
			if err != nil || a.status != http.StatusOK || json.Unmarshal(a.body, &list) != nil {
				return false
			}
			for _, f := range list {
				if f.AvailableReplicas != f.Replicas {
					return false
				}
			}
			return true
		})
		var got []string
		for _, f := range list {
			got = append(got, f.Name)
			want := stack.Functions[f.Name]
			if !maps.Equal(f.Labels, want.Labels) {
				t.Errorf("%s labels %v, want %v", f.Name, f.Labels, want.Labels)
			}
			if f.AvailableReplicas != f.Replicas || f.Replicas < 1 {
				t.Errorf("%s: %d of %d replicas available", f.Name, f.AvailableReplicas, f.Replicas)
			}
		}
		if !slices.Equal(got, names) {
			t.Fatalf("functions %v, want %v", got, names)
		}
		for fn, schedule := range map[string]string{"warning-scan": "*/5 * * * *", "case-submit": "* * * * *"} {
			a := list[slices.Index(got, fn)].Annotations
			if a["topic"] != "cron-function" || a["schedule"] != schedule {
				t.Errorf("%s annotations: %v", fn, a)
			}
		}
		if len(names) != 7 {
			t.Errorf("%d functions, want 7", len(names))
		}
	})

	t.Run("an unsigned call is refused by every function", func(t *testing.T) {
		for _, fn := range names {
			a, err := readAnswer(http.Get(s.url + "/function/" + fn + "/"))
			if err != nil {
				t.Fatal(err)
			}
			if a.status != http.StatusUnauthorized || a.header.Get("Content-Type") != "application/problem+json" ||
				a.code() != "missing_credentials" || a.header.Get("X-Request-Id") == "" {
				t.Errorf("%s: %v %v", fn, a, a.header)
			}
		}
	})

	t.Run("a signed call reaches every function", func(t *testing.T) {
		for _, fn := range names {
			a, err := signedCall(ctx, portal, fn, http.MethodGet, signedProbe[fn], nil)
			if err != nil {
				t.Fatal(err)
			}
			if !functionAnswered(a.status) {
				t.Errorf("%s GET %s: %v", fn, signedProbe[fn], a)
			}
		}
	})

	t.Run("an app over its rate is answered 429 with Retry-After", func(t *testing.T) {
		// sjz-kiosk may send 2 requests a second, 5 at once (apps.json).
		kiosk := s.appClient(t, "sjz-kiosk")
		answers := make([]stackAnswer, 20)
		var wg sync.WaitGroup
		for i := range answers {
			wg.Go(func() {
				a, err := signedCall(ctx, kiosk, "catalog-lookup", http.MethodGet, "/items?limit=1", nil)
				if err != nil {
					t.Error(err)
				}
				answers[i] = a
			})
		}
		wg.Wait()
		limited := 0
		for _, a := range answers {
			switch {
			case a.status == http.StatusTooManyRequests:
				limited++
				if a.code() != "rate_limited" || a.header.Get("Retry-After") == "" {
					t.Errorf("429 without its code or Retry-After: %v %v", a, a.header)
				}
			case a.status != http.StatusOK:
				t.Errorf("kiosk call: %v", a)
			}
		}
		// 20 at once against a burst of 5: at least 15 wait, unless the
		// calls took seconds to arrive (then fewer, but never none).
		if limited == 0 {
			t.Error("20 concurrent calls of a 2/s app: none was rate limited")
		}
		// Another app is not limited by the kiosk's bucket.
		if a, err := signedCall(ctx, portal, "catalog-lookup", http.MethodGet, "/items?limit=1", nil); err != nil || a.status != http.StatusOK {
			t.Errorf("hebei-portal after the kiosk's burst: %v %v", a, err)
		}
	})

	t.Run("a write is in the audit trail, a read is not", func(t *testing.T) {
		w, err := signedCall(ctx, portal, "serial-issue", http.MethodPost, "/", []byte(`{"region":"130100","channel":"online","count":1}`))
		if err != nil || w.status != http.StatusCreated {
			t.Fatalf("issue a serial: %v %v", w, err)
		}
		r, err := signedCall(ctx, portal, "serial-issue", http.MethodGet, "/verify?serial=13010012026112200000013", nil)
		if err != nil || r.status != http.StatusOK {
			t.Fatalf("verify a serial: %v %v", r, err)
		}
		db, err := pgx.Connect(ctx, envValue(s.env, "DATABASE_URL"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close(ctx)
		var action, app string
		err = db.QueryRow(ctx, `SELECT action, app_id FROM audit_trail WHERE request_id = $1`, w.header.Get("X-Request-Id")).
			Scan(&action, &app)
		if err != nil || action != "serial-issue POST /" || app != "hebei-portal" {
			t.Errorf("audit of the write: %q by %q (%v)", action, app, err)
		}
		var reads int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE request_id = $1`, r.header.Get("X-Request-Id")).Scan(&reads); err != nil || reads != 0 {
			t.Errorf("the read has %d audit rows (%v), want none", reads, err)
		}
	})

	t.Run("the scan trigger needs no signature", func(t *testing.T) {
		a, err := readAnswer(http.Post(s.url+"/function/warning-scan/", "", nil))
		if err != nil {
			t.Fatal(err)
		}
		if !functionAnswered(a.status) {
			t.Errorf("POST /function/warning-scan/: %v", a)
		}
	})

	t.Run("a case from its uploads to its acceptance", func(t *testing.T) { caseScenario(t, s) })

	t.Run("redeploy swaps serial-issue without dropping a request", func(t *testing.T) {
		before := s.pidFiles(t)["serial-issue-0"]
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		var sent int
		var failures []string
		statuses := map[int]int{}
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					a, err := signedCall(ctx, portal, "serial-issue", http.MethodPost, "/",
						[]byte(`{"region":"130100","channel":"online","count":1}`))
					mu.Lock()
					sent++
					statuses[a.status]++
					if err != nil || !functionAnswered(a.status) {
						failures = append(failures, fmt.Sprintf("%v %v", a, err))
					}
					mu.Unlock()
				}
			}()
		}
		cmd := exec.Command(s.bin, "redeploy", "serial-issue")
		cmd.Dir, cmd.Env = s.root, s.env
		out, err := cmd.CombinedOutput()
		close(stop)
		wg.Wait()
		if err != nil || !strings.Contains(string(out), "generation 2") {
			t.Fatalf("onewindow redeploy: %v\n%s", err, out)
		}
		if len(failures) > 0 {
			t.Errorf("%d of %d calls failed during the swap: %v", len(failures), sent, failures)
		}
		if after := s.pidFiles(t)["serial-issue-0"]; after == before || processAlive(before) {
			t.Errorf("pid %d -> %d; old alive: %v", before, after, processAlive(before))
		}
		t.Logf("%d calls during the redeploy, by status: %v", sent, statuses)
	})

	t.Run("a killed replica comes back while the others serve", func(t *testing.T) {
		victim := s.pidFiles(t)["serial-issue-0"]
		if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// The other functions are not disturbed.
		for _, fn := range names {
			if fn == "serial-issue" {
				continue
			}
			a, err := signedCall(ctx, portal, fn, http.MethodGet, signedProbe[fn], nil)
			if err != nil || !functionAnswered(a.status) {
				t.Errorf("%s while serial-issue restarts: %v %v", fn, a, err)
			}
		}
		pollUntil(t, time.Minute, "serial-issue restarted and healthy", func() bool {
			pid := s.pidFiles(t)["serial-issue-0"]
			if pid == 0 || pid == victim {
				return false
			}
			h, err := readAnswer(http.Get(s.url + "/healthz"))
			if err != nil || h.status != http.StatusOK {
				return false
			}
			a, err := signedCall(ctx, portal, "serial-issue", http.MethodGet, signedProbe["serial-issue"], nil)
			return err == nil && functionAnswered(a.status)
		})
		if processAlive(victim) {
			t.Errorf("killed pid %d still exists", victim)
		}
	})

	t.Run("serial-issue scales to 2", func(t *testing.T) {
		a, err := readAnswer(http.Post(s.url+"/system/scale-function/serial-issue", "application/json",
			strings.NewReader(`{"serviceName":"serial-issue","replicas":2}`)))
		if err != nil || a.status != http.StatusAccepted {
			t.Fatalf("scale: %v %v", a, err)
		}
		pollUntil(t, time.Minute, "2 healthy replicas of serial-issue", func() bool {
			a, err := readAnswer(http.Get(s.url + "/system/function/serial-issue"))
			var st gateway.FunctionStatus
			if err != nil || json.Unmarshal(a.body, &st) != nil {
				return false
			}
			return st.Replicas == 2 && st.AvailableReplicas == 2
		})
		pids := s.pidFiles(t)
		if pids["serial-issue-0"] == 0 || pids["serial-issue-1"] == 0 || pids["serial-issue-0"] == pids["serial-issue-1"] {
			t.Errorf("pid files: %v", pids)
		}
		for range 4 {
			a, err := signedCall(ctx, portal, "serial-issue", http.MethodGet, signedProbe["serial-issue"], nil)
			if err != nil || !functionAnswered(a.status) {
				t.Errorf("serial-issue with 2 replicas: %v %v", a, err)
			}
		}
	})

	t.Run("SIGTERM stops everything", func(t *testing.T) {
		pids := s.pidFiles(t)
		if len(pids) < len(names) {
			t.Fatalf("only %d pid files: %v", len(pids), pids)
		}
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-s.exited:
		case <-time.After(2 * time.Minute):
			t.Fatal("onewindow run did not exit within 2 minutes of SIGTERM")
		}
		if s.exitErr != nil {
			t.Errorf("onewindow run exited with %v", s.exitErr)
		}
		for name, pid := range pids {
			if processAlive(pid) {
				t.Errorf("replica %s (pid %d) survived", name, pid)
			}
		}
		if left := s.pidFiles(t); len(left) != 0 {
			t.Errorf("pid files left: %v", left)
		}
		if out := s.out.String(); !strings.Contains(out, "OneWindow is up on http://"+s.addr+" (7 functions); Ctrl-C stops it") ||
			!strings.Contains(out, "stopped") {
			t.Errorf("console:\n%s", tailOf(out, 4000))
		}
	})
}

// envValue is name's value in env (KEY=value lines), "" when absent.
func envValue(env []string, name string) string {
	for _, kv := range slices.Backward(env) { // the last one wins, as for exec
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}
