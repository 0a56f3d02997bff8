"""Push delivery: deliveries per second at the API's maximum rate, create-to-delivery latency, retry timing."""

from __future__ import annotations

import asyncio
import datetime
import os
import time
from typing import Any

import aiohttp
from google.cloud import tasks_v2

from .procs import CpuMeter, Proc
from .stats import summary_ms
from .wire import CloudTasks, create_task_request, retry_config, run_calls, task_name

MAX_RATE = 500  # the API's maximum max_dispatches_per_second


class Handler:
    """The push handler process (handler.py) and its stats endpoints."""

    def __init__(self, proc: Proc, http: aiohttp.ClientSession) -> None:
        self.proc, self.http = proc, http
        self.url: str = proc.ready["url"]

    async def stats(self, group: str) -> dict[str, Any]:
        async with self.http.get(f"{self.url}/_stats", params={"group": group}) as response:
            data: dict[str, Any] = await response.json()
            return data

    async def arrivals(self, group: str) -> dict[str, list[float]]:
        async with self.http.get(f"{self.url}/_arrivals", params={"group": group}) as response:
            data: dict[str, list[float]] = await response.json()
            return data

    async def wait(self, group: str, key: str, count: int, timeout_s: float) -> dict[str, Any]:
        """Poll until stats[key] reaches count or timeout_s passes; returns the last stats."""
        deadline = time.monotonic() + timeout_s
        while True:
            stats = await self.stats(group)
            if stats[key] >= count or time.monotonic() > deadline:
                return stats
            await asyncio.sleep(0.05)


async def burst(api: CloudTasks, emu: Proc, handler: Handler, tasks: int, queues: int) -> dict[str, Any]:
    """Fill `queues` paused queues, resume them all, and time the deliveries."""
    names = [await api.create_queue(f"burst-{i}", paused=True) for i in range(queues)]
    for i, queue in enumerate(names):
        await api.fill(queue, f"{handler.url}/burst", tasks // queues + (i < tasks % queues))
    with CpuMeter(emulator=emu, handler=handler.proc) as meter:
        started = time.time()
        await asyncio.gather(*(api.resume(queue) for queue in names))
        stats = await handler.wait("burst", "tasks", tasks, timeout_s=30 + tasks / 200)
    elapsed = max(stats["last"] - started, 1e-9)
    rate = round(stats["tasks"] / elapsed, 1)
    busy = {"emulator": meter.busy("emulator"), "handler": meter.busy("handler"), "bench": meter.busy("bench")}
    return {
        "tasks": tasks,
        "queues": queues,
        "delivered": stats["tasks"],
        "seconds": round(elapsed, 2),
        "deliveries_per_s": rate,
        "cap_per_s": MAX_RATE * queues,
        "busy_pct": busy,
        "emulator_cpu_us_per_delivery": meter.per_call_us("emulator", stats["tasks"]),
        "limited_by": limit(rate, MAX_RATE * queues, busy),
    }


def limit(rate: float, cap: float, busy: dict[str, float]) -> str:
    """A best guess at what held the delivery rate, from the processes' CPU use."""
    if rate >= 0.95 * cap:
        return "the configured rate"
    hot = [f"{name} CPU ({pct:.0f}% of a core)" for name, pct in busy.items() if pct >= 85]
    if hot:
        return ", ".join(hot)
    if sum(busy.values()) >= 85 * (os.cpu_count() or 1):
        return "all cores busy"
    return "not CPU: waiting (latency-bound)"


async def paced(api: CloudTasks, handler: Handler, rate: float, seconds: float) -> dict[str, Any]:
    """CreateTask at a steady rate into a running queue; latency from sending CreateTask to the handler."""
    queue = await api.create_queue("paced")
    create, request = api.stub("CreateTask"), create_task_request(queue, f"{handler.url}/paced")
    sent: dict[str, float] = {}
    rpc_s = []
    start = time.monotonic()
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        at = time.time()
        raw = await create(request, timeout=10)
        rpc_s.append(time.time() - at)
        sent[task_name(raw).rsplit("/", 1)[1]] = at
    await handler.wait("paced", "tasks", len(sent), timeout_s=30)
    got = await handler.arrivals("paced")
    latencies = [got[name][0] - at for name, at in sent.items() if name in got]
    return {
        "rate_per_s": rate,
        "tasks": len(sent),
        "delivered": len(latencies),
        **summary_ms(latencies),
        "create_rpc": summary_ms(rpc_s),
    }


DUE_AHEAD_S = 0.2  # how far ahead each timed task is scheduled
DUE_GAP_S = 0.05  # between the timed tasks, so that each is due alone


async def after_due(api: CloudTasks, handler: Handler, tasks: int) -> dict[str, Any]:
    """Tasks scheduled DUE_AHEAD_S ahead into an idle running queue, one at a time; from each
    schedule_time to its arrival at the handler (both read from time.time())."""
    queue = await api.create_queue("due")
    create = api.stub("CreateTask")
    due: dict[str, float] = {}
    for _ in range(tasks):
        at = time.time() + DUE_AHEAD_S
        task = tasks_v2.Task(
            http_request=tasks_v2.HttpRequest(url=f"{handler.url}/due"),
            schedule_time=datetime.datetime.fromtimestamp(at, datetime.UTC),
        )
        request = tasks_v2.CreateTaskRequest.serialize(tasks_v2.CreateTaskRequest(parent=queue, task=task))
        due[task_name(await create(request, timeout=10)).rsplit("/", 1)[1]] = at
        await asyncio.sleep(DUE_GAP_S)
    await handler.wait("due", "tasks", len(due), timeout_s=10 + tasks * DUE_GAP_S)
    got = await handler.arrivals("due")
    late = [got[name][0] - at for name, at in due.items() if name in got]
    return {"tasks": tasks, "delivered": len(late), "ahead_s": DUE_AHEAD_S, **summary_ms(late)}


def backoff_s(retry: int, min_s: float, max_s: float, max_doublings: int) -> float:
    """RetryConfig's delay before retry number `retry` (1 after the first failure), as documented:
    min_backoff doubles max_doublings times, then grows linearly by min * 2**max_doublings, capped."""
    if retry <= max_doublings + 1:
        return min(max_s, min_s * 2.0 ** (retry - 1))
    return min(max_s, min_s * 2.0**max_doublings * (retry - max_doublings))


async def retry_timing(
    api: CloudTasks, handler: Handler, failures: int, tasks: int, backoff: tuple[float, float, int]
) -> dict[str, Any]:
    """Tasks whose handler fails `failures` times; measured gaps between attempts against the formula."""
    min_s, max_s, doublings = backoff
    queue = await api.create_queue("retry", retry=retry_config(failures + 1, min_s, max_s, doublings))
    create, request = api.stub("CreateTask"), create_task_request(queue, f"{handler.url}/retry?fail={failures}")
    await run_calls(tasks, tasks, lambda: create(request, timeout=10))
    expected = [backoff_s(retry, min_s, max_s, doublings) for retry in range(1, failures + 1)]
    await handler.wait("retry", "count", tasks * (failures + 1), timeout_s=10 + 1.5 * sum(expected))
    attempts = list((await handler.arrivals("retry")).values())
    rows = []
    for retry, want in enumerate(expected, start=1):
        errors = [1000 * (times[retry] - times[retry - 1] - want) for times in attempts if len(times) > retry]
        rows.append(
            {
                "retry": retry,
                "expected_s": want,
                "tasks": len(errors),
                "error_mean_ms": round(sum(errors) / len(errors), 2) if errors else None,
                "error_min_ms": round(min(errors), 2) if errors else None,
                "error_max_ms": round(max(errors), 2) if errors else None,
            }
        )
    return {
        "min_backoff_s": min_s,
        "max_backoff_s": max_s,
        "max_doublings": doublings,
        "failures": failures,
        "tasks": tasks,
        "complete": sum(len(times) == failures + 1 for times in attempts),
        "gaps": rows,
    }
