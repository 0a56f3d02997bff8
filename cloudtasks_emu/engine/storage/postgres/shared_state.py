"""The group's virtual clock and attempt journal, kept in the database so every process shares them."""

from __future__ import annotations

import base64
import dataclasses
import json
import time

from ....clock import US, FakeClock, to_us
from ...journal import JournalEntry
from .store import PostgresStorage


class SharedClock(FakeClock):
    """The virtual clock of the group: moved through any process, stored in the database, heard by all."""

    def __init__(self, store: PostgresStorage) -> None:
        super().__init__(store.shared_now_us(to_us(time.time())) / US)
        self._store = store
        self._quiet = False  # applying what another process published: publish nothing

    def set(self, at: float) -> None:
        if not self._quiet:  # in whole microseconds, as the others will hear it
            at = to_us(at) / US
            self._store.move_shared_clock(to_us(at))
        super().set(at)

    def rebase(self, at: float) -> None:
        """A reset's jump (backwards too) is the group's: every process jumps with it."""
        self._store.move_shared_clock(to_us(at), backwards=True)
        self.heard(to_us(at) / US, backwards=True)

    def heard(self, at: float, backwards: bool = False) -> None:
        self._quiet = True
        try:
            super().rebase(at) if backwards else super().set(at)
        finally:
            self._quiet = False


class SharedJournal:
    """The attempt journal in the database, so /_emu/attempts answers for every process."""

    def __init__(self, store: PostgresStorage, size_per_queue: int) -> None:
        self.store = store
        self.size_per_queue = size_per_queue

    def record(self, entry: JournalEntry) -> None:
        if self.size_per_queue <= 0:
            return
        data = dataclasses.asdict(entry)
        data["response_excerpt"] = base64.b64encode(entry.response_excerpt).decode()
        self.store.add_attempt(entry.queue, json.dumps(data), self.size_per_queue)

    def entries(self, queue: str | None = None, limit: int | None = None) -> list[JournalEntry]:
        if limit is not None and limit <= 0:
            return []
        rows = self.store.attempts(queue, limit if limit is not None else 1_000_000)
        out = []
        for row in rows:
            data = json.loads(row)
            data["response_excerpt"] = base64.b64decode(data["response_excerpt"])
            out.append(JournalEntry(**data))
        return out

    def forget(self, queue: str) -> None:
        self.store.forget_attempts(queue)

    def clear(self) -> None:
        self.store.forget_attempts(None)
