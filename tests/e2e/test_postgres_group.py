"""`--database`: three emulator processes over one real PostgreSQL, driven through the official clients.

One state (what is written through one process is read through the others), one owner per push queue
(so its rate limit holds for the group), takeover after kill -9 with no task lost, and atomic pull leases.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import psycopg
import pytest
from google.api_core import exceptions
from google.cloud import tasks_v2, tasks_v2beta2, tasks_v2beta3
from google.protobuf import duration_pb2, field_mask_pb2, timestamp_pb2

from cloudtasks_emu.testing import EmulatorProcess, RecordingHandler
from tests.postgres_server import PostgresServer
from tests.waiting import wait_until

from .conftest import PARENT, make_client, unique_queue_name


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture
def database(postgres: PostgresServer) -> str:
    """A fresh database on the module's server, so each test's group starts empty."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres.url, autocommit=True) as db:
        db.execute(f"CREATE DATABASE {name}")
    return postgres.url.rsplit("/", 1)[0] + "/" + name


@dataclass
class Member:
    server: EmulatorProcess
    channel: grpc.Channel
    v2: Any
    v2beta2: Any

    def owned(self) -> list[str]:
        return list(self.server.call("GET", "/_emu/group")["owned"])


def start_member(database: str, handler: RecordingHandler) -> Member:
    server = EmulatorProcess("--database", database, "--virtual-clock", "--app-engine-url", handler.url)
    channel = grpc.insecure_channel(server.grpc)
    return Member(server, channel, make_client(tasks_v2, channel), make_client(tasks_v2beta2, channel))


@pytest.fixture
def group(database: str, handler: RecordingHandler) -> Iterator[list[Member]]:
    members: list[Member] = []
    try:
        for _ in range(3):
            members.append(start_member(database, handler))
        yield members
    finally:
        for member in members:
            member.channel.close()
            member.server.stop()


def app_engine_task(path: str, name: str = "") -> Any:
    return tasks_v2.Task(name=name, app_engine_http_request=tasks_v2.AppEngineHttpRequest(relative_uri=path))


def owner_of(group: list[Member], queue: str, timeout_s: float = 10.0) -> Member:
    """The member that dispatches `queue` (bounded wait: a new queue is taken within moments)."""
    owners = wait_until(
        lambda: [member for member in group if queue in member.owned()], f"nobody took {queue}", timeout_s
    )
    assert len(owners) == 1, "two processes dispatch one queue"
    return owners[0]


def test_what_one_process_writes_the_others_read(group: list[Member]) -> None:
    a, b, c = group
    # Given a queue created through A
    name = unique_queue_name("one-state")
    a.v2.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=name))
    a.v2.pause_queue(name=name)
    # Then B reads it (paused) and C lists it
    assert b.v2.get_queue(name=name).state == tasks_v2.Queue.State.PAUSED
    assert name in [q.name for q in c.v2.list_queues(parent=PARENT)]
    # When tasks are created through A
    created = [a.v2.create_task(parent=name, task=app_engine_task(f"/t{i}", f"{name}/tasks/t{i}")) for i in range(5)]
    # Then B gets each, and a page token from B works on C
    assert b.v2.get_task(name=created[3].name).app_engine_http_request.relative_uri == "/t3"
    first = b.v2.list_tasks(request={"parent": name, "page_size": 2}).pages
    page = next(iter(first))
    assert [t.name for t in page.tasks] == [t.name for t in created[:2]]
    rest = c.v2.list_tasks(request={"parent": name, "page_size": 10, "page_token": page.next_page_token})
    assert [t.name for t in rest] == [t.name for t in created[2:]]
    # When C deletes one, A no longer finds it and B cannot reuse its name (the tombstone is shared)
    c.v2.delete_task(name=created[0].name)
    with pytest.raises(exceptions.NotFound):
        a.v2.get_task(name=created[0].name)
    with pytest.raises(exceptions.AlreadyExists):
        b.v2.create_task(parent=name, task=app_engine_task("/again", created[0].name))
    # And a reset through B empties the group, its virtual clock jumping for every process alike
    a.server.advance(3600)
    b.server.reset()
    with pytest.raises(exceptions.NotFound):
        c.v2.get_queue(name=name)
    a.server.drain()  # every process has heard what came before
    assert a.server.now() == b.server.now() == c.server.now()


def test_a_create_builds_on_the_queue_as_another_process_last_wrote_it(group: list[Member]) -> None:
    a, b, _ = group
    # Given a queue that A has created a task in (so A has read it)
    name = unique_queue_name("changed")
    a.v2.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=name))
    a.v2.pause_queue(name=name)
    first = a.v2.create_task(parent=name, task=app_engine_task("/1"))
    assert first.app_engine_http_request.app_engine_routing.host == "test-project.appspot.com"
    # When B gives it a routing override, A's next task is routed by it at once (the host says so)
    override = tasks_v2.AppEngineRouting(service="from-b")
    b.v2.update_queue(
        queue=tasks_v2.Queue(name=name, app_engine_routing_override=override),
        update_mask={"paths": ["app_engine_routing_override"]},
    )
    routing = a.v2.create_task(parent=name, task=app_engine_task("/2")).app_engine_http_request.app_engine_routing
    assert routing.host == "from-b.test-project.appspot.com"
    # And when B deletes it, A refuses the next task
    b.v2.delete_queue(name=name)
    with pytest.raises(exceptions.NotFound):
        a.v2.create_task(parent=name, task=app_engine_task("/3"))


def test_push_queues_spread_over_the_processes(group: list[Member]) -> None:
    names = [unique_queue_name("spread") for _ in range(9)]
    for i, name in enumerate(names):
        group[i % 3].v2.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=name))
    owners = Counter(owner_of(group, name).server.grpc for name in names)
    # ceil(9 / 3) = 3 each at most, so every process owns some
    assert sorted(owners.values()) == [3, 3, 3]


def test_a_queue_at_20_per_second_gets_20_per_second_from_the_group(
    group: list[Member], handler: RecordingHandler
) -> None:
    # Given a paused queue at 20/s, with tasks created through all three processes
    name = unique_queue_name("rate")
    queue = tasks_v2.Queue(name=name, rate_limits=tasks_v2.RateLimits(max_dispatches_per_second=20))
    group[0].v2.create_queue(parent=PARENT, queue=queue)
    group[0].v2.pause_queue(name=name)
    burst = group[1].v2.get_queue(name=name).rate_limits.max_burst_size
    path = f"/rate-{uuid.uuid4().hex[:8]}"
    for i in range(burst + 60):
        group[i % 3].v2.create_task(parent=name, task=app_engine_task(path))
    # When it resumes and the bucket's first burst has gone out
    group[2].v2.resume_queue(name=name)
    group[0].server.drain()
    start = len(handler.requests_to(path))
    assert start <= burst
    # Then two virtual seconds, moved and drained through any process, let out 40 more (one token
    # per 50 ms, +-1 for where the bucket stood when the window began)
    for step in range(40):
        group[step % 3].server.advance(0.05)
        group[(step + 1) % 3].server.drain()
    sent = len(handler.requests_to(path)) - start
    assert 39 <= sent <= 41


def test_queue_stats_through_any_process_are_the_owners(group: list[Member], handler: RecordingHandler) -> None:
    # Given three tasks delivered by a queue's owner, created through another process
    name = unique_queue_name("stats")
    group[0].v2.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=name))
    owner = owner_of(group, name)
    other = next(member for member in group if member is not owner)
    path = f"/stats-{uuid.uuid4().hex[:8]}"
    for _ in range(3):
        other.v2.create_task(parent=name, task=app_engine_task(path))
    owner.server.drain()
    assert len(handler.requests_to(path)) == 3
    # Then GetQueue's stats through the other process come to the owner's within a few seconds
    # (an owner publishes what changed every second)
    request = {"name": name, "read_mask": field_mask_pb2.FieldMask(paths=["stats"])}
    beta3 = make_client(tasks_v2beta3, other.channel)
    owners_stats = make_client(tasks_v2beta3, owner.channel).get_queue(request=request).stats
    assert owners_stats.executed_last_minute_count == 3
    seen: list[Any] = []

    def caught_up() -> Any:
        seen.append(beta3.get_queue(request=request).stats)
        return seen[-1] if seen[-1].executed_last_minute_count == 3 else None

    stats = wait_until(caught_up, lambda: f"the other process's stats stayed {seen[-1]}", every_s=0.1)
    assert stats.concurrent_dispatches_count == 0
    assert stats.effective_execution_rate == owners_stats.effective_execution_rate
    assert stats.tasks_count == 0


def test_kill_9_of_the_owner_mid_delivery_loses_no_task(group: list[Member], handler: RecordingHandler) -> None:
    # Given a queue whose five tasks are in flight at their owner (the handler holds them)
    name = unique_queue_name("takeover")
    group[0].v2.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=name))
    owner = owner_of(group, name)
    others = [member for member in group if member is not owner]
    path = f"/held-{uuid.uuid4().hex[:8]}"
    handler.script(path, ["hold"] * 5)
    for i in range(5):
        others[i % 2].v2.create_task(parent=name, task=app_engine_task(path, f"{name}/tasks/t{i}"))
    handler.wait_for(path, 5)
    # When the owner is killed (-9) and the handler lets the held requests go
    owner.server.kill()
    owner.channel.close()
    group.remove(owner)
    handler.release_held(path)
    # Then another process takes the queue within 10 s, attempts every task again, and none is left
    successor = owner_of(others, name, timeout_s=10.0)
    successor.server.drain()
    assert len(handler.requests_to(path)) >= 10  # five held, five again
    assert list(successor.v2.list_tasks(parent=name)) == []
    attempts = [a for a in others[0].server.attempts(name) if a["status"] == 200]
    assert sorted(a["task"].rsplit("/", 1)[1] for a in attempts) == [f"t{i}" for i in range(5)]


def test_24_workers_on_3_processes_never_hold_one_task_at_once(group: list[Member]) -> None:
    # Given a pull queue holding 300 tasks, created through all three processes
    name = unique_queue_name("pull")
    group[0].v2beta2.create_queue(
        parent=PARENT, queue=tasks_v2beta2.Queue(name=name, pull_target=tasks_v2beta2.PullTarget())
    )
    for i in range(300):
        task = tasks_v2beta2.Task(pull_message=tasks_v2beta2.PullMessage(payload=b"%d" % i))
        group[i % 3].v2beta2.create_task(parent=name, task=task)
    leased: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def work(member: Member) -> None:
        try:
            for _ in range(200):  # bounded: 300 tasks over 24 workers is far fewer rounds
                request = {"parent": name, "max_tasks": 4, "lease_duration": duration_pb2.Duration(seconds=600)}
                got = member.v2beta2.lease_tasks(request=request).tasks
                if not got:
                    return
                with lock:
                    leased.extend(task.name for task in got)
                for task in got:
                    stamp = timestamp_pb2.Timestamp()
                    stamp.FromDatetime(task.schedule_time)
                    member.v2beta2.acknowledge_task(name=task.name, schedule_time=stamp)
        except BaseException as error:
            failures.append(error)

    # When 8 workers per process lease (600 s leases: none expires) and acknowledge concurrently
    workers = [threading.Thread(target=work, args=(member,)) for member in group for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    # Then every task was leased exactly once, and every acknowledgement was accepted
    assert failures == []
    assert len(leased) == 300
    assert len(set(leased)) == 300
    assert list(group[2].v2beta2.list_tasks(parent=name)) == []


def start_failure(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "cloudtasks_emu", "start", "--port", "0", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_an_unreachable_server_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free: nothing listens there once the socket closes
    result = start_failure("--database", f"postgresql://nobody@127.0.0.1:{port}/db")
    assert result.returncode != 0
    assert "cannot connect to PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_schema_version_is_refused(database: str, handler: RecordingHandler) -> None:
    first = start_member(database, handler)  # creates the schema
    first.channel.close()
    first.server.stop()
    with psycopg.connect(database, autocommit=True) as db:
        db.execute("UPDATE cloudtasks_emu.schema_version SET version = 99")
    result = start_failure("--database", database)
    assert result.returncode != 0
    assert "schema version 99" in result.stderr
    assert "Traceback" not in result.stderr
