"""A real HTTP server in the test process that records requests and answers from a script."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from aiohttp import web
from multidict import CIMultiDict


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: CIMultiDict[str]
    body: bytes
    at: float = field(default_factory=time.monotonic)


class RecordingHandler:
    """Answers each path from its script (an HTTP status, "hang", "hold" or "close"), then 200."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.scripts: dict[str, list[int | str]] = {}
        self.active: dict[str, int] = {}  # path -> requests being answered
        self.max_active: dict[str, int] = {}
        self._cond = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._holds: dict[str, asyncio.Event] = {}  # path -> released
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.url = ""

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        with self._cond:
            self.received.append(
                Received(request.method, request.path, request.query_string, CIMultiDict(request.headers), body)
            )
            script = self.scripts.get(request.path)
            action = script.pop(0) if script else 200
            self.active[request.path] = self.active.get(request.path, 0) + 1
            self.max_active[request.path] = max(self.max_active.get(request.path, 0), self.active[request.path])
            self._cond.notify_all()
        try:
            if action == "hang":
                await asyncio.sleep(3600)
            if action == "hold":
                await self._holds.setdefault(request.path, asyncio.Event()).wait()
                action = 200
            if action == "close":
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=200)
            headers = {"Location": "/elsewhere"} if action in (301, 302, 307) else {}
            return web.Response(status=int(action), text="ok", headers=headers)
        finally:
            with self._cond:
                self.active[request.path] -= 1
                self._cond.notify_all()

    def start(self) -> RecordingHandler:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        async def shutdown() -> None:
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def script(self, path: str, actions: list[int | str]) -> None:
        with self._cond:
            self.scripts[path] = list(actions)

    def release_held(self, path: str) -> None:
        self._loop.call_soon_threadsafe(lambda: self._holds.setdefault(path, asyncio.Event()).set())

    def requests_to(self, path: str) -> list[Received]:
        with self._cond:
            return [r for r in self.received if r.path == path]

    def wait_for(self, path: str, count: int, timeout_s: float = 10.0) -> list[Received]:
        """Block (bounded) until `path` got `count` requests; returns them."""
        with self._cond:
            self._cond.wait_for(lambda: len([r for r in self.received if r.path == path]) >= count, timeout_s)
        got = self.requests_to(path)
        assert len(got) >= count, f"{path}: expected {count} requests, got {len(got)}"
        return got

    def __iter__(self) -> Iterator[Received]:
        return iter(list(self.received))
