// Package supervisortest provides a stand-in function process for the
// tests of the supervisor and the gateway: the test binary re-executes
// itself as a tiny HTTP server that behaves like a function's entrypoint
// (templates/onewindow-go/main.go) where it matters to them: it listens on
// 127.0.0.1:$PORT, answers GET /_/health, and on SIGTERM stops accepting
// and finishes its requests in flight.
//
// A test package calls MaybeRun first thing in its TestMain, and starts
// processes of os.Args[0] with Env(...) in their environment.
package supervisortest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Environment of a fake process.
const (
	// EnvFake makes MaybeRun serve instead of returning.
	EnvFake = "ONEWINDOW_FAKE_FUNCTION"
	// EnvHealth=fail makes /_/health answer 503.
	EnvHealth = "FAKE_HEALTH"
	// EnvExit=<code> makes the process exit at once with that code.
	EnvExit = "FAKE_EXIT"
	// EnvMarkDir is where a request to /hang drops a file named
	// hang-<pid> once it has arrived (and then never answers), and one to
	// /slow?ms=N&mark a file named slow-<pid> (and answers after N ms).
	EnvMarkDir = "FAKE_MARK_DIR"
)

// Answer is the JSON body of every request the fake serves, except
// /_/health and /hang.
type Answer struct {
	// Function is $ONEWINDOW_FUNCTION.
	Function string `json:"function"`
	// Version is the base name of the executable: tests swap to a symlink
	// of another name to tell generations apart.
	Version string `json:"version"`
	Pid     int    `json:"pid"`
	Method  string `json:"method"`
	// RequestURI is the request target exactly as received.
	RequestURI string `json:"requestURI"`
	// Path is the decoded path, RawQuery the query as received.
	Path      string `json:"path"`
	RawQuery  string `json:"rawQuery"`
	RequestID string `json:"requestId"`
	BodyBytes int    `json:"bodyBytes"`
}

// Env returns the environment of a fake process with the given extra
// KEY=VALUE settings.
func Env(extra ...string) []string {
	env := []string{EnvFake + "=1"}
	if p := os.Getenv("PATH"); p != "" {
		env = append(env, "PATH="+p)
	}
	return append(env, extra...)
}

// MaybeRun serves as a fake function and exits when EnvFake is set, and
// returns at once otherwise.
func MaybeRun() {
	if os.Getenv(EnvFake) == "" {
		return
	}
	if code := os.Getenv(EnvExit); code != "" {
		n, _ := strconv.Atoi(code)
		fmt.Fprintln(os.Stderr, "fake function: exiting as told with", n)
		os.Exit(n)
	}
	if err := serve(); err != nil {
		fmt.Fprintln(os.Stderr, "fake function:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func serve() error {
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	srv := &http.Server{Handler: http.HandlerFunc(handle), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintln(os.Stderr, "fake function: listening on", ln.Addr())
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(os.Stderr, "fake function: draining")
	grace, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(grace); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func handle(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_/health":
		if os.Getenv(EnvHealth) == "fail" {
			http.Error(w, "unhealthy as told", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, `{"status":"ok"}`)
		return
	case "/hang":
		mark := filepath.Join(os.Getenv(EnvMarkDir), "hang-"+strconv.Itoa(os.Getpid()))
		_ = os.WriteFile(mark, nil, 0o644)
		<-r.Context().Done()
		return
	case "/slow":
		if r.URL.Query().Has("mark") {
			mark := filepath.Join(os.Getenv(EnvMarkDir), "slow-"+strconv.Itoa(os.Getpid()))
			_ = os.WriteFile(mark, nil, 0o644)
		}
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	n, _ := io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	if id := r.Header.Get("X-Request-Id"); id != "" {
		w.Header().Set("X-Request-Id", id)
	}
	_ = json.NewEncoder(w).Encode(Answer{
		Function:   os.Getenv("ONEWINDOW_FUNCTION"),
		Version:    filepath.Base(os.Args[0]),
		Pid:        os.Getpid(),
		Method:     r.Method,
		RequestURI: r.RequestURI,
		Path:       r.URL.Path,
		RawQuery:   r.URL.RawQuery,
		RequestID:  r.Header.Get("X-Request-Id"),
		BodyBytes:  int(n),
	})
}
