"""Pull queues (v2beta2, official async client): lease + acknowledge cycles per second with N workers."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
from google.cloud import tasks_v2beta2 as b2
from google.cloud.tasks_v2beta2.services.cloud_tasks.transports import CloudTasksGrpcAsyncIOTransport
from google.protobuf import duration_pb2

from .procs import CpuMeter, Proc
from .wire import PARENT


def client_for(address: str) -> tuple[b2.CloudTasksAsyncClient, grpc.aio.Channel]:
    channel = grpc.aio.insecure_channel(address)
    return b2.CloudTasksAsyncClient(transport=CloudTasksGrpcAsyncIOTransport(channel=channel)), channel


async def cycles(emu: Proc, tasks: int, workers: int, batch: int) -> dict[str, Any]:
    """Create `tasks` pull tasks, then `workers` each lease `batch` at a time and acknowledge each one."""
    address = emu.ready["grpc"]
    client, channel = client_for(address)
    queue = f"{PARENT}/queues/pull"
    try:
        await client.create_queue(parent=PARENT, queue=b2.Queue(name=queue, pull_target={}))
        created = time.perf_counter()
        for start in range(0, tasks, 100):
            await asyncio.gather(
                *(
                    client.create_task(parent=queue, task=b2.Task(pull_message=b2.PullMessage(payload=b"x" * 64)))
                    for _ in range(min(100, tasks - start))
                )
            )
        create_s = time.perf_counter() - created
    finally:
        await channel.close()
    done = 0

    async def worker() -> None:
        nonlocal done
        mine, own_channel = client_for(address)
        lease = duration_pb2.Duration(seconds=600)
        try:
            for _ in range(tasks // batch + 2):  # bounded: every task is leased once
                response = await mine.lease_tasks(
                    request={"parent": queue, "max_tasks": batch, "lease_duration": lease}
                )
                if not response.tasks:
                    return
                for task in response.tasks:
                    await mine.acknowledge_task(name=task.name, schedule_time=task.schedule_time)
                    done += 1
        finally:
            await own_channel.close()

    with CpuMeter(server=emu) as meter:
        await asyncio.gather(*(worker() for _ in range(workers)))
    return {
        "tasks": tasks,
        "workers": workers,
        "batch": batch,
        "acknowledged": done,
        "cycles_per_s": round(done / meter.wall_s, 1),
        "server_cpu_us_per_cycle": meter.per_call_us("server", done),
        "creates_per_s": round(tasks / create_s, 1),
    }
