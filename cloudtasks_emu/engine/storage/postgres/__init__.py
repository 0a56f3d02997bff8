"""The PostgreSQL backend (`--database`), everything of it in this folder: the store (store.py), its
schema and connections (schema.py), what only a shared store does (shared.py), the group of processes
over it (group.py) and the group's clock and journal (shared_state.py)."""

from __future__ import annotations

from ....clock import Clock, SystemClock
from ....config import Settings
from .. import Backend
from .group import Group
from .shared_state import SharedClock, SharedJournal
from .store import PostgresStorage


def open_group(settings: Settings, clock: Clock | None, description: str) -> Backend:
    """This process as a member of the group over `settings.database`: the shared store, the group as
    its placement, the shared journal, and the group's virtual clock (with --virtual-clock)."""
    store = PostgresStorage(settings.database)
    shared_clock = SharedClock(store) if clock is None and settings.virtual_clock else None
    clock = shared_clock or clock or SystemClock()
    group = Group(store, shared_clock)
    return Backend(store, group, SharedJournal(store, settings.attempt_journal_size), clock, description)


__all__ = ["PostgresStorage", "open_group"]
