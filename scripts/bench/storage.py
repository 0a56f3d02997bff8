"""Storage backends: CreateTask server CPU at 8 callers (memory, SQLite, and main's memory backend as
the baseline when a `main` branch is there), push delivery on both backends, and time from a kill to
ready again with many tasks queued in a --data-dir.

Kinds are measured in alternating rounds (--storage-rounds), so that background load falls on all alike.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from . import push
from .procs import OUR_CMD, REPO, CpuMeter, Proc, start_handler
from .queued import NOWHERE, WARM_UP_CALLS
from .report import markdown
from .wire import CloudTasks, create_task_request, run_calls


def main_checkout(into: Path) -> Path | None:
    """The `main` branch's tree (for the baseline), or None when the repository has no such branch."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "main"], capture_output=True, check=False)
    if archive.returncode != 0:
        return None
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def starter(name: str, log_dir: Path, data_dir: Path | None = None, tree: Path | None = None) -> Callable[[], Proc]:
    """Start one kind: ours (memory or SQLite in data_dir), or the tree at `tree` (main's code)."""
    cmd = [*OUR_CMD, *(["--data-dir", str(data_dir)] if data_dir else [])]

    def start() -> Proc:
        if tree is None:
            return Proc(name, cmd, log_dir)
        # The checkout comes first on sys.path (the editable install's finder comes last).
        return Proc(name, [sys.executable, "-c", _RUN_FROM.format(tree=str(tree)), *cmd[3:]], log_dir)

    return start


_RUN_FROM = (
    "import sys, runpy; sys.path.insert(0, {tree!r}); sys.argv[0] = 'cloudtasks_emu'; "
    "runpy.run_module('cloudtasks_emu', run_name='__main__')"
)


async def create_round(start: Callable[[], Proc], calls: int, callers: int) -> dict[str, float]:
    """One fresh emulator: warm up, then `calls` raw CreateTask calls from `callers` into a paused queue."""
    with start() as emu:
        api = CloudTasks(emu.ready["grpc"])
        try:
            queue = await api.create_queue("create", paused=True)
            stub, request = api.stub("CreateTask"), create_task_request(queue, NOWHERE)
            await run_calls(WARM_UP_CALLS, callers, lambda: stub(request, timeout=60))
            with CpuMeter(server=emu) as meter:
                await run_calls(calls, callers, lambda: stub(request, timeout=60))
        finally:
            await api.close()
    return {"per_s": calls / meter.wall_s, "server_cpu_us": 1e6 * meter.used["server"] / calls}


async def create_cpu(kinds: dict[str, Callable[[], Proc]], calls: int, callers: int, count: int) -> dict[str, Any]:
    rounds: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    for _ in range(count):
        for kind, start in kinds.items():
            rounds[kind].append(await create_round(start, calls, callers))
    return {
        kind: {
            "calls": calls,
            "callers": callers,
            "rounds": count,
            "per_s": round(statistics.median(r["per_s"] for r in runs), 1),
            "server_cpu_us": round(statistics.median(r["server_cpu_us"] for r in runs), 1),
        }
        for kind, runs in rounds.items()
    }


async def delivery(start: Callable[[], Proc], log_dir: Path, tasks: int, queues: int) -> dict[str, Any]:
    with start() as emu, start_handler(log_dir) as handler_proc:
        api = CloudTasks(emu.ready["grpc"])
        try:
            async with aiohttp.ClientSession() as http:
                return await push.burst(api, emu, push.Handler(handler_proc, http), tasks, queues)
        finally:
            await api.close()


async def restart(log_dir: Path, data_dir: Path, level: int) -> dict[str, Any]:
    """Queue `level` tasks in a --data-dir emulator, SIGKILL it, and time a new one to its ready line."""
    shutil.rmtree(data_dir, ignore_errors=True)
    start = starter("sqlite-restart", log_dir, data_dir)
    with start() as emu:
        api = CloudTasks(emu.ready["grpc"])
        try:
            queue = await api.create_queue("queued", paused=True)
            fill_per_s = await api.fill(queue, NOWHERE, level)
        finally:
            await api.close()
        emu.popen.kill()
        emu.popen.wait(30)
    started = time.perf_counter()
    with start() as again:
        ready_s = time.perf_counter() - started
        rss_mb = round(again.rss_bytes() / 2**20, 1)
    return {"tasks": level, "fill_per_s": fill_per_s, "ready_s": round(ready_s, 2), "rss_mb": rss_mb}


async def run(args: Any, log_dir: Path) -> dict[str, Any]:
    """Every storage figure; `args` carries storage_calls, storage_rounds, callers, push_tasks, push_queues
    and restart_levels."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
        kinds = {"memory": starter("memory", log_dir), "sqlite": starter("sqlite", log_dir, Path(tmp) / "create")}
        tree = main_checkout(Path(tmp) / "main")
        if tree is not None:
            kinds = {"main memory": starter("main", log_dir, tree=tree), **kinds}
        original = kinds["sqlite"]

        def fresh_sqlite() -> Proc:  # each round on an empty directory
            shutil.rmtree(Path(tmp) / "create", ignore_errors=True)
            return original()

        kinds["sqlite"] = fresh_sqlite
        out["create"] = await create_cpu(kinds, args.storage_calls, args.callers, args.storage_rounds)
        out["delivery"] = {}
        for kind in ("memory", "sqlite"):
            data_dir = Path(tmp) / "delivery" if kind == "sqlite" else None
            out["delivery"][kind] = await delivery(
                starter(kind, log_dir, data_dir), log_dir, args.push_tasks, args.push_queues
            )
        out["restart"] = [await restart(log_dir, Path(tmp) / "restart", level) for level in args.restart_levels]
    return out


def render(result: dict[str, Any]) -> str:
    rows: list[list[Any]] = []
    create = result.get("create", {})
    for kind, row in create.items():
        rows.append(
            [f"CreateTask raw x{row['callers']}, {kind}", f"{row['per_s']}/s; server {row['server_cpu_us']} us/call"]
        )
    if "memory" in create and "sqlite" in create:
        ratio = create["sqlite"]["server_cpu_us"] / create["memory"]["server_cpu_us"]
        rows.append(["server CPU per CreateTask, sqlite / memory", f"{ratio:.2f}x (target <= 1.5x)"])
    if "memory" in create and "main memory" in create:
        ratio = create["memory"]["server_cpu_us"] / create["main memory"]["server_cpu_us"]
        rows.append(["server CPU per CreateTask, memory / main's memory", f"{ratio:.2f}x (target: no regression)"])
    for kind, row in result.get("delivery", {}).items():
        rows.append(
            [
                f"delivery, {row['queues']} queues x 500/s, {kind}",
                f"{row['deliveries_per_s']}/s of {row['cap_per_s']}/s; limited by {row['limited_by']}",
            ]
        )
    for row in result.get("restart", []):
        rows.append(
            [
                f"kill -9, then ready again with {row['tasks']} queued (sqlite)",
                f"{row['ready_s']} s; RSS {row['rss_mb']} MB",
            ]
        )
    return "\n".join(["### storage backends", "", markdown(["measure", "value"], rows), ""])
