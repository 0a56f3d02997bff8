"""What only the SQLite backend promises: data kept across a reopen, one owner per directory,
clear refusals for a bad directory or an unknown schema version."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cloudtasks_emu.engine.storage import StorageError
from cloudtasks_emu.engine.storage.sqlite import DATABASE, SqliteStorage
from cloudtasks_emu.model import AppEngineRequest, Queue, QueueState, Task

Q = "projects/p/locations/l/queues/q"


def test_everything_written_is_there_after_a_reopen(tmp_path: Path) -> None:
    store = SqliteStorage(str(tmp_path))
    store.put_queue(Queue(name=Q, state=QueueState.PAUSED, iam_policy=b"pol"))
    store.insert_task(Q, Task(name=f"{Q}/tasks/a", payload=AppEngineRequest(), schedule_us=7, create_us=1))
    store.insert_task(Q, Task(name=f"{Q}/tasks/b", payload=AppEngineRequest(), schedule_us=8, create_us=1))
    store.remove_task(f"{Q}/tasks/b", tombstone_until_us=1000)
    store.put_cmek_key("loc", "key")
    store.put_operation("op", "req", b"data", keep=10)
    store.close()

    again = SqliteStorage(str(tmp_path))
    assert again.get_queue(Q) == Queue(name=Q, state=QueueState.PAUSED, iam_policy=b"pol")
    assert again.pending_schedule(Q) == [(7, f"{Q}/tasks/a")]
    assert again.task_tombstoned(f"{Q}/tasks/b")
    assert again.usage().tasks == 1
    assert again.cmek_key("loc") == "key"
    assert again.operation_for_request("req") == b"data"
    again.expire_tombstones(1000)  # the earliest expiry is known again after a reopen
    assert not again.task_tombstoned(f"{Q}/tasks/b")
    again.close()


def test_a_second_owner_of_the_directory_is_refused_and_the_first_keeps_working(tmp_path: Path) -> None:
    first = SqliteStorage(str(tmp_path))
    with pytest.raises(StorageError, match=str(tmp_path)):
        SqliteStorage(str(tmp_path))
    first.put_queue(Queue(name=Q))
    assert first.get_queue(Q) is not None
    first.close()
    SqliteStorage(str(tmp_path)).close()  # free again once the first lets go


def test_a_file_is_not_a_data_dir(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(StorageError, match="is not a directory"):
        SqliteStorage(str(path))
    with pytest.raises(StorageError, match="cannot be used"):
        SqliteStorage(str(path / "below"))


def test_an_unknown_schema_version_is_refused(tmp_path: Path) -> None:
    SqliteStorage(str(tmp_path)).close()
    db = sqlite3.connect(tmp_path / DATABASE)
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    with pytest.raises(StorageError, match="schema version 99"):
        SqliteStorage(str(tmp_path))


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    (tmp_path / DATABASE).write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(StorageError, match="not a readable database"):
        SqliteStorage(str(tmp_path))


def test_the_database_is_in_wal_mode(tmp_path: Path) -> None:
    SqliteStorage(str(tmp_path)).close()
    db = sqlite3.connect(tmp_path / DATABASE)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
