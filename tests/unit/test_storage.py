"""The storage contract: the same bodies run against every backend (memory, sqlite, postgres)."""

from __future__ import annotations

import pytest

from cloudtasks_emu.engine.storage import Inserted, Storage
from cloudtasks_emu.model import (
    AppEngineRequest,
    Attempt,
    HttpRequest,
    HttpTarget,
    PullMessage,
    Queue,
    QueueState,
    RetryPolicy,
    Routing,
    Task,
    Token,
    UriOverride,
    task_size,
)

Q = "projects/p/locations/l/queues/q"


def task(name: str, schedule_us: int = 5, create_us: int = 1) -> Task:
    return Task(
        name=f"{Q}/tasks/{name}", payload=AppEngineRequest(body=b"x"), schedule_us=schedule_us, create_us=create_us
    )


def test_put_queue_then_read_it_back_with_every_field(store: Storage) -> None:
    queue = Queue(
        name=Q,
        app_engine_routing_override=Routing(service="s"),
        http_target=HttpTarget(
            uri_override=UriOverride(host="h", path="/p"),
            header_overrides=[("a", "b")],
            token=Token("oidc", "sa@x", "aud"),
        ),
        state=QueueState.PAUSED,
        purge_time_us=7,
        logging_sampling_ratio=0.5,
        iam_policy=b"\x00\x01policy",
    )
    store.put_queue(queue)
    assert store.get_queue(Q) == queue
    assert store.get_queue(Q + "x") is None


def test_a_create_builds_on_the_queue_as_this_store_last_wrote_it(store: Storage) -> None:
    store.put_queue(Queue(name=Q))
    assert store.queue_for_create(Q) == Queue(name=Q)
    assert store.insert_task(Q, task("a")) == Inserted.OK
    # Given the queue written again through the same store
    store.put_queue(Queue(name=Q, state=QueueState.PAUSED))
    queue = store.queue_for_create(Q)
    # Then a create sees the write, and its insert is not refused as built on a changed queue
    assert queue is not None
    assert queue.state == QueueState.PAUSED
    assert store.insert_task(Q, task("b")) == Inserted.OK
    assert store.queue_for_create(Q + "x") is None


def test_a_written_change_is_what_the_next_read_sees(store: Storage) -> None:
    # Not "only once written": memory and SQLite hand out the objects they hold, so an unwritten change
    # may show early. Callers must write every change; this pins that the write is what counts.
    store.put_queue(Queue(name=Q))
    assert store.insert_task(Q, task("a")) == Inserted.OK
    queue, stored = store.get_queue(Q), store.get_task(f"{Q}/tasks/a")
    assert queue is not None
    assert stored is not None
    queue.state = QueueState.PAUSED
    stored.dispatch_count = 7
    store.put_queue(queue)
    assert store.update_task(stored)
    again, again_task = store.get_queue(Q), store.get_task(f"{Q}/tasks/a")
    assert again is not None
    assert again_task is not None
    assert (again.state, again_task.dispatch_count) == (QueueState.PAUSED, 7)


def test_delete_queue_removes_its_tasks_and_tombstones_the_name(store: Storage) -> None:
    store.put_queue(Queue(name=Q))
    assert store.insert_task(Q, task("a")) == Inserted.OK
    store.delete_queue(Q, tombstone_until_us=100)
    assert store.get_queue(Q) is None
    assert store.get_task(f"{Q}/tasks/a") is None
    assert store.usage().tasks == 0
    assert store.queue_tombstoned(Q)
    store.expire_tombstones(99)
    assert store.queue_tombstoned(Q)
    store.expire_tombstones(100)
    assert not store.queue_tombstoned(Q)


def test_put_queue_clears_its_tombstone(store: Storage) -> None:
    store.put_queue(Queue(name=Q))
    store.delete_queue(Q, tombstone_until_us=100)
    store.put_queue(Queue(name=Q))
    assert not store.queue_tombstoned(Q)


def test_queues_after_pages_by_name_within_a_prefix(store: Storage) -> None:
    for name in [
        "projects/p/locations/l/queues/b",
        "projects/p/locations/l/queues/a",
        "projects/p/locations/m/queues/c",
    ]:
        store.put_queue(Queue(name=name))
    prefix = "projects/p/locations/l/queues/"
    assert [q.name for q in store.queues_after(prefix, "")] == [prefix + "a", prefix + "b"]
    assert [q.name for q in store.queues_after(prefix, prefix + "a")] == [prefix + "b"]
    assert len(list(store.queues_after("", ""))) == 3


def test_queues_after_walks_more_than_one_chunk(store: Storage) -> None:
    names = [f"projects/p/locations/l/queues/q{i:04}" for i in range(1203)]
    for name in names:
        store.put_queue(Queue(name=name))
    assert [q.name for q in store.queues_after("projects/p/locations/l/queues/", "")] == names


def test_insert_task_refuses_a_live_or_tombstoned_name(store: Storage) -> None:
    store.put_queue(Queue(name=Q))
    assert store.insert_task(Q, task("a")) == Inserted.OK
    assert store.insert_task(Q, task("a")) == Inserted.EXISTS
    assert store.remove_task(f"{Q}/tasks/a", tombstone_until_us=50)
    assert store.insert_task(Q, task("a")) == Inserted.TOMBSTONED
    assert store.task_tombstoned(f"{Q}/tasks/a")
    store.expire_tombstones(50)
    assert store.insert_task(Q, task("a")) == Inserted.OK


def test_every_task_field_survives_a_write(store: Storage) -> None:
    store.put_queue(Queue(name=Q))
    full = Task(
        name=f"{Q}/tasks/full",
        payload=HttpRequest(
            url="http://h/x", headers={"_t": "tricky", "A": "b"}, body=b"\xffbin", token=Token("oauth", "sa")
        ),
        schedule_us=10,
        create_us=3,
        dispatch_deadline_ms=1500,
        retry=RetryPolicy(max_attempts=3),
        dispatch_count=2,
        response_count=1,
        first_attempt=Attempt(1, 2, 3, 4, "m"),
        last_attempt=Attempt(5, 6),
        execution_count=1,
        previous_response=503,
        retry_reason="",
        lease_until_us=None,
    )
    store.insert_task(Q, full)
    assert store.get_task(full.name) == full
    pull = Task(name=f"{Q}/tasks/pull", payload=PullMessage(b"p", "tag"), schedule_us=1, create_us=1, lease_until_us=9)
    store.insert_task(Q, pull)
    assert store.get_task(pull.name) == pull


def test_update_task_writes_back_and_reports_a_gone_task(store: Storage) -> None:
    store.put_queue(Queue(name=Q))
    store.insert_task(Q, task("a"))
    read = store.get_task(f"{Q}/tasks/a")
    assert read is not None
    read.dispatch_count = 3
    read.schedule_us = 99
    assert store.update_task(read)
    again = store.get_task(read.name)
    assert again is not None
    assert (again.dispatch_count, again.schedule_us) == (3, 99)
    assert store.pending_schedule(Q) == [(99, read.name)]
    assert not store.update_task(task("never"))
    assert store.get_task(f"{Q}/tasks/never") is None


def test_change_task_changes_the_stored_task_not_a_copy_read_before(store: Storage) -> None:
    store.put_queue(Queue(name=Q))
    store.insert_task(Q, task("a"))
    name = f"{Q}/tasks/a"
    stale = store.get_task(name)
    assert stale is not None

    def count(stored: Task) -> None:
        stored.response_count += 1
        stored.schedule_us += 10

    # Given two changes, as two attempts of one task ending one after the other
    assert store.change_task(name, count) is not None
    changed = store.change_task(name, count)
    # Then each applied to what the other wrote
    assert changed is not None
    assert (changed.response_count, changed.schedule_us) == (2, 25)
    again = store.get_task(name)
    assert again is not None
    assert (again.response_count, again.schedule_us) == (2, 25)
    assert store.pending_schedule(Q) == [(25, name)]
    called: list[Task] = []
    assert store.change_task(f"{Q}/tasks/never", called.append) is None
    assert called == []


def test_remove_task_is_false_for_a_missing_task(store: Storage) -> None:
    store.put_queue(Queue(name=Q))
    assert not store.remove_task(f"{Q}/tasks/none", 10)
    assert not store.task_tombstoned(f"{Q}/tasks/none")


def test_purge_removes_only_tasks_created_before_the_time(store: Storage) -> None:
    store.put_queue(Queue(name=Q))
    for name, created in [("old", 1), ("edge", 5), ("new", 6)]:
        store.insert_task(Q, task(name, create_us=created))
    assert store.purge_tasks(Q, created_before_us=6, tombstone_until_us=100) == 2
    assert [t.name.rsplit("/", 1)[1] for t in store.tasks_after(Q, "")] == ["new"]
    assert store.task_tombstoned(f"{Q}/tasks/old")
    assert store.usage().tasks == 1


def test_tasks_after_pages_by_name_and_counts(store: Storage) -> None:
    store.put_queue(Queue(name=Q))
    store.put_queue(Queue(name=Q + "2"))  # a neighbour whose name extends this one
    names = [f"t{i:04}" for i in range(1100)]
    for name in reversed(names):
        store.insert_task(Q, task(name))
    store.insert_task(Q + "2", Task(name=f"{Q}2/tasks/x", payload=PullMessage(), schedule_us=1, create_us=1))
    assert [t.name.rsplit("/", 1)[1] for t in store.tasks_after(Q, "")] == names
    assert [t.name.rsplit("/", 1)[1] for t in store.tasks_after(Q, f"{Q}/tasks/t1097")] == ["t1098", "t1099"]
    assert store.count_tasks(Q) == 1100
    assert store.count_tasks(Q + "2") == 1


def test_pending_schedule_is_oldest_first(store: Storage) -> None:
    store.put_queue(Queue(name=Q))
    for name, due in [("a", 30), ("b", 10), ("c", 20)]:
        store.insert_task(Q, task(name, schedule_us=due))
    assert [due for due, _ in store.pending_schedule(Q)] == [10, 20, 30]


def test_usage_sums_count_and_bytes(store: Storage) -> None:
    store.put_queue(Queue(name=Q))
    a, b = task("a"), task("b")
    store.insert_task(Q, a)
    store.insert_task(Q, b)
    assert store.usage().tasks == 2
    assert store.usage().task_bytes == task_size(a) + task_size(b)
    store.remove_task(a.name, 1)
    assert store.usage().task_bytes == task_size(b)


def test_cmek_keys_are_kept_per_location(store: Storage) -> None:
    assert store.cmek_key("projects/p/locations/l") == ""
    store.put_cmek_key("projects/p/locations/l", "k1")
    store.put_cmek_key("projects/p/locations/l", "k2")
    assert store.cmek_key("projects/p/locations/l") == "k2"


def test_operations_are_found_by_name_and_request_and_the_oldest_go(store: Storage) -> None:
    for i in range(4):
        store.put_operation(f"op{i}", f"req{i}" if i % 2 else "", f"data{i}".encode(), keep=3)
    assert store.get_operation("op0") is None
    assert store.get_operation("op3") == b"data3"
    assert store.operation_for_request("req1") == b"data1"
    assert store.operation_for_request("nope") is None


def test_clear_forgets_everything(store: Storage) -> None:
    store.put_queue(Queue(name=Q))
    store.insert_task(Q, task("a"))
    store.remove_task(f"{Q}/tasks/a", 100)
    store.put_cmek_key("l", "k")
    store.put_operation("op", "r", b"d", keep=10)
    store.clear()
    assert list(store.queues_after("", "")) == []
    assert not store.task_tombstoned(f"{Q}/tasks/a")
    assert store.cmek_key("l") == ""
    assert store.get_operation("op") is None
    assert store.usage().tasks == 0


@pytest.mark.parametrize("kind", ["queue", "task"])
def test_tombstones_expire_in_time_order(store: Storage, kind: str) -> None:
    store.put_queue(Queue(name=Q))
    for name, until in [("a", 30), ("b", 10)]:
        if kind == "queue":
            store.put_queue(Queue(name=f"{Q}{name}"))
            store.delete_queue(f"{Q}{name}", until)
        else:
            store.insert_task(Q, task(name))
            store.remove_task(f"{Q}/tasks/{name}", until)
    gone = store.queue_tombstoned if kind == "queue" else store.task_tombstoned
    names = [f"{Q}a", f"{Q}b"] if kind == "queue" else [f"{Q}/tasks/a", f"{Q}/tasks/b"]
    store.expire_tombstones(20)
    assert [gone(n) for n in names] == [True, False]
