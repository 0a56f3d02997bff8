"""Time for the engine: the real clock, or a virtual one that tests advance."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol

US = 1_000_000
# Times are kept in whole microseconds; a float second may sit a hair below its microsecond.
EPSILON_S = 1e-6


def to_us(seconds: float) -> int:
    """Epoch seconds to whole microseconds, the resolution of every stored time."""
    return round(seconds * US)


class Clock(Protocol):
    def now(self) -> float:
        """Epoch seconds (schedule_time is wall time)."""
        ...

    async def sleep_until(self, at: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    async def sleep_until(self, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.time()))


class FakeClock:
    """A clock that only moves when told to; sleepers wake in deadline order."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    async def sleep_until(self, at: float) -> None:
        if at <= self._now + EPSILON_S:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (at, next(self._seq), fut))
        await fut

    def advance(self, seconds: float) -> None:
        self.set(self._now + seconds)

    def set(self, at: float) -> None:
        """Move to `at` (never backwards) and wake every sleeper whose deadline has come."""
        self._now = max(self._now, at)
        while self._sleepers and self._sleepers[0][0] <= self._now + EPSILON_S:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                fut.set_result(None)
