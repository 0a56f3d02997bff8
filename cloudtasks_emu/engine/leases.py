"""Pull queues (v2beta2): lease, renew, cancel, acknowledge.

A lease is the task's schedule_time moved to the lease's end; the queue's heap holds that time,
so an expired lease makes the task leasable again with no scan and no timer.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable

from ..clock import to_us
from ..config import MAX_TAG_BYTES
from ..errors import Code, EmuError, invalid
from ..model import Attempt, PullMessage, Queue, Task
from .scheduler import Scheduler, tombstone_until_us
from .storage import SharedStorage

MAX_LEASE_S = 7 * 86400
MAX_TASKS = 1000
_FILTER = re.compile(r'\s*(?:tag\s*=\s*(?:"([^"]*)"|(\S+))|tag_function\s*=\s*oldest_tag\(\))\s*')

NOT_LEASED = "The task is not leased, its lease expired, or the schedule_time given is not the lease's."


def lease_seconds(seconds: float) -> int:
    """A lease duration truncated to whole seconds, within (0, one week]."""
    if seconds <= 0:
        raise invalid("LeaseTasksRequest.leaseDuration is required and must be positive.")
    if seconds > MAX_LEASE_S:
        raise invalid("lease_duration must be at most one week (604800s).")
    whole = int(seconds)
    if whole == 0:
        raise invalid("lease_duration must be at least one second.")
    return whole


def parse_filter(filter_: str) -> tuple[str, str | None]:
    """('', None) for no filter, ('tag', value) or ('oldest_tag', None)."""
    if not filter_.strip():
        return "", None
    match = _FILTER.fullmatch(filter_)
    if not match:
        raise invalid(f"Invalid filter {filter_!r}: use tag=<tag> or tag_function=oldest_tag().")
    if match.group(1) is None and match.group(2) is None:
        return "oldest_tag", None
    tag = match.group(1) if match.group(1) is not None else match.group(2)
    if len(tag.encode()) > MAX_TAG_BYTES:
        raise invalid(f"The tag in the filter must be at most {MAX_TAG_BYTES} bytes.")
    return "tag", tag


class Leases:
    """Lease bookkeeping over the scheduler's per-queue heaps; every call runs on the event loop."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.store = scheduler.store
        self.clock = scheduler.clock
        # Shared by several processes, the store itself leases (row locks), since no heap sees every task.
        self._shared = self.store if isinstance(self.store, SharedStorage) else None

    def lease(
        self,
        queue: Queue,
        max_tasks: int,
        duration_s: int,
        kind: str,
        tag: str | None,
        budget_bytes: int,
        size: Callable[[Task], int],
    ) -> list[Task]:
        """Lease up to `max_tasks` due tasks, oldest first, whose sizes fit in `budget_bytes`.

        `kind` and `tag` come from parse_filter(); the service has checked the request.
        """
        now_us = to_us(self.clock.now())
        until_us = now_us + duration_s * 1_000_000
        if self._shared is not None:
            return self._shared.lease_due(
                queue.name,
                now_us,
                max_tasks,
                tag if kind == "tag" else None,
                kind == "oldest_tag",
                budget_bytes,
                size,
                lambda task: _begin_lease(task, until_us, now_us),
            )
        rt = self.scheduler.runtime(queue)
        if kind == "oldest_tag":
            oldest = rt.top(self.store)
            if oldest is None:
                return []
            tag = _tag(oldest)
        # A tag filter reads that tag's own heap, so other tags' backlog costs nothing.
        heap = rt.heap if not kind else self.scheduler.tag_heap(rt, tag or "")
        leased: list[Task] = []
        while len(leased) < max_tasks:
            task = rt.top(self.store, heap)
            if task is None or task.schedule_us > now_us:
                break
            cost = size(task)
            if leased and cost > budget_bytes:
                break
            heapq.heappop(heap)
            budget_bytes -= cost
            self._start_lease(queue, task, until_us, now_us)
            leased.append(task)
        return leased

    def _start_lease(self, queue: Queue, task: Task, until_us: int, now_us: int) -> None:
        _begin_lease(task, until_us, now_us)
        self.store.update_task(task)
        self.scheduler.schedule(queue, task)

    def _reschedule(self, queue: Queue, task: Task, at_us: int, lease_until_us: int | None) -> None:
        """Write the task's new schedule (the lease's end, or now when released) and queue it there."""
        task.schedule_us = at_us
        task.lease_until_us = lease_until_us
        self.store.update_task(task)
        self.scheduler.schedule(queue, task)

    def held(self, task: Task, queue: Queue, schedule_us: int) -> None:
        """Check that the caller holds the task's live lease (proved by its schedule_time)."""
        if not isinstance(task.payload, PullMessage) or not queue.pull:
            raise EmuError(Code.FAILED_PRECONDITION, "The task is not a pull task.")
        live = task.lease_until_us == task.schedule_us and task.schedule_us > to_us(self.clock.now())
        if not live or schedule_us != task.schedule_us:
            raise EmuError(Code.FAILED_PRECONDITION, NOT_LEASED)

    def acknowledge(self, queue: Queue, task: Task, schedule_us: int) -> None:
        self.held(task, queue, schedule_us)
        self.store.remove_task(task.name, tombstone_until_us(queue, self.clock.now()))

    def renew(self, queue: Queue, task: Task, schedule_us: int, duration_s: int) -> Task:
        self.held(task, queue, schedule_us)
        until_us = to_us(self.clock.now()) + duration_s * 1_000_000
        self._reschedule(queue, task, until_us, until_us)
        return task

    def cancel(self, queue: Queue, task: Task, schedule_us: int) -> Task:
        self.held(task, queue, schedule_us)
        self._reschedule(queue, task, to_us(self.clock.now()), None)
        return task


def _begin_lease(task: Task, until_us: int, now_us: int) -> None:
    """Count the lease as an attempt and move the task's schedule_time to the lease's end."""
    attempt = Attempt(schedule_us=task.schedule_us, dispatch_us=now_us)
    task.dispatch_count += 1
    if task.first_attempt is None:
        task.first_attempt = attempt
    task.last_attempt = attempt
    task.schedule_us = task.lease_until_us = until_us


def _tag(task: Task) -> str:
    return task.payload.tag if isinstance(task.payload, PullMessage) else ""
