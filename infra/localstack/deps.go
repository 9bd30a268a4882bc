package localstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/onewindow/onewindow/infra/localdeps"
)

// Deps are the PostgreSQL and object store the functions use: servers this
// process started, or external ones named in the environment.
type Deps struct {
	DatabaseURL string
	S3Endpoint  string
	S3Driver    string
	S3AccessKey string
	S3SecretKey string
	stop        []func()
}

// StartDeps starts PostgreSQL under dataDir/postgres unless DATABASE_URL is
// set, and MinIO under dataDir/minio unless S3_ENDPOINT is set (building
// MinIO once when build is true).
func StartDeps(ctx context.Context, dataDir string, build bool, log io.Writer) (*Deps, error) {
	d := &Deps{S3Driver: envOr("S3_DRIVER", "minio")}
	if url := os.Getenv("DATABASE_URL"); url != "" {
		slog.Info("using external PostgreSQL from DATABASE_URL")
		d.DatabaseURL = url
	} else {
		slog.Info("starting PostgreSQL", "dir", filepath.Join(dataDir, "postgres"))
		pg, err := localdeps.StartPostgres(ctx, localdeps.PostgresOptions{Dir: filepath.Join(dataDir, "postgres"), Log: log})
		if err != nil {
			return nil, fmt.Errorf("start PostgreSQL: %w", err)
		}
		d.stop = append(d.stop, pg.Stop)
		d.DatabaseURL = pg.URL
	}
	if ep := os.Getenv("S3_ENDPOINT"); ep != "" {
		slog.Info("using external object store from S3_ENDPOINT", "endpoint", ep, "driver", d.S3Driver)
		d.S3Endpoint, d.S3AccessKey, d.S3SecretKey = ep, os.Getenv("S3_ACCESS_KEY"), os.Getenv("S3_SECRET_KEY")
	} else {
		slog.Info("starting MinIO", "dir", filepath.Join(dataDir, "minio"))
		m, err := localdeps.StartMinIO(ctx, localdeps.MinIOOptions{Dir: filepath.Join(dataDir, "minio"), Build: build, Log: log})
		if err != nil {
			d.Stop()
			return nil, fmt.Errorf("start MinIO: %w", err)
		}
		d.stop = append(d.stop, m.Stop)
		d.S3Endpoint, d.S3AccessKey, d.S3SecretKey = m.Endpoint, m.AccessKey, m.SecretKey
	}
	return d, nil
}

// Stop stops the servers StartDeps started, newest first.
func (d *Deps) Stop() {
	for i := len(d.stop) - 1; i >= 0; i-- {
		d.stop[i]()
	}
	d.stop = nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
