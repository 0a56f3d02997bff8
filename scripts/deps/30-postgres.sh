#!/usr/bin/env bash
# PostgreSQL server binaries from Debian, for the tests that start their own server (initdb in a
# temporary directory). Quick when they are already installed.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi
