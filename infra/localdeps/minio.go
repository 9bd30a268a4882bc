package localdeps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// MinIOModule is the MinIO server release the local stack builds and runs.
const MinIOModule = "github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"

// MinIO is a running MinIO server owned by this process.
type MinIO struct {
	// Endpoint is host:port of the S3 API.
	Endpoint             string
	AccessKey, SecretKey string
	cmd                  *exec.Cmd
	done                 chan error
}

// MinIOOptions configure StartMinIO.
type MinIOOptions struct {
	// Dir holds the objects.
	Dir string
	// Port of the S3 API; 0 picks a free loopback port.
	Port int
	// AccessKey and SecretKey are the root credentials (defaults for local use).
	AccessKey, SecretKey string
	// Build runs `go install` when the binary is missing (make run); without
	// it a missing binary is an error that says how to get it.
	Build bool
	Log   io.Writer
}

// MinIOBinary finds the minio binary: $MINIO_BIN, PATH, then $(go env GOPATH)/bin.
func MinIOBinary() (string, error) {
	if p := os.Getenv("MINIO_BIN"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	gopath, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(string(trimNL(gopath)), "bin", "minio")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("minio binary not found: build it once with `go install %s` (about 3 minutes) or set MINIO_BIN", MinIOModule)
}

// BuildMinIO installs the MinIO server with the Go toolchain.
func BuildMinIO(ctx context.Context, log io.Writer) error {
	slog.Info("building MinIO server once; this takes about 3 minutes the first time", "module", MinIOModule)
	cmd := exec.CommandContext(ctx, "go", "install", MinIOModule)
	cmd.Dir = os.TempDir() // outside any workspace
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go install %s: %w", MinIOModule, err)
	}
	return nil
}

// StartMinIO starts a MinIO server on loopback and returns once it is live.
func StartMinIO(ctx context.Context, opts MinIOOptions) (*MinIO, error) {
	bin, err := MinIOBinary()
	if err != nil && opts.Build {
		if berr := BuildMinIO(ctx, opts.Log); berr != nil {
			return nil, berr
		}
		bin, err = MinIOBinary()
	}
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", opts.Dir, err)
	}
	port := opts.Port
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	consolePort, err := FreePort()
	if err != nil {
		return nil, err
	}
	m := &MinIO{
		Endpoint:  "127.0.0.1:" + strconv.Itoa(port),
		AccessKey: opts.AccessKey,
		SecretKey: opts.SecretKey,
		done:      make(chan error, 1),
	}
	if m.AccessKey == "" {
		m.AccessKey = "onewindow"
	}
	if m.SecretKey == "" {
		m.SecretKey = "onewindow-local-secret"
	}
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}
	cmd := exec.Command(bin, "server", "--quiet", "--address", m.Endpoint,
		"--console-address", "127.0.0.1:"+strconv.Itoa(consolePort), opts.Dir)
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+m.AccessKey, "MINIO_ROOT_PASSWORD="+m.SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1")
	cmd.Stdout, cmd.Stderr = logw, logw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start minio: %w", err)
	}
	m.cmd = cmd
	go func() { m.done <- cmd.Wait() }()
	if err := m.waitReady(ctx); err != nil {
		m.Stop()
		return nil, err
	}
	return m, nil
}

func (m *MinIO) waitReady(ctx context.Context) error {
	url := "http://" + m.Endpoint + "/minio/health/live"
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(resp.Status)
		}
		select {
		case err := <-m.done:
			m.done <- err // Stop waits on it too
			return fmt.Errorf("minio exited before it was live (%v); see its log", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("minio not live after 60 s: %w", err)
		}
	}
}

// Stop terminates the server and waits for it.
func (m *MinIO) Stop() {
	if m == nil || m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(15 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
	}
}

// Done yields the server's exit error when it stops.
func (m *MinIO) Done() <-chan error { return m.done }

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
