"""Where a backend puts the work: which process dispatches a queue, where lease candidates come from.

A backend hands its placement over with its store (engine/storage/__init__.py, `Backend`), and the
scheduler, leases and service ask it, never which backend runs. One process (memory, SQLite) holds
every queue and leases from the scheduler's heaps: `OneProcess`. Several processes over one database
share the queues out and lease from the database's locked rows (storage/postgres/group.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from ..model import Queue, Task

DispatchStats = tuple[int, int, float]  # (executed last minute, dispatches in flight, effective rate)


class Candidates(Protocol):
    """One lease's view of a pull queue's tasks, inside whatever makes the lease atomic."""

    def oldest_tag(self) -> str | None:
        """The tag of the queue's oldest task, due or not ('' for none); None when the queue is empty."""
        ...

    def due(self, tag: str | None) -> Iterator[Task]:
        """Due tasks oldest first (of one tag, unless None); each yielded task is taken or the walk ends."""
        ...

    def take(self, task: Task) -> None:
        """The task (its lease begun) is leased: write it, before the lease is answered."""
        ...


class LeaseSource(Protocol):
    def lease(self, queue: Queue, now_us: int, max_tasks: int, pick: Callable[[Candidates], list[Task]]) -> list[Task]:
        """Run `pick` (the one lease algorithm, engine/leases.py) over the queue's candidates, atomically."""
        ...


class Host(Protocol):
    """What a placement drives: the scheduler of this process."""

    def take(self, queue: Queue) -> None: ...

    def release(self, name: str) -> None: ...

    def heard(self, queue_name: str, schedule_us: int, task_name: str) -> None: ...

    def queue_changed(self, queue: Queue) -> None: ...

    def runtime_names(self) -> list[str]:
        """The queues with state in this process."""
        ...

    def dispatch_stats_of(self, name: str) -> DispatchStats | None:
        """The queue's dispatch stats here; None when it has no state here."""
        ...

    async def drain(self, timeout_s: float, names: list[str] | None = None) -> bool: ...


class Placement(Protocol):
    # Where pull leases come from: None when the scheduler's heaps see every task (one process).
    pull_source: LeaseSource | None

    def owns(self, queue_name: str) -> bool:
        """Whether this process dispatches the push queue (and so keeps its heap)."""
        ...

    def announce(self, queue: Queue, task: Task) -> None:
        """A retry was written here for a queue another process owns: tell the owner."""
        ...

    def stats_elsewhere(self, queue: Queue) -> tuple[int | None, DispatchStats | None]:
        """For a queue with no heap here: (oldest schedule_us, the owner's published stats or None)."""
        ...

    def membership(self) -> tuple[int, list[str]] | None:
        """(this member's id, the queues it owns) in a group; None for one process."""
        ...

    async def start(self, host: Host) -> None: ...

    async def stop(self) -> None: ...

    async def drain(self, here: Host, timeout_s: float, queues: list[str] | None) -> bool:
        """Wait (bounded, real time) until nothing due is undelivered wherever the queues are dispatched."""
        ...


class OneProcess:
    """Every queue is this process's, and its heaps hold every task (memory and SQLite)."""

    pull_source: LeaseSource | None = None

    def owns(self, queue_name: str) -> bool:
        return True

    def announce(self, queue: Queue, task: Task) -> None:
        pass  # never called: every queue is owned here

    def stats_elsewhere(self, queue: Queue) -> tuple[int | None, DispatchStats | None]:
        return None, None  # never called: every queue has its heap here

    def membership(self) -> tuple[int, list[str]] | None:
        return None

    async def start(self, host: Host) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def drain(self, here: Host, timeout_s: float, queues: list[str] | None) -> bool:
        return await here.drain(timeout_s, queues)
