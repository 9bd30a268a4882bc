// The entrypoint's module. In a build context build.sh renames the
// function's module to handler/function and puts both in a workspace
// (go.work), which is how main.go's import of handler/function resolves.
module handler

go 1.26.0

require (
	github.com/google/uuid v1.6.0
	github.com/openfaas/templates-sdk/go-http v0.0.0-20220408082716-5981c545cb03
)

require github.com/prometheus/client_golang v1.25.0 // indirect
