"""Pull queues (v2beta2): lease, renew, cancel, acknowledge.

A lease is the task's schedule_time moved to the lease's end; the queue's heap holds that time,
so an expired lease makes the task leasable again with no scan and no timer.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterator

from ..clock import US, to_us
from ..config import MAX_LEASE_S, MAX_TAG_BYTES
from ..errors import Code, EmuError, invalid
from ..model import Attempt, PullMessage, Queue, Task
from .placement import Candidates, LeaseSource
from .scheduler import Scheduler, tombstone_until_us

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


class HeapCandidates:
    """A pull queue's candidates from the scheduler's heaps: the heap is this process's, so no lock."""

    def __init__(self, scheduler: Scheduler, queue: Queue, now_us: int) -> None:
        self.scheduler, self.queue, self.now_us = scheduler, queue, now_us
        self.rt = scheduler.runtime(queue)
        self.heap = self.rt.heap

    def oldest_tag(self) -> str | None:
        oldest = self.rt.top(self.scheduler.store)
        return None if oldest is None else _tag(oldest)

    def due(self, tag: str | None) -> Iterator[Task]:
        # A tag filter reads that tag's own heap, so other tags' backlog costs nothing.
        self.heap = self.rt.heap if tag is None else self.scheduler.tag_heap(self.rt, tag)
        while (task := self.rt.top(self.scheduler.store, self.heap)) is not None and task.schedule_us <= self.now_us:
            yield task

    def take(self, task: Task) -> None:
        heapq.heappop(self.heap)
        self.scheduler.store.update_task(task)
        self.scheduler.schedule(self.queue, task)


class HeapSource:
    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    def lease(self, queue: Queue, now_us: int, max_tasks: int, pick: Callable[[Candidates], list[Task]]) -> list[Task]:
        return pick(HeapCandidates(self.scheduler, queue, now_us))


class Leases:
    """Lease bookkeeping over the scheduler's per-queue heaps; every call runs on the event loop."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.store = scheduler.store
        self.clock = scheduler.clock
        # Where the backend's placement says candidates come from; by default the scheduler's heaps.
        self.source: LeaseSource = scheduler.placement.pull_source or HeapSource(scheduler)

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
        until_us = now_us + duration_s * US

        def pick(candidates: Candidates) -> list[Task]:
            chosen = tag
            if kind == "oldest_tag":
                chosen = candidates.oldest_tag()
                if chosen is None:
                    return []
            leased: list[Task] = []
            budget = budget_bytes
            for task in candidates.due(chosen if kind else None):
                cost = size(task)
                if leased and cost > budget:
                    break
                budget -= cost
                _begin_lease(task, until_us, now_us)
                candidates.take(task)
                leased.append(task)
                if len(leased) == max_tasks:
                    break
            return leased

        return self.source.lease(queue, now_us, max_tasks, pick)

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
        until_us = to_us(self.clock.now()) + duration_s * US
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
