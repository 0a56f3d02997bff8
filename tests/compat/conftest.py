"""The package as users get it: built once per session (sdist and wheel), installed into fresh virtualenvs.

Virtualenvs install from the package index through pip's cache (warm on the CI machine), as a user's
project would; nothing here uses this checkout's own .venv except to create them.
"""

from __future__ import annotations

import os
import subprocess
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# project/ is a user's project, run inside the fresh virtualenvs, not by our own pytest.
collect_ignore = ["project"]
PIP_TIMEOUT_S = 600


@dataclass
class Venv:
    """A fresh virtualenv: its python, and pip run through it."""

    path: Path

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    def run(self, *args: str, timeout_s: float = 120, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """A command from the venv's bin; fails the test, with its output, unless it exits 0."""
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        env["PATH"] = f"{self.path / 'bin'}:{env['PATH']}"
        done = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s)
        assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        return done

    def pip(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(self.python, "-m", "pip", *args, "--disable-pip-version-check", timeout_s=PIP_TIMEOUT_S)

    def freeze(self) -> dict[str, str]:
        """Installed distributions, normalised name -> version."""
        lines = self.pip("list", "--format", "freeze").stdout.splitlines()
        pairs = (line.split("==", 1) for line in lines if "==" in line)
        return {name.lower().replace("_", "-"): version for name, version in pairs}


def make_venv(path: Path) -> Venv:
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    return Venv(path)


@dataclass
class Dist:
    sdist: Path
    wheel: Path


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    """`python -m build` of this checkout (the sdist, then the wheel built from it), as a release makes them."""
    tools = make_venv(tmp_path_factory.mktemp("tools") / "venv")
    tools.pip("install", "--quiet", "build", "twine")
    out = tmp_path_factory.mktemp("dist")
    tools.run(tools.python, "-m", "build", "--outdir", str(out), str(ROOT), timeout_s=PIP_TIMEOUT_S)
    tools.run(tools.python, "-m", "twine", "check", "--strict", *map(str, out.iterdir()))
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return Dist(sdist, wheel)


@pytest.fixture
def fresh_venv(tmp_path: Path) -> Venv:
    return make_venv(tmp_path / "venv")
