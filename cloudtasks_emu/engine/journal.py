"""The attempt journal: the last N push attempts of each queue, for the admin API and the dashboard."""

from __future__ import annotations

import collections
import dataclasses
import itertools
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(slots=True, frozen=True)
class JournalEntry:
    queue: str
    task: str
    url: str
    status: int | None  # HTTP status; None when no answer came
    error: str  # "timeout" or a connection error
    latency_s: float
    at: float  # epoch seconds (emulator clock) when the attempt finished
    attempt: int  # 1 for the first attempt
    request_headers: dict[str, str] = field(default_factory=dict)
    response_excerpt: bytes = b""  # the first KB of the answer
    seq: int = 0  # order across queues


class Journal:
    """Bounded per queue, so a busy queue cannot push a quiet one's history out."""

    def __init__(self, size_per_queue: int) -> None:
        self.size_per_queue = size_per_queue
        self._queues: dict[str, collections.deque[JournalEntry]] = {}
        self._seq = itertools.count()

    def record(self, entry: JournalEntry) -> None:
        if self.size_per_queue <= 0:
            return
        entries = self._queues.get(entry.queue)
        if entries is None:
            entries = self._queues[entry.queue] = collections.deque(maxlen=self.size_per_queue)
        entries.append(dataclasses.replace(entry, seq=next(self._seq)))

    def entries(self, queue: str | None = None, limit: int | None = None) -> list[JournalEntry]:
        """Oldest first; the last `limit` of one queue, or of all queues merged by time."""
        if queue is not None:
            chosen = list(self._queues.get(queue, ()))
        else:
            chosen = sorted((e for q in self._queues.values() for e in q), key=lambda e: e.seq)
        return chosen if limit is None else chosen[-limit:] if limit > 0 else []

    def forget(self, queue: str) -> None:
        self._queues.pop(queue, None)

    def clear(self) -> None:
        self._queues.clear()


class AttemptLog(Protocol):
    """Where attempts are remembered: this process's `Journal`, or a group's in its database."""

    size_per_queue: int

    def record(self, entry: JournalEntry) -> None: ...

    def entries(self, queue: str | None = None, limit: int | None = None) -> list[JournalEntry]: ...

    def forget(self, queue: str) -> None: ...

    def clear(self) -> None: ...
