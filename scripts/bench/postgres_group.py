"""Section `group`: several emulator processes over one PostgreSQL, beside the memory and SQLite backends.

CreateTask calls/s and CPU per call with 1, 2 and 3 processes (the callers spread over them), with
the database server's own CPU beside the emulators'; deliveries/s over 10 queues; the time from a
kill -9 of a queue's owner until another process owns it. The PostgreSQL server is started by the
run (tests/postgres_server.py: initdb in a temporary directory, fsync off as in the tests).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp

from .procs import CLOCK_TICKS, OUR_CMD, REPO, CpuMeter, Proc, start_handler
from .push import Handler
from .wire import CloudTasks, create_task_request, run_calls

sys.path.insert(0, str(REPO))
from tests.postgres_server import PostgresServer

CALLERS_PER_PROCESS = 8


def tree_cpu_s(root: int) -> float:
    """CPU seconds of `root` and every live descendant (the PostgreSQL server and its backends)."""
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        cpu[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo += children.get(pid, [])
    return total


def start_group(name: str, count: int, backend: list[str], log_dir: Path) -> list[Proc]:
    return [Proc(f"{name}-{i}", [*OUR_CMD, *backend], log_dir) for i in range(count)]


async def creates(procs: list[Proc], calls: int, db_pid: int | None) -> dict[str, Any]:
    """`calls` CreateTask calls into one paused queue, spread over the processes. Without a database
    (memory: independent processes, the same load split the same way) each process gets the queue."""
    apis = [CloudTasks(proc.ready["grpc"]) for proc in procs]
    try:
        name = f"create-{time.monotonic_ns()}"
        for api in apis if db_pid is None else apis[:1]:
            queue = await api.create_queue(name, paused=True)
        request = create_task_request(queue, "http://127.0.0.1:9/never")
        stubs = [api.stub("CreateTask") for api in apis]
        await asyncio.gather(*(run_calls(100, 4, lambda s=stub: s(request, timeout=60)) for stub in stubs))  # warm
        share = calls // len(procs)
        db0 = tree_cpu_s(db_pid) if db_pid else 0.0
        with CpuMeter(**{proc.name: proc for proc in procs}) as meter:
            await asyncio.gather(
                *(run_calls(share, CALLERS_PER_PROCESS, lambda s=stub: s(request, timeout=60)) for stub in stubs)
            )
        db_s = tree_cpu_s(db_pid) - db0 if db_pid else 0.0
    finally:
        for api in apis:
            await api.close()
    done = share * len(procs)
    emulators_s = sum(meter.used[proc.name] for proc in procs)
    return {
        "processes": len(procs),
        "calls": done,
        "calls_per_s": round(done / meter.wall_s, 1),
        "emulator_cpu_us_per_call": round(1e6 * emulators_s / done, 1),
        "database_cpu_us_per_call": round(1e6 * db_s / done, 1) if db_pid else None,
        "bench_cpu_us_per_call": meter.per_call_us("bench", done),
    }


async def deliveries(procs: list[Proc], handler: Handler, tasks: int, queues: int) -> dict[str, Any]:
    """Fill `queues` paused queues (created round-robin over the processes), resume them, time the deliveries."""
    apis = [CloudTasks(proc.ready["grpc"]) for proc in procs]
    group = f"g{time.monotonic_ns()}"
    try:
        names = [await apis[i % len(apis)].create_queue(f"{group}-{i}", paused=True) for i in range(queues)]
        for i, queue in enumerate(names):
            await apis[i % len(apis)].fill(queue, f"{handler.url}/{group}", tasks // queues)
        await asyncio.sleep(2.5)  # ownership settles (new queues are taken at once; this is margin)
        total = tasks // queues * queues
        started = time.time()
        with CpuMeter(**{proc.name: proc for proc in procs}) as meter:
            await asyncio.gather(*(apis[i % len(apis)].resume(queue) for i, queue in enumerate(names)))
            stats = await handler.wait(group, "tasks", total, timeout_s=60 + total / 100)
    finally:
        for api in apis:
            await api.close()
    elapsed = max(stats["last"] - started, 1e-9)
    return {
        "processes": len(procs),
        "queues": queues,
        "delivered": stats["tasks"],
        "deliveries_per_s": round(stats["tasks"] / elapsed, 1),
        "emulator_cpu_us_per_delivery": round(1e6 * sum(meter.used.values()) / max(stats["tasks"], 1), 1),
    }


def owned(proc: Proc) -> list[str]:
    with urllib.request.urlopen(f"{proc.ready['http']}/_emu/group", timeout=10) as response:
        return list(json.load(response)["owned"])


async def takeover(procs: list[Proc]) -> dict[str, Any]:
    """kill -9 the owner of a queue; seconds until another process owns it."""
    api = CloudTasks(procs[0].ready["grpc"])
    try:
        queue = await api.create_queue(f"takeover-{time.monotonic_ns()}")
    finally:
        await api.close()
    for _ in range(200):
        owner = next((proc for proc in procs if queue in owned(proc)), None)
        if owner is not None:
            break
        await asyncio.sleep(0.05)
    else:
        raise RuntimeError(f"nobody took {queue}")
    others = [proc for proc in procs if proc is not owner]
    killed = time.monotonic()
    owner.popen.kill()
    owner.popen.wait(10)
    while time.monotonic() - killed < 30:
        if any(queue in owned(proc) for proc in others):
            return {"takeover_s": round(time.monotonic() - killed, 2)}
        await asyncio.sleep(0.02)
    return {"takeover_s": None}


async def run(args: Any, log_dir: Path) -> dict[str, Any]:
    calls, tasks = args.group_calls, args.group_tasks
    out: dict[str, Any] = {"creates": [], "deliveries": [], "rounds": args.group_rounds}
    with tempfile.TemporaryDirectory() as data_dir, ExitStack() as stack:
        pg = stack.enter_context(PostgresServer())
        assert pg._proc is not None
        kinds = [("memory", count, []) for count in (1, 2, 3)] + [("sqlite", 1, ["--data-dir", data_dir])]
        kinds += [("postgres", count, ["--database", pg.url]) for count in (1, 2, 3)]
        # Alternating rounds, the median of each kind kept: background load falls on every kind alike.
        rounds: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for _ in range(args.group_rounds):
            for name, count, backend in kinds:
                with ExitStack() as procs_stack:
                    procs = [procs_stack.enter_context(p) for p in start_group(name, count, backend, log_dir)]
                    db_pid = pg._proc.pid if name == "postgres" else None
                    rounds.setdefault((name, count), []).append(await creates(procs, calls, db_pid))
        for (name, _), runs in rounds.items():  # the median of each figure, over the rounds
            row = {"backend": name, **runs[0]}
            for key in ("calls_per_s", "emulator_cpu_us_per_call", "database_cpu_us_per_call", "bench_cpu_us_per_call"):
                values = sorted(run[key] for run in runs if run[key] is not None)
                row[key] = values[len(values) // 2] if values else None
            out["creates"].append(row)
        async with aiohttp.ClientSession() as http:
            handler = Handler(stack.enter_context(start_handler(log_dir)), http)
            with ExitStack() as procs_stack:
                procs = [procs_stack.enter_context(p) for p in start_group("memory", 1, [], log_dir)]
                out["deliveries"].append({"backend": "memory", **await deliveries(procs, handler, tasks, 10)})
            with ExitStack() as procs_stack:
                procs = [procs_stack.enter_context(p) for p in start_group("pg", 3, ["--database", pg.url], log_dir)]
                out["deliveries"].append({"backend": "postgres", **await deliveries(procs, handler, tasks, 10)})
                out["takeover"] = await takeover(procs)
    out["cores"] = os.cpu_count()
    return out


def render(result: dict[str, Any]) -> str:
    memory = {row["processes"]: row for row in result["creates"] if row["backend"] == "memory"}
    lines = [
        "### Several processes over one PostgreSQL (section group)",
        "",
        f"CreateTask: the median of each figure over {result['rounds']} alternating rounds. Memory with 2 or 3",
        "processes: independent ones, the same load split the same way (what splitting alone costs);",
        "x memory compares with memory at the same number of processes, x memory-1 with one process.",
        "",
        "| backend | processes | CreateTask/s | x memory-1 | emulator CPU us/call | x memory | x memory-1 "
        "| database CPU us/call | client CPU us/call |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["creates"]:
        same, one = memory.get(row["processes"], memory[1]), memory[1]
        cpu = row["emulator_cpu_us_per_call"]
        lines.append(
            f"| {row['backend']} | {row['processes']} | {row['calls_per_s']} | "
            f"{row['calls_per_s'] / one['calls_per_s']:.2f} | {cpu} | "
            f"{cpu / same['emulator_cpu_us_per_call']:.2f} | {cpu / one['emulator_cpu_us_per_call']:.2f} | "
            f"{row['database_cpu_us_per_call'] if row['database_cpu_us_per_call'] is not None else '-'} | "
            f"{row['bench_cpu_us_per_call']} |"
        )
    lines += ["", "| backend | processes | queues | deliveries/s | emulator CPU us/delivery |", "|---|---|---|---|---|"]
    for row in result["deliveries"]:
        lines.append(
            f"| {row['backend']} | {row['processes']} | {row['queues']} | {row['deliveries_per_s']} | "
            f"{row['emulator_cpu_us_per_delivery']} |"
        )
    lines += ["", f"Takeover after kill -9 of the owner: {result['takeover']['takeover_s']} s."]
    return "\n".join(lines)
