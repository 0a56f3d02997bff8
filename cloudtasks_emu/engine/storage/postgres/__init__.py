"""The PostgreSQL backend (`--database`), everything of it in this folder: the store (store.py), its
schema and connections (schema.py), what only a shared store does (shared.py), the group of processes
over it (group.py) and the group's clock and journal (shared_state.py)."""

from __future__ import annotations

from .store import PostgresStorage

__all__ = ["PostgresStorage"]
