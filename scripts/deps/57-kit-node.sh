#!/usr/bin/env bash
# The Node kit's dependencies (kits/node/node_modules: testcontainers, @google-cloud/tasks) from its
# package-lock.json, through the npm cache, so that tests/container/test_kit_node.py runs offline.
# Idempotent: skipped while the stamp of the lock file is there.
set -euo pipefail
echo "scripts/deps/57-kit-node.sh: npm packages of the Node kit (tests/container/test_kit_node.py); skipped while kits/node/package-lock.json is unchanged" >&2
cd "$(dirname "$0")/../.."
KIT="$PWD/kits/node"

# scripts/deps/50-clients.sh installs Node when it is missing; the kit's testcontainers needs Node 20.
command -v npm >/dev/null || { echo "kits/node needs Node >= 20 with npm" >&2; exit 1; }
major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$major" -ge 20 ] || { echo "kits/node needs Node >= 20, found $(node --version)" >&2; exit 1; }

stamp="$KIT/node_modules/.installed-$(sha256sum "$KIT/package-lock.json" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  (cd "$KIT" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
  touch "$stamp"
fi
