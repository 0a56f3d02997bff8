"""What only the PostgreSQL backend promises: one schema however many processes start at once, two
connections that see each other's writes at once, atomic leases, and clear refusals."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import psycopg
import pytest

from cloudtasks_emu.engine.placement import Candidates
from cloudtasks_emu.engine.storage import Inserted, StorageError, open_storage
from cloudtasks_emu.engine.storage.postgres import PostgresStorage
from cloudtasks_emu.engine.storage.postgres.schema import redact
from cloudtasks_emu.model import AppEngineRequest, PullMessage, Queue, QueueState, Task

Q = "projects/p/locations/l/queues/q"


@pytest.fixture
def fresh_url(postgres_url: str) -> str:
    """An empty database of its own on the session's server."""
    name = f"u_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute(f"CREATE DATABASE {name}")
    return postgres_url.rsplit("/", 1)[0] + "/" + name


def test_processes_starting_at_once_create_one_schema(fresh_url: str) -> None:
    opened: list[PostgresStorage] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            opened.append(PostgresStorage(fresh_url))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    with psycopg.connect(fresh_url) as db:
        assert db.execute("SELECT COUNT(*) FROM cloudtasks_emu.schema_version").fetchone() == (1,)
    for store in opened:
        store.close()


def test_a_write_through_one_connection_is_read_through_another_at_once(fresh_url: str) -> None:
    a, b = PostgresStorage(fresh_url), PostgresStorage(fresh_url)
    try:
        a.put_queue(Queue(name=Q))
        queue = b.get_queue(Q)
        assert queue is not None
        queue.state = QueueState.PAUSED
        b.put_queue(queue)
        again = a.get_queue(Q)
        assert again is not None
        assert again.state == QueueState.PAUSED
        a.insert_task(Q, Task(name=f"{Q}/tasks/t", payload=AppEngineRequest(), schedule_us=1, create_us=1))
        assert b.remove_task(f"{Q}/tasks/t", tombstone_until_us=100)
        assert a.task_tombstoned(f"{Q}/tasks/t")
    finally:
        a.close()
        b.close()


def test_a_create_into_a_queue_changed_by_another_connection_is_refused_until_read_again(fresh_url: str) -> None:
    a, b = PostgresStorage(fresh_url), PostgresStorage(fresh_url)
    try:
        a.put_queue(Queue(name=Q))
        assert a.queue_for_create(Q) is not None
        task = Task(name=f"{Q}/tasks/t1", payload=AppEngineRequest(), create_us=1, schedule_us=1)
        # Given B changes the queue after A read it
        changed = b.get_queue(Q)
        assert changed is not None
        changed.state = QueueState.PAUSED
        b.put_queue(changed)
        # Then A's create built on its old read is refused, and stores nothing
        assert a.insert_task(Q, task) == Inserted.QUEUE_CHANGED
        assert b.get_task(task.name) is None
        # And after A reads the queue again, the create goes in
        again = a.queue_for_create(Q)
        assert again is not None
        assert again.state == QueueState.PAUSED
        assert a.insert_task(Q, task) == Inserted.OK
        # And a queue deleted through B is changed too
        b.delete_queue(Q, tombstone_until_us=0)
        assert (
            a.insert_task(Q, Task(name=f"{Q}/tasks/t2", payload=AppEngineRequest(), create_us=1, schedule_us=1))
            == Inserted.QUEUE_CHANGED
        )
        assert a.queue_for_create(Q) is None
    finally:
        a.close()
        b.close()


def take_all(hold: Callable[[], None] = lambda: None) -> Callable[[Candidates], list[Task]]:
    """A lease algorithm that takes every due candidate, leased until 1000, calling `hold` after each."""

    def pick(candidates: Candidates) -> list[Task]:
        taken = []
        for task in candidates.due(None):
            task.schedule_us = task.lease_until_us = 1000
            candidates.take(task)
            taken.append(task)
            hold()
        return taken

    return pick


def test_two_leases_at_once_never_take_the_same_task(fresh_url: str) -> None:
    a, b = PostgresStorage(fresh_url), PostgresStorage(fresh_url)
    try:
        queue = Queue(name=Q, pull=True)
        a.put_queue(queue)
        for i in range(10):
            a.insert_task(Q, Task(name=f"{Q}/tasks/t{i}", payload=PullMessage(b"x"), schedule_us=1, create_us=1))
        inside = threading.Event()
        release = threading.Event()
        first: list[Task] = []

        def hold() -> None:  # keeps a's transaction (and its row locks) open
            inside.set()
            release.wait(10)

        def lease_a() -> None:
            first.extend(a.lease(queue, 5, 3, take_all(hold)))

        thread = threading.Thread(target=lease_a)
        thread.start()
        assert inside.wait(10)

        b._conn().execute("SET lock_timeout = '2s'")  # waiting on a's rows would fail, not just be slow
        second = b.lease(queue, 5, 3, take_all())
        release.set()
        thread.join(10)
        names = [t.name for t in first] + [t.name for t in second]
        assert len(first) == len(second) == 3
        assert len(set(names)) == 6  # SKIP LOCKED: b took others while a held its rows
        assert all(due == 1000 for due, _ in a.pending_schedule(Q)[-6:])
    finally:
        a.close()
        b.close()


def test_a_change_never_writes_over_another_connections_write_in_between(fresh_url: str) -> None:
    a, b = PostgresStorage(fresh_url), PostgresStorage(fresh_url)
    try:
        a.put_queue(Queue(name=Q))
        name = f"{Q}/tasks/t"
        a.insert_task(Q, Task(name=name, payload=AppEngineRequest(), schedule_us=1, create_us=1))
        reads: list[int] = []

        def count(task: Task) -> None:
            task.response_count += 1

        def count_after_b(task: Task) -> None:
            reads.append(task.response_count)
            if len(reads) == 1:  # another process settles its attempt between this read and this write
                b.change_task(name, count)
            task.response_count += 1

        changed = a.change_task(name, count_after_b)
        assert reads == [0, 1]  # read again after b's write
        assert changed is not None
        assert changed.response_count == 2
        stored = b.get_task(name)
        assert stored is not None
        assert stored.response_count == 2
    finally:
        a.close()
        b.close()


def test_an_unknown_schema_version_is_refused(fresh_url: str) -> None:
    PostgresStorage(fresh_url).close()
    with psycopg.connect(fresh_url, autocommit=True) as db:
        db.execute("UPDATE cloudtasks_emu.schema_version SET version = 7")
    with pytest.raises(StorageError, match="schema version 7"):
        PostgresStorage(fresh_url)


def test_a_database_of_schema_version_1_is_brought_up_to_date_and_keeps_its_data(fresh_url: str) -> None:
    # Given a database as version 1 left it (no queue_stats table) holding a queue
    store = PostgresStorage(fresh_url)
    store.put_queue(Queue(name=Q))
    store.close()
    with psycopg.connect(fresh_url, autocommit=True) as db:
        db.execute("DROP TABLE cloudtasks_emu.queue_stats")
        db.execute("UPDATE cloudtasks_emu.schema_version SET version = 1")
    # When this version opens it, the table is added and the version written; the queue is still there
    store = PostgresStorage(fresh_url)
    try:
        assert store.get_queue(Q) == Queue(name=Q)
        store.publish_stats({Q: (3, 1, 2.5)})
        assert store.published_stats(Q) == (3, 1, 2.5)
        with psycopg.connect(fresh_url) as db:
            assert db.execute("SELECT MAX(version) FROM cloudtasks_emu.schema_version").fetchone() == (2,)
    finally:
        store.close()


def test_an_unreachable_server_is_refused_with_its_url_and_no_password() -> None:
    url = "postgresql://me:secret@127.0.0.1:1/db"
    with pytest.raises(StorageError, match="cannot connect to PostgreSQL") as caught:
        PostgresStorage(url)
    assert "secret" not in caught.value.message
    assert redact(url) == "postgresql://me:***@127.0.0.1:1/db"


def test_data_dir_and_database_together_are_refused(postgres_url: str) -> None:
    with pytest.raises(StorageError, match="give one of them"):
        open_storage("/tmp/somewhere", postgres_url)
