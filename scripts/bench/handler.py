"""Push target for the benchmark, run in its own process: records arrival times, fails on request.

`POST /GROUP?fail=N` records time.time() under (GROUP, X-CloudTasks-TaskName) and answers 500 to
a task's first N attempts, 200 after. `GET /_stats?group=G` gives counts, `GET /_arrivals?group=G`
every task's arrival times. Prints {"ready": true, "url": ...} once listening on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections import defaultdict
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Group:
    arrivals: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    count: int = 0
    first: float = 0.0
    last: float = 0.0


groups: defaultdict[str, Group] = defaultdict(Group)


async def hit(request: web.Request) -> web.Response:
    now = time.time()
    await request.read()
    group = groups[request.match_info["group"]]
    times = group.arrivals[request.headers.get("X-CloudTasks-TaskName", "")]
    times.append(now)
    group.count += 1
    group.first = group.first or now
    group.last = now
    failing = len(times) <= int(request.query.get("fail", "0"))
    return web.Response(status=500 if failing else 200, text="ok")


async def stats(request: web.Request) -> web.Response:
    group = groups[request.query["group"]]
    return web.json_response(
        {"tasks": len(group.arrivals), "count": group.count, "first": group.first, "last": group.last}
    )


async def arrivals(request: web.Request) -> web.Response:
    return web.json_response(groups[request.query["group"]].arrivals)


async def serve() -> None:
    app = web.Application()
    app.router.add_get("/_stats", stats)
    app.router.add_get("/_arrivals", arrivals)
    app.router.add_route("*", "/{group}", hit)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock, backlog=1024).start()
    print(json.dumps({"ready": True, "url": f"http://127.0.0.1:{sock.getsockname()[1]}"}), flush=True)
    await asyncio.Event().wait()  # serve until SIGTERM ends the process


if __name__ == "__main__":
    asyncio.run(serve())
