"""Shared port vs direct gRPC listener: server CPU per CreateTask through each, in one emulator.

The emulator runs with `--grpc-port 0`, so it serves gRPC both on its shared port (HTTP/2 relayed by
the front to the gRPC server) and on a direct listener. Rounds alternate between the two (ABBA, so
neither always goes first) so that background load falls on both alike; the figure is the median of
the per-pair ratios of CPU per call, shared / direct, which one noisy round cannot move much.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from .procs import OUR_CMD, CpuMeter, Proc
from .queued import NOWHERE, WARM_UP_CALLS
from .wire import CloudTasks, create_task_request, run_calls


def start_both(log_dir: Path) -> Proc:
    return Proc("cloudtasks-emu-ports", [*OUR_CMD, "--grpc-port", "0"], log_dir)


async def shared_vs_direct(log_dir: Path, calls: int, callers: int, rounds: int = 6) -> dict[str, Any]:
    with start_both(log_dir) as emu:
        apis = {"direct": CloudTasks(emu.ready["grpc"]), "shared": CloudTasks(emu.ready["address"])}
        try:
            queue = await apis["direct"].create_queue("port", paused=True)
            request = create_task_request(queue, NOWHERE)
            stubs = {kind: api.stub("CreateTask") for kind, api in apis.items()}
            used = dict.fromkeys(stubs, 0.0)
            ratios = []
            for stub in stubs.values():
                await run_calls(WARM_UP_CALLS, callers, lambda stub=stub: stub(request, timeout=60))
            for number in range(rounds):
                order = ["direct", "shared"] if number % 2 == 0 else ["shared", "direct"]
                pair = {}
                for kind in order:
                    stub = stubs[kind]
                    with CpuMeter(server=emu) as meter:
                        await run_calls(calls, callers, lambda stub=stub: stub(request, timeout=60))
                    pair[kind] = meter.used["server"]
                    used[kind] += pair[kind]
                if pair["direct"]:
                    ratios.append(pair["shared"] / pair["direct"])
        finally:
            for api in apis.values():
                await api.close()
    per_call = {kind: round(1e6 * seconds / (calls * rounds), 1) for kind, seconds in used.items()}
    return {
        "calls": calls * rounds,
        "callers": callers,
        "direct_cpu_us": per_call["direct"],
        "shared_cpu_us": per_call["shared"],
        "ratio": round(statistics.median(ratios), 3) if ratios else None,
        "pair_ratios": [round(r, 3) for r in ratios],
    }
