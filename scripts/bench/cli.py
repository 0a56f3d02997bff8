"""`python scripts/bench [--quick | --full] [--compare gcloud-tasks-emulator] [sizes...]`

Runs the benchmarks of issue 7 against cloudtasks-emu started as a subprocess (and, with --compare,
the comparable ones against gcloud-tasks-emulator), prints markdown tables and writes JSON to --out.
Sections: startup (and idle RSS); floor (CreateTask against a no-op grpc.aio server: the least CPU a call
costs); floors (that no-op server on every transport the design can use, in alternating rounds);
users (CreateTask into a running queue, tasks an hour ahead, alone and while 10 queues deliver);
port (server CPU per CreateTask over the shared port against a direct gRPC listener);
create, memory, list (a paused queue grown to each size: CreateTask throughput and server CPU, RSS
per task, ListTasks and GetTask); burst and paced (push delivery rate, create-to-delivery latency);
retry (gaps between attempts against the RetryConfig formula); pull.
Not a test: the figures depend on the machine, and the client shares it with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from . import compare, floors, port, postgres_group, pull, push, queued, report, running, storage
from .procs import REPO, OthersMeter, Proc, start_floor, start_handler, start_ours, start_theirs
from .profiling import PySpy
from .wire import CloudTasks

SECTIONS = (
    "startup",
    "floor",
    "floors",
    "port",
    "users",
    "create",
    "memory",
    "list",
    "burst",
    "paced",
    "retry",
    "pull",
    "storage",
    "group",
)
COMPARED = ("startup", "create", "memory", "list", "paced")  # what gcloud-tasks-emulator can run
PRESETS = ("quick", "default", "full")
# flag: (help, quick, default, full); the full sizes are the issue's.
SIZES: dict[str, tuple[str, Any, Any, Any]] = {
    "create_levels": (
        "fill-queue sizes at which CreateTask is measured",
        [0, 1000, 5000],
        [0, 10_000, 100_000],
        [0, 100_000, 1_000_000],
    ),
    "memory_levels": ("sizes at which RSS per task is read", [1000, 5000], [10_000, 100_000], [100_000, 1_000_000]),
    "list_levels": (
        "sizes at which ListTasks pages are timed",
        [1000, 5000],
        [10_000, 100_000],
        [10_000, 100_000, 1_000_000],
    ),
    "get_levels": ("sizes at which GetTask is timed", [5000], [100_000], [1_000_000]),
    "create_calls": ("raw CreateTask calls per measurement", 2000, 5000, 20_000),
    "official_calls": ("official-client CreateTask calls per measurement", 300, 1000, 2000),
    "list_pages": ("consecutive ListTasks pages timed", 3, 5, 5),
    "get_calls": ("GetTask calls timed", 100, 200, 500),
    "push_tasks": ("tasks in the delivery burst", 2000, 10_000, 50_000),
    "paced_seconds": ("length of the paced latency run", 2, 10, 20),
    "retry_failures": ("failed attempts of each retry task before it succeeds", 3, 5, 6),
    "retry_tasks": ("tasks in the retry run", 3, 5, 5),
    "pull_tasks": ("tasks in the pull run", 1000, 10_000, 10_000),
    "startup_runs": ("emulator starts timed", 3, 5, 7),
    "storage_calls": ("CreateTask calls per backend per round (storage)", 2000, 5000, 20_000),
    "storage_rounds": ("alternating rounds of those calls (storage)", 1, 3, 3),
    "floor_rounds": ("alternating rounds of the transport floors (floors)", 1, 3, 5),
    "users_rounds": ("alternating rounds of the users' CreateTask workloads (users)", 1, 3, 5),
    "due_tasks": ("tasks timed from due to delivery (paced)", 10, 30, 50),
    "restart_levels": (
        "queued tasks at which kill-to-ready is timed (storage)",
        [1000],
        [100_000],
        [100_000, 1_000_000],
    ),
    "group_calls": ("CreateTask calls per backend and process count (group)", 2000, 6000, 20_000),
    "group_tasks": ("tasks delivered over 10 queues (group)", 2000, 5000, 20_000),
    "group_rounds": ("alternating rounds of the CreateTask runs (group)", 1, 3, 3),
}


def size(text: str) -> int:
    """A count: 5000, 100k or 1M."""
    scale = {"k": 1000, "m": 1_000_000}.get(text[-1:].lower(), 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def sizes(text: str) -> list[int]:
    """Comma-separated counts; empty for none."""
    return [size(part) for part in text.split(",") if part.strip()]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python scripts/bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    preset = parser.add_mutually_exclusive_group()
    preset.add_argument("--quick", dest="preset", action="store_const", const="quick", help="small sizes, ~15 s")
    preset.add_argument("--full", dest="preset", action="store_const", const="full", help="the issue's sizes (1M)")
    parser.set_defaults(preset="default")
    parser.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated subset of: %(default)s")
    parser.add_argument("--compare", choices=[compare.PACKAGE], help="also run the comparable sections against it")
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".bench-venvs", help="its virtualenv goes here")
    parser.add_argument("--out", type=Path, default=REPO / "bench-results" / "bench.json")
    parser.add_argument("--py-spy", type=Path, metavar="FILE", help="profile a CreateTask run into FILE (raw)")
    group = parser.add_argument_group("sizes (counts take k and M; defaults are quick/default/full)")
    for name, (text, *values) in SIZES.items():
        levels = name.endswith("_levels")
        shown = "/".join(",".join(map(str, v)) if levels else str(v) for v in values)
        group.add_argument(
            "--" + name.replace("_", "-"),
            type=sizes if levels else size,
            metavar="N,N" if levels else "N",
            help=f"{text} ({shown})",
        )
    group.add_argument("--callers", type=int, default=8, metavar="N", help="concurrent raw CreateTask callers (8)")
    group.add_argument("--push-queues", type=int, default=10, metavar="N", help="queues in the delivery burst (10)")
    group.add_argument(
        "--busy-rate", type=float, default=50.0, metavar="R", help="dispatches/s of each delivering queue (users, 50)"
    )
    group.add_argument("--paced-rate", type=float, default=50.0, metavar="R", help="paced tasks per second (50)")
    group.add_argument(
        "--backoff", default="0.2,2,2", metavar="MIN,MAX,D", help="retry min/max backoff s, max_doublings (0.2,2,2)"
    )
    group.add_argument("--pull-workers", type=int, default=4, metavar="N", help="concurrent pull workers (4)")
    group.add_argument("--pull-batch", type=int, default=10, metavar="N", help="tasks per LeaseTasks call (10)")
    args = parser.parse_args(argv)
    for name, (_, *values) in SIZES.items():
        if getattr(args, name) is None:
            setattr(args, name, values[PRESETS.index(args.preset)])
    args.sections = set(section_names(args.sections, parser))
    return args


def section_names(text: str, parser: argparse.ArgumentParser) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if unknown := set(names) - set(SECTIONS):
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    return names


IDLE_SETTLE_S = 1.0  # after the ready line, before idle RSS is read


def startup(start: Callable[[], Proc], runs: int) -> dict[str, Any]:
    """Time from process start to its ready line, `runs` times; RSS once it has been idle a second."""
    seconds, rss = [], []
    for _ in range(runs):
        with start() as proc:
            seconds.append(proc.ready_s)
            time.sleep(IDLE_SETTLE_S)
            rss.append(proc.rss_bytes() / 2**20)
    return {
        "idle_rss_mb": round(statistics.median(rss), 1),
        "idle_rss_mb_range": [round(min(rss), 1), round(max(rss), 1)],
        "runs": runs,
        "median_s": round(statistics.median(seconds), 3),
        "min_s": round(min(seconds), 3),
        "max_s": round(max(seconds), 3),
    }


Group = Callable[[], Awaitable[None]]


def plan(
    start: Callable[[], Proc], args: argparse.Namespace, sections: set[str], spy: PySpy | None, results: dict[str, Any]
) -> dict[str, Group]:
    """The groups of sections to run against one emulator kind, each with a fresh process, filling `results`."""
    wanted = {"create_levels": "create", "memory_levels": "memory", "list_levels": "list", "get_levels": "list"}
    levels = {name: getattr(args, name) if section in sections else [] for name, section in wanted.items()}
    q_sizes = queued.Sizes(
        **levels,
        create_calls=args.create_calls,
        callers=args.callers,
        official_calls=args.official_calls,
        list_pages=args.list_pages,
        get_calls=args.get_calls,
    )

    async def startup_group() -> None:
        results["startup"] = startup(start, args.startup_runs)

    async def floor_group() -> None:
        with start_floor(args.out.parent / "logs") as proc:
            results["floor"] = await queued.floor(proc, args.create_calls, args.callers)

    async def floors_group() -> None:
        sequential = max(args.official_calls, 1)
        results["floors"] = await floors.run(
            args.out.parent / "logs", args.create_calls, sequential, args.callers, args.floor_rounds
        )

    async def users_group() -> None:
        results["users"] = await running.run(args, args.out.parent / "logs")

    async def port_group() -> None:
        results["port"] = await port.shared_vs_direct(args.out.parent / "logs", args.create_calls, args.callers)

    async def queued_group() -> None:
        with start() as emu:
            await queued.run(emu, q_sizes, results, spy)

    async def storage_group() -> None:
        results["storage"] = await storage.run(args, args.out.parent / "logs")

    async def delivery_group() -> None:
        with start() as emu, start_handler(args.out.parent / "logs") as handler_proc:
            await delivery(emu, handler_proc, args, sections, results)

    async def several_group() -> None:
        results["group"] = await postgres_group.run(args, args.out.parent / "logs")

    groups = {
        "startup": (startup_group, "startup" in sections),
        "floor": (floor_group, "floor" in sections),
        "floors": (floors_group, "floors" in sections),
        "users": (users_group, "users" in sections),
        "port": (port_group, "port" in sections),
        "queued": (queued_group, any(levels.values())),
        "delivery": (delivery_group, bool(sections & {"burst", "paced", "retry", "pull"})),
        "storage": (storage_group, "storage" in sections),
        "group": (several_group, "group" in sections),
    }
    return {name: group for name, (group, chosen) in groups.items() if chosen}


async def run_group(name: str, group: Group, results: dict[str, Any]) -> None:
    """Run one group; one that fails keeps what it measured, and says why the rest is missing."""
    with OthersMeter() as others:
        try:
            await group()
        except Exception as error:
            results.setdefault("errors", []).append(f"{name}: {type(error).__name__}: {error}")
            print(f"{name} failed: {error!r}", file=sys.stderr)
    results.setdefault("others_cpu_pct", {})[name] = others.pct


async def delivery(
    emu: Proc, handler_proc: Proc, args: argparse.Namespace, sections: set[str], results: dict[str, Any]
) -> None:
    """Burst, paced and retry (each on queues of its own, with the handler process), then pull."""
    api = CloudTasks(emu.ready["grpc"])
    try:
        async with aiohttp.ClientSession() as http:
            handler = push.Handler(handler_proc, http)
            if "burst" in sections:
                results["burst"] = await push.burst(api, emu, handler, args.push_tasks, args.push_queues)
            if "paced" in sections:
                results["paced"] = await push.paced(api, handler, args.paced_rate, args.paced_seconds)
                results["due"] = await push.after_due(api, handler, args.due_tasks)
            if "retry" in sections:
                min_s, max_s, doublings = args.backoff.split(",")
                backoff = (float(min_s), float(max_s), int(doublings))
                results["retry"] = await push.retry_timing(api, handler, args.retry_failures, args.retry_tasks, backoff)
    finally:
        await api.close()
    if "pull" in sections:
        results["pull"] = await pull.cycles(emu, args.pull_tasks, args.pull_workers, args.pull_batch)


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "")
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in line)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "ram_gib": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "commit": commit.stdout.strip(),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Each group of sections against cloudtasks-emu, then at once against the compared emulator,
    so that both see much the same background load."""
    logs = args.out.parent / "logs"
    spy = PySpy(args.py_spy) if args.py_spy else None
    out: dict[str, Any] = {
        "meta": {**machine(), "command": args.command},
        "args": {
            name: sorted(v) if isinstance(v, set) else str(v) if isinstance(v, Path) else v
            for name, v in vars(args).items()
        },
        "results": {report.OURS: {}},
    }
    ours = out["results"][report.OURS]
    plans = {report.OURS: plan(lambda: start_ours(logs), args, args.sections, spy, ours)}
    theirs: dict[str, Any] | None = None
    if args.compare:
        python, version = compare.ensure_venv(args.cache_dir)
        out["meta"]["compared_with"] = f"{compare.PACKAGE} {version}"
        theirs = out["results"][report.THEIRS] = {}
        plans[report.THEIRS] = plan(
            lambda: start_theirs(python, logs), args, args.sections & set(COMPARED), None, theirs
        )
    for name in ("startup", "floor", "floors", "users", "port", "queued", "delivery", "storage", "group"):
        for kind, groups in plans.items():
            if name in groups:
                await run_group(name, groups[name], out["results"][kind])
    if theirs is not None:
        out["comparison"] = report.comparison_rows(ours, theirs)
    out["targets"] = report.targets(ours, theirs)
    if spy is not None and spy.out.exists():
        out["profile"] = spy.hotspots()
    return out


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    args.command = " ".join(["python scripts/bench", *argv])
    result = asyncio.run(run(args))
    print(report.render(result))
    if "storage" in result["results"][report.OURS]:
        print(storage.render(result["results"][report.OURS]["storage"]))
    if "group" in result["results"][report.OURS]:
        print(postgres_group.render(result["results"][report.OURS]["group"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")
