package localstack

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onewindow/onewindow/infra/stackfile"
)

func TestFunctionSpec(t *testing.T) {
	rt := runtimeEnv{
		deps: &Deps{DatabaseURL: "postgres://local/db", S3Endpoint: "127.0.0.1:9000", S3Driver: "minio",
			S3AccessKey: "ak", S3SecretKey: "sk"},
		bucket:     "onewindow-test",
		secretsDir: "/data/secrets",
	}
	stackEnv := map[string]string{"write_timeout": "15s", "DB_MAX_CONNS": "4",
		"S3_ENDPOINT": "minio.onewindow-storage:9000", "S3_BUCKET": "onewindow"}
	for _, tc := range []struct {
		name     string
		labels   map[string]string
		env      map[string]string
		replicas int
		grace    time.Duration
		wantErr  string
	}{
		{"scale.min sets the replicas", map[string]string{"com.openfaas.scale.min": "2"}, stackEnv, 2, 20 * time.Second, ""},
		{"one replica by default", nil, stackEnv, 1, 20 * time.Second, ""},
		{"zero is allowed", map[string]string{"com.openfaas.scale.min": "0"}, stackEnv, 0, 20 * time.Second, ""},
		{"bare seconds", nil, map[string]string{"write_timeout": "120"}, 1, 125 * time.Second, ""},
		{"no write_timeout: the template's 10 s", nil, nil, 1, 15 * time.Second, ""},
		{"junk replicas", map[string]string{"com.openfaas.scale.min": "two"}, stackEnv, 0, 0, "not a replica count"},
		{"junk timeout", nil, map[string]string{"write_timeout": "soon"}, 0, 0, "write_timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fn := stackfile.Function{Name: "case-submit", Labels: tc.labels, Environment: tc.env}
			spec, err := functionSpec(fn, "/data/bin/case-submit-1", rt)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if spec.Name != "case-submit" || spec.Binary != "/data/bin/case-submit-1" || spec.Replicas != tc.replicas || spec.StopGrace != tc.grace {
				t.Errorf("spec %+v", spec)
			}
		})
	}
}

func TestFunctionEnv(t *testing.T) {
	rt := runtimeEnv{
		deps: &Deps{DatabaseURL: "postgres://local/db", S3Endpoint: "127.0.0.1:9000", S3Driver: "s3",
			S3AccessKey: "ak", S3SecretKey: "sk"},
		bucket:     "b1",
		secretsDir: "/data/secrets",
	}
	fn := stackfile.Function{Name: "serial-issue", Environment: map[string]string{
		"write_timeout": "15s", "S3_ENDPOINT": "minio.onewindow-storage:9000", "S3_DRIVER": "minio",
		"PATH": "/from/stack",
	}}
	parent := map[string]string{"PATH": "/usr/bin", "HOME": "/root", "AWS_SECRET_ACCESS_KEY": "leak", "GOFLAGS": "-x",
		"S3_REGION": "cn-north-1"}
	env := functionEnv(fn, rt, func(k string) (string, bool) { v, ok := parent[k]; return v, ok })
	want := []string{
		"DATABASE_URL=postgres://local/db",
		"HOME=/root",
		"METRICS_PORT=off", // replicas share the host
		"ONEWINDOW_FUNCTION=serial-issue",
		"ONEWINDOW_SECRETS_DIR=/data/secrets",
		"PATH=/from/stack", // stack.yml wins over the machine
		"S3_ACCESS_KEY=ak",
		"S3_BUCKET=b1",
		"S3_DRIVER=s3", // the local stack wins over stack.yml
		"S3_ENDPOINT=127.0.0.1:9000",
		"S3_REGION=cn-north-1",
		"S3_SECRET_KEY=sk",
		"write_timeout=15s",
	}
	if !slices.Equal(env, want) {
		t.Errorf("env:\n%s\nwant:\n%s", strings.Join(env, "\n"), strings.Join(want, "\n"))
	}
}
