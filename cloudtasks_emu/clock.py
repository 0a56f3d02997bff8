"""Time for the engine: the real clock, or a virtual one that tests advance.

One primitive waits for a wake-up signal or a time, whichever comes first, and leaves nothing behind
when it returns or is cancelled; `deadline(at)` bounds a block of code without an extra task.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

US = 1_000_000
# Times are kept in whole microseconds; a float second may sit a hair below its microsecond.
EPSILON_S = 1e-6


def to_us(seconds: float) -> int:
    """Epoch seconds to whole microseconds, the resolution of every stored time."""
    return round(seconds * US)


class Signal:
    """A wake-up flag that one coroutine at a time waits on (through Clock.wait); set() never blocks."""

    __slots__ = ("_set", "_waiter")

    def __init__(self) -> None:
        self._set = False
        self._waiter: asyncio.Future[None] | None = None

    def set(self) -> None:
        self._set = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    def is_set(self) -> bool:
        return self._set

    def _arm(self) -> asyncio.Future[None]:
        self._waiter = asyncio.get_running_loop().create_future()
        return self._waiter


class Clock(Protocol):
    virtual: bool  # True when time only moves when told to

    def now(self) -> float:
        """Epoch seconds (schedule_time is wall time)."""
        ...

    async def sleep_until(self, at: float) -> None: ...

    async def wait(self, signal: Signal, until: float | None) -> None:
        """Return once `signal` is set or the time `until` has come (None: no time limit)."""
        ...

    def deadline(self, at: float) -> AbstractAsyncContextManager[object]:
        """Cancel the block at time `at`, raising TimeoutError, as asyncio.timeout does."""
        ...


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class SystemClock:
    virtual = False

    def now(self) -> float:
        return time.time()

    async def sleep_until(self, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.time()))

    async def wait(self, signal: Signal, until: float | None) -> None:
        if signal.is_set():
            return
        fut = signal._arm()
        loop = asyncio.get_running_loop()
        timer = None if until is None else loop.call_later(max(0.0, until - time.time()), _resolve, fut)
        try:
            await fut
        finally:
            signal._waiter = None
            if timer is not None:
                timer.cancel()

    def deadline(self, at: float) -> AbstractAsyncContextManager[object]:
        loop = asyncio.get_running_loop()
        return asyncio.timeout_at(loop.time() + max(0.0, at - time.time()))


class _Timer:
    __slots__ = ("at", "callback", "seq")

    def __init__(self, at: float, seq: int, callback: Callable[[], None]) -> None:
        self.at, self.seq = at, seq
        self.callback: Callable[[], None] | None = callback

    def __lt__(self, other: _Timer) -> bool:
        return (self.at, self.seq) < (other.at, other.seq)


class FakeClock:
    """A clock that only moves when told to; timers fire in deadline order. A timer that is no
    longer wanted is dropped at once from the count and from the heap once it is mostly dead."""

    virtual = True

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._timers: list[_Timer] = []  # a timer's callback is None once cancelled
        self._dead = 0
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    @property
    def pending_timers(self) -> int:
        """Timers still wanted (for tests: nothing may pile up)."""
        return len(self._timers) - self._dead

    def _call_at(self, at: float, callback: Callable[[], None]) -> _Timer:
        timer = _Timer(at, next(self._seq), callback)
        heapq.heappush(self._timers, timer)
        return timer

    def _cancel(self, timer: _Timer) -> None:
        if timer.callback is None:
            return
        timer.callback = None
        self._dead += 1
        if self._dead > 32 and self._dead * 2 > len(self._timers):
            self._timers = [t for t in self._timers if t.callback is not None]
            heapq.heapify(self._timers)
            self._dead = 0

    async def sleep_until(self, at: float) -> None:
        if at <= self._now + EPSILON_S:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        timer = self._call_at(at, lambda: _resolve(fut))
        try:
            await fut
        finally:
            self._cancel(timer)

    async def wait(self, signal: Signal, until: float | None) -> None:
        if signal.is_set():
            return
        if until is not None and until <= self._now + EPSILON_S:
            await asyncio.sleep(0)
            return
        fut = signal._arm()
        timer = None if until is None else self._call_at(until, lambda: _resolve(fut))
        try:
            await fut
        finally:
            signal._waiter = None
            if timer is not None:
                self._cancel(timer)

    @asynccontextmanager
    async def _deadline(self, at: float) -> AsyncIterator[None]:
        async with asyncio.timeout(None) as timeout:
            if at <= self._now + EPSILON_S:
                timeout.reschedule(-1.0)
            timer = self._call_at(at, lambda: timeout.reschedule(-1.0))
            try:
                yield
            finally:
                self._cancel(timer)

    def deadline(self, at: float) -> AbstractAsyncContextManager[object]:
        return self._deadline(at)

    def advance(self, seconds: float) -> None:
        self.set(self._now + seconds)

    def rebase(self, at: float) -> None:
        """Jump to `at`, backwards too: only for a reset, when no task is left whose times it would break."""
        self._now = at
        self.set(at)

    def set(self, at: float) -> None:
        """Move to `at` (never backwards) and fire every timer whose time has come."""
        self._now = max(self._now, at)
        while self._timers and self._timers[0].at <= self._now + EPSILON_S:
            timer = heapq.heappop(self._timers)
            callback, timer.callback = timer.callback, None
            if callback is None:
                self._dead -= 1
            else:
                callback()


def pacific_iso(at_us: int) -> str:
    """The cloud quotes a too-late schedule time in US Pacific time."""
    from datetime import datetime
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo("America/Los_Angeles")
    except ZoneInfoNotFoundError:  # no tz database on the machine
        from datetime import UTC as zone  # type: ignore[assignment]
    return datetime.fromtimestamp(at_us // US, zone).isoformat()
