"""Where lease candidates come from: the scheduler's heap (engine/leases.py), or a shared store's locked rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from ..model import Queue, Task


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
