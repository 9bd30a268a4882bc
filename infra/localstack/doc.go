// Package localstack runs OneWindow on one machine (`make run`): it starts
// or finds PostgreSQL and MinIO (StartDeps), prepares them (migrations,
// apps, demo data, bucket), builds every function of stack.yml as its
// image is built (Builder), runs them under infra/supervisor, and serves
// infra/gateway and infra/scheduler in front of them (Run).
//
// The data directory (ONEWINDOW_DATA_DIR, default .data) holds:
//
//	postgres/, minio/   the databases' files, reused by the next run
//	build/<fn>/         each function's build context
//	bin/<fn>-<n>        the binaries of this run (cleared at start)
//	logs/<fn>-<i>.log   each replica's output; logs/build-<fn>.log, logs/deps.log
//	run/<fn>-<i>.pid    each running replica's pid (cleared at start)
//	secrets/            empty: locally, secrets reach functions as env variables
package localstack
