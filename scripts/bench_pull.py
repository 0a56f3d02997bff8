#!/usr/bin/env python3
"""Pull benchmark: lease+acknowledge cycles per second, N tasks, W concurrent workers (v2beta2 over gRPC).

    python scripts/bench_pull.py --tasks 10000 --workers 4 --batch 10
Not a test: figures depend on the machine. Writes JSON to --out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import grpc
from google.cloud import tasks_v2beta2 as b2
from google.cloud.tasks_v2beta2.services.cloud_tasks.transports import CloudTasksGrpcAsyncIOTransport
from google.protobuf import duration_pb2, timestamp_pb2


def client_for(address: str) -> tuple[Any, grpc.aio.Channel]:
    channel = grpc.aio.insecure_channel(address)
    return b2.CloudTasksAsyncClient(transport=CloudTasksGrpcAsyncIOTransport(channel=channel)), channel


async def run(args: argparse.Namespace, address: str) -> dict[str, Any]:
    client, channel = client_for(address)
    queue = f"projects/bench/locations/us-central1/queues/pull-{int(time.time())}"
    await client.create_queue(parent="projects/bench/locations/us-central1", queue=b2.Queue(name=queue, pull_target={}))
    created = time.perf_counter()
    for start in range(0, args.tasks, 100):
        await asyncio.gather(
            *(
                client.create_task(parent=queue, task=b2.Task(pull_message=b2.PullMessage(payload=b"x" * 64)))
                for _ in range(min(100, args.tasks - start))
            )
        )
    create_s = time.perf_counter() - created
    done = 0

    async def worker() -> None:
        nonlocal done
        mine, ch = client_for(address)
        lease = duration_pb2.Duration(seconds=600)
        while True:
            response = await mine.lease_tasks(
                request={"parent": queue, "max_tasks": args.batch, "lease_duration": lease}
            )
            if not response.tasks:
                break
            for task in response.tasks:
                ts = timestamp_pb2.Timestamp()
                ts.FromDatetime(task.schedule_time)
                await mine.acknowledge_task(name=task.name, schedule_time=ts)
                done += 1
        await ch.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.workers)))
    elapsed = time.perf_counter() - started
    await channel.close()
    return {
        "tasks": args.tasks,
        "workers": args.workers,
        "batch": args.batch,
        "acknowledged": done,
        "cycles_per_s": round(done / elapsed, 1),
        "creates_per_s": round(args.tasks / create_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--out", default="bench-results/pull.json")
    args = parser.parse_args()
    cmd = [sys.executable, "-m", "cloudtasks_emu", "start", "--port", "0", "--http-port", "0", "--log-level", "WARNING"]
    emulator = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert emulator.stdout is not None
        address = json.loads(emulator.stdout.readline())["grpc"]
        results = asyncio.run(run(args, address))
    finally:
        emulator.terminate()
        emulator.wait(10)
    results["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
    }
    for key in ("tasks", "workers", "batch", "acknowledged", "cycles_per_s", "creates_per_s"):
        print(f"{key:<20}{results[key]:>12}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
