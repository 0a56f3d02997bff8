"""The benchmark harness (scripts/bench) runs every section end to end at a tiny size; no timing is checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
TINY = {
    "--create-levels": "0,200",
    "--memory-levels": "200",
    "--list-levels": "200",
    "--get-levels": "200",
    "--create-calls": "200",
    "--official-calls": "20",
    "--list-pages": "1",
    "--get-calls": "20",
    "--push-tasks": "200",
    "--paced-seconds": "1",
    "--retry-failures": "2",
    "--retry-tasks": "2",
    "--pull-tasks": "100",
    "--startup-runs": "1",
}
SECTIONS = {"startup", "floor", "port", "fill", "create", "memory", "list", "get", "burst", "paced", "retry", "pull"}


@pytest.mark.timeout(90)
def test_bench_quick_writes_every_section(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = [item for pair in TINY.items() for item in pair]
    cmd = [sys.executable, str(REPO / "scripts" / "bench"), "--quick", *args, "--out", str(out)]
    cmd += ["--sections", "startup,floor,port,create,memory,list,burst,paced,retry,pull"]  # storage: below
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=80)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    report = json.loads(out.read_text())
    ours = report["results"]["cloudtasks-emu"]
    assert "errors" not in ours, ours["errors"]
    assert set(ours) >= SECTIONS
    assert ours["paced"]["delivered"] == ours["paced"]["tasks"]
    assert ours["pull"]["acknowledged"] == 100
    unmeasured = [t["target"] for t in report["targets"] if t["met"] is None]
    assert all("gcloud-tasks-emulator" in target for target in unmeasured), unmeasured
    assert "| measure | value |" in done.stdout


def run_section(tmp_path: Path, section: str, tiny: list[str], timeout_s: float) -> tuple[str, dict[str, Any]]:
    """`scripts/bench --sections SECTION` at tiny sizes: its printed report and our results."""
    out = tmp_path / "bench.json"
    cmd = [sys.executable, str(REPO / "scripts" / "bench"), "--sections", section, *tiny, "--out", str(out)]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout_s)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    ours: dict[str, Any] = json.loads(out.read_text())["results"]["cloudtasks-emu"]
    assert "errors" not in ours, ours["errors"]
    return done.stdout, ours


@pytest.mark.timeout(90)
def test_bench_storage_section_measures_both_backends(tmp_path: Path) -> None:
    tiny = ["--storage-calls", "200", "--storage-rounds", "1", "--push-tasks", "200", "--restart-levels", "100"]
    stdout, ours = run_section(tmp_path, "storage", tiny, 80)
    storage = ours["storage"]
    assert {"memory", "sqlite"} <= set(storage["create"])
    assert storage["delivery"]["sqlite"]["delivered"] == 200
    assert storage["restart"][0]["tasks"] == 100
    assert "sqlite / memory" in stdout


@pytest.mark.parametrize("script", ["bench_push.py", "bench_pull.py"])
def test_bench_wrappers_start(script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / script), "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "--sections" in done.stdout


@pytest.mark.timeout(150)
def test_bench_group_section_measures_every_process_count(tmp_path: Path) -> None:
    tiny = ["--group-calls", "120", "--group-tasks", "100", "--group-rounds", "1"]
    stdout, ours = run_section(tmp_path, "group", tiny, 140)
    group = ours["group"]
    assert [(row["backend"], row["processes"]) for row in group["creates"]] == [
        ("memory", 1),
        ("memory", 2),
        ("memory", 3),
        ("sqlite", 1),
        ("postgres", 1),
        ("postgres", 2),
        ("postgres", 3),
    ]
    assert [row["delivered"] for row in group["deliveries"]] == [100, 100]
    assert group["takeover"]["takeover_s"] is not None
    assert "Several processes over one PostgreSQL" in stdout


@pytest.mark.timeout(120)
def test_bench_floors_and_users_sections(tmp_path: Path) -> None:
    tiny = ["--create-calls", "100", "--official-calls", "20", "--floor-rounds", "2", "--users-rounds", "2"]
    stdout, ours = run_section(tmp_path, "floors,users", tiny, timeout_s=110)
    kinds = ours["floors"]["kinds"]
    assert len(kinds) == 6
    assert all(set(by_mode) == {"raw x8", "raw x1 sequential"} for by_mode in kinds.values())
    users = ours["users"]
    assert set(users["busy_over_alone"]) == {"raw", "official"}
    assert users["kinds"]["running queue, 1 h ahead, 10 queues delivering"]["deliveries_per_s"]["median"] > 0
    assert "no-op server, sync grpc.server" in stdout
