"""Reaching PostgreSQL and the versioned schema of the `--database` backend (store.py).

Tables live in their own schema, `cloudtasks_emu`, first on each connection's search path; the
`schema_version` table says which version wrote them: an older one is brought up to date at start, a
version this code does not know is refused.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from ....errors import Code, EmuError
from .. import StorageError

P = ParamSpec("P")
R = TypeVar("R")

SCHEMA = "cloudtasks_emu"
SCHEMA_VERSION = 2
SCHEMA_LOCK = 0x43544531  # advisory lock key held while one process creates the schema
CHANNEL = "cloudtasks_emu"  # LISTEN/NOTIFY channel of the group
UNAVAILABLE = "The database is unavailable"  # how an UNAVAILABLE of the store's begins

_TABLES = """
CREATE TABLE schema_version (version integer NOT NULL);
CREATE TABLE queues (name text COLLATE "C" PRIMARY KEY, pull boolean NOT NULL, data text NOT NULL);
CREATE TABLE tasks (
    name text COLLATE "C" PRIMARY KEY, queue text COLLATE "C" NOT NULL, create_us bigint NOT NULL,
    schedule_us bigint NOT NULL, size integer NOT NULL, tag text, data text NOT NULL);
CREATE INDEX tasks_by_queue ON tasks (queue, create_us);
CREATE INDEX tasks_due ON tasks (queue, schedule_us);
CREATE INDEX tasks_due_by_tag ON tasks (queue, tag, schedule_us) WHERE tag IS NOT NULL;
CREATE TABLE tombstones (kind "char" NOT NULL, name text COLLATE "C" NOT NULL, until_us bigint NOT NULL,
    PRIMARY KEY (kind, name));
CREATE INDEX tombstones_by_time ON tombstones (until_us);
CREATE TABLE cmek (location text PRIMARY KEY, key text NOT NULL);
CREATE TABLE operations (seq bigserial PRIMARY KEY, name text UNIQUE NOT NULL, request_key text NOT NULL,
    data bytea NOT NULL);
CREATE INDEX operations_by_request ON operations (request_key);
CREATE TABLE clock (id integer PRIMARY KEY, now_us bigint NOT NULL);
CREATE TABLE attempts (seq bigserial PRIMARY KEY, queue text COLLATE "C" NOT NULL, data text NOT NULL);
CREATE INDEX attempts_by_queue ON attempts (queue, seq);
CREATE TABLE queue_stats (name text COLLATE "C" PRIMARY KEY, executed_last_minute integer NOT NULL,
    in_flight integer NOT NULL, effective_rate double precision NOT NULL);
"""
# What each older version lacks, by the version it was (version 2 added queue_stats, the last table).
_MIGRATIONS = {1: _TABLES[_TABLES.index("CREATE TABLE queue_stats") :]}


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as error:
        raise StorageError(
            "--database needs psycopg: pip install 'cloudtasks-emu[postgres]' (or psycopg[binary])."
        ) from error
    return psycopg


def connect(url: str, what: str = "--database") -> Any:
    """A connection in autocommit mode with our schema first on the search path; StorageError if the
    server cannot be reached."""
    psycopg = _psycopg()
    try:
        return psycopg.connect(
            url,
            autocommit=True,
            connect_timeout=10,
            options=f"-c search_path={SCHEMA}",
            application_name="cloudtasks-emu",
        )
    except psycopg.Error as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise StorageError(f"{what} {redact(url)}: cannot connect to PostgreSQL ({detail}).") from error


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    head, sep, tail = url.partition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, user_password = head.rpartition("//")
    return f"{scheme}//{user_password.split(':', 1)[0]}:***@{tail}"


def ensure_schema(db: Any, url: str) -> None:
    """Create the schema on first start (one process at a time), refusing a version this code does not know."""
    with db.transaction():
        db.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        exists = db.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.schema_version",)).fetchone()[0]
        if exists is None:
            db.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
            db.execute(f"SET LOCAL search_path = {SCHEMA}")
            for statement in filter(str.strip, _TABLES.split(";")):
                db.execute(statement)
            db.execute("INSERT INTO schema_version VALUES (%s)", (SCHEMA_VERSION,))
            return
        row = db.execute(f"SELECT MAX(version) FROM {SCHEMA}.schema_version").fetchone()
        if row[0] in _MIGRATIONS:
            db.execute(f"SET LOCAL search_path = {SCHEMA}")
            for version in range(row[0], SCHEMA_VERSION):
                for statement in filter(str.strip, _MIGRATIONS[version].split(";")):
                    db.execute(statement)
            db.execute("INSERT INTO schema_version VALUES (%s)", (SCHEMA_VERSION,))
            return
    if row[0] != SCHEMA_VERSION:
        raise StorageError(
            f"--database {redact(url)} holds cloudtasks-emu data of schema version {row[0]}; this cloudtasks-emu "
            f"reads version {SCHEMA_VERSION}. Use another database, or the cloudtasks-emu that wrote it."
        )


def unavailable(method: Callable[P, R]) -> Callable[P, R]:
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
                raise EmuError(Code.UNAVAILABLE, f"{UNAVAILABLE}: {error}".strip()) from error
            raise

    return wrapper
