"""The emulator in the test's own process: its own event loop in a background thread, on free ports.

It loads the whole emulator (grpc, aiohttp, our protos), so testing.py names it only on first use.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import logging
import threading
from typing import Any

from aiohttp import web_app

from .app import Emulator
from .cli import new_event_loop, parse_args, ready_json, settings_from
from .testing import EmulatorHarness

logger = logging.getLogger(__name__)
PACKAGE_LOGGER = logging.getLogger("cloudtasks_emu")
# Emulator.stop gives in-flight deliveries 5 s, then cancels them; the rest is closing sockets.
STOP_TIMEOUT_S = 30.0


class InProcessEmulator(EmulatorHarness):
    """`cloudtasks-emu start` with these flags, served from a thread of this process until `stop()`.

    The same harness as `EmulatorProcess` (`.drain`, `.advance`, `.attempts`, `.faults`, ...), ready in a
    fraction of a process start. Flags and `CLOUDTASKS_EMU_*` variables mean what they mean to the
    command; `--log-level` sets the `cloudtasks_emu` logger while it runs (your logging shows the lines).
    `stop()` closes every socket and ends the thread and every task it started."""

    def __init__(self, *args: str, timeout_s: float = 20.0) -> None:
        """Start it and wait (up to `timeout_s`) until both servers listen.

        Raises:
            RuntimeError: it did not start (a bad flag, a taken port, a bad --config file), with the reason.
        """
        try:
            self.settings = settings_from(parse_args(["start", "--port", "0", "--http-port", "0", *args]))
        except SystemExit as error:  # argparse has printed the reason to stderr
            raise RuntimeError(f"emulator did not start: bad flags {args!r}") from error
        self.emulator: Emulator | None = None
        self._loop = new_event_loop()
        self._stopping = asyncio.Event()
        self._started: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        self._saved_level = PACKAGE_LOGGER.level
        PACKAGE_LOGGER.setLevel(self.settings.log_level)
        self._thread = threading.Thread(target=self._run, name="cloudtasks-emu", daemon=True)
        self._thread.start()
        try:
            ready = self._started.result(timeout_s)
        except BaseException as error:
            self.stop()
            reason = "no answer in time" if isinstance(error, TimeoutError) else f"{type(error).__name__}: {error}"
            raise RuntimeError(f"emulator did not start: {reason}") from error
        self._ready(ready)

    def _run(self) -> None:
        # The runner cancels whatever is left, then closes async generators, the executor and the loop.
        with asyncio.Runner(loop_factory=lambda: self._loop) as runner:
            runner.run(self._serve())

    async def _serve(self) -> None:
        try:
            emulator = Emulator(self.settings)
            await emulator.start()
        except Exception as error:  # Emulator.start has stopped what it started
            # Without its traceback, whose frames would keep the stopped emulator (and grpc) alive.
            self._started.set_exception(error.with_traceback(None))
            return
        self.emulator = emulator
        self._started.set_result(ready_json(emulator))
        try:
            await self._stopping.wait()
        finally:
            await emulator.stop()
            this = asyncio.current_task()
            if left := sorted(repr(task.get_coro()) for task in asyncio.all_tasks() if task is not this):
                logger.warning("tasks still running after the emulator stopped: %s", ", ".join(left))

    def stop(self) -> int:
        """Stop accepting calls, let deliveries in flight finish (up to 5 s), close everything and end
        the thread; returns 0, as a clean process exit would. Safe to call twice."""
        if self._thread.is_alive():
            # RuntimeError: the loop has just closed, so the thread is ending by itself.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(STOP_TIMEOUT_S)
            if self._thread.is_alive():
                raise RuntimeError(f"the in-process emulator did not stop within {STOP_TIMEOUT_S:g} s")
        # aiohttp caches each route's middleware chain (with its app, so our whole emulator) process-wide;
        # grpc.aio ends its poller thread once the last server is collected, and ours sits in cycles.
        self.emulator = None
        clear_cache = getattr(getattr(web_app, "_cached_build_middleware", None), "cache_clear", None)
        if clear_cache is not None:
            clear_cache()
        gc.collect()
        PACKAGE_LOGGER.setLevel(self._saved_level)
        return 0
