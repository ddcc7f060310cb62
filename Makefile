# Vigil build and test entry points. `make run` and `make test` are the two
# commands the README promises work on a fresh machine.

GO      ?= go
BIN     ?= bin/vigil
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/vigilsoc/vigil/internal/cli.Version=$(VERSION)
# The shared corpus (Sigma rules, EVTX samples) used by corpus tests and benchmarks.
VIGIL_CORPUS ?= $(abspath ../shared/corpus)
export VIGIL_CORPUS

.PHONY: all build run hunt-samples test test-short vet crosscheck bench bench-ingest fuzz clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/vigil

# Runs the server on embedded defaults (./vigil-data, https://127.0.0.1:8443),
# with the SigmaHQ rules from the shared corpus when it is there.
RULES ?= $(wildcard $(VIGIL_CORPUS)/sigma/rules)
run: build
	./$(BIN) server --data vigil-data $(if $(RULES),--rules $(RULES))

# Hunts through the shared EVTX samples with the SigmaHQ Windows rules.
hunt-samples: build
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
	./scripts/crosscheck.sh

# Engine and EVTX throughput (issue: detection engine).
bench: build
	$(GO) run ./bench/detect

# Server ingest throughput and latencies against a real server (issue: server).
bench-ingest: build
	$(GO) run ./bench/ingest

fuzz:
	./scripts/fuzz.sh

clean:
	rm -rf bin
