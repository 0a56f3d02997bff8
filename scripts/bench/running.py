"""CreateTask as users call it: into a RUNNING queue with the task scheduled an hour ahead, alone and
while 10 other queues deliver, from raw grpc.aio callers and from the official client in one thread
(the shape of a test suite); a paused queue as the reference of the older `create` section, and the
same calls against a no-op grpc.aio server (floor_server.py) in the same rounds, so that our cost
above the floor is a ratio of one run.

One emulator and one push handler for every round. Kinds alternate (forward, then reversed) so that
background load falls on each alike; figures are medians over rounds with their range. While
"delivering", 10 queues hold enough tasks to deliver at `busy_rate` each for the whole round.
"""

from __future__ import annotations

import asyncio
import datetime
import statistics
from pathlib import Path
from typing import Any

import aiohttp
import grpc
from google.cloud import tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

from . import push
from .procs import CpuMeter, Proc, start_floor, start_handler, start_ours
from .queued import NOWHERE, WARM_UP_CALLS
from .wire import PARENT, CloudTasks, queue_name, run_calls

FLOOR = "no-op grpc.aio server (the floor)"
KINDS = ("paused queue", "running queue, 1 h ahead", "running queue, 1 h ahead, 10 queues delivering", FLOOR)
BUSY_QUEUES = 10


def ahead_request(queue: str) -> bytes:
    """A small HTTP task due in an hour, so that a running queue holds it rather than sending it."""
    task = tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=NOWHERE), schedule_time=_in_an_hour())
    return bytes(tasks_v2.CreateTaskRequest.serialize(tasks_v2.CreateTaskRequest(parent=queue, task=task)))


def _in_an_hour() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)


def official_ahead(channel: grpc.Channel, queue: str, calls: int) -> None:
    client = tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
    for _ in range(calls):
        task = tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=NOWHERE), schedule_time=_in_an_hour())
        client.create_task(parent=queue, task=task)


class Round:
    def __init__(self, emu: Proc, api: CloudTasks, handler: push.Handler, floor: Proc, args: Any) -> None:
        self.emu, self.api, self.handler, self.args = emu, api, handler, args
        self.floor, self.floor_api = floor, CloudTasks(floor.ready["grpc"])
        self.wall_s = 5.0  # guess of one round's length, refined by each round

    async def setup(self) -> None:
        self.queues = {
            KINDS[0]: await self.api.create_queue("users-paused", paused=True),
            KINDS[1]: await self.api.create_queue("users-running"),
            KINDS[2]: await self.api.create_queue("users-busy"),
            FLOOR: queue_name("floor"),
        }
        rate = tasks_v2.RateLimits(max_dispatches_per_second=self.args.busy_rate, max_concurrent_dispatches=100)
        self.busy = [queue_name(f"users-deliver-{i}") for i in range(BUSY_QUEUES)]
        for queue in self.busy:
            create = tasks_v2.CreateQueueRequest(parent=PARENT, queue=tasks_v2.Queue(name=queue, rate_limits=rate))
            await self.api.call("CreateQueue", create)
            await self.api.pause(queue)
        stub = self.api.stub("CreateTask")
        for kind, queue in self.queues.items():
            stub, request = (self.floor_api if kind == FLOOR else self.api).stub("CreateTask"), ahead_request(queue)
            await run_calls(
                WARM_UP_CALLS // 4, self.args.callers, lambda stub=stub, request=request: stub(request, timeout=60)
            )

    async def one(self, kind: str) -> dict[str, Any]:
        queue, delivering = self.queues[kind], kind == KINDS[2]
        server, api = (self.floor, self.floor_api) if kind == FLOOR else (self.emu, self.api)
        before = (await self.handler.stats("users"))["count"]
        if delivering:
            per_queue = int(self.args.busy_rate * (2 * self.wall_s + 2)) + 1
            for busy in self.busy:
                await self.api.fill(busy, f"{self.handler.url}/users", per_queue)
            await asyncio.gather(*(self.api.resume(busy) for busy in self.busy))
            await asyncio.sleep(0.5)  # let the dispatchers reach their rate
        try:
            stub, request = api.stub("CreateTask"), ahead_request(queue)
            with CpuMeter(server=server) as raw:
                await run_calls(self.args.create_calls, self.args.callers, lambda: stub(request, timeout=60))
            channel = grpc.insecure_channel(server.ready["grpc"])
            try:
                with CpuMeter(server=server) as official:
                    await asyncio.to_thread(official_ahead, channel, queue, self.args.official_calls)
            finally:
                channel.close()
        finally:
            if delivering:
                await asyncio.gather(*(self.api.pause(busy) for busy in self.busy))
        delivered = (await self.handler.stats("users"))["count"] - before
        self.wall_s = raw.wall_s + official.wall_s
        return {
            "raw": (raw.per_call_us("server", self.args.create_calls), self.args.create_calls / raw.wall_s),
            "official": (
                official.per_call_us("server", self.args.official_calls),
                self.args.official_calls / official.wall_s,
            ),
            "deliveries_per_s": delivered / self.wall_s if delivering else 0.0,
        }


def _median_range(values: list[float]) -> dict[str, Any]:
    return {"median": round(statistics.median(values), 1), "range": [round(min(values), 1), round(max(values), 1)]}


async def run(args: Any, log_dir: Path) -> dict[str, Any]:
    """`args` carries create_calls, official_calls, callers, users_rounds and busy_rate."""
    samples: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    with start_ours(log_dir) as emu, start_handler(log_dir) as handler_proc, start_floor(log_dir) as floor:
        api, rounds = CloudTasks(emu.ready["grpc"]), None
        try:
            async with aiohttp.ClientSession() as http:
                rounds = Round(emu, api, push.Handler(handler_proc, http), floor, args)
                await rounds.setup()
                for number in range(args.users_rounds):
                    for kind in KINDS if number % 2 == 0 else reversed(KINDS):
                        samples[kind].append(await rounds.one(kind))
        finally:
            await api.close()
            if rounds is not None:
                await rounds.floor_api.close()
    out: dict[str, Any] = {"rounds": args.users_rounds, "busy_rate": args.busy_rate, "kinds": {}}
    for kind, runs in samples.items():
        out["kinds"][kind] = {
            mode: {
                "calls": args.create_calls if mode == "raw" else args.official_calls,
                "callers": args.callers if mode == "raw" else 1,
                "server_cpu_us": _median_range([r[mode][0] for r in runs]),
                "per_s": _median_range([r[mode][1] for r in runs]),
            }
            for mode in ("raw", "official")
        }
        out["kinds"][kind]["deliveries_per_s"] = _median_range([r["deliveries_per_s"] for r in runs])
    out["busy_over_alone"] = {
        mode: round(
            statistics.median(
                b[mode][1] / a[mode][1] for a, b in zip(samples[KINDS[1]], samples[KINDS[2]], strict=True)
            ),
            3,
        )
        for mode in ("raw", "official")
    }
    out["over_floor"] = {
        mode: round(
            statistics.median(
                r[mode][0] / f[mode][0] for r, f in zip(samples[KINDS[1]], samples[FLOOR], strict=True) if f[mode][0]
            ),
            3,
        )
        if any(f[mode][0] for f in samples[FLOOR])
        else None
        for mode in ("raw", "official")
    }
    return out


def rows(result: dict[str, Any]) -> list[list[str]]:
    table = []
    for kind, by_mode in result["kinds"].items():
        for mode in ("raw", "official"):
            m = by_mode[mode]
            label = f"raw grpc.aio x{m['callers']}" if mode == "raw" else "official client x1"
            cpu, rate = m["server_cpu_us"], m["per_s"]
            table.append(
                [
                    f"CreateTask, {label}, {kind}",
                    f"{rate['median']:.0f}/s ({rate['range'][0]:.0f}-{rate['range'][1]:.0f}); server "
                    f"{cpu['median']} us/call ({cpu['range'][0]}-{cpu['range'][1]}) over {result['rounds']} rounds",
                ]
            )
        if by_mode["deliveries_per_s"]["median"]:
            d = by_mode["deliveries_per_s"]
            table.append([f"deliveries meanwhile ({kind})", f"{d['median']:.0f}/s ({d['range'][0]}-{d['range'][1]})"])
    for mode, value in result["busy_over_alone"].items():
        table.append([f"creating while 10 queues deliver / creating alone, {mode} (calls/s)", f"{value}x"])
    for mode, value in result["over_floor"].items():
        table.append(
            [f"server CPU per CreateTask, running queue / no-op floor, {mode} (per-round median)", f"{value}x"]
        )
    return table
