"""Our protos/ against the official google-cloud-tasks client: types, RPC paths, mixins.

This process never imports cloudtasks_emu._pb or google.cloud.tasks_*: both register the same proto
names in protobuf's default pool. Our side is a FileDescriptorSet built by protoc; the official side
comes as JSON from official_surface.py run in a subprocess.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import google.api.annotations_pb2
import grpc_tools
import pytest
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[2]
PROTOS = ROOT / "protos"
HELPER = Path(__file__).with_name("official_surface.py")
VERSIONS = ("v2", "v2beta3", "v2beta2")

_LOC = "/google.cloud.location.Locations/"
_OPS = "/google.longrunning.Operations/"
# gRPC methods the official client calls outside the CloudTasks service; the emulator must serve them.
MIXINS: dict[str, frozenset[str]] = {
    "v2": frozenset({f"{_LOC}ListLocations", f"{_LOC}GetLocation", f"{_OPS}GetOperation"}),
    "v2beta3": frozenset({f"{_LOC}ListLocations", f"{_LOC}GetLocation", f"{_OPS}GetOperation"}),
    "v2beta2": frozenset({f"{_LOC}ListLocations", f"{_LOC}GetLocation"}),
}


def _load_helper() -> Any:
    # By path, so this works whatever import mode or package layout pytest uses for tests/.
    spec = importlib.util.spec_from_file_location("official_surface", HELPER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


surface = _load_helper()


def build_descriptor_set(proto_root: Path, ver: str, tmp: Path) -> descriptor_pb2.FileDescriptorSet:
    """Compile google/cloud/tasks/<ver>/cloudtasks.proto under proto_root, with all imports."""
    site_packages = Path(google.api.annotations_pb2.__file__).resolve().parents[2]
    # Same shim as scripts/gen-protos: googleapis-common-protos ships the LRO proto as
    # operations_proto.proto but registers it as google/longrunning/operations.proto.
    shim = tmp / "shim"
    lro = shim / "google/longrunning/operations.proto"
    lro.parent.mkdir(parents=True, exist_ok=True)
    lro.write_text((site_packages / "google/longrunning/operations_proto.proto").read_text())
    out = tmp / f"{ver}.pb"
    args = [
        "protoc",
        f"-I{proto_root}",
        f"-I{shim}",
        f"-I{site_packages}",
        f"-I{Path(grpc_tools.__file__).parent / '_proto'}",
        "--include_imports",
        f"--descriptor_set_out={out}",
        f"google/cloud/tasks/{ver}/cloudtasks.proto",
    ]
    assert protoc.main(args) == 0, f"protoc failed for {ver}"
    return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def our_types(fds: descriptor_pb2.FileDescriptorSet, ver: str) -> dict[str, dict[str, Any]]:
    """Flattened types of package google.cloud.tasks.<ver> in a descriptor set."""
    return surface.package_types(fds.file, f"google.cloud.tasks.{ver}")  # type: ignore[no-any-return]


def compare_types(ours: dict[str, dict[str, Any]], official: dict[str, dict[str, Any]]) -> list[str]:
    """One line per difference between two flattened type maps; empty when identical."""
    diffs = []
    for name in sorted(ours.keys() | official.keys()):
        if name not in official:
            diffs.append(f"{name}: only in ours")
        elif name not in ours:
            diffs.append(f"{name}: missing from ours")
        else:
            a, b = ours[name], official[name]
            for num in sorted(a.keys() | b.keys(), key=int):
                if a.get(num) != b.get(num):
                    diffs.append(f"{name} #{num}: ours={a.get(num)} official={b.get(num)}")
    return diffs


@pytest.fixture(scope="session")
def official() -> dict[str, Any]:
    """The official surface, computed once per session in a fresh interpreter."""
    proc = subprocess.run([sys.executable, str(HELPER)], capture_output=True, text=True, check=False, timeout=90)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def ours(tmp_path_factory: pytest.TempPathFactory) -> dict[str, descriptor_pb2.FileDescriptorSet]:
    """Our protos/ compiled to descriptor sets, per version."""
    tmp = tmp_path_factory.mktemp("ours")
    return {ver: build_descriptor_set(PROTOS, ver, tmp) for ver in VERSIONS}


def test_generated_code_is_fresh() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts/gen-protos"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("ver", VERSIONS)
def test_types_match_official(
    ver: str, ours: dict[str, descriptor_pb2.FileDescriptorSet], official: dict[str, Any]
) -> None:
    diffs = compare_types(our_types(ours[ver], ver), official[ver]["types"])
    assert not diffs, "\n".join(diffs)


@pytest.mark.parametrize("ver", VERSIONS)
def test_rpcs_match_official(
    ver: str, ours: dict[str, descriptor_pb2.FileDescriptorSet], official: dict[str, Any]
) -> None:
    prefix = f"/google.cloud.tasks.{ver}.CloudTasks/"
    (service,) = [s for f in ours[ver].file if f.package == f"google.cloud.tasks.{ver}" for s in f.service]
    assert service.name == "CloudTasks"
    mine = {
        f"{prefix}{m.name}": [m.input_type.removeprefix("."), m.output_type.removeprefix(".")] for m in service.method
    }
    theirs = {p: io for p, io in official[ver]["methods"].items() if p.startswith(prefix)}
    assert sorted(mine) == sorted(theirs)
    # None: the official client names no message class for that side; compare the path only.
    diffs = [
        f"{path}: ours={mine[path]} official={io}"
        for path, io in sorted(theirs.items())
        if any(t is not None and t != m for t, m in zip(io, mine[path], strict=True))
    ]
    assert not diffs, "\n".join(diffs)
    assert not [m.name for m in service.method if m.client_streaming or m.server_streaming]


@pytest.mark.parametrize("ver", VERSIONS)
def test_mixins_match_official(ver: str, official: dict[str, Any]) -> None:
    assert set(official[ver]["mixins"]) == MIXINS[ver]


def test_wrong_field_number_is_reported(tmp_path: Path, official: dict[str, Any]) -> None:
    # Given our v2 proto with Task.schedule_time renumbered from 4 to 40
    text = (PROTOS / "google/cloud/tasks/v2/cloudtasks.proto").read_text()
    start = text.index("message Task {")
    at = text.index("schedule_time = 4;", start)
    mutated = text[:at] + "schedule_time = 40;" + text[at + len("schedule_time = 4;") :]
    root = tmp_path / "protos"
    (root / "google/cloud/tasks/v2").mkdir(parents=True)
    (root / "google/cloud/tasks/v2/cloudtasks.proto").write_text(mutated)

    # When it is compared with the official client
    fds = build_descriptor_set(root, "v2", tmp_path)
    diffs = compare_types(our_types(fds, "v2"), official["v2"]["types"])

    # Then both numbers are reported on google.cloud.tasks.v2.Task
    task_diffs = [d for d in diffs if d.startswith("google.cloud.tasks.v2.Task ")]
    assert any(d.startswith("google.cloud.tasks.v2.Task #4:") for d in task_diffs), diffs
    assert any(d.startswith("google.cloud.tasks.v2.Task #40:") for d in task_diffs), diffs
