"""`--data-dir`: state that survives `kill -9`, checked through the official clients, and the
directory's safety rules (one owner, clear refusals)."""

from __future__ import annotations

import concurrent.futures
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.api_core import exceptions
from google.cloud import tasks_v2, tasks_v2beta2
from google.iam.v1 import policy_pb2
from google.protobuf import duration_pb2, field_mask_pb2, timestamp_pb2

from cloudtasks_emu.testing import EmulatorProcess, RecordingHandler

from .conftest import PARENT, make_client

FULL = tasks_v2.Task.View.FULL
# scripts/stress runs the 20 kill/restart cycles; CI runs two.
KILL_CYCLES = 20 if os.environ.get("CLOUDTASKS_EMU_STRESS") == "full" else 2
LEASE = {"max_tasks": 5, "lease_duration": duration_pb2.Duration(seconds=300)}


@contextmanager
def emulator(data_dir: Path, *args: str) -> Iterator[tuple[EmulatorProcess, Any, grpc.Channel]]:
    """An emulator on `data_dir` with a v2 client; killed (SIGKILL) on the way out unless already gone."""
    server = EmulatorProcess("--virtual-clock", "--data-dir", str(data_dir), *args)
    channel = grpc.insecure_channel(server.grpc)
    try:
        yield server, make_client(tasks_v2, channel), channel
    finally:
        channel.close()
        if server.process.poll() is None:
            server.kill()


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "cloudtasks_emu", "start", "--port", "0", "--http-port", "0", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)


def in_future(server: EmulatorProcess, seconds: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromMicroseconds(round((server.now() + seconds) * 1_000_000))
    return stamp


def all_task_names(client: Any, queue: str) -> set[str]:
    return {task.name for task in client.list_tasks(request={"parent": queue, "page_size": 1000})}


def create_until_killed(server: EmulatorProcess, client: Any, queue: str, cycle: int, acknowledged: set[str]) -> None:
    """16 concurrent creators; the emulator is SIGKILLed once they have 200 more acknowledged tasks."""
    lock = threading.Lock()
    stop = threading.Event()
    target = len(acknowledged) + 200
    due = in_future(server, 3600)

    def creator(worker: int) -> None:
        for i in range(100_000):
            if stop.is_set():
                return
            name = f"{queue}/tasks/c{cycle}-w{worker}-{i}"
            task = tasks_v2.Task(name=name, schedule_time=due, http_request=tasks_v2.HttpRequest(url="http://x/"))
            try:
                client.create_task(parent=queue, task=task, timeout=10)
            except exceptions.GoogleAPICallError:
                return  # the server went away mid-call: not acknowledged
            with lock:
                acknowledged.add(name)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(creator, w) for w in range(16)]
        for _ in range(400):  # bounded: 20 s
            with lock:
                if len(acknowledged) >= target:
                    break
            threading.Event().wait(0.05)
        server.kill()
        stop.set()
        for future in futures:
            future.result(timeout=60)
    assert len(acknowledged) >= target


def test_no_acknowledged_task_is_lost_when_killed_under_load(tmp_path: Path) -> None:
    # Given an emulator on a directory, killed under load by many concurrent creators, again and again
    queue = f"{PARENT}/queues/load"
    acknowledged: set[str] = set()
    for cycle in range(KILL_CYCLES):
        with emulator(tmp_path) as (server, client, _channel):
            if cycle == 0:
                client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=queue))
            else:  # Then after each restart every task acknowledged so far is there
                assert acknowledged - all_task_names(client, queue) == set()
            create_until_killed(server, client, queue, cycle, acknowledged)
    with emulator(tmp_path) as (_, client, _channel):
        assert acknowledged - all_task_names(client, queue) == set()


def test_queues_and_tasks_come_back_as_they_were(tmp_path: Path) -> None:
    with emulator(tmp_path) as (server, client, _):
        name = f"{PARENT}/queues/kept"
        queue = tasks_v2.Queue(
            name=name,
            rate_limits=tasks_v2.RateLimits(max_dispatches_per_second=7, max_concurrent_dispatches=3),
            retry_config=tasks_v2.RetryConfig(max_attempts=4, min_backoff=duration_pb2.Duration(seconds=2)),
            stackdriver_logging_config=tasks_v2.StackdriverLoggingConfig(sampling_ratio=0.25),
        )
        client.create_queue(parent=PARENT, queue=queue)
        client.pause_queue(name=name)
        client.purge_queue(name=name)
        policy = client.set_iam_policy(
            request={
                "resource": name,
                "policy": policy_pb2.Policy(bindings=[policy_pb2.Binding(role="roles/viewer", members=["user:a@b.c"])]),
            }
        )
        cmek_name = f"{PARENT}/cmekConfig"
        key = "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"
        client.update_cmek_config(
            cmek_config=tasks_v2.CmekConfig(name=cmek_name, kms_key=key),
            update_mask=field_mask_pb2.FieldMask(paths=["kms_key"]),
        )
        task = client.create_task(
            parent=name,
            task=tasks_v2.Task(name=f"{name}/tasks/t", http_request=tasks_v2.HttpRequest(url="http://x/", body=b"b")),
        )
        before_task = client.get_task(request={"name": task.name, "response_view": FULL})
        client.create_task(
            parent=name,
            task=tasks_v2.Task(name=f"{name}/tasks/gone", http_request=tasks_v2.HttpRequest(url="http://x/")),
        )
        client.delete_task(name=f"{name}/tasks/gone")
        doomed = f"{PARENT}/queues/doomed"
        client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=doomed))
        client.delete_queue(name=doomed)
        before_queue = client.get_queue(name=name)
        server.kill()

    with emulator(tmp_path) as (_, client, _channel):
        assert client.get_queue(name=name) == before_queue
        assert client.get_queue(name=name).state == tasks_v2.Queue.State.PAUSED
        assert client.get_iam_policy(resource=name) == policy
        assert client.get_cmek_config(name=cmek_name).kms_key == key
        assert client.get_task(request={"name": task.name, "response_view": FULL}) == before_task
        with pytest.raises(exceptions.AlreadyExists):  # the task tombstone survived
            client.create_task(
                parent=name,
                task=tasks_v2.Task(name=f"{name}/tasks/gone", http_request=tasks_v2.HttpRequest(url="http://x/")),
            )
        with pytest.raises(exceptions.FailedPrecondition):  # so did the queue's
            client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=doomed))


def test_due_tasks_fire_after_a_restart_and_delivered_ones_do_not(tmp_path: Path) -> None:
    handler = RecordingHandler().start()
    try:
        queue = f"{PARENT}/queues/fire"

        def task(name: str, server: EmulatorProcess, delay_s: float = 0) -> tasks_v2.Task:
            return tasks_v2.Task(
                name=f"{queue}/tasks/{name}",
                schedule_time=in_future(server, delay_s) if delay_s else None,
                http_request=tasks_v2.HttpRequest(url=f"{handler.url}/{name}"),
            )

        with emulator(tmp_path) as (server, client, _):
            client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=queue))
            client.create_task(parent=queue, task=task("now", server))
            server.drain()
            handler.wait_for("/now", 1)
            client.create_task(parent=queue, task=task("later", server, delay_s=600))
            server.kill()

        with emulator(tmp_path) as (server, client, _channel):
            server.drain()
            assert handler.requests_to("/later") == []
            server.advance(600)
            server.drain()
            handler.wait_for("/later", 1)
            assert len(handler.requests_to("/now")) == 1
            assert all_task_names(client, queue) == set()
    finally:
        handler.stop()


def test_an_attempt_in_flight_at_the_kill_is_attempted_again(tmp_path: Path) -> None:
    handler = RecordingHandler().start()
    try:
        queue = f"{PARENT}/queues/flying"
        handler.script("/flying", ["hold"])
        with emulator(tmp_path) as (_, client, _channel):
            client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=queue))
            client.create_task(
                parent=queue,
                task=tasks_v2.Task(
                    name=f"{queue}/tasks/t", http_request=tasks_v2.HttpRequest(url=f"{handler.url}/flying")
                ),
            )
            handler.wait_for("/flying", 1)
        # the `with` killed it while the handler held the attempt
        with emulator(tmp_path) as (server, client, _channel):
            server.drain()
            again = handler.wait_for("/flying", 2)[1]
            assert again.headers["X-CloudTasks-TaskRetryCount"] == "1"
            assert all_task_names(client, queue) == set()
        handler.release_held("/flying")
    finally:
        handler.stop()


def test_a_lease_survives_a_restart_and_can_still_be_acknowledged(tmp_path: Path) -> None:
    queue = f"{PARENT}/queues/pull"
    with emulator(tmp_path) as (_, _client, channel):
        beta2 = make_client(tasks_v2beta2, channel)
        beta2.create_queue(parent=PARENT, queue=tasks_v2beta2.Queue(name=queue, pull_target=tasks_v2beta2.PullTarget()))
        beta2.create_task(
            parent=queue, task=tasks_v2beta2.Task(name=f"{queue}/tasks/p", pull_message=tasks_v2beta2.PullMessage())
        )
        [leased] = beta2.lease_tasks(request=LEASE | {"parent": queue}).tasks

    with emulator(tmp_path) as (_, _client, channel):
        beta2 = make_client(tasks_v2beta2, channel)
        again = beta2.lease_tasks(request=LEASE | {"parent": queue})
        assert list(again.tasks) == []
        beta2.acknowledge_task(name=leased.name, schedule_time=leased.schedule_time)
        with pytest.raises(exceptions.NotFound):
            beta2.get_task(name=leased.name)


def test_reset_clears_the_directory_and_returns_to_the_start_up_queues(tmp_path: Path) -> None:
    startup = f"{PARENT}/queues/declared"
    with emulator(tmp_path, "--queue", startup) as (server, client, _):
        other = f"{PARENT}/queues/other"
        client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=other))
        client.pause_queue(name=startup)
        client.create_task(parent=startup, task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url="http://x/")))
        server.reset()
    with emulator(tmp_path, "--queue", startup) as (_, client, _channel):
        assert [q.name for q in client.list_queues(parent=PARENT)] == [startup]
        assert client.get_queue(name=startup).state == tasks_v2.Queue.State.RUNNING
        assert all_task_names(client, startup) == set()


def test_a_second_emulator_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    with emulator(tmp_path) as (_, client, _channel):
        second = run_cli("--data-dir", str(tmp_path))
        assert second.returncode != 0
        assert str(tmp_path) in second.stderr
        assert "Traceback" not in second.stderr
        assert list(client.list_queues(parent=PARENT)) == []  # the first keeps serving


def test_a_data_dir_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("not a directory")
    result = run_cli("--data-dir", str(path))
    assert result.returncode != 0
    assert f"{path} is not a directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_directory_of_an_unknown_schema_version_is_refused(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "cloudtasks-emu.sqlite3")
    db.execute("CREATE TABLE future (x)")
    db.execute("PRAGMA user_version = 42")
    db.commit()
    db.close()
    result = run_cli("--data-dir", str(tmp_path))
    assert result.returncode != 0
    assert "schema version 42" in result.stderr
    assert "Traceback" not in result.stderr
