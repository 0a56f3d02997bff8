"""Importing every cloudtasks_emu module in a fresh interpreter never loads the official client,
and both load side by side: our _pb modules live in a descriptor pool of their own (cloudtasks_emu.pool).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

# Imports the package and every submodule, then reports what got loaded from google.cloud.tasks*.
_SCRIPT = """
import importlib, json, pkgutil, sys

def reraise(name):
    raise  # walk_packages calls this inside its except block; without it ImportErrors are skipped

package = importlib.import_module(sys.argv[1])
names = [package.__name__]
for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".", onerror=reraise):
    importlib.import_module(info.name)
    names.append(info.name)
official = sorted(m for m in sys.modules if m.startswith("google.cloud.tasks"))
print(json.dumps({"imported": names, "official": official}))
"""


def import_all(package: str) -> dict[str, Any]:
    """Import package and all its submodules in a fresh interpreter; return what was loaded."""
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, package],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_package_never_imports_official_client() -> None:
    result = import_all("cloudtasks_emu")
    assert "cloudtasks_emu._pb.v2.cloudtasks_pb2" in result["imported"]
    assert result["official"] == []


def test_check_detects_official_client() -> None:
    # Guards the guard: the same script does see the official client when it is imported.
    assert "google.cloud.tasks_v2" in import_all("google.cloud.tasks_v2")["official"]


def test_official_client_and_our_protos_share_one_interpreter() -> None:
    # Both orders: before the private pool, the second import failed on a duplicate symbol
    # (google.cloud.tasks.v2.HttpMethod) in protobuf's default pool.
    for first, second in (("google.cloud.tasks_v2", "cloudtasks_emu"), ("cloudtasks_emu", "google.cloud.tasks_v2")):
        script = (
            f"import importlib; importlib.import_module({first!r}); importlib.import_module({second!r})\n"
            "import google.cloud.tasks_v2 as official\n"
            "from cloudtasks_emu._pb.v2 import cloudtasks_pb2 as ours\n"
            "wire = ours.Task(name='q/tasks/t', http_request=ours.HttpRequest(url='http://x')).SerializeToString()\n"
            "print(official.Task.deserialize(wire).http_request.url)\n"
        )
        proc = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "http://x"
