package localstack

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/onewindow/onewindow/infra/stackfile"
	"github.com/onewindow/onewindow/infra/supervisor"
	"github.com/onewindow/onewindow/shared/config"
)

// minScaleLabel is the replica count the local stack starts a function with.
const minScaleLabel = "com.openfaas.scale.min"

// inheritedEnv are the variables of onewindow's own environment that reach
// the replicas: what a process needs from its machine, and the object
// store settings that go with an external S3_ENDPOINT. Nothing else
// leaks in: a function's configuration is stack.yml's environment plus
// what the local stack sets (see functionSpec), as on OpenFaaS.
var inheritedEnv = []string{
	"PATH", "HOME", "TMPDIR", "TZ", "ZONEINFO", "LANG", "LC_ALL",
	"SSL_CERT_FILE", "SSL_CERT_DIR", "GODEBUG",
	"S3_USE_TLS", "S3_REGION", "S3_PUBLIC_ENDPOINT",
	"ONEWINDOW_MIGRATE",
}

// runtimeEnv is what the local stack sets for every replica, over
// stack.yml's environment.
type runtimeEnv struct {
	deps       *Deps
	bucket     string
	secretsDir string
}

// functionSpec is how the supervisor runs fn: binary, environment, the
// replica count of its com.openfaas.scale.min label (default 1), and a
// stop grace of its write_timeout plus 5 s, the time a replica may need to
// finish its last request.
func functionSpec(fn stackfile.Function, binary string, rt runtimeEnv) (supervisor.Spec, error) {
	replicas := 1
	if v, ok := fn.Labels[minScaleLabel]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return supervisor.Spec{}, fmt.Errorf("function %s: label %s=%q is not a replica count", fn.Name, minScaleLabel, v)
		}
		replicas = n
	}
	writeTimeout, err := config.Duration(fn.Environment["write_timeout"], 10*time.Second)
	if err != nil {
		return supervisor.Spec{}, fmt.Errorf("function %s: write_timeout: %w", fn.Name, err)
	}
	return supervisor.Spec{
		Name:      fn.Name,
		Binary:    binary,
		Env:       functionEnv(fn, rt, os.LookupEnv),
		Replicas:  replicas,
		StopGrace: writeTimeout + 5*time.Second,
	}, nil
}

// functionEnv is a replica's environment (without PORT, which the
// supervisor adds), sorted: inheritedEnv from lookup, then stack.yml's
// environment, then the local stack's settings, each overriding the one
// before. Secrets are passed as environment variables (config.Secret's
// fallback) and ONEWINDOW_SECRETS_DIR points at an empty directory, so
// that a replica never reads /var/openfaas/secrets of the machine.
func functionEnv(fn stackfile.Function, rt runtimeEnv, lookup func(string) (string, bool)) []string {
	env := map[string]string{}
	for _, k := range inheritedEnv {
		if v, ok := lookup(k); ok {
			env[k] = v
		}
	}
	maps.Copy(env, fn.Environment)
	maps.Copy(env, map[string]string{
		"ONEWINDOW_FUNCTION":    fn.Name,
		"ONEWINDOW_SECRETS_DIR": rt.secretsDir,
		"DATABASE_URL":          rt.deps.DatabaseURL,
		"S3_ENDPOINT":           rt.deps.S3Endpoint,
		"S3_ACCESS_KEY":         rt.deps.S3AccessKey,
		"S3_SECRET_KEY":         rt.deps.S3SecretKey,
		"S3_DRIVER":             rt.deps.S3Driver,
		"S3_BUCKET":             cmp.Or(rt.bucket, fn.Environment["S3_BUCKET"], "onewindow"),
		// Many replicas share this host: no fixed metrics port.
		"METRICS_PORT": "off",
	})
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}
