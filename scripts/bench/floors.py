"""The floor of each transport the design can use: server CPU per call of a no-op CreateTask server.

One process per transport (floor_server.py), all started at once and idle but for the one measured.
Rounds alternate the order (forward, then reversed) so that background load falls on every kind alike;
each figure is the median over rounds, and the range (min-max) is kept, since the machine is shared.
Callers are raw grpc.aio: `callers` concurrent ones, then one sequential caller.
"""

from __future__ import annotations

import contextlib
import statistics
from pathlib import Path
from typing import Any

from .procs import CpuMeter, Proc, start_floor
from .queued import NOWHERE, WARM_UP_CALLS
from .wire import CloudTasks, create_task_request, queue_name, run_calls

# name: (floor_server --kind, environment)
KINDS: dict[str, tuple[str, dict[str, str]]] = {
    "grpc.aio on uvloop (today)": ("aio", {}),
    "grpc.aio on uvloop, poll poller": ("aio", {"GRPC_POLL_STRATEGY": "poll"}),
    "grpc.aio on asyncio's loop": ("aio-asyncio", {}),
    "sync grpc.server, 8 threads": ("sync", {}),
    "sync grpc.server, 8 threads, poll poller": ("sync", {"GRPC_POLL_STRATEGY": "poll"}),
    "shared port (relay to grpc.aio)": ("shared", {}),
}


async def measure(proc: Proc, api: CloudTasks, calls: int, callers: int) -> tuple[float, float]:
    """(server CPU us per call, calls per second) of `calls` raw CreateTask calls from `callers`."""
    stub, request = api.stub("CreateTask"), create_task_request(queue_name("floor"), NOWHERE)
    with CpuMeter(server=proc) as meter:
        await run_calls(calls, callers, lambda: stub(request, timeout=60))
    return 1e6 * meter.used["server"] / calls, calls / meter.wall_s


async def run(log_dir: Path, calls: int, sequential_calls: int, callers: int, rounds: int) -> dict[str, Any]:
    modes = {f"raw x{callers}": (calls, callers), "raw x1 sequential": (sequential_calls, 1)}
    samples: dict[str, dict[str, list[tuple[float, float]]]] = {k: {m: [] for m in modes} for k in KINDS}
    with contextlib.ExitStack() as stack:
        procs = {
            name: stack.enter_context(start_floor(log_dir, kind, env, name=f"floor-{kind}-{i}"))
            for i, (name, (kind, env)) in enumerate(KINDS.items())
        }
        apis = {name: CloudTasks(proc.ready["grpc"]) for name, proc in procs.items()}
        try:
            for api in apis.values():
                stub, request = api.stub("CreateTask"), create_task_request(queue_name("floor"), NOWHERE)
                await run_calls(WARM_UP_CALLS, callers, lambda stub=stub, request=request: stub(request, timeout=60))
            order = list(KINDS)
            for number in range(rounds):
                for name in order if number % 2 == 0 else reversed(order):
                    for mode, (count, concurrency) in modes.items():
                        samples[name][mode].append(await measure(procs[name], apis[name], count, concurrency))
        finally:
            for api in apis.values():
                await api.close()
    out: dict[str, Any] = {"rounds": rounds, "kinds": {}}
    for name, by_mode in samples.items():
        out["kinds"][name] = {
            mode: {
                "calls": modes[mode][0],
                "callers": modes[mode][1],
                "server_cpu_us": round(statistics.median(s[0] for s in runs), 1),
                "server_cpu_us_range": [round(min(s[0] for s in runs), 1), round(max(s[0] for s in runs), 1)],
                "per_s": round(statistics.median(s[1] for s in runs), 1),
            }
            for mode, runs in by_mode.items()
        }
    for mode in modes:
        cheapest = min(out["kinds"], key=lambda name: out["kinds"][name][mode]["server_cpu_us"])
        out.setdefault("cheapest", {})[mode] = cheapest
    return out


def rows(result: dict[str, Any]) -> list[list[str]]:
    table = []
    for name, by_mode in result["kinds"].items():
        for mode, m in by_mode.items():
            low, high = m["server_cpu_us_range"]
            mark = " (cheapest)" if result["cheapest"][mode] == name else ""
            table.append(
                [
                    f"no-op server, {name}, {mode}",
                    f"server {m['server_cpu_us']} us/call (range {low}-{high} over {result['rounds']} rounds); "
                    f"{m['per_s']:.0f}/s{mark}",
                ]
            )
    return table
