"""A queue's tasks in the order they will go out, read from its dispatch heap without popping it."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator

from ..model import Queue, Task
from .scheduler import Scheduler

ScheduleKey = tuple[int, int, str]  # (schedule_us, heap sequence or -1 while in flight, task name)


def tasks_by_schedule(
    scheduler: Scheduler, queue: Queue, after: ScheduleKey | None, limit: int, keep: Callable[[Task], bool]
) -> list[tuple[ScheduleKey, Task]]:
    """Up to `limit` kept tasks of the queue in schedule order, each with its position, after `after`.

    Reads the heap best-first (those in flight merged in at their time): O((skipped + limit) log n),
    however many tasks wait.
    """
    store, rt = scheduler.store, scheduler.runtime(queue)
    flying = sorted((t.schedule_us, -1, t.name) for t in map(store.get_task, rt.in_flight) if t is not None)
    found: list[tuple[ScheduleKey, Task]] = []
    seen: set[str] = set()
    for key in heapq.merge(flying, _heap_in_order(rt.heap)):
        if after is not None and key <= after:
            continue
        due, seq, name = key
        task = store.get_task(name)
        if task is None or name in seen or (seq >= 0 and (task.schedule_us != due or name in rt.in_flight)):
            continue  # gone, or a stale entry of a task rescheduled since
        seen.add(name)
        if keep(task):
            found.append((key, task))
            if len(found) == limit:
                break
    return found


def _heap_in_order(heap: list[ScheduleKey]) -> Iterator[ScheduleKey]:
    """A binary heap's items in order, leaving it untouched (best-first over its implicit tree)."""
    frontier = [(heap[0], 0)] if heap else []
    while frontier:
        item, i = heapq.heappop(frontier)
        yield item
        for child in (2 * i + 1, 2 * i + 2):
            if child < len(heap):
                heapq.heappush(frontier, (heap[child], child))
