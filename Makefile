# OneWindow: `make run` starts the whole stack on 127.0.0.1:8080 with demo
# data; `make test` runs every test against a real PostgreSQL and MinIO.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/onewindow
FUNCTIONS := case-submit serial-issue document-fetch warning-scan catalog-lookup payment-callback logistics-callback
# Every module of the workspace (go.work), for go test/vet/staticcheck.
MODULES := ./shared/... ./infra/... ./tests/... ./templates/onewindow-go/... $(addsuffix /...,$(addprefix ./functions/,$(FUNCTIONS)))

.PHONY: run test lint bench redeploy call template fuzz vulncheck clean $(BIN)

$(BIN):
	@$(GO) build -o $(BIN) ./infra/cmd/onewindow

## run: the whole stack (PostgreSQL, MinIO, seven functions, gateway, scheduler) on $${ONEWINDOW_ADDR:-127.0.0.1:8080}
run: $(BIN)
	@$(BIN) run

## test: every test, with an ephemeral PostgreSQL and MinIO started and stopped around them
test: $(BIN)
	@$(BIN) testenv -- $(GO) test -count=1 -timeout 30m $(MODULES)

## bench: the Go benchmarks in process, then the load scenarios through a stack of its own (BENCHFLAGS for `onewindow bench`)
bench: $(BIN)
	@$(BIN) testenv -- $(GO) test -run '^$$' -bench . -benchtime 2s $$($(GO) list ./shared/... | grep -v '/cards$$')
	@# The supervision benchmarks run over 1M generated cases, seconds per operation: once each.
	@$(BIN) testenv -- $(GO) test -run '^$$' -bench . -benchtime 1x ./shared/cards/
	@$(BIN) bench $(BENCHFLAGS)

## lint: gofmt, go vet and staticcheck over the workspace
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	@$(GO) vet $(MODULES)
	@command -v staticcheck >/dev/null || $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	@PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck $(MODULES)

## vulncheck: govulncheck over every module; it needs the Go vulnerability database (vuln.go.dev, or GOVULNDB)
vulncheck:
	@$(GO) install golang.org/x/vuln/cmd/govulncheck@v1.9.0
	@for m in shared infra tests templates/onewindow-go $(addprefix functions/,$(FUNCTIONS)); do \
	  echo "govulncheck $$m"; (cd $$m && PATH="$$PATH:$$($(GO) env GOPATH)/bin" govulncheck ./...) || exit 1; \
	done

## fuzz: a short run of every fuzz target (FUZZTIME=30s by default)
FUZZTIME ?= 30s
fuzz: $(BIN)
	@for pkg in $$($(GO) list -f '{{if .TestGoFiles}}{{.Dir}}{{end}}' $(MODULES)); do \
	  for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$pkg/*_test.go 2>/dev/null | cut -c6-); do \
	    echo "fuzz $$f in $$pkg"; \
	    (cd $$pkg && $(CURDIR)/$(BIN) testenv -- $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) .) || exit 1; \
	  done; \
	done

## redeploy FN=<name>: rebuild one function and swap its processes in the running stack
redeploy: $(BIN)
	@test -n "$(FN)" || { echo "usage: make redeploy FN=<function>"; exit 2; }
	@$(BIN) redeploy $(FN)

## call ARGS='<function> <METHOD> <path> [json]': a signed call as a demo app (APP=hebei-portal)
call: $(BIN)
	@$(BIN) call $(if $(APP),-app $(APP)) $(ARGS)

## template: prepare ./template/<lang> for faas-cli from templates/
template:
	@rm -rf template && mkdir -p template && cp -R templates/. template/
	@echo "template/ ready: faas-cli up -f stack.yml"

clean:
	rm -rf bin build template
