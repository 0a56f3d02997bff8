"""The SQLite backend (`--data-dir DIR`): one database in WAL mode, durable against a killed process.

Every write commits before the call returns, so no RPC answers success before its change is on disk
(WAL with synchronous=NORMAL survives kill -9 without an fsync per commit; only a power cut may lose
the last commits). stdlib sqlite3 serves: the calls are short and run on the event loop's thread.

A write the disk refuses (full, or an I/O error) is rolled back whole and answered with an EmuError
(RESOURCE_EXHAUSTED naming the full disk, UNAVAILABLE for other I/O errors), never INTERNAL; the next
write works again once there is room. A damaged file is refused at start with one line.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ...errors import Code, EmuError
from ...model import Queue, Task, task_size
from . import Inserted, StorageError, Usage
from .records import dumps, load_queue, load_task

SCHEMA_VERSION = 1
DATABASE = "cloudtasks-emu.sqlite3"
LOCK = "cloudtasks-emu.lock"
_CHUNK = 500  # rows per query when walking a listing, so no cursor stays open across writes
_QUEUE, _TASK = "q", "t"

_SCHEMA = """
CREATE TABLE queues (name TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE tasks (
    name TEXT PRIMARY KEY, queue TEXT NOT NULL, create_us INTEGER NOT NULL,
    schedule_us INTEGER NOT NULL, size INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX tasks_by_queue ON tasks (queue, create_us);
CREATE TABLE tombstones (kind TEXT NOT NULL, name TEXT NOT NULL, until_us INTEGER NOT NULL,
    PRIMARY KEY (kind, name)) WITHOUT ROWID;
CREATE INDEX tombstones_by_time ON tombstones (until_us);
CREATE TABLE cmek (location TEXT PRIMARY KEY, key TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE operations (seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE NOT NULL,
    request_key TEXT NOT NULL, data BLOB NOT NULL);
CREATE INDEX operations_by_request ON operations (request_key);
"""


class _Connection(sqlite3.Connection):
    """A connection whose statements fail with an EmuError a client can act on, not sqlite3's own."""

    data_dir = ""

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        try:
            return super().execute(sql, parameters)
        except sqlite3.Error as error:
            raise _refusal(error, self.data_dir) from error

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> sqlite3.Cursor:
        try:
            return super().executemany(sql, parameters)
        except sqlite3.Error as error:
            raise _refusal(error, self.data_dir) from error


def _refusal(error: sqlite3.Error, data_dir: str) -> EmuError:
    """What a failed statement tells the client: the full disk by name, else that storage is unusable now."""
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF  # the primary code of an extended one
    if code == sqlite3.SQLITE_FULL:
        return EmuError(
            Code.RESOURCE_EXHAUSTED,
            f"The disk under --data-dir {data_dir} is full: nothing was written. Free some space and retry.",
        )
    if code in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY):
        # e.g. EFBIG past the file size limit, or a failing disk: SQLite does not say which.
        return EmuError(
            Code.UNAVAILABLE, f"--data-dir {data_dir} cannot be written now ({error}): nothing was written. Retry."
        )
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return EmuError(Code.INTERNAL, f"--data-dir {data_dir} holds a damaged database ({error}).")
    return EmuError(Code.INTERNAL, f"--data-dir {data_dir}: {error}.")


def _end_of(prefix: str) -> str:
    """The smallest string above every string that starts with `prefix`."""
    return prefix + "\U0010ffff"


class SqliteStorage:
    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir
        self._lock_fd = _lock(data_dir)
        path = os.path.join(data_dir, DATABASE)
        try:
            self._db = _open(path, data_dir)
            try:
                self._load()
            except (EmuError, ValueError, KeyError, TypeError) as error:  # rows that are not what we wrote
                self._db.close()
                raise _unusable(path, data_dir, error) from error
        except BaseException:
            os.close(self._lock_fd)
            raise

    def _load(self) -> None:
        # Queues are few and read on every call: kept in memory too (this process owns DIR).
        self._queues: dict[str, Queue] = {
            name: load_queue(data) for name, data in self._db.execute("SELECT * FROM queues")
        }
        self._count, self._bytes = self._db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM tasks").fetchone()
        self._next_expiry = self._earliest_tombstone()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction for a write of several statements."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:  # (SQLite rolls back by itself after some errors, disk full among them)
                self._db.execute("ROLLBACK")
            raise

    def _tombstone(self, db: sqlite3.Connection, kind: str, name: str, until_us: int) -> None:
        db.execute("INSERT OR REPLACE INTO tombstones VALUES (?, ?, ?)", (kind, name, until_us))
        self._next_expiry = min(self._next_expiry, until_us) if self._next_expiry is not None else until_us

    def _tombstoned(self, kind: str, name: str) -> bool:
        row = self._db.execute("SELECT 1 FROM tombstones WHERE kind = ? AND name = ?", (kind, name)).fetchone()
        return row is not None

    def _earliest_tombstone(self) -> int | None:
        value: int | None = self._db.execute("SELECT MIN(until_us) FROM tombstones").fetchone()[0]
        return value

    # queues
    def get_queue(self, name: str) -> Queue | None:
        return self._queues.get(name)

    queue_for_create = get_queue  # held in this process: always the stored queue

    def put_queue(self, queue: Queue) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO queues VALUES (?, ?)", (queue.name, dumps(queue)))
            db.execute("DELETE FROM tombstones WHERE kind = ? AND name = ?", (_QUEUE, queue.name))
        self._queues[queue.name] = queue

    def delete_queue(self, name: str, tombstone_until_us: int) -> None:
        with self._tx() as db:
            count, size = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM tasks WHERE queue = ?", (name,)
            ).fetchone()
            db.execute("DELETE FROM tasks WHERE queue = ?", (name,))
            db.execute("DELETE FROM queues WHERE name = ?", (name,))
            self._tombstone(db, _QUEUE, name, tombstone_until_us)
        self._queues.pop(name, None)
        self._count -= count
        self._bytes -= size

    def queue_tombstoned(self, name: str) -> bool:
        return self._tombstoned(_QUEUE, name)

    def queues_after(self, prefix: str, after: str) -> Iterator[Queue]:
        while True:
            rows = self._db.execute(
                "SELECT name FROM queues WHERE name >= ? AND name > ? AND name < ? ORDER BY name LIMIT ?",
                (prefix, after, _end_of(prefix), _CHUNK),
            ).fetchall()
            for (name,) in rows:
                queue = self._queues.get(name)
                if queue is not None:  # (deleted while the caller walked)
                    yield queue
            if len(rows) < _CHUNK:
                return
            after = rows[-1][0]

    # tasks
    def get_task(self, name: str) -> Task | None:
        row = self._db.execute("SELECT data FROM tasks WHERE name = ?", (name,)).fetchone()
        return None if row is None else load_task(row[0])

    def insert_task(self, queue_name: str, task: Task) -> Inserted:
        size = task_size(task)
        cursor = self._db.execute(
            "INSERT INTO tasks SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS "
            "(SELECT 1 FROM tombstones WHERE kind = ? AND name = ?) ON CONFLICT DO NOTHING",
            (task.name, queue_name, task.create_us, task.schedule_us, size, dumps(task), _TASK, task.name),
        )
        if cursor.rowcount == 1:
            self._count += 1
            self._bytes += size
            return Inserted.OK
        return Inserted.TOMBSTONED if self._tombstoned(_TASK, task.name) else Inserted.EXISTS

    def update_task(self, task: Task) -> bool:
        cursor = self._db.execute(
            "UPDATE tasks SET schedule_us = ?, data = ? WHERE name = ?", (task.schedule_us, dumps(task), task.name)
        )
        return cursor.rowcount == 1

    def change_task(self, name: str, change: Callable[[Task], None]) -> Task | None:
        # One connection, used on one thread, and no await in between: no write can come between.
        task = self.get_task(name)
        if task is not None:
            change(task)
            self.update_task(task)
        return task

    def remove_task(self, name: str, tombstone_until_us: int) -> bool:
        with self._tx() as db:
            row = db.execute("DELETE FROM tasks WHERE name = ? RETURNING size", (name,)).fetchone()
            if row is None:
                return False
            self._tombstone(db, _TASK, name, tombstone_until_us)
        self._count -= 1
        self._bytes -= row[0]
        return True

    def purge_tasks(self, queue_name: str, created_before_us: int, tombstone_until_us: int) -> int:
        with self._tx() as db:
            rows = db.execute(
                "DELETE FROM tasks WHERE queue = ? AND create_us < ? RETURNING name, size",
                (queue_name, created_before_us),
            ).fetchall()
            db.executemany(
                "INSERT OR REPLACE INTO tombstones VALUES (?, ?, ?)",
                [(_TASK, name, tombstone_until_us) for name, _ in rows],
            )
        if rows:
            self._next_expiry = min(self._next_expiry or tombstone_until_us, tombstone_until_us)
        self._count -= len(rows)
        self._bytes -= sum(size for _, size in rows)
        return len(rows)

    def task_tombstoned(self, name: str) -> bool:
        return self._tombstoned(_TASK, name)

    def tasks_after(self, queue_name: str, after: str) -> Iterator[Task]:
        prefix = queue_name + "/tasks/"
        while True:
            rows = self._db.execute(
                "SELECT name, data FROM tasks WHERE name > ? AND name < ? ORDER BY name LIMIT ?",
                (max(after, prefix), _end_of(prefix), _CHUNK),
            ).fetchall()
            for _, data in rows:
                yield load_task(data)
            if len(rows) < _CHUNK:
                return
            after = rows[-1][0]

    def count_tasks(self, queue_name: str) -> int:
        count: int = self._db.execute("SELECT COUNT(*) FROM tasks WHERE queue = ?", (queue_name,)).fetchone()[0]
        return count

    def pending_schedule(self, queue_name: str) -> list[tuple[int, str]]:
        rows = self._db.execute("SELECT schedule_us, name FROM tasks WHERE queue = ?", (queue_name,)).fetchall()
        rows.sort()
        return rows

    # location settings and batch operations
    def cmek_key(self, location: str) -> str:
        row = self._db.execute("SELECT key FROM cmek WHERE location = ?", (location,)).fetchone()
        return "" if row is None else str(row[0])

    def put_cmek_key(self, location: str, key: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO cmek VALUES (?, ?)", (location, key))

    def get_operation(self, name: str) -> bytes | None:
        row = self._db.execute("SELECT data FROM operations WHERE name = ?", (name,)).fetchone()
        return None if row is None else bytes(row[0])

    def operation_for_request(self, request_key: str) -> bytes | None:
        row = self._db.execute(
            "SELECT data FROM operations WHERE request_key = ? ORDER BY seq DESC LIMIT 1", (request_key,)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def put_operation(self, name: str, request_key: str, data: bytes, keep: int) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO operations (name, request_key, data) VALUES (?, ?, ?)", (name, request_key, data))
            db.execute("DELETE FROM operations WHERE seq <= (SELECT MAX(seq) FROM operations) - ?", (keep,))

    # housekeeping
    def expire_tombstones(self, now_us: int) -> None:
        if self._next_expiry is None or self._next_expiry > now_us:
            return  # the common case costs no query
        self._db.execute("DELETE FROM tombstones WHERE until_us <= ?", (now_us,))
        self._next_expiry = self._earliest_tombstone()

    def usage(self) -> Usage:
        return Usage(self._count, self._bytes)

    def clear(self) -> None:
        with self._tx() as db:
            for table in ("queues", "tasks", "tombstones", "cmek", "operations"):
                db.execute(f"DELETE FROM {table}")
        self._queues.clear()
        self._count = self._bytes = 0
        self._next_expiry = None

    def close(self) -> None:
        """Close the database and let go of DIR; closing twice is harmless."""
        if self._lock_fd < 0:
            return
        self._db.close()
        os.close(self._lock_fd)
        self._lock_fd = -1


def _lock(data_dir: str) -> int:
    """Create DIR if needed and hold its lock file for the life of the process."""
    if os.path.exists(data_dir) and not os.path.isdir(data_dir):
        raise StorageError(f"--data-dir {data_dir} is not a directory.")
    try:
        os.makedirs(data_dir, exist_ok=True)
        fd = os.open(os.path.join(data_dir, LOCK), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise StorageError(f"--data-dir {data_dir} cannot be used: {error.strerror or error}.") from error
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(fd)
        raise StorageError(f"--data-dir {data_dir} is in use by another cloudtasks-emu process.") from error
    return fd


def _damaged(path: str, data_dir: str, detail: object, what: str = "is damaged") -> StorageError:
    return StorageError(
        f"--data-dir {data_dir}: {path} {what} ({detail}). Move it away to start afresh, or restore a copy."
    )


def _unusable(path: str, data_dir: str, error: BaseException) -> StorageError:
    """The one-line refusal of a database that fails while it is opened or loaded."""
    cause = error.__cause__ if isinstance(error, EmuError) and error.__cause__ is not None else error
    code = getattr(cause, "sqlite_errorcode", 0) & 0xFF
    if code == sqlite3.SQLITE_NOTADB:  # some other file under our name
        return _damaged(path, data_dir, cause, "is not a readable database")
    if code == sqlite3.SQLITE_CORRUPT or not isinstance(cause, sqlite3.Error):
        return _damaged(path, data_dir, cause)
    return StorageError(f"--data-dir {data_dir} cannot be used: {cause}.")


def _open(path: str, data_dir: str) -> sqlite3.Connection:
    """Open (or create) the database, refusing a schema version this code does not know or a damaged file."""
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, factory=_Connection)
    except sqlite3.Error as error:
        raise StorageError(f"--data-dir {data_dir} cannot be used: {error}.") from error
    db.data_dir = data_dir
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
        if version == 0 and tables == 0:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(f"BEGIN; {_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
        elif version != SCHEMA_VERSION:
            raise StorageError(
                f"--data-dir {data_dir} holds data of schema version {version}; this cloudtasks-emu reads "
                f"version {SCHEMA_VERSION}. Use another directory, or the cloudtasks-emu that wrote it."
            )
        # A page damaged anywhere (an index too) is found now, not by some later call: a read of
        # every page, about what loading the task count costs anyway.
        problem = db.execute("PRAGMA quick_check(1)").fetchone()[0]
        if problem != "ok":
            raise _damaged(path, data_dir, " ".join(problem.split()))  # (one line)
        # One process owns DIR (the lock file), so SQLite's own file locking can be exclusive too:
        # less work per transaction. WAL + NORMAL: no fsync per commit, never a torn database.
        db.execute("PRAGMA locking_mode=EXCLUSIVE")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    except StorageError:
        db.close()
        raise
    except (EmuError, sqlite3.Error) as error:  # (executescript is not translated)
        db.close()
        raise _unusable(path, data_dir, error) from error
    return db
