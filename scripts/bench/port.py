"""Shared port vs direct gRPC listener: server CPU per CreateTask through each, in one emulator.

The emulator runs with `--grpc-port 0`, so it serves gRPC both on its shared port (HTTP/2 relayed by
the front to the gRPC server) and on a direct listener. Rounds alternate between the two so that
background load falls on both alike; the figure is the ratio of CPU per call, shared / direct.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .procs import OUR_CMD, CpuMeter, Proc
from .queued import NOWHERE, WARM_UP_CALLS
from .wire import CloudTasks, create_task_request, run_calls


def start_both(log_dir: Path) -> Proc:
    return Proc("cloudtasks-emu-ports", [*OUR_CMD, "--grpc-port", "0"], log_dir)


async def shared_vs_direct(log_dir: Path, calls: int, callers: int, rounds: int = 4) -> dict[str, Any]:
    with start_both(log_dir) as emu:
        apis = {"direct": CloudTasks(emu.ready["grpc"]), "shared": CloudTasks(emu.ready["address"])}
        try:
            queue = await apis["direct"].create_queue("port", paused=True)
            request = create_task_request(queue, NOWHERE)
            stubs = {kind: api.stub("CreateTask") for kind, api in apis.items()}
            used = dict.fromkeys(stubs, 0.0)
            for stub in stubs.values():
                await run_calls(WARM_UP_CALLS, callers, lambda stub=stub: stub(request, timeout=60))
            for _ in range(rounds):
                for kind, stub in stubs.items():
                    with CpuMeter(server=emu) as meter:
                        await run_calls(calls, callers, lambda stub=stub: stub(request, timeout=60))
                    used[kind] += meter.used["server"]
        finally:
            for api in apis.values():
                await api.close()
    per_call = {kind: round(1e6 * seconds / (calls * rounds), 1) for kind, seconds in used.items()}
    return {
        "calls": calls * rounds,
        "callers": callers,
        "direct_cpu_us": per_call["direct"],
        "shared_cpu_us": per_call["shared"],
        "ratio": round(used["shared"] / used["direct"], 3) if used["direct"] else None,
    }
