"""Workloads against a growing paused queue: CreateTask cost, RSS per task, ListTasks, GetTask.

One emulator process; a paused "fill" queue grows to each size in turn, and at each size the
workloads asked for at that size run. Nothing is ever dispatched, so the figures are the API's.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

import grpc
from google.cloud import tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

from .procs import CpuMeter, Proc
from .profiling import PySpy
from .stats import ms, summary_ms
from .wire import CloudTasks, create_task_request, queue_name, run_calls

NOWHERE = "http://127.0.0.1:9/never"  # the queues stay paused: nothing is delivered
WARM_UP_CALLS = 1000


@dataclass
class Sizes:
    create_levels: list[int]  # fill-queue sizes at which CreateTask is measured
    memory_levels: list[int]
    list_levels: list[int]
    get_levels: list[int]
    create_calls: int  # raw stub calls per measurement
    callers: int  # concurrent raw callers
    official_calls: int  # official client calls (1 thread) per measurement
    list_pages: int  # consecutive pages timed per ListTasks measurement
    get_calls: int


class Session:
    """The state of one emulator under these workloads: its queues and how many tasks it holds."""

    def __init__(self, emu: Proc, api: CloudTasks, sizes: Sizes, results: dict[str, Any]) -> None:
        self.emu, self.api, self.sizes = emu, api, sizes
        self.tasks = 0  # in the emulator, all queues
        self.queued = 0  # in the fill queue
        self.names: list[str] = []  # task names seen by the last ListTasks
        self.results: dict[str, list[dict[str, Any]]] = results
        for key in ("fill", "create", "memory", "list", "get"):
            results[key] = []

    async def setup(self) -> None:
        self.fill_queue = await self.api.create_queue("fill", paused=True)
        self.create_queue = await self.api.create_queue("create", paused=True)
        stub, request = self.api.stub("CreateTask"), create_task_request(self.create_queue, NOWHERE)
        await run_calls(WARM_UP_CALLS, self.sizes.callers, lambda: stub(request, timeout=60))
        self.tasks += WARM_UP_CALLS
        self.base_rss, self.base_tasks = self.emu.rss_bytes(), self.tasks

    async def grow_to(self, level: int) -> None:
        if level > self.queued:
            per_s = await self.api.fill(self.fill_queue, NOWHERE, level - self.queued)
            self.results["fill"].append({"to": level, "tasks": level - self.queued, "per_s": per_s})
            self.tasks += level - self.queued
            self.queued = level

    async def create(self, level: int) -> None:
        """CreateTask into a second paused queue: raw stubs with N callers, then the official client."""
        sizes = self.sizes
        stub, request = self.api.stub("CreateTask"), create_task_request(self.create_queue, NOWHERE)
        row: dict[str, Any] = {"level": level, "queued": self.tasks}
        with CpuMeter(server=self.emu) as raw:
            await run_calls(sizes.create_calls, sizes.callers, lambda: stub(request, timeout=60))
        row["raw"] = meter_row(raw, sizes.create_calls, callers=sizes.callers)
        channel = grpc.insecure_channel(self.emu.ready["grpc"])
        try:
            with CpuMeter(server=self.emu) as official:
                await asyncio.to_thread(official_creates, channel, self.create_queue, sizes.official_calls)
        finally:
            channel.close()
        row["official"] = meter_row(official, sizes.official_calls, callers=1)
        self.tasks += sizes.create_calls + sizes.official_calls
        self.results["create"].append(row)

    async def profile(self, spy: PySpy) -> None:
        """The raw CreateTask workload again, under py-spy (apart, so it does not skew the figures)."""
        stub, request = self.api.stub("CreateTask"), create_task_request(self.create_queue, NOWHERE)
        with spy.recording(self.emu.pid):
            await run_calls(self.sizes.create_calls, self.sizes.callers, lambda: stub(request, timeout=60))
        self.tasks += self.sizes.create_calls

    def memory(self, level: int) -> None:
        rss = self.emu.rss_bytes()
        added = self.tasks - self.base_tasks
        self.results["memory"].append(
            {
                "level": level,
                "queued": self.tasks,
                "rss_mb": round(rss / 2**20, 1),
                "bytes_per_task": round((rss - self.base_rss) / added) if added else None,
            }
        )

    async def list_tasks(self, level: int) -> None:
        """Consecutive ListTasks pages of 1000 from the start of the fill queue, each timed."""
        seconds, token, first_page, size = [], "", 0, 0
        self.names = []
        for _ in range(self.sizes.list_pages):
            took, raw = await self.api.list_page(self.fill_queue, token)
            response = tasks_v2.ListTasksResponse.pb().FromString(raw)
            seconds.append(took)
            self.names += [task.name for task in response.tasks]
            first_page, size = first_page or len(response.tasks), max(size, len(raw))
            token = response.next_page_token
            if not token:
                break
        row = {"level": level, "queued": self.tasks, "pages": len(seconds), "page_tasks": first_page}
        self.results["list"].append({**row, "response_bytes": size, **summary_ms(seconds)})

    async def get_tasks(self, level: int) -> None:
        if not self.names:
            _, raw = await self.api.list_page(self.fill_queue)
            self.names = [task.name for task in tasks_v2.ListTasksResponse.pb().FromString(raw).tasks]
        row: dict[str, Any] = {"level": level, "queued": self.tasks}
        seconds = []
        try:
            for name in random.sample(self.names, min(self.sizes.get_calls, len(self.names))):
                seconds.append(await self.api.get_task(name))
        except grpc.aio.AioRpcError as error:
            row["error"] = error.code().name
        self.results["get"].append({**row, "calls": len(seconds), **summary_ms(seconds)})


async def floor(proc: Proc, calls: int, callers: int) -> dict[str, Any]:
    """The raw CreateTask workload against floor_server.py, which does nothing but answer."""
    api = CloudTasks(proc.ready["grpc"])
    try:
        stub, request = api.stub("CreateTask"), create_task_request(queue_name("floor"), NOWHERE)
        await run_calls(WARM_UP_CALLS, callers, lambda: stub(request, timeout=60))
        with CpuMeter(server=proc) as meter:
            await run_calls(calls, callers, lambda: stub(request, timeout=60))
        return meter_row(meter, calls, callers)
    finally:
        await api.close()


def meter_row(meter: CpuMeter, calls: int, callers: int) -> dict[str, Any]:
    return {
        "calls": calls,
        "callers": callers,
        "per_s": round(calls / meter.wall_s, 1),
        "server_cpu_us": meter.per_call_us("server", calls),
        "server_busy_pct": meter.busy("server"),
        "server_system_pct": meter.system_pct("server"),
        "server_switches_per_call": meter.switches_per_call("server", calls),
        "client_cpu_us": meter.per_call_us("bench", calls),
        "wall_ms": ms(meter.wall_s),
    }


def official_creates(channel: grpc.Channel, queue: str, calls: int) -> None:
    """CreateTask from one thread through the official synchronous client, as the README shows it."""
    client = tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
    for _ in range(calls):
        client.create_task(parent=queue, task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=NOWHERE)))


async def run(emu: Proc, sizes: Sizes, results: dict[str, Any], spy: PySpy | None = None) -> None:
    """Every workload at every size asked for, smallest size first, into `results` as it goes;
    py-spy at the first CreateTask size."""
    api = CloudTasks(emu.ready["grpc"])
    try:
        session = Session(emu, api, sizes, results)
        await session.setup()
        levels = sorted({*sizes.create_levels, *sizes.memory_levels, *sizes.list_levels, *sizes.get_levels})
        for level in levels:
            await session.grow_to(level)
            if level in sizes.create_levels:
                await session.create(level)
                if spy is not None and level == min(sizes.create_levels):
                    await session.profile(spy)
            if level in sizes.memory_levels:
                session.memory(level)
            if level in sizes.list_levels:
                await session.list_tasks(level)
            if level in sizes.get_levels:
                await session.get_tasks(level)
    finally:
        await api.close()
