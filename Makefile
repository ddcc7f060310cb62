# Vigil build and test entry points. `make run` and `make test` are the two
# commands the README promises work on a fresh machine.

GO      ?= go
BIN     ?= bin/vigil
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/vigilsoc/vigil/internal/cli.Version=$(VERSION)
# The shared corpus (Sigma rules, EVTX samples) used by corpus tests and benchmarks.
VIGIL_CORPUS ?= $(abspath ../shared/corpus)
export VIGIL_CORPUS

.PHONY: all build run test test-short vet crosscheck bench fuzz clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/vigil

# Runs Vigil. Until the server lands this runs detection over the shared EVTX
# corpus with the shared Sigma rules, the quickest way to see the engine work.
run: build
	./$(BIN) detect --format table --rules $(VIGIL_CORPUS)/sigma/rules/windows $(VIGIL_CORPUS)/evtx

# Everything CI runs: formatting, vet, all tests (corpus tests included when
# the corpus is present), cross-compilation of the platform code.
test: vet crosscheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) test -count=1 -timeout 20m ./...

test-short:
	$(GO) test -short ./...

vet:
	$(GO) vet ./...

# The agent runs on Windows and macOS; their code must at least build and vet.
crosscheck:
	GOOS=windows GOARCH=amd64 $(GO) vet ./internal/event/... ./internal/sigma/... ./internal/evtx/...
	GOOS=darwin GOARCH=arm64 $(GO) vet ./internal/event/... ./internal/sigma/... ./internal/evtx/...

bench: build
	$(GO) run ./bench/detect

fuzz:
	./scripts/fuzz.sh

clean:
	rm -rf bin
