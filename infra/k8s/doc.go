// Package k8s holds OneWindow's production deployment on Kubernetes as
// plain manifests and Helm values (docs/deploy.md walks through applying
// them): the namespaces, a CloudNativePG cluster with its backups,
// distributed MinIO, the NetworkPolicies, the Secrets template, and the
// values of the openfaas and cron-connector charts.
//
// The package has no code. Its test decodes every manifest strictly into
// the Kubernetes API types, so a misspelt field fails `make test` instead
// of being dropped by the API server, and checks the names, ports and
// annotations that tie the manifests to stack.yml and to each other.
package k8s
