#!/usr/bin/env bash
# PostgreSQL server binaries from Debian, for the tests that start their own server (initdb in a
# temporary directory). Quick when they are already installed.
set -euo pipefail
echo "scripts/deps/30-postgres.sh: PostgreSQL server binaries from Debian (tests that start their own database); quick when installed" >&2
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi
