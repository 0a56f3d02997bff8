"""Each floor loads only what it may, checked in a fresh interpreter (what one test imported cannot hide it).

The engine and the service hold the Cloud Tasks rules and know nothing of the wire: no grpc, aiohttp or
protobuf (the error renderers live at the transport edge). The dashboard is handed the service and a
preview function, and never imports the Emulator that builds it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "cloudtasks_emu"
WIRE = ("grpc", "aiohttp", "google.protobuf", "google.rpc")
# Below the proto face: what the service is made of and what it hands out.
RULE_MODULES = [
    "cloudtasks_emu.service",
    "cloudtasks_emu.task_rules",
    "cloudtasks_emu.control",
    "cloudtasks_emu.listing",
    "cloudtasks_emu.names",
    "cloudtasks_emu.errors",
    "cloudtasks_emu.model",
    "cloudtasks_emu.clock",
    "cloudtasks_emu.config",
]

_SCRIPT = """
import importlib, json, pkgutil, sys
for name in sys.argv[1:]:
    module = importlib.import_module(name)
    if hasattr(module, "__path__"):  # a package: every module in it too
        for info in pkgutil.walk_packages(module.__path__, name + "."):
            importlib.import_module(info.name)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_by(*modules: str) -> list[str]:
    """Every module a fresh interpreter holds after importing `modules` (packages: all their modules)."""
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, *modules], cwd=ROOT, capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    loaded: list[str] = json.loads(proc.stdout)
    return loaded


def wire_modules(loaded: list[str]) -> list[str]:
    return [name for name in loaded if any(name == w or name.startswith(w + ".") for w in WIRE)]


def test_engine_loads_no_grpc_aiohttp_or_protobuf() -> None:
    loaded = loaded_by("cloudtasks_emu.engine")
    assert "cloudtasks_emu.engine.scheduler" in loaded
    assert wire_modules(loaded) == []


@pytest.mark.parametrize("module", RULE_MODULES)
def test_service_floor_loads_no_grpc_aiohttp_or_protobuf(module: str) -> None:
    assert wire_modules(loaded_by(module)) == []


def test_the_check_sees_the_wire() -> None:
    # Guards the guard: the renderers at the edge do load protobuf, and the check says so.
    assert "google.protobuf" in wire_modules(loaded_by("cloudtasks_emu.transports.status"))


def _imported(path: Path) -> set[str]:
    """Absolute names of the cloudtasks_emu modules a file imports, under TYPE_CHECKING too."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            target = ".".join(p for p in (base, node.module or "") if p)
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_dashboard_never_imports_the_emulator() -> None:
    files = sorted((PACKAGE / "dashboard").glob("*.py"))
    assert files
    for path in files:
        assert "cloudtasks_emu.app" not in _imported(path), path
    assert "cloudtasks_emu.app" not in loaded_by("cloudtasks_emu.dashboard")


def test_the_import_reader_resolves_relative_imports() -> None:
    # Guards the guard: app.py's own relative import of the dashboard is seen under its absolute name.
    assert "cloudtasks_emu.dashboard" in _imported(PACKAGE / "app.py")
