# Sourced by the scripts: create .venv on first use and install the project with the given extras.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
STAMP=".venv/.installed$1-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-12)"
if [ ! -f "$STAMP" ]; then
  python -m pip install --quiet --upgrade pip
  # Our CI's pins: the package itself declares ranges (pyproject.toml).
  python -m pip install --quiet -c constraints.txt -e ".$1"
  touch "$STAMP"
fi
