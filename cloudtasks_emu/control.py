"""The emulator's own controls beside the API, for the admin API: clock, drain, reset, attempts, faults.

A narrow face of the service and its engine, so that the admin API reaches nothing else.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .clock import Clock, FakeClock
from .errors import Code, EmuError, invalid
from .faults import Faults
from .service import TasksService


class Controls:
    def __init__(self, service: TasksService, clock: Clock, faults: Faults) -> None:
        self._service = service
        self._clock = clock
        self.faults = faults

    def clock_json(self) -> dict[str, Any]:
        now = self._clock.now()
        return {
            "now": now,
            "time": dt.datetime.fromtimestamp(now, dt.UTC).isoformat().replace("+00:00", "Z"),
            "virtual": self._clock.virtual,
        }

    def move_clock(self, *, by_s: float | None = None, to: float | None = None) -> None:
        """Advance a virtual clock by `by_s` seconds or to epoch second `to`; time only moves forward."""
        clock = self._clock
        if not isinstance(clock, FakeClock):
            message = "the clock is real: start the emulator with --virtual-clock to move it"
            raise EmuError(Code.FAILED_PRECONDITION, message)
        if by_s is not None:
            if by_s < 0:
                raise invalid("time only moves forward")
            clock.advance(by_s)
        elif to is not None:
            if to < clock.now():
                raise invalid("time only moves forward")
            clock.set(to)

    async def drain(self, timeout_s: float, queue: str = "") -> bool:
        return await self._service.drain(min(timeout_s, 600), [queue] if queue else None)

    def reset(self, queue: str = "") -> None:
        """Forget one queue, or everything (faults included)."""
        self._service.reset(queue)
        if not queue:
            self.faults.clear()

    def attempts(self, queue: str = "") -> list[dict[str, Any]]:
        return [
            {
                "queue": a.queue,
                "task": a.task,
                "url": a.url,
                "status": a.status,
                "error": a.error,
                "latency_ms": round(a.latency_s * 1000, 3),
                "time": a.at,
                "retry_count": a.attempt - 1,
                "request_headers": a.request_headers,
                "response_excerpt": a.response_excerpt.decode("utf-8", errors="replace"),
            }
            for a in self._service.attempts(queue or None)
        ]
