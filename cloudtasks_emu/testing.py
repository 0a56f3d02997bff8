"""Test helpers for users' suites (and ours): the emulator as a subprocess or in this process, and a
recording handler.

Imports neither the generated protos nor the official client, so it is safe in any test process;
`InProcessEmulator` (cloudtasks_emu/inprocess.py) loads the emulator itself when first named.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Self

from aiohttp import web
from multidict import CIMultiDict

if TYPE_CHECKING:
    from .inprocess import InProcessEmulator

__all__ = ["EmulatorHarness", "EmulatorProcess", "FaultInjector", "InProcessEmulator", "Received", "RecordingHandler"]


def __getattr__(name: str) -> Any:
    if name == "InProcessEmulator":
        from .inprocess import InProcessEmulator

        return InProcessEmulator
    raise AttributeError(name)


class EmulatorHarness:
    """The emulator's admin API as methods: what `EmulatorProcess` and `InProcessEmulator` share.

    A subclass starts an emulator, then calls `_ready(ready)` with its ready line, and gives `stop()`."""

    ready: dict[str, Any]  # the whole ready line
    address: str
    grpc: str
    http: str

    def _ready(self, ready: dict[str, Any]) -> None:
        self.ready = ready
        # One address serves every protocol: gRPC at host:port, REST and admin at http://host:port.
        self.address = ready["address"]
        self.grpc = self.address
        self.http = f"http://{self.address}"

    def stop(self) -> int:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One admin API call; answers with the JSON body, errors included."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.http}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            with error:
                return json.load(error)

    def now(self) -> float:
        """The emulator's clock in epoch seconds: with --virtual-clock, real time at the last reset plus
        every advance since; compute `schedule_time`s from it, not from time.time()."""
        return float(self.call("GET", "/_emu/clock")["now"])

    def advance(self, seconds: float) -> None:
        self.call("POST", "/_emu/clock:advance", {"seconds": seconds})

    def drain(self, queue: str = "", timeout_s: float = 20) -> None:
        """Wait until nothing due remains undelivered (in one queue, or all).

        Raises:
            LookupError: no such queue (the message names the closest known ones), or a queue ID
                that several queues share (the message names them).
            TimeoutError: still busy after `timeout_s`.
        """
        body: dict[str, Any] = {"timeout": timeout_s}
        if queue:
            body["queue"] = queue
        answer = self.call("POST", "/_emu/drain", body)
        _raise_unknown_queue(answer)
        if answer != {"idle": True}:
            raise TimeoutError(f"the emulator did not go idle: {answer}")

    def reset(self, queue: str = "", keep_clock: bool = False) -> None:
        """Back to the start-up state (queues from --queue and --config as declared), or forget one queue.
        A virtual clock moves to real now (forward only for one queue) unless `keep_clock`."""
        body: dict[str, Any] = {"queue": queue} if queue else {}
        if keep_clock:
            body["keep_clock"] = True
        answer = self.call("POST", "/_emu/reset", body)
        if "error" in answer:
            raise LookupError(answer["error"]["message"])

    def attempts(self, queue: str = "") -> list[dict[str, Any]]:
        """Recent dispatch attempts, oldest first. Raises LookupError for a queue that does not exist."""
        suffix = f"?queue={urllib.parse.quote(queue)}" if queue else ""
        answer = self.call("GET", f"/_emu/attempts{suffix}")
        _raise_unknown_queue(answer)
        return list(answer["attempts"])

    @property
    def faults(self) -> FaultInjector:
        return FaultInjector(self)


class EmulatorProcess(EmulatorHarness):
    """`cloudtasks-emu start` on free ports, with its admin API as methods."""

    def __init__(self, *args: str, timeout_s: float = 20.0, stderr: IO[str] | None = None) -> None:
        """Start it and wait for its ready line; `stderr` (an open file) receives its log."""
        self._terminated = False
        cmd = [sys.executable, "-m", "cloudtasks_emu", "start", "--port", "0", "--http-port", "0", *args]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
        lines: queue.Queue[str] = queue.Queue()
        stdout = self.process.stdout
        assert stdout is not None
        threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
        try:
            ready = json.loads(lines.get(timeout=timeout_s))
        except (queue.Empty, ValueError) as error:
            self.stop()
            raise RuntimeError(f"emulator did not start (exit code {self.process.returncode})") from error
        self._ready(ready)

    def terminate(self) -> None:
        """Ask for a graceful stop (SIGTERM) once; a second signal would make it exit at once."""
        if not self._terminated and self.process.poll() is None:
            self._terminated = True
            self.process.terminate()

    def kill(self) -> int:
        """SIGKILL, as a crash or `kill -9` would; returns the exit code."""
        self.process.kill()
        try:
            return self.process.wait(timeout=10)
        finally:
            if self.process.stdout is not None:
                self.process.stdout.close()

    def stop(self) -> int:
        """SIGTERM, then wait (bounded); returns the exit code."""
        self.terminate()
        try:
            return self.process.wait(timeout=10)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=10)
            if self.process.stdout is not None:
                self.process.stdout.close()


def _raise_unknown_queue(answer: Any) -> None:
    """LookupError for a queue that does not exist, or a queue ID that several queues share."""
    if isinstance(answer, dict) and ("known_queues" in answer or "matching_queues" in answer):
        raise LookupError(answer["error"]["message"])


class FaultInjector:
    """Faults on demand through the admin API (/_emu/faults); each method returns the fault as JSON."""

    def __init__(self, emulator: EmulatorHarness) -> None:
        self.emulator = emulator

    def add(self, **fields: Any) -> dict[str, Any]:
        answer = self.emulator.call("POST", "/_emu/faults", {k: v for k, v in fields.items() if v is not None})
        if "error" in answer:
            raise ValueError(answer["error"]["message"])
        return dict(answer["fault"])

    def fail(
        self, code: str | int, message: str = "", *, rpc: str = "", queue: str = "", times: int | None = None
    ) -> dict[str, Any]:
        """Make matching API calls (every call, or those of `rpc` and/or `queue`) fail with `code`."""
        return self.add(code=code, message=message or None, rpc=rpc, queue=queue, times=times)

    def delay(
        self, seconds: float, *, rpc: str = "", queue: str = "", times: int | None = None, code: str | int | None = None
    ) -> dict[str, Any]:
        """Make matching API calls answer after `seconds` (real time), then fail with `code` if given."""
        return self.add(delay=seconds, rpc=rpc, queue=queue, times=times, code=code)

    def dispatch(self, url_prefix: str, action: str | int, *, times: int | None = None) -> dict[str, Any]:
        """Make push attempts to URLs under `url_prefix` "refuse", "timeout" or answer an HTTP status,
        without reaching the handler."""
        return self.add(url_prefix=url_prefix, dispatch=action, times=times)

    def list(self) -> list[dict[str, Any]]:
        return list(self.emulator.call("GET", "/_emu/faults")["faults"])

    def clear(self) -> None:
        self.emulator.call("DELETE", "/_emu/faults")


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: CIMultiDict[str]
    body: bytes
    at: float = field(default_factory=time.monotonic)


class RecordingHandler:
    """A real HTTP server on 127.0.0.1 that records every request and answers it from the script of
    its path, one action per request, then 200 once the script is used up. Actions (`script(path, [...])`):

        an int   answer with that HTTP status (301/302/307 with a Location header)
        "hang"   never answer (the emulator's dispatch deadline decides)
        "hold"   wait until release_held(path), then 200
        "slow"   wait 50 ms, then 200
        "huge"   200 with a 64 MiB body
        "close"  drop the connection without answering

    Use `url` + a path as an HTTP target, or start the emulator with --app-engine-url `url`."""

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
            if action == "huge":  # a 64 MiB answer, streamed
                response = web.StreamResponse(status=200)
                await response.prepare(request)
                chunk = b"x" * (1024 * 1024)
                for _ in range(64):
                    await response.write(chunk)
                return response
            if action == "slow":
                await asyncio.sleep(0.05)
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

    def clear(self) -> None:
        """Forget what was received and scripted (held requests stay held)."""
        with self._cond:
            self.received.clear()
            self.scripts.clear()

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
