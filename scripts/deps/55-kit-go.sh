#!/usr/bin/env bash
# Go kit (kits/go): its modules (testcontainers-go, the official client) in ~/go/pkg/mod and a compiled
# test binary in the build cache, so that tests/container/test_kit_go.py runs offline (GOPROXY=off).
# Idempotent: skipped while kits/go/go.sum is unchanged.
set -euo pipefail
echo "scripts/deps/55-kit-go.sh: Go modules and test binary of the Go kit (tests/container/test_kit_go.py); skipped while kits/go/go.sum is unchanged" >&2
cd "$(dirname "$0")/../.."
KIT="$PWD/kits/go"
export GOTOOLCHAIN=local  # the installed Go, never a downloaded one

command -v go >/dev/null || { echo "kits/go needs Go >= $(sed -n 's/^go //p' "$KIT/go.mod")" >&2; exit 1; }

stamp="$(go env GOCACHE)/.cloudtasks-emu-kit-go-$(sha256sum "$KIT/go.sum" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  out="$(mktemp -d)"
  (cd "$KIT" && go mod download && go test -c -o "$out/kit.test" . && go vet ./...)
  rm -rf "$out"
  touch "$stamp"
fi
