"""The PostgreSQL backend (`--database postgresql://...`): one state shared by several emulator processes.

Every read goes to the database, so a write through one process is seen at once through every other
(read-your-writes across the group). The one exception is the queue a CreateTask builds on: this
process's last read of it, kept with the row's `xmin` (a new one on every write of the row), and the
task's INSERT checks in the same statement that the stored queue still has that `xmin`, so a create
costs one round trip and still never uses a queue another process has changed (QUEUE_CHANGED). Tables
live in their own schema, `cloudtasks_emu`, versioned by `schema_version`. A new push task announces
itself with NOTIFY in the statement that inserts it, so the queue's owner (see engine/group.py) hears
of it with no polling and no extra round trip. psycopg 3's sync API fits the synchronous Protocol;
each call is a short statement on the event loop's thread, as with SQLite.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar

from ...errors import Code, EmuError
from ...model import PullMessage, Queue, Task, task_size
from . import Inserted, Usage
from .postgres_schema import connect, ensure_schema
from .records import dumps, load_queue, load_task

CHANNEL = "cloudtasks_emu"  # LISTEN/NOTIFY channel of the group
_CHUNK = 500
_QUEUE, _TASK = "q", "t"
_USAGE_REFRESH_S = 1.0  # other processes' creates show in usage() within this long
_TOMBSTONE_SWEEP_S = 10.0  # expired tombstones are ignored at once and deleted this often

_CLEARED = ("queues", "tasks", "tombstones", "cmek", "operations", "attempts")

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


def _end_of(prefix: str) -> str:
    """The smallest string above every string that starts with `prefix` (C collation: code points)."""
    return prefix + "\U0010ffff"


def _unavailable(method: Callable[P, R]) -> Callable[P, R]:
    """A lost database connection answers UNAVAILABLE (the client may retry) instead of INTERNAL."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except EmuError:
            raise
        except Exception as error:
            if type(error).__module__.startswith("psycopg") and getattr(args[0], "_db", None) is not None:
                args[0]._reconnect_later(error)  # type: ignore[attr-defined]
                raise EmuError(Code.UNAVAILABLE, f"The database is unavailable: {error}".strip()) from error
            raise

    return wrapper


class PostgresStorage:
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
        self._queues: dict[str, tuple[str, Queue]] = {}  # name -> (xmin, queue) as last read here
        self._cursor: Any = None

    def _reconnect_later(self, error: BaseException) -> None:
        self._broken = True

    def _conn(self) -> Any:
        if self._broken:
            self._db.close()
            self._db = connect(self.url)
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
    @_unavailable
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

    @_unavailable
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

    @_unavailable
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

    @_unavailable
    def queue_tombstoned(self, name: str) -> bool:
        return self._tombstoned(_QUEUE, name)

    def queues_after(self, prefix: str, after: str) -> Iterator[Queue]:
        # (no queue is named just `prefix`, which ends in "/" or is empty)
        return self._walk("queues", max(prefix, after), _end_of(prefix), load_queue)

    def _walk(self, table: str, low: str, high: str, load: Callable[[str], T]) -> Iterator[T]:
        """Rows of `table` named strictly between `low` and `high`, in name order, _CHUNK at a time
        (so no cursor stays open while the caller writes)."""
        while True:
            rows = (
                self._conn()
                .execute(
                    f"SELECT name, data FROM {table} WHERE name > %s AND name < %s ORDER BY name LIMIT %s",
                    (low, high, _CHUNK),
                )
                .fetchall()
            )
            for _, data in rows:
                yield load(data)
            if len(rows) < _CHUNK:
                return
            low = rows[-1][0]

    @_unavailable
    def push_queue_names(self) -> list[str]:
        """Every push queue, for the group's ownership (engine/group.py)."""
        return [row[0] for row in self._conn().execute("SELECT name FROM queues WHERE NOT pull ORDER BY name")]

    # tasks
    @_unavailable
    def get_task(self, name: str) -> Task | None:
        row = self._one("SELECT data FROM tasks WHERE name = %s", (name,))
        return None if row is None else load_task(row[0])

    @_unavailable
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
            "WHERE EXISTS (SELECT 1 FROM queues WHERE name = %s AND xmin::text = %s) AND NOT EXISTS "
            "(SELECT 1 FROM tombstones WHERE kind = %s AND name = %s AND until_us > %s) "
            f"ON CONFLICT DO NOTHING RETURNING name) SELECT {then} FROM added",
            (*row_values, *same_queue, *tombstone, *wake),
        )
        if row is not None:
            self._counted(1, size)
            return Inserted.OK
        if self._one("SELECT 1 FROM queues WHERE name = %s AND xmin::text = %s", (queue_name, read)) is None:
            self._queues.pop(queue_name, None)
            return Inserted.QUEUE_CHANGED
        return Inserted.TOMBSTONED if self._tombstoned(_TASK, task.name) else Inserted.EXISTS

    @_unavailable
    def update_task(self, task: Task) -> bool:
        cursor = self._conn().execute(
            "UPDATE tasks SET schedule_us = %s, data = %s WHERE name = %s", (task.schedule_us, dumps(task), task.name)
        )
        return bool(cursor.rowcount == 1)

    @_unavailable
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

    @_unavailable
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

    @_unavailable
    def task_tombstoned(self, name: str) -> bool:
        return self._tombstoned(_TASK, name)

    def tasks_after(self, queue_name: str, after: str) -> Iterator[Task]:
        prefix = queue_name + "/tasks/"
        return self._walk("tasks", max(after, prefix), _end_of(prefix), load_task)

    @_unavailable
    def count_tasks(self, queue_name: str) -> int:
        return int(self._one("SELECT COUNT(*) FROM tasks WHERE queue = %s", (queue_name,))[0])

    @_unavailable
    def pending_schedule(self, queue_name: str) -> list[tuple[int, str]]:
        rows = self._conn().execute(
            "SELECT schedule_us, name FROM tasks WHERE queue = %s ORDER BY schedule_us, name", (queue_name,)
        )
        return [(due, name) for due, name in rows]

    @_unavailable
    def oldest_schedule_us(self, queue_name: str) -> int | None:
        row = self._one("SELECT MIN(schedule_us) FROM tasks WHERE queue = %s", (queue_name,))
        return None if row[0] is None else int(row[0])

    @_unavailable
    def lease_due(
        self,
        queue_name: str,
        now_us: int,
        max_tasks: int,
        tag: str | None,
        oldest_tag: bool,
        budget_bytes: int,
        size: Callable[[Task], int],
        start: Callable[[Task], None],
    ) -> list[Task]:
        """Lease up to `max_tasks` due tasks, oldest first, atomically across the group: the rows are
        locked (SKIP LOCKED: a concurrent lease takes others) and written back by `start` before commit."""
        db = self._conn()
        with db.transaction():
            if oldest_tag:
                row = db.execute(
                    "SELECT tag FROM tasks WHERE queue = %s ORDER BY schedule_us, name LIMIT 1", (queue_name,)
                ).fetchone()
                if row is None:
                    return []
                tag = row[0] or ""
            where = "queue = %s AND schedule_us <= %s" + ("" if tag is None else " AND tag = %s")
            params: tuple[Any, ...] = (queue_name, now_us) if tag is None else (queue_name, now_us, tag)
            rows = db.execute(
                f"SELECT data FROM tasks WHERE {where} ORDER BY schedule_us, name LIMIT %s FOR UPDATE SKIP LOCKED",
                (*params, max_tasks),
            ).fetchall()
            leased: list[Task] = []
            for (data,) in rows:
                task = load_task(data)
                cost = size(task)
                if leased and cost > budget_bytes:
                    break
                budget_bytes -= cost
                start(task)
                leased.append(task)
            if leased:
                db.cursor().executemany(
                    "UPDATE tasks SET schedule_us = %s, data = %s WHERE name = %s",
                    [(task.schedule_us, dumps(task), task.name) for task in leased],
                )
        return leased

    # location settings and batch operations
    @_unavailable
    def cmek_key(self, location: str) -> str:
        row = self._one("SELECT key FROM cmek WHERE location = %s", (location,))
        return "" if row is None else str(row[0])

    @_unavailable
    def put_cmek_key(self, location: str, key: str) -> None:
        self._conn().execute(
            "INSERT INTO cmek VALUES (%s, %s) ON CONFLICT (location) DO UPDATE SET key = EXCLUDED.key", (location, key)
        )

    @_unavailable
    def get_operation(self, name: str) -> bytes | None:
        row = self._one("SELECT data FROM operations WHERE name = %s", (name,))
        return None if row is None else bytes(row[0])

    @_unavailable
    def operation_for_request(self, request_key: str) -> bytes | None:
        row = self._one("SELECT data FROM operations WHERE request_key = %s ORDER BY seq DESC LIMIT 1", (request_key,))
        return None if row is None else bytes(row[0])

    @_unavailable
    def put_operation(self, name: str, request_key: str, data: bytes, keep: int) -> None:
        db = self._conn()
        with db.transaction():
            db.execute(
                "INSERT INTO operations (name, request_key, data) VALUES (%s, %s, %s)", (name, request_key, data)
            )
            db.execute("DELETE FROM operations WHERE seq <= (SELECT MAX(seq) FROM operations) - %s", (keep,))

    # attempts, shared so that /_emu/attempts answers for the whole group
    @_unavailable
    def add_attempt(self, queue_name: str, data: str, keep: int) -> None:
        db = self._conn()
        row = db.execute(
            "INSERT INTO attempts (queue, data) VALUES (%s, %s) RETURNING seq", (queue_name, data)
        ).fetchone()
        if row[0] % max(1, keep // 4 or 1) == 0:  # trim now and then, not on every attempt
            db.execute(
                "DELETE FROM attempts WHERE queue = %s AND seq <= (SELECT seq FROM attempts WHERE queue = %s "
                "ORDER BY seq DESC OFFSET %s LIMIT 1)",
                (queue_name, queue_name, keep),
            )

    @_unavailable
    def attempts(self, queue_name: str | None, limit: int) -> list[str]:
        """The latest `limit` attempts (serialized), oldest first."""
        if queue_name is None:
            sql, params = "SELECT data FROM attempts ORDER BY seq DESC LIMIT %s", (limit,)
        else:
            sql = "SELECT data FROM attempts WHERE queue = %s ORDER BY seq DESC LIMIT %s"
            params = (queue_name, limit)  # type: ignore[assignment]
        return [row[0] for row in self._conn().execute(sql, params)][::-1]

    @_unavailable
    def forget_attempts(self, queue_name: str | None) -> None:
        if queue_name is None:
            self._conn().execute("DELETE FROM attempts")
        else:
            self._conn().execute("DELETE FROM attempts WHERE queue = %s", (queue_name,))

    # the group's virtual clock
    @_unavailable
    def shared_now_us(self, proposed_us: int) -> int:
        """The group's virtual time: the stored one, or `proposed_us` when this is the first process."""
        self._conn().execute("INSERT INTO clock VALUES (1, %s) ON CONFLICT DO NOTHING", (proposed_us,))
        return int(self._one("SELECT now_us FROM clock WHERE id = 1")[0])

    @_unavailable
    def move_shared_clock(self, at_us: int, backwards: bool = False) -> None:
        """Move the group's virtual time forward (or, for a reset, to `at_us` exactly) and tell every process."""
        db = self._conn()
        with db.transaction():
            row = db.execute(
                "UPDATE clock SET now_us = CASE WHEN %s THEN %s ELSE GREATEST(now_us, %s) END WHERE id = 1 "
                "RETURNING now_us",
                (backwards, at_us, at_us),
            ).fetchone()
            db.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{'C' if backwards else 'c'}|{row[0]}"))

    # housekeeping
    @_unavailable
    def expire_tombstones(self, now_us: int) -> None:
        self._now_us = max(self._now_us, now_us)
        if time.monotonic() - self._swept_at < _TOMBSTONE_SWEEP_S:
            return  # the common case costs no query: the checks already ignore expired ones
        self._swept_at = time.monotonic()
        self._conn().execute("DELETE FROM tombstones WHERE until_us <= %s", (self._now_us,))

    @_unavailable
    def usage(self) -> Usage:
        """Counts of the whole group, refreshed now and then; this process's own writes count at once."""
        if time.monotonic() - self._usage_at >= _USAGE_REFRESH_S:
            count, size = self._one("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM tasks")
            self._usage = Usage(int(count), int(size))
            self._usage_at = time.monotonic()
        return self._usage

    @_unavailable
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
