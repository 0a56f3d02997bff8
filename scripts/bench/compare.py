"""gcloud-tasks-emulator, the other Python emulator, installed from PyPI into its own virtualenv.

It pins protobuf<5 and registers the same proto names as the official client, so it gets its own
interpreter (`python -m venv` under the cache dir). It speaks v2 gRPC only and binds [::]:PORT by
itself; gcloud_launcher.py makes it bind 127.0.0.1 on a free port.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PACKAGE = "gcloud-tasks-emulator"


def ensure_venv(cache_dir: Path) -> tuple[Path, str]:
    """(its python, its installed version), creating the virtualenv on first use."""
    venv = cache_dir / PACKAGE
    python = venv / "bin" / "python"
    if not (venv / "bin" / PACKAGE).exists():
        print(f"installing {PACKAGE} into {venv} ...", file=sys.stderr, flush=True)
        for cmd in (
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", PACKAGE],
        ):
            done = subprocess.run(cmd, timeout=900, capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")
    version = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({PACKAGE!r}))"],
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return python, version
