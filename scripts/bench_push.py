#!/usr/bin/env python3
"""Push delivery benchmark: deliveries per second and create-to-delivery latency.

Starts the emulator and a 200-answering aiohttp handler as separate processes, then:
  1. burst: creates N tasks across Q queues at the API's maximum rate (500/s each) as fast as
     8 concurrent gRPC callers can, and reports deliveries per second;
  2. paced: creates tasks at a steady R per second and reports create-to-delivery p50/p99.
Prints a table and writes JSON (--out). Not a test: figures depend on the machine.

    python scripts/bench_push.py --tasks 10000 --queues 10 --paced-rate 50 --paced-seconds 10
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
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import grpc
from google.cloud import tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcAsyncIOTransport

HANDLER = r"""
import sys, time
from aiohttp import web
arrivals = {}
async def hit(request):
    await request.read()
    arrivals[request.headers.get("X-CloudTasks-TaskName", "")] = time.time()
    return web.Response(text="ok")
async def stats(request):
    return web.json_response(arrivals)
app = web.Application()
app.router.add_get("/_arrivals", stats)
app.router.add_route("*", "/{tail:.*}", hit)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]),
            print=lambda *a: print("ready", flush=True), access_log=None)
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(cmd: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline()


async def arrivals(handler_url: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as session, session.get(f"{handler_url}/_arrivals") as response:
        data: dict[str, float] = await response.json()
        return data


async def wait_for(handler_url: str, names: set[str], timeout_s: float) -> dict[str, float]:
    end = time.monotonic() + timeout_s
    while True:
        got = await arrivals(handler_url)
        if names <= set(got) or time.monotonic() > end:
            return got
        await asyncio.sleep(0.2)


async def burst(client: Any, queues: list[str], handler_url: str, count: int, callers: int) -> dict[str, Any]:
    names: list[str] = []
    pending = iter(range(count))

    async def caller() -> None:
        for i in pending:
            queue = queues[i % len(queues)]
            task = tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=f"{handler_url}/burst"))
            names.append((await client.create_task(parent=queue, task=task)).name)

    started = time.time()
    await asyncio.gather(*(caller() for _ in range(callers)))
    created = time.time()
    got = await wait_for(handler_url, {n.rsplit("/", 1)[1] for n in names}, timeout_s=120)
    ids = {n.rsplit("/", 1)[1] for n in names}
    delivered = [got[i] for i in ids if i in got]
    last = max(delivered) if delivered else created
    return {
        "tasks": count,
        "queues": len(queues),
        "create_per_s": round(count / (created - started), 1),
        "delivered": len(delivered),
        "deliveries_per_s": round(len(delivered) / (last - started), 1),
        "configured_cap_per_s": 500 * len(queues),
    }


async def paced(client: Any, queue: str, handler_url: str, rate: float, seconds: float) -> dict[str, Any]:
    sent: dict[str, float] = {}
    interval = 1 / rate
    start = time.monotonic()
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + i * interval - time.monotonic()))
        at = time.time()
        task = tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=f"{handler_url}/paced"))
        created = await client.create_task(parent=queue, task=task)
        sent[created.name.rsplit("/", 1)[1]] = at
    got = await wait_for(handler_url, set(sent), timeout_s=30)
    latencies = sorted((got[k] - v) * 1000 for k, v in sent.items() if k in got)
    q = statistics.quantiles(latencies, n=100)
    return {
        "rate_per_s": rate,
        "tasks": len(sent),
        "delivered": len(latencies),
        "p50_ms": round(q[49], 2),
        "p99_ms": round(q[98], 2),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    handler_port = free_port()
    handler, _ = start([sys.executable, "-c", HANDLER, str(handler_port)])
    handler_url = f"http://127.0.0.1:{handler_port}"
    emulator, line = start(
        [
            sys.executable,
            "-m",
            "cloudtasks_emu",
            "start",
            "--port",
            "0",
            "--http-port",
            "0",
            "--log-level",
            "WARNING",
        ]
    )
    ready = json.loads(line)
    try:
        channel = grpc.aio.insecure_channel(ready["grpc"])
        client = tasks_v2.CloudTasksAsyncClient(transport=CloudTasksGrpcAsyncIOTransport(channel=channel))
        parent = "projects/bench/locations/us-central1"
        run_id = uuid.uuid4().hex[:6]
        queues = []
        for i in range(args.queues):
            name = f"{parent}/queues/burst-{run_id}-{i}"
            await client.create_queue(parent=parent, queue=tasks_v2.Queue(name=name))
            queues.append(name)
        paced_queue = f"{parent}/queues/paced-{run_id}"
        await client.create_queue(parent=parent, queue=tasks_v2.Queue(name=paced_queue))
        results = {
            "burst": await burst(client, queues, handler_url, args.tasks, args.callers),
            "paced": await paced(client, paced_queue, handler_url, args.paced_rate, args.paced_seconds),
        }
        await channel.close()
        return results
    finally:
        for proc in (emulator, handler):
            proc.terminate()
            proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--queues", type=int, default=10)
    parser.add_argument("--callers", type=int, default=8)
    parser.add_argument("--paced-rate", type=float, default=50)
    parser.add_argument("--paced-seconds", type=float, default=10)
    parser.add_argument("--out", default="bench-results/push.json")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    results["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
    }
    b, p = results["burst"], results["paced"]
    print(f"{'measure':<36}{'value':>12}")
    print(f"{'burst: tasks / queues':<36}{b['tasks']:>8} / {b['queues']}")
    print(f"{'burst: creates per second':<36}{b['create_per_s']:>12}")
    print(f"{'burst: deliveries per second':<36}{b['deliveries_per_s']:>12}  (cap {b['configured_cap_per_s']})")
    print(f"{'burst: delivered':<36}{b['delivered']:>12}")
    print(f"{'paced: rate per second':<36}{p['rate_per_s']:>12}")
    print(f"{'paced: create-to-delivery p50 ms':<36}{p['p50_ms']:>12}")
    print(f"{'paced: create-to-delivery p99 ms':<36}{p['p99_ms']:>12}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
