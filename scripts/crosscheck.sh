#!/usr/bin/env bash
# Cross-checks every package that can build without cgo: the agent and the
# parsers must run on Windows and macOS; the server's DuckDB store cannot
# (it links C). Windows: build; macOS: vet (tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=$(go list -f '{{.ImportPath}} {{join .Deps " "}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... |
  grep -v 'duckdb' | awk '{print $1}')
# Packages with only test files (e2e) have nothing to build.
buildable=$(go list -f '{{if .GoFiles}}{{.ImportPath}}{{end}}' $pkgs)
echo "cross-checking $(echo "$pkgs" | wc -l) packages (all but those linking DuckDB)"
GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go build $buildable
GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 go vet $pkgs
