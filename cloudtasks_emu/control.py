"""The emulator's own controls beside the API, for the admin API: clock, drain, reset, attempts, faults.

A narrow face of the service and its engine, so that the admin API reaches nothing else.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from typing import Any

from . import names, queue_hints
from .clock import Clock, FakeClock
from .errors import Code, EmuError, invalid
from .faults import Fault, Faults
from .service import TasksService


class UnknownQueue(EmuError):
    """NOT_FOUND for a queue named to drain or list attempts of, with the names that do exist.

    `extra` goes into the admin API's error body beside Google's fields."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(Code.NOT_FOUND, queue_hints.unknown_queue(name, known))
        self.extra: dict[str, list[str]] = {"known_queues": known}


class AmbiguousQueue(UnknownQueue):
    """INVALID_ARGUMENT for a queue ID that several queues (in other projects or locations) share."""

    def __init__(self, queue_id: str, matches: list[str]) -> None:
        message = f"queue ID {queue_id} names {len(matches)} queues: {', '.join(matches)}; give the full name"
        EmuError.__init__(self, Code.INVALID_ARGUMENT, message)
        self.extra = {"matching_queues": matches}


def _matching(queue_id: str, known: list[str]) -> list[str]:
    return sorted(name for name in known if names.short_id(name) == queue_id)


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

    def resolve(self, queue: str) -> str:
        """The full name of `queue`, given by full name or by a queue ID that one queue has ("" stays "").

        Raises:
            UnknownQueue: no such queue (the message names the closest ones).
            AmbiguousQueue: queues in several projects or locations have this ID.
        """
        if not queue or self._service.find_queue(queue) is not None:
            return queue
        known = self._service.queue_names()
        matches = [] if "/" in queue else _matching(queue, known)
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise AmbiguousQueue(queue, matches)
        raise UnknownQueue(queue, known)

    def add_fault(self, data: dict[str, Any]) -> Fault:
        """A fault's queue may be a full name or an ID, even of a queue not created yet, but not an ID
        that existing queues share: the fault would act on all of them."""
        queue = data.get("queue")
        matches = _matching(queue, self._service.queue_names()) if isinstance(queue, str) and "/" not in queue else []
        if len(matches) > 1:
            raise AmbiguousQueue(str(queue), matches)
        return self.faults.add(data)

    async def drain(self, timeout_s: float, queue: str = "") -> bool:
        """Wait until nothing due is undelivered; UnknownQueue for a queue that does not exist."""
        if not (math.isfinite(timeout_s) and timeout_s >= 0):
            raise invalid(f"timeout must be a number of seconds from 0, not {timeout_s!r}")
        queue = self.resolve(queue)
        return await self._service.drain(min(timeout_s, 600), [queue] if queue else None)

    def reset(self, queue: str = "", keep_clock: bool = False) -> None:
        """Forget one queue, or go back to the start-up state (faults cleared). A virtual clock moves to
        real now unless `keep_clock`: for one queue forward only, since other queues keep their tasks."""
        queue = self.resolve(queue)
        clock = self._clock if isinstance(self._clock, FakeClock) and not keep_clock else None
        if clock is not None and not queue:  # before the reset, so start-up queues come back at the new time
            clock.rebase(time.time())
        self._service.reset(queue)
        if clock is not None and queue:
            clock.set(time.time())
        if not queue:
            self.faults.clear()

    def group_json(self) -> dict[str, Any]:
        """With --database: this process's member id and the push queues it dispatches."""
        membership = self._service.membership()
        if membership is None:
            message = "this emulator is not one of a group: start it with --database to share queues"
            raise EmuError(Code.NOT_FOUND, message)
        return {"member": membership[0], "owned": membership[1]}

    def attempts(self, queue: str = "") -> list[dict[str, Any]]:
        """Recent dispatch attempts; UnknownQueue for a queue that does not exist."""
        queue = self.resolve(queue)
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
