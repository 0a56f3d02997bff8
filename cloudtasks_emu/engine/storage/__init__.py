"""Where queues, tasks, tombstones, CMEK keys and batch operations live: one Protocol, one module per backend.

Callers hold a `Storage`, never a backend class. Every change is an explicit write (read, change,
`update_task(task)` / `put_queue(queue)`); nothing may rely on two reads returning the same object.
A change that must not lose another writer's (an attempt's outcome, while RunTask's attempt of the same
task may end first) goes through `change_task`, which reads and writes as one step.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from ...clock import Clock, FakeClock, SystemClock
from ...config import Settings
from ...errors import Code, EmuError
from ...model import Queue, Task
from ..journal import AttemptLog, Journal
from ..placement import OneProcess, Placement


class Inserted(enum.StrEnum):
    """What `insert_task` did."""

    OK = "OK"
    EXISTS = "EXISTS"  # a live task has the name
    TOMBSTONED = "TOMBSTONED"  # the name was used too recently
    QUEUE_CHANGED = "QUEUE_CHANGED"  # the queue is not the one `queue_for_create` gave: read it afresh


class Usage(NamedTuple):  # a tuple: read on every CreateTask, so cheap to build
    tasks: int
    task_bytes: int  # model.task_size() summed over stored tasks


class StorageError(EmuError):
    """The storage cannot be opened (locked, unreadable, unknown version): the emulator must not start."""

    def __init__(self, message: str) -> None:
        super().__init__(Code.FAILED_PRECONDITION, message)


class Storage(Protocol):
    # queues
    def get_queue(self, name: str) -> Queue | None: ...

    def queue_for_create(self, name: str) -> Queue | None:
        """The queue as a CreateTask may build on it: possibly this process's last read of it, when
        the next `insert_task` into it answers QUEUE_CHANGED should the stored queue differ."""
        ...

    def put_queue(self, queue: Queue) -> None:
        """Create or replace a queue; a tombstone of its name goes."""
        ...

    def delete_queue(self, name: str, tombstone_until_us: int) -> None:
        """Remove the queue and its tasks; its name stays tombstoned until the given time."""
        ...

    def queue_tombstoned(self, name: str) -> bool: ...

    def queues_after(self, prefix: str, after: str) -> Iterator[Queue]:
        """Queues whose names start with `prefix`, in name order, strictly after `after`."""
        ...

    # tasks
    def get_task(self, name: str) -> Task | None: ...

    def insert_task(self, queue_name: str, task: Task) -> Inserted:
        """Store a new task unless its name is live or tombstoned (or the queue changed, see above)."""
        ...

    def update_task(self, task: Task) -> bool:
        """Write back a changed task; False when it is gone."""
        ...

    def change_task(self, name: str, change: Callable[[Task], None]) -> Task | None:
        """Apply `change` to the stored task and write it back, with no other write of the task in
        between (a store shared by processes may call `change` again, on a fresher read): the task as
        written, or None when it is gone (then `change` is not called)."""
        ...

    def remove_task(self, name: str, tombstone_until_us: int) -> bool:
        """Remove a task and tombstone its name; False when it was not there."""
        ...

    def purge_tasks(self, queue_name: str, created_before_us: int, tombstone_until_us: int) -> int:
        """Remove (and tombstone) the queue's tasks created before the given time; how many went."""
        ...

    def task_tombstoned(self, name: str) -> bool: ...

    def tasks_after(self, queue_name: str, after: str) -> Iterator[Task]:
        """The queue's tasks in name order, strictly after `after` ('' for the first)."""
        ...

    def count_tasks(self, queue_name: str) -> int: ...

    def pending_schedule(self, queue_name: str) -> list[tuple[int, str]]:
        """(schedule_us, task name) of every task of the queue, oldest first: the heap's rebuild."""
        ...

    # location settings and batch operations
    def cmek_key(self, location: str) -> str: ...

    def put_cmek_key(self, location: str, key: str) -> None: ...

    def get_operation(self, name: str) -> bytes | None: ...

    def operation_for_request(self, request_key: str) -> bytes | None: ...

    def put_operation(self, name: str, request_key: str, data: bytes, keep: int) -> None:
        """Store a finished operation (serialized), keeping at most `keep`, the oldest dropped."""
        ...

    # housekeeping
    def expire_tombstones(self, now_us: int) -> None: ...

    def usage(self) -> Usage: ...

    def clear(self) -> None:
        """Forget everything stored."""
        ...

    def close(self) -> None: ...


def describe_storage(data_dir: str, database: str) -> str:
    """Where state lives, for the start and stop lines: which backend, and what survives the process."""
    if database:
        from .postgres.schema import redact

        return f"postgresql at {redact(database)} (shared, kept)"
    return f"sqlite in {data_dir} (kept)" if data_dir else "memory (tasks are lost on exit)"


@dataclass(frozen=True, slots=True)
class Backend:
    """Everything specific to a backend, opened once and handed to the scheduler at construction."""

    store: Storage
    placement: Placement  # which process dispatches which queue, where lease candidates come from
    journal: AttemptLog
    clock: Clock
    description: str  # for the start line and logs

    def close(self) -> None:
        self.store.close()


def one_process(store: Storage, clock: Clock, journal_size: int = 100, description: str = "") -> Backend:
    """A backend that this process alone uses: every queue is its own."""
    return Backend(store, OneProcess(), Journal(journal_size), clock, description)


def open_backend(settings: Settings, clock: Clock | None = None) -> Backend:
    """The backend `settings` name (see open_storage), with its placement, journal and clock (a virtual
    one with --virtual-clock, unless `clock` is given)."""
    description = describe_storage(settings.data_dir, settings.database)
    if settings.database and not settings.data_dir:
        from .postgres import open_group

        return open_group(settings, clock, description)
    store = open_storage(settings.data_dir, settings.database)
    if clock is None:
        clock = FakeClock() if settings.virtual_clock else SystemClock()
    return one_process(store, clock, settings.attempt_journal_size, description)


def open_storage(data_dir: str, database: str = "") -> Storage:
    """PostgreSQL for a `database` URL, else the memory backend for '', else SQLite in `data_dir`
    (created if missing, locked while open)."""
    if database:
        if data_dir:
            raise StorageError("--data-dir and --database are two places to keep state: give one of them.")
        from .postgres import PostgresStorage

        return PostgresStorage(database)
    if not data_dir:
        from .memory import MemoryStorage

        return MemoryStorage()
    from .sqlite import SqliteStorage

    return SqliteStorage(data_dir)


__all__ = [
    "Backend",
    "Inserted",
    "Storage",
    "StorageError",
    "Usage",
    "describe_storage",
    "one_process",
    "open_backend",
    "open_storage",
]
