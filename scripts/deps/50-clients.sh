#!/usr/bin/env bash
# Toolchain caches for tests/clients: Go modules and build cache (~/go/pkg/mod, ~/.cache/go-build),
# grpcurl (~/go/bin), Maven artifacts (~/.m2), npm packages (~/.npm) and the Node project's node_modules.
# Idempotent: each step is skipped, or is a cache hit, when its inputs have not changed.
set -euo pipefail
echo "scripts/deps/50-clients.sh: Go, Maven and npm caches and grpcurl (the Go, Java and Node client projects); a cache hit when unchanged" >&2
cd "$(dirname "$0")/../.."
CLIENTS="$PWD/tests/clients"
GRPCURL_VERSION=v1.9.3
export GOTOOLCHAIN=local  # the installed Go, never a downloaded one

# Maven, a JDK and Node come from Debian when missing; Go must be installed (Debian's is too old).
missing=()
command -v java >/dev/null || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v npm >/dev/null || missing+=(nodejs npm)
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v go >/dev/null || { echo "tests/clients need Go >= $(sed -n 's/^go //p' "$CLIENTS/go/go.mod")" >&2; exit 1; }

stamp() { cat "$@" | sha256sum | cut -c1-16; }

# Go: modules, then a compiled test binary so that the build cache holds every dependency.
go_stamp="$(go env GOCACHE)/.cloudtasks-emu-clients-$(stamp "$CLIENTS/go/go.sum")"
if [ ! -f "$go_stamp" ]; then
  (cd "$CLIENTS/go" && go mod download && go test -c -o "$(mktemp -d)/clients.test" .)
  touch "$go_stamp"
fi
GOBIN="$(go env GOPATH)/bin"
if ! "$GOBIN/grpcurl" -version 2>&1 | grep -qx "grpcurl ${GRPCURL_VERSION}"; then
  go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@${GRPCURL_VERSION}"
fi

# Node: node_modules from package-lock.json, through the npm cache.
node_stamp="$CLIENTS/node/node_modules/.installed-$(stamp "$CLIENTS/node/package-lock.json")"
if [ ! -f "$node_stamp" ]; then
  (cd "$CLIENTS/node" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
  touch "$node_stamp"
fi

# Maven: dependencies, plugins and a compile. Surefire resolves its JUnit provider (about 1 MB) only
# when tests run, so the first test run still fetches that.
m2="$HOME/.m2/repository"
maven_stamp="$m2/.cloudtasks-emu-clients-$(stamp "$CLIENTS/java/pom.xml")"
if [ ! -f "$maven_stamp" ]; then
  (cd "$CLIENTS/java" && mvn -B -q dependency:go-offline test-compile)
  touch "$maven_stamp"
fi
