#!/bin/sh
# build.sh compiles a onewindow-go build context into the function binary.
# It is the one recipe: the Dockerfile runs it, and so do infra/faasbuild
# (the local stack) and the repository's build-context test, so what the
# tests prove is what the image ships.
#
# The context is laid out by faas-cli (or faasbuild.Assemble):
#
#   ./            module "handler": main.go, the entrypoint that owns the server
#   ./function/   the function's module (handler.go, package function)
#   ./function/shared/ ...  paths listed under configuration.copy in stack.yml
#
# The function's go.mod names its repository path and reaches shared through
# `replace ../../shared`, which points outside the context. So the build
# renames the function module to handler/function (what main.go imports),
# makes the context a Go workspace of every module in it, and points such
# replaces at the copies in the context (step 3).
#
# Usage: sh build.sh [--skip-tests] [--vet] [-o path]
#   --skip-tests  do not run go test (the image build runs them by default)
#   --vet         run go vet over the entrypoint and the function module
#   -o path       where to write the binary (default ./handler in the context)
#
# Environment: CGO_ENABLED (default 0), GOOS/GOARCH for the binary only
# (tests and vet run for the build machine), GOPROXY and GOFLAGS as usual;
# -mod and -modfile flags are dropped because workspace mode rejects them.
set -eu
set -f # no globbing: GOFLAGS is split on spaces below

die() {
	printf 'build.sh: FAILED: %s\n' "$*" >&2
	exit 1
}

step() {
	printf 'build.sh: step %s\n' "$*"
}

usage="usage: build.sh [--skip-tests] [--vet] [-o path]"
out=handler
run_tests=true
run_vet=false
while [ $# -gt 0 ]; do
	case $1 in
	--skip-tests) run_tests=false ;;
	--vet) run_vet=true ;;
	-o)
		[ $# -ge 2 ] && [ -n "$2" ] || die "-o needs a path; $usage"
		out=$2
		shift
		;;
	-h | --help)
		echo "$usage"
		exit 0
		;;
	*) die "unknown argument \"$1\"; $usage" ;;
	esac
	shift
done

# -o is relative to the caller's directory, the rest to the context.
case $out in
/*) ;;
*) out="$(pwd)/$out" ;;
esac
cd "$(dirname "$0")" || die "cannot enter the build context"
context=$(pwd)

command -v go >/dev/null 2>&1 || die "go is not on PATH"
# The build edits function/go.mod and writes go.work: never in the
# repository's copy of the template, only in an assembled context.
[ "$(basename "$(dirname "$context")")" = templates ] && [ -f ../../stack.yml ] &&
	die "$context is the template itself; build an assembled context (faas-cli build --shrinkwrap, or faasbuild.Assemble)"
[ -f go.mod ] && [ -f main.go ] || die "$context is not a onewindow-go build context (no go.mod/main.go)"
[ -f function/go.mod ] || die "function/go.mod is missing: the function's handler directory must be a Go module"

# The context is its own workspace, whatever GOWORK the caller had (off, or
# the repository's go.work).
GOWORK="$context/go.work"
flags=
for flag in ${GOFLAGS:-}; do
	case $flag in
	-mod=* | -modfile=*) ;;
	*) flags="$flags${flags:+ }$flag" ;;
	esac
done
GOFLAGS=$flags
CGO_ENABLED=${CGO_ENABLED:-0}
export GOWORK GOFLAGS CGO_ENABLED

step "1/6: gofmt (all Go files except vendor/)"
# find exits non-zero when gofmt does, which it does on a syntax error.
unformatted=$(find . -type f -name '*.go' -not -path '*/vendor/*' -exec gofmt -l {} +) ||
	die "gofmt could not parse the Go files reported above"
[ -z "$unformatted" ] || die "gofmt: these files are not formatted; run \"gofmt -w\" on them:
$unformatted"

step "2/6: rename the function module to handler/function"
(cd function && go mod edit -module handler/function) ||
	die "go mod edit could not rename the module in function/go.mod"

step "3/6: create the workspace (go.work) of the context's modules"
rm -f go.work go.work.sum
go work init . ./function || die "go work init failed"
go work use -r ./function || die "go work use -r ./function failed"
sed 's/^/    /' go.work

# The function's go.mod reaches shared through `replace ... => ../../shared`,
# made for the repository's layout. Workspace mode still applies it, and it
# points outside the context; without any replace the go command would look
# the pseudo-version up on the proxy instead. So, as in the repository, each
# module under function/ replaces every other one with its directory here.
nl='
'
modfiles=$(find ./function -name go.mod -not -path '*/vendor/*' | sort) ||
	die "cannot list the modules under function/"
pairs=
IFS=$nl
for mod in $modfiles; do
	path=$(go mod edit -print "$mod" | sed -n 's/^module[[:space:]]*//p')
	[ -n "$path" ] || die "cannot read the module path of $mod"
	dir=$context/${mod#./}
	pairs="$pairs$path=${dir%/go.mod}$nl"
done
for mod in $modfiles; do
	dir=$context/${mod#./}
	for pair in $pairs; do
		[ "${pair#*=}" = "${dir%/go.mod}" ] && continue
		go mod edit -replace="$pair" "$mod" || die "cannot add replace $pair to $mod"
		printf '    %s: replace %s\n' "$mod" "$pair"
	done
done
unset IFS

# Tests and vet run for the machine that builds, even when GOOS/GOARCH
# select another platform for the binary; empty means the host's.
if $run_tests; then
	step "4/6: go test handler handler/function/..."
	GOOS='' GOARCH='' go test -cover handler handler/function/... || die "go test failed"
else
	step "4/6: go test skipped (--skip-tests)"
fi

if $run_vet; then
	step "5/6: go vet handler handler/function/..."
	GOOS='' GOARCH='' go vet handler handler/function/... || die "go vet failed"
else
	step "5/6: go vet skipped (no --vet)"
fi

step "6/6: go build -o $out"
go build -trimpath -buildvcs=false -ldflags "-s -w" -o "$out" . || die "go build failed"
printf 'build.sh: built %s\n' "$out"
