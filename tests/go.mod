module github.com/onewindow/onewindow/tests

go 1.26.0

require (
	github.com/google/uuid v1.6.0
	github.com/jackc/pgx/v5 v5.12.0
	github.com/onewindow/onewindow/infra v0.0.0-00010101000000-000000000000
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
)

require (
	github.com/cenkalti/backoff/v4 v4.3.0 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	golang.org/x/time v0.16.0 // indirect
)

require (
	github.com/onewindow/onewindow/shared v0.0.0-00010101000000-000000000000
	go.yaml.in/yaml/v3 v3.0.6
)

// In the repository the workspace (go.work) resolves infra; this replace
// keeps `go mod tidy` working here.
replace github.com/onewindow/onewindow/infra => ../infra

replace github.com/onewindow/onewindow/shared => ../shared
