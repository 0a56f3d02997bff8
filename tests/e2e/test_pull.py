"""v2beta2 pull queues through the official client, over gRPC and REST: lease, acknowledge, renew, cancel."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from google.cloud import tasks_v2beta2 as b2
from google.protobuf import duration_pb2, timestamp_pb2

from cloudtasks_emu.testing import EmulatorProcess

from .conftest import PARENT, make_client, push_queue, raises, unique_queue_name

pytestmark = pytest.mark.transports("grpc", "rest")
FULL = b2.Task.View.FULL


@pytest.fixture
def pull(clients: dict[str, Any]) -> Any:
    return clients["v2beta2"]


@pytest.fixture
def pull_queue(pull: Any) -> str:
    name = unique_queue_name("pull")
    pull.create_queue(parent=PARENT, queue=b2.Queue(name=name, pull_target=b2.PullTarget()))
    return name


def add(pull: Any, queue: str, payload: bytes = b"p", tag: str = "") -> Any:
    return pull.create_task(parent=queue, task=b2.Task(pull_message=b2.PullMessage(payload=payload, tag=tag)))


def lease(pull: Any, queue: str, seconds: float = 60, max_tasks: int = 10, **kw: Any) -> list[Any]:
    duration = duration_pb2.Duration(seconds=int(seconds), nanos=int(seconds % 1 * 1e9))
    request = {"parent": queue, "max_tasks": max_tasks, "lease_duration": duration, **kw}
    return list(pull.lease_tasks(request=request).tasks)


def stamp(task: Any) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(task.schedule_time)
    return ts


def test_lease_oldest_first_with_truncated_lease(pull: Any, pull_queue: str, admin: EmulatorProcess) -> None:
    made = [add(pull, pull_queue, f"p{i}".encode()) for i in range(3)]
    # Given three due tasks; when two are leased for 30.9 s
    now = admin.now()
    leased = lease(pull, pull_queue, seconds=30.9, max_tasks=2, response_view=FULL)
    # Then the two oldest come back with payloads and schedule_time = now + 30 s
    assert [t.name for t in leased] == [m.name for m in made[:2]]
    assert [t.pull_message.payload for t in leased] == [b"p0", b"p1"]
    assert all(t.schedule_time.timestamp() == pytest.approx(now + 30, abs=1e-6) for t in leased)
    assert [t.status.attempt_dispatch_count for t in leased] == [1, 1]
    # And they are not leased again while the lease lives; the third one is
    again = lease(pull, pull_queue)
    assert [t.name for t in again] == [made[2].name]
    assert again[0].pull_message.payload == b""  # BASIC view
    assert lease(pull, pull_queue) == []


def test_expired_lease_returns_the_task(pull: Any, pull_queue: str, admin: EmulatorProcess) -> None:
    made = add(pull, pull_queue)
    (first,) = lease(pull, pull_queue, seconds=10)
    admin.advance(9)
    assert lease(pull, pull_queue) == []
    admin.advance(1)
    with raises("FAILED_PRECONDITION"):
        pull.acknowledge_task(name=made.name, schedule_time=stamp(first))
    (second,) = lease(pull, pull_queue)
    assert second.name == made.name
    assert second.status.attempt_dispatch_count == 2


def test_acknowledge_needs_the_current_schedule_time(pull: Any, pull_queue: str) -> None:
    made = add(pull, pull_queue)
    with raises("FAILED_PRECONDITION", match="not leased"):
        pull.acknowledge_task(name=made.name, schedule_time=stamp(made))  # never leased
    (leased,) = lease(pull, pull_queue)
    with raises("FAILED_PRECONDITION"):
        pull.acknowledge_task(name=made.name, schedule_time=stamp(made))  # stale
    assert pull.get_task(name=made.name).schedule_time == leased.schedule_time  # unchanged
    pull.acknowledge_task(name=made.name, schedule_time=stamp(leased))
    with raises("NOT_FOUND", match="no longer exists"):
        pull.get_task(name=made.name)
    with raises("ALREADY_EXISTS"):
        pull.create_task(parent=pull_queue, task=b2.Task(name=made.name, pull_message=b2.PullMessage()))


def test_renew_and_cancel(pull: Any, pull_queue: str, admin: EmulatorProcess) -> None:
    made = add(pull, pull_queue)
    (leased,) = lease(pull, pull_queue, seconds=10)
    admin.advance(5)
    renewed = pull.renew_lease(
        name=made.name, schedule_time=stamp(leased), lease_duration=duration_pb2.Duration(seconds=100)
    )
    assert renewed.schedule_time.timestamp() == pytest.approx(admin.now() + 100, abs=1e-6)
    with raises("FAILED_PRECONDITION"):
        pull.renew_lease(name=made.name, schedule_time=stamp(leased), lease_duration=duration_pb2.Duration(seconds=5))
    admin.advance(50)
    assert lease(pull, pull_queue) == []
    cancelled = pull.cancel_lease(name=made.name, schedule_time=stamp(renewed))
    assert cancelled.schedule_time.timestamp() == pytest.approx(admin.now(), abs=1e-6)
    with raises("FAILED_PRECONDITION"):
        pull.cancel_lease(name=made.name, schedule_time=stamp(cancelled))  # no longer leased
    assert [t.name for t in lease(pull, pull_queue)] == [made.name]


def test_tag_filters(pull: Any, pull_queue: str, admin: EmulatorProcess) -> None:
    red1 = add(pull, pull_queue, tag="red")
    admin.advance(1)
    blue = add(pull, pull_queue, tag="blue")
    admin.advance(1)
    red2 = add(pull, pull_queue, tag="red")
    assert [t.name for t in lease(pull, pull_queue, filter="tag=blue")] == [blue.name]
    oldest = lease(pull, pull_queue, filter="tag_function=oldest_tag()")
    assert [t.name for t in oldest] == [red1.name, red2.name]
    with raises("INVALID_ARGUMENT", match="filter"):
        lease(pull, pull_queue, filter="color=red")


def test_lease_errors(pull: Any, pull_queue: str, admin: EmulatorProcess) -> None:
    with raises("INVALID_ARGUMENT", match="leaseDuration"):
        pull.lease_tasks(request={"parent": pull_queue, "max_tasks": 1})
    with raises("INVALID_ARGUMENT", match="one week"):
        lease(pull, pull_queue, seconds=7 * 86400 + 1)
    with raises("INVALID_ARGUMENT", match="maxTasks"):
        lease(pull, pull_queue, max_tasks=1001)
    with raises("NOT_FOUND", match="Queue does not exist"):
        lease(pull, unique_queue_name())
    push = unique_queue_name()
    pull.create_queue(parent=PARENT, queue=push_queue("v2beta2", push))
    with raises("FAILED_PRECONDITION", match="pull queue"):
        lease(pull, push)
    pull.pause_queue(name=pull_queue)
    with raises("FAILED_PRECONDITION", match="PAUSED"):
        lease(pull, pull_queue)


def test_purge_and_delete_work_on_pull_tasks(pull: Any, pull_queue: str) -> None:
    for _ in range(3):
        add(pull, pull_queue)
    lease(pull, pull_queue, max_tasks=1)
    pull.purge_queue(name=pull_queue)
    assert lease(pull, pull_queue) == []
    made = add(pull, pull_queue)
    pull.delete_task(name=made.name)
    assert lease(pull, pull_queue) == []


def test_pull_task_size_limit_is_one_mebibyte(pull: Any, pull_queue: str) -> None:
    assert add(pull, pull_queue, b"x" * 1_000_000).name
    with raises("INVALID_ARGUMENT", match="Task size too large"):
        add(pull, pull_queue, b"x" * (1024 * 1024 + 4096))


@pytest.mark.transports("grpc")  # the workers open gRPC channels of their own
def test_concurrent_workers_never_share_a_live_lease(pull: Any, pull_queue: str, server: Any) -> None:
    # Given 300 tasks and 6 workers, each with its own channel, leasing 7 at a time for an hour
    for _ in range(300):
        add(pull, pull_queue)
    seen: Counter[str] = Counter()
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        import grpc

        try:
            with grpc.insecure_channel(server.grpc) as channel:
                client = make_client(b2, channel)
                for _ in range(100):  # bounded
                    batch = lease(client, pull_queue, seconds=3600, max_tasks=7)
                    if not batch:
                        return
                    with lock:
                        seen.update(t.name for t in batch)
                    for task in batch[::2]:  # acknowledge half; the rest stay leased
                        client.acknowledge_task(name=task.name, schedule_time=stamp(task))
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # Then every task was leased exactly once
    assert not errors
    assert len(seen) == 300
    assert set(seen.values()) == {1}
