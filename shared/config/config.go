// Package config reads a function's settings the way OpenFaaS hands them
// over: secrets from files under /var/openfaas/secrets (the mount point of
// the secrets named in stack.yml), plain settings from the environment. A
// secret falls back to the environment when no file exists, which is how the
// local stack and tests pass them.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DefaultSecretsDir is where OpenFaaS mounts a function's secrets.
const DefaultSecretsDir = "/var/openfaas/secrets"

// Secret names as listed under `secrets:` in stack.yml. The environment
// fallback is the upper-cased name with '-' as '_' (database-url: DATABASE_URL).
const (
	SecretDatabaseURL = "database-url"
	SecretS3AccessKey = "s3-access-key"
	SecretS3SecretKey = "s3-secret-key"
)

// Secret returns the secret called name: the trimmed content of
// $ONEWINDOW_SECRETS_DIR/name (default /var/openfaas/secrets/name) if that
// file exists, else the environment variable EnvName(name), else "".
func Secret(name string) (string, error) {
	dir := cmp.Or(os.Getenv("ONEWINDOW_SECRETS_DIR"), DefaultSecretsDir)
	b, err := os.ReadFile(filepath.Join(dir, name))
	switch {
	case err == nil:
		return strings.TrimSpace(string(b)), nil
	case errors.Is(err, fs.ErrNotExist):
		return os.Getenv(EnvName(name)), nil
	default:
		return "", fmt.Errorf("read secret %s: %w", name, err)
	}
}

// EnvName is the environment variable that stands in for secret name.
func EnvName(name string) string {
	return strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// Config is what every function needs to reach its dependencies.
type Config struct {
	// Function is this function's name (case-submit, ...); from
	// ONEWINDOW_FUNCTION, else the name the handler passes in.
	Function string

	// DatabaseURL is the PostgreSQL connection string (secret database-url).
	DatabaseURL string
	// DBMaxConns caps this replica's pool (DB_MAX_CONNS, default 4). OpenFaaS
	// may run many replicas, so each holds only a few connections.
	DBMaxConns int32

	// Objects configures the object store holding attachments and licenses.
	Objects ObjectStore
}

// ObjectStore locates the S3-compatible store (MinIO by default).
type ObjectStore struct {
	// Driver is "minio" (default, minio-go) or "s3" (aws-sdk-go-v2, for
	// S3-compatible government clouds). From S3_DRIVER.
	Driver string
	// Endpoint is host:port without scheme (S3_ENDPOINT).
	Endpoint string
	// UseTLS selects https (S3_USE_TLS=true); default false for loopback MinIO.
	UseTLS bool
	// Region is the signing region (S3_REGION, default us-east-1).
	Region string
	// Bucket holds every object of OneWindow (S3_BUCKET, default onewindow).
	Bucket string
	// AccessKey and SecretKey come from the secrets s3-access-key and s3-secret-key.
	AccessKey, SecretKey string
	// PublicEndpoint, when set, is the host:port put into presigned URLs handed
	// to clients, for stores reached internally under another name (S3_PUBLIC_ENDPOINT).
	PublicEndpoint string
}

// Load reads the configuration of the function called function.
func Load(function string) (Config, error) {
	c := Config{Function: cmp.Or(os.Getenv("ONEWINDOW_FUNCTION"), function)}
	var err error
	if c.DatabaseURL, err = Secret(SecretDatabaseURL); err != nil {
		return c, err
	}
	maxConns, err := envInt("DB_MAX_CONNS", 4)
	if err != nil {
		return c, err
	}
	c.DBMaxConns = int32(maxConns)

	o := &c.Objects
	o.Driver = cmp.Or(os.Getenv("S3_DRIVER"), "minio")
	o.Endpoint = os.Getenv("S3_ENDPOINT")
	o.UseTLS = os.Getenv("S3_USE_TLS") == "true"
	o.Region = cmp.Or(os.Getenv("S3_REGION"), "us-east-1")
	o.Bucket = cmp.Or(os.Getenv("S3_BUCKET"), "onewindow")
	o.PublicEndpoint = os.Getenv("S3_PUBLIC_ENDPOINT")
	if o.AccessKey, err = Secret(SecretS3AccessKey); err != nil {
		return c, err
	}
	if o.SecretKey, err = Secret(SecretS3SecretKey); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.Function == "" {
		errs = append(errs, errors.New("function name is empty"))
	}
	if c.DBMaxConns < 1 {
		errs = append(errs, fmt.Errorf("DB_MAX_CONNS must be at least 1, got %d", c.DBMaxConns))
	}
	if d := c.Objects.Driver; d != "minio" && d != "s3" {
		errs = append(errs, fmt.Errorf("S3_DRIVER must be minio or s3, got %q", d))
	}
	return errors.Join(errs...)
}

// Duration parses an OpenFaaS-style timeout: a Go duration ("10s", "1m30s")
// or a bare number of seconds ("10"). Empty gives def.
func Duration(value string, def time.Duration) (time.Duration, error) {
	if value == "" {
		return def, nil
	}
	if n, err := strconv.Atoi(value); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil {
		return 0, fmt.Errorf("parse duration %q: %w", value, err)
	}
	return d, nil
}

func envInt(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return n, nil
}
