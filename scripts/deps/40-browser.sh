#!/usr/bin/env bash
# The dashboard's browser test: Debian's chromium, Node.js, and playwright-core (pinned in
# tests/dashboard/package-lock.json) to drive it. Quick when all three are already there.
set -euo pipefail
echo "scripts/deps/40-browser.sh: chromium, Node.js and playwright-core (the dashboard's browser test); quick when installed" >&2
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
cd "$(dirname "$0")/../../tests/dashboard"
want=$(node -p 'require("./package-lock.json").packages["node_modules/playwright-core"].version')
have=$(node -p 'try { require("./node_modules/playwright-core/package.json").version } catch { "" }')
if [ "$want" != "$have" ]; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
