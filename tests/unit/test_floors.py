"""Each floor loads only what it may, checked in a fresh interpreter (what one test imported cannot hide it).

The engine and the service hold the Cloud Tasks rules and know nothing of the wire: no grpc, aiohttp or
protobuf (the error renderers live at the transport edge).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WIRE = ("grpc", "aiohttp", "google.protobuf", "google.rpc")
# Below the proto face: what the service is made of and what it hands out.
RULE_MODULES = [
    "cloudtasks_emu.service",
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
