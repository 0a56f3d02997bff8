"""The PostgreSQL backend (`--database postgresql://...`): one state shared by several emulator processes.

Every read goes to the database, so a write through one process is seen at once through every other
(read-your-writes across the group). The one exception is the queue a CreateTask builds on: this
process's last read of it, kept with the row's `xmin` (a new one on every write of the row), and the
task's INSERT checks in the same statement that the stored queue still has that `xmin`, so a create
costs one round trip and still never uses a queue another process has changed (QUEUE_CHANGED). Tables
live in their own schema, `cloudtasks_emu`, versioned by `schema_version`. A new push task announces
itself with NOTIFY in the statement that inserts it, so the queue's owner (see group.py) hears
of it with no polling and no extra round trip. psycopg 3's sync API fits the synchronous Protocol;
each call is a short statement on the event loop's thread, as with SQLite.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from ....errors import Code, EmuError
from ....model import PullMessage, Queue, Task, task_size
from .. import Inserted, StorageError, Usage
from ..records import dumps, load_queue, load_task
from .schema import CHANNEL, UNAVAILABLE, connect, ensure_schema, unavailable
from .shared import SharedOperations

_CHUNK = 500
_QUEUE_UNCHANGED = "SELECT 1 FROM queues WHERE name = %s AND xmin::text = %s"  # as this process read it
_QUEUE, _TASK = "q", "t"
_USAGE_REFRESH_S = 1.0  # other processes' creates show in usage() within this long, or within
_USAGE_COST_SHARE = 200  # this many times the count's own time: a big table is not scanned every second
_TOMBSTONE_SWEEP_S = 10.0  # expired tombstones are ignored at once and deleted this often

_CLEARED = ("queues", "tasks", "tombstones", "cmek", "operations", "attempts", "queue_stats")

T = TypeVar("T")


def _end_of(prefix: str) -> str:
    """The smallest string above every string that starts with `prefix` (C collation: code points)."""
    return prefix + "\U0010ffff"


class PostgresStorage(SharedOperations):
    """Shared by every process of the group; `backend_pid` tells this process's own NOTIFYs apart."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._db = connect(url)
        self._broken = False
        try:
            ensure_schema(self._db, url)
        except BaseException:
            self._db.close()
            raise
        self.backend_pid: int = self._db.info.backend_pid
        self._now_us = 0  # the latest time given to expire_tombstones: older tombstones do not count
        self._swept_at = 0.0
        self._usage_at = -_USAGE_REFRESH_S
        self._usage = Usage(0, 0)
        self._usage_every_s = _USAGE_REFRESH_S
        self._queues: dict[str, tuple[str, Queue]] = {}  # name -> (xmin, queue) as last read here
        self._cursor: Any = None

    def _reconnect_later(self, error: BaseException) -> None:
        self._broken = True

    def _conn(self) -> Any:
        if self._broken:
            self._db.close()
            try:
                self._db = connect(self.url)
            except StorageError as error:  # still down: the caller may retry, as for the first lost call
                raise EmuError(Code.UNAVAILABLE, f"{UNAVAILABLE}: {error.message}") from error
            self.backend_pid = self._db.info.backend_pid
            self._broken = False
            self._cursor = None
        return self._db

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        # One cursor for single-row statements: a new cursor per call costs more than the call's own Python.
        db = self._conn()
        if self._cursor is None:
            self._cursor = db.cursor()
        return self._cursor.execute(sql, params).fetchone()

    def _tombstoned(self, kind: str, name: str) -> bool:
        return (
            self._one(
                "SELECT 1 FROM tombstones WHERE kind = %s AND name = %s AND until_us > %s", (kind, name, self._now_us)
            )
            is not None
        )

    def _counted(self, tasks: int, size: int) -> None:
        self._usage = Usage(self._usage.tasks + tasks, self._usage.task_bytes + size)

    # queues
    @unavailable
    def get_queue(self, name: str) -> Queue | None:
        row = self._one("SELECT xmin::text, data FROM queues WHERE name = %s", (name,))
        if row is None:
            self._queues.pop(name, None)
            return None
        queue = load_queue(row[1])
        self._queues[name] = (row[0], queue)
        return queue

    def queue_for_create(self, name: str) -> Queue | None:
        known = self._queues.get(name)
        return self.get_queue(name) if known is None else known[1]

    @unavailable
    def put_queue(self, queue: Queue) -> None:
        db = self._conn()
        with db.transaction():
            (xmin,) = db.execute(
                "INSERT INTO queues VALUES (%s, %s, %s) ON CONFLICT (name) DO UPDATE SET data = EXCLUDED.data "
                "RETURNING xmin::text",
                (queue.name, queue.pull, dumps(queue)),
            ).fetchone()
            db.execute("DELETE FROM tombstones WHERE kind = %s AND name = %s", (_QUEUE, queue.name))
            db.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"q|{queue.name}"))
        self._queues[queue.name] = (xmin, queue)

    @unavailable
    def delete_queue(self, name: str, tombstone_until_us: int) -> None:
        db = self._conn()
        with db.transaction():
            count, size = db.execute(
                "WITH gone AS (DELETE FROM tasks WHERE queue = %s RETURNING size) "
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM gone",
                (name,),
            ).fetchone()
            db.execute("DELETE FROM queues WHERE name = %s", (name,))
            db.execute("DELETE FROM attempts WHERE queue = %s", (name,))
            db.execute("DELETE FROM queue_stats WHERE name = %s", (name,))
            self._tombstone(db, _QUEUE, [name], tombstone_until_us)
            db.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"q|{name}"))
        self._queues.pop(name, None)
        self._counted(-count, -int(size))

    def _tombstone(self, db: Any, kind: str, names: list[str], until_us: int) -> None:
        db.execute(
            "INSERT INTO tombstones SELECT %s, unnest(%s::text[]), %s "
            "ON CONFLICT (kind, name) DO UPDATE SET until_us = EXCLUDED.until_us",
            (kind, names, until_us),
        )

    @unavailable
    def queue_tombstoned(self, name: str) -> bool:
        return self._tombstoned(_QUEUE, name)

    def queues_after(self, prefix: str, after: str) -> Iterator[Queue]:
        # (no queue is named just `prefix`, which ends in "/" or is empty)
        return self._walk("queues", max(prefix, after), _end_of(prefix), load_queue)

    def _walk(self, table: str, low: str, high: str, load: Callable[[str], T]) -> Iterator[T]:
        """Rows of `table` named strictly between `low` and `high`, in name order, _CHUNK at a time
        (so no cursor stays open while the caller writes)."""
        while True:
            rows = self._page(table, low, high)
            for _, data in rows:
                yield load(data)
            if len(rows) < _CHUNK:
                return
            low = rows[-1][0]

    @unavailable
    def _page(self, table: str, low: str, high: str) -> list[tuple[str, str]]:
        sql = f"SELECT name, data FROM {table} WHERE name > %s AND name < %s ORDER BY name LIMIT %s"
        return list(self._conn().execute(sql, (low, high, _CHUNK)).fetchall())

    @unavailable
    def push_queue_names(self) -> list[str]:
        """Every push queue, for the group's ownership (group.py)."""
        return [row[0] for row in self._conn().execute("SELECT name FROM queues WHERE NOT pull ORDER BY name")]

    # tasks
    @unavailable
    def get_task(self, name: str) -> Task | None:
        row = self._one("SELECT data FROM tasks WHERE name = %s", (name,))
        return None if row is None else load_task(row[0])

    @unavailable
    def insert_task(self, queue_name: str, task: Task) -> Inserted:
        size = task_size(task)
        pull = isinstance(task.payload, PullMessage)
        tag = task.payload.tag if isinstance(task.payload, PullMessage) else None
        # One statement: the insert (if the queue is the one this process read and the name is not
        # tombstoned) and, for a push task, the owner's wake-up.
        then = "1" if pull else "pg_notify(%s, %s)"
        read = self._queues.get(queue_name, ("", None))[0]
        row_values = (task.name, queue_name, task.create_us, task.schedule_us, size, tag, dumps(task))
        same_queue, tombstone = (queue_name, read), (_TASK, task.name, self._now_us)
        wake = () if pull else (CHANNEL, f"t|{queue_name}|{task.schedule_us}|{task.name}")
        row = self._one(
            "WITH added AS (INSERT INTO tasks SELECT %s, %s, %s, %s, %s, %s, %s "
            f"WHERE EXISTS ({_QUEUE_UNCHANGED}) AND NOT EXISTS "
            "(SELECT 1 FROM tombstones WHERE kind = %s AND name = %s AND until_us > %s) "
            f"ON CONFLICT DO NOTHING RETURNING name) SELECT {then} FROM added",
            (*row_values, *same_queue, *tombstone, *wake),
        )
        if row is not None:
            self._counted(1, size)
            return Inserted.OK
        if self._one(_QUEUE_UNCHANGED, same_queue) is None:
            self._queues.pop(queue_name, None)
            return Inserted.QUEUE_CHANGED
        return Inserted.TOMBSTONED if self._tombstoned(_TASK, task.name) else Inserted.EXISTS

    @unavailable
    def update_task(self, task: Task) -> bool:
        cursor = self._conn().execute(
            "UPDATE tasks SET schedule_us = %s, data = %s WHERE name = %s", (task.schedule_us, dumps(task), task.name)
        )
        return bool(cursor.rowcount == 1)

    @unavailable
    def change_task(self, name: str, change: Callable[[Task], None]) -> Task | None:
        # Optimistic: the write goes only if the row is still the one read (its xmin); a miss means
        # another process wrote it meanwhile, so read it again. Two round trips, no lock held.
        while True:
            row = self._one("SELECT xmin::text, data FROM tasks WHERE name = %s", (name,))
            if row is None:
                return None
            task = load_task(row[1])
            change(task)
            written = self._one(
                "UPDATE tasks SET schedule_us = %s, data = %s WHERE name = %s AND xmin::text = %s RETURNING 1",
                (task.schedule_us, dumps(task), name, row[0]),
            )
            if written is not None:
                return task

    @unavailable
    def remove_task(self, name: str, tombstone_until_us: int) -> bool:
        # One statement (so one round trip, atomic): every delivered task ends here.
        row = self._one(
            "WITH gone AS (DELETE FROM tasks WHERE name = %s RETURNING name, size), "
            "kept AS (INSERT INTO tombstones SELECT %s, name, %s FROM gone "
            "ON CONFLICT (kind, name) DO UPDATE SET until_us = EXCLUDED.until_us) SELECT size FROM gone",
            (name, _TASK, tombstone_until_us),
        )
        if row is None:
            return False
        self._counted(-1, -row[0])
        return True

    @unavailable
    def purge_tasks(self, queue_name: str, created_before_us: int, tombstone_until_us: int) -> int:
        db = self._conn()
        with db.transaction():
            rows = db.execute(
                "DELETE FROM tasks WHERE queue = %s AND create_us < %s RETURNING name, size",
                (queue_name, created_before_us),
            ).fetchall()
            self._tombstone(db, _TASK, [name for name, _ in rows], tombstone_until_us)
        self._counted(-len(rows), -sum(size for _, size in rows))
        return len(rows)

    @unavailable
    def task_tombstoned(self, name: str) -> bool:
        return self._tombstoned(_TASK, name)

    def tasks_after(self, queue_name: str, after: str) -> Iterator[Task]:
        prefix = queue_name + "/tasks/"
        return self._walk("tasks", max(after, prefix), _end_of(prefix), load_task)

    @unavailable
    def count_tasks(self, queue_name: str) -> int:
        return int(self._one("SELECT COUNT(*) FROM tasks WHERE queue = %s", (queue_name,))[0])

    @unavailable
    def pending_schedule(self, queue_name: str) -> list[tuple[int, str]]:
        rows = self._conn().execute(
            "SELECT schedule_us, name FROM tasks WHERE queue = %s ORDER BY schedule_us, name", (queue_name,)
        )
        return [(due, name) for due, name in rows]

    # location settings and batch operations
    @unavailable
    def cmek_key(self, location: str) -> str:
        row = self._one("SELECT key FROM cmek WHERE location = %s", (location,))
        return "" if row is None else str(row[0])

    @unavailable
    def put_cmek_key(self, location: str, key: str) -> None:
        self._conn().execute(
            "INSERT INTO cmek VALUES (%s, %s) ON CONFLICT (location) DO UPDATE SET key = EXCLUDED.key", (location, key)
        )

    @unavailable
    def get_operation(self, name: str) -> bytes | None:
        row = self._one("SELECT data FROM operations WHERE name = %s", (name,))
        return None if row is None else bytes(row[0])

    @unavailable
    def operation_for_request(self, request_key: str) -> bytes | None:
        row = self._one("SELECT data FROM operations WHERE request_key = %s ORDER BY seq DESC LIMIT 1", (request_key,))
        return None if row is None else bytes(row[0])

    @unavailable
    def put_operation(self, name: str, request_key: str, data: bytes, keep: int) -> None:
        db = self._conn()
        with db.transaction():
            db.execute(
                "INSERT INTO operations (name, request_key, data) VALUES (%s, %s, %s)", (name, request_key, data)
            )
            db.execute("DELETE FROM operations WHERE seq <= (SELECT MAX(seq) FROM operations) - %s", (keep,))

    # housekeeping
    @unavailable
    def expire_tombstones(self, now_us: int) -> None:
        self._now_us = max(self._now_us, now_us)
        if time.monotonic() - self._swept_at < _TOMBSTONE_SWEEP_S:
            return  # the common case costs no query: the checks already ignore expired ones
        self._swept_at = time.monotonic()
        self._conn().execute("DELETE FROM tombstones WHERE until_us <= %s", (self._now_us,))

    @unavailable
    def usage(self) -> Usage:
        """Counts of the whole group, refreshed now and then; this process's own writes count at once."""
        started = time.monotonic()
        if started - self._usage_at >= self._usage_every_s:
            count, size = self._one("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM tasks")
            self._usage = Usage(int(count), int(size))
            self._usage_at = time.monotonic()
            self._usage_every_s = max(_USAGE_REFRESH_S, _USAGE_COST_SHARE * (self._usage_at - started))
        return self._usage

    @unavailable
    def clear(self) -> None:
        """Forget everything stored, for every process of the group (they hear of it by NOTIFY)."""
        db = self._conn()
        with db.transaction():
            db.execute(f"TRUNCATE {', '.join(_CLEARED)}")
            db.execute("SELECT pg_notify(%s, 'r')", (CHANNEL,))
        self._queues.clear()
        self._usage = Usage(0, 0)
        self._usage_at = time.monotonic()

    def close(self) -> None:
        self._db.close()
