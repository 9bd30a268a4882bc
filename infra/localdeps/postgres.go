// Package localdeps starts the PostgreSQL and MinIO servers that the local
// stack (`make run`) and the test tooling (`make test`) need, as child
// processes on free loopback ports. Both commands use this one code path.
package localdeps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is a running PostgreSQL server owned by this process.
type Postgres struct {
	// URL connects to the "onewindow" database as the superuser.
	URL string
	// AdminURL connects to the "postgres" maintenance database.
	AdminURL string
	Port     int
	cmd      *exec.Cmd
	done     chan error
}

// PostgresOptions configure StartPostgres.
type PostgresOptions struct {
	// Dir holds the cluster (created with initdb when empty).
	Dir string
	// Port to listen on; 0 picks a free loopback port.
	Port int
	// Ephemeral trades durability for speed (fsync off), for test servers.
	Ephemeral bool
	// Log receives the server's output; nil discards it.
	Log io.Writer
}

// ErrNoPostgres is returned when the server binaries cannot be found.
var ErrNoPostgres = errors.New("PostgreSQL server binaries (initdb, postgres) not found: " +
	"install them with `apt-get update && apt-get install -y postgresql` " +
	"or set PG_BIN to the directory that holds them")

// PostgresBinDir finds initdb and postgres: $PG_BIN, the newest
// /usr/lib/postgresql/*/bin, or PATH.
func PostgresBinDir() (string, error) {
	if dir := os.Getenv("PG_BIN"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err != nil {
			return "", fmt.Errorf("PG_BIN=%s: %w", dir, ErrNoPostgres)
		}
		return dir, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", ErrNoPostgres
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// StartPostgres initialises opts.Dir if needed and starts the server. It
// returns once the server accepts connections and the onewindow database exists.
// PostgreSQL refuses to run as root, so under root it runs as the
// unprivileged "postgres" user, who is given the directory.
func StartPostgres(ctx context.Context, opts PostgresOptions) (*Postgres, error) {
	bin, err := PostgresBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", opts.Dir, err)
	}
	if err := makeReachable(opts.Dir, cred); err != nil {
		return nil, err
	}
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}
	if _, err := os.Stat(filepath.Join(opts.Dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		slog.Info("initialising PostgreSQL cluster", "dir", opts.Dir)
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", opts.Dir, "-U", "postgres",
			"--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		cmd.Dir = opts.Dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("initdb %s: %w\n%s", opts.Dir, err, out)
		}
	}
	port := opts.Port
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	args := []string{"-D", opts.Dir, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + opts.Dir,
		"-c", "max_connections=300", "-c", "shared_buffers=256MB"}
	if opts.Ephemeral {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	cmd.Dir = opts.Dir
	cmd.Stdout, cmd.Stderr = logw, logw
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	pg := &Postgres{
		Port:     port,
		URL:      fmt.Sprintf("postgres://postgres@127.0.0.1:%d/onewindow?sslmode=disable", port),
		AdminURL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port),
		cmd:      cmd,
		done:     make(chan error, 1),
	}
	go func() { pg.done <- cmd.Wait() }()
	if err := pg.waitReady(ctx); err != nil {
		pg.Stop()
		return nil, err
	}
	return pg, nil
}

func (pg *Postgres) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, pg.AdminURL)
		if err == nil {
			defer conn.Close(ctx)
			var exists bool
			if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'onewindow')`).Scan(&exists); err != nil {
				return fmt.Errorf("postgres: check database: %w", err)
			}
			if !exists {
				if _, err := conn.Exec(ctx, `CREATE DATABASE onewindow`); err != nil {
					return fmt.Errorf("postgres: create database onewindow: %w", err)
				}
			}
			return nil
		}
		select {
		case err := <-pg.done:
			pg.done <- err // Stop waits on it too
			return fmt.Errorf("postgres exited before accepting connections (%v); see its log", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after 60 s: %w", err)
		}
	}
}

// Stop shuts the server down (fast shutdown) and waits for it.
func (pg *Postgres) Stop() {
	if pg == nil || pg.cmd == nil || pg.cmd.Process == nil {
		return
	}
	_ = pg.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-pg.done:
	case <-time.After(30 * time.Second):
		_ = pg.cmd.Process.Kill()
		<-pg.done
	}
}

// Done yields the server's exit error when it stops.
func (pg *Postgres) Done() <-chan error { return pg.done }

// serverCredential returns the identity to run PostgreSQL as: nil when we are
// not root, else the postgres user.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL needs an unprivileged user and there is no \"postgres\" user (%w): "+
			"install the postgresql package, which creates it", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// makeReachable gives dir to the server user and lets it traverse the
// parents (a temp dir is 0700 root by default).
func makeReachable(dir string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.Chown(abs, int(cred.Uid), int(cred.Gid)); err != nil {
		return fmt.Errorf("give %s to the postgres user: %w", abs, err)
	}
	if err := os.Chmod(abs, 0o700); err != nil {
		return fmt.Errorf("chmod %s: %w", abs, err)
	}
	for p := filepath.Dir(abs); p != "/" && p != "."; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if st.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(p, st.Mode().Perm()|0o011); err != nil {
				return fmt.Errorf("let the postgres user reach %s: %w", p, err)
			}
		}
	}
	return nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
