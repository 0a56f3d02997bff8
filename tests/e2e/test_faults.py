"""Faults on demand (/_emu/faults): API calls over gRPC and REST, and push dispatch to a URL prefix."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.api_core import exceptions

from cloudtasks_emu.testing import EmulatorProcess, FaultInjector, RecordingHandler

from .conftest import PARENT, http_call, unique_queue_name

TASK = {"http_request": {"url": "https://example.com/x"}}


@pytest.fixture
def faults(server: EmulatorProcess) -> Iterator[FaultInjector]:
    injector = server.faults
    injector.clear()
    yield injector
    injector.clear()


@pytest.fixture
def queue(clients: dict[str, Any]) -> str:
    name = unique_queue_name("fault")
    clients["v2"].create_queue(parent=PARENT, queue={"name": name})
    clients["v2"].pause_queue(name=name)
    return name


def test_the_next_calls_fail_over_grpc_then_pass(clients: dict[str, Any], faults: FaultInjector, queue: str) -> None:
    faults.fail("UNAVAILABLE", "backend hiccup", times=2)
    client = clients["v2"]
    for _ in range(2):
        with pytest.raises(exceptions.ServiceUnavailable, match="backend hiccup"):
            client.get_queue(name=queue, retry=None)
    assert client.get_queue(name=queue).name == queue
    assert faults.list() == []


def test_a_fault_acts_on_rest_with_the_codes_http_status(
    rest_clients: dict[str, Any], server: EmulatorProcess, faults: FaultInjector, queue: str
) -> None:
    faults.fail(8, rpc="GetQueue", times=1)  # RESOURCE_EXHAUSTED by number
    answer = http_call(server.http, "GET", f"/v2beta3/{queue}")
    assert answer.status == 429
    assert answer.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert rest_clients["v2"].get_queue(name=queue).name == queue


def test_a_fault_matches_its_rpc_and_queue_only(clients: dict[str, Any], faults: FaultInjector, queue: str) -> None:
    other = unique_queue_name("fault")
    client = clients["v2"]
    client.create_queue(parent=PARENT, queue={"name": other})
    client.pause_queue(name=other)
    faults.fail("FAILED_PRECONDITION", "no tasks today", rpc="CreateTask", queue=queue.rsplit("/", 1)[1])
    with pytest.raises(exceptions.FailedPrecondition, match="no tasks today"):
        client.create_task(parent=queue, task=TASK)
    with pytest.raises(exceptions.FailedPrecondition):  # until cleared
        clients["v2beta3"].create_task(parent=queue, task=TASK)
    assert client.create_task(parent=other, task=TASK).name.startswith(other)
    assert client.get_queue(name=queue).name == queue
    assert [f["rpc"] for f in faults.list()] == ["CreateTask"]


def test_a_delayed_answer_misses_the_clients_deadline(
    clients: dict[str, Any], faults: FaultInjector, queue: str
) -> None:
    faults.delay(5, rpc="GetQueue", queue=queue, times=1)
    with pytest.raises(exceptions.DeadlineExceeded):
        clients["v2"].get_queue(name=queue, timeout=0.2, retry=None)
    assert clients["v2"].get_queue(name=queue).name == queue


def test_faults_list_clear_and_reset(server: EmulatorProcess, faults: FaultInjector, admin: EmulatorProcess) -> None:
    first = faults.fail("INTERNAL")
    second = faults.dispatch("http://127.0.0.1:1/", 503, times=3)
    assert [f["id"] for f in faults.list()] == [first["id"], second["id"]]
    assert second == {"id": second["id"], "times": 3, "url_prefix": "http://127.0.0.1:1/", "dispatch": 503}
    assert http_call(server.http, "DELETE", f"/_emu/faults/{first['id']}").status == 200
    assert [f["id"] for f in faults.list()] == [second["id"]]
    assert http_call(server.http, "DELETE", "/_emu/faults/nope").status == 404
    admin.reset()
    assert faults.list() == []


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "needs"),
        ({"code": "NOPE"}, "unknown gRPC code"),
        ({"code": 14, "times": 0}, "times"),
        ({"delay": -1}, "delay"),
        ({"url_prefix": "http://x/", "dispatch": "explode"}, "dispatch"),
        ({"code": 14, "colour": "red"}, "unknown fault fields: colour"),
    ],
)
def test_a_bad_fault_is_refused(
    server: EmulatorProcess, faults: FaultInjector, body: dict[str, Any], words: str
) -> None:
    answer = http_call(server.http, "POST", "/_emu/faults", body)
    assert answer.status == 400
    assert words in answer.json()["error"]["message"]
    assert faults.list() == []


# Dispatch faults: the handler is never reached, and the task is retried as after the real failure.


@pytest.mark.parametrize(
    ("action", "status", "error", "previous"),
    [("refuse", None, "Connection refused", "0"), ("timeout", None, "timeout", "504"), (503, 503, "", "503")],
)
def test_dispatch_faults(
    clients: dict[str, Any],
    faults: FaultInjector,
    handler: RecordingHandler,
    admin: EmulatorProcess,
    action: str | int,
    status: int | None,
    error: str,
    previous: str,
) -> None:
    # Given a fault on the handler's URL prefix, acting once
    path = f"/fault/{uuid.uuid4().hex[:10]}"
    faults.dispatch(f"{handler.url}{path}", action, times=1)
    queue = unique_queue_name("fault-push")
    retry = {"min_backoff": {"seconds": 10}, "max_backoff": {"seconds": 10}}
    clients["v2"].create_queue(parent=PARENT, queue={"name": queue, "retry_config": retry})
    task = clients["v2"].create_task(parent=queue, task={"http_request": {"url": f"{handler.url}{path}"}})
    # When the first attempt is made
    admin.drain(queue)
    # Then it failed as the fault says, without reaching the handler
    (attempt,) = admin.attempts(queue)
    assert attempt["status"] == status
    assert error in attempt["error"]
    assert handler.requests_to(path) == []
    assert clients["v2"].get_task(name=task.name).dispatch_count == 1
    # And the retry reaches the handler, told what the previous attempt got
    admin.advance(10)
    admin.drain(queue)
    (got,) = handler.wait_for(path, 1)
    assert got.headers["X-CloudTasks-TaskPreviousResponse"] == previous


def test_the_plugin_fixture(
    cloudtasks_emulator: EmulatorProcess, cloudtasks_faults: FaultInjector, cloudtasks_handler: RecordingHandler
) -> None:
    cloudtasks_faults.fail("UNAVAILABLE", rpc="ListQueues", times=1)
    answer = http_call(cloudtasks_emulator.http, "GET", f"/v2/{PARENT}/queues")
    assert (answer.status, answer.json()["error"]["status"]) == (503, "UNAVAILABLE")
    assert http_call(cloudtasks_emulator.http, "GET", f"/v2/{PARENT}/queues").status == 200


USER_SUITE = """
import pytest
from google.api_core import exceptions

import cloudtasks_emu

PARENT = "projects/p/locations/us-central1"


def test_my_code_survives_an_outage(cloudtasks_emulator, cloudtasks_faults):
    client = cloudtasks_emu.client("v2")
    cloudtasks_faults.fail("UNAVAILABLE", rpc="CreateQueue", times=1)
    with pytest.raises(exceptions.ServiceUnavailable):
        client.create_queue(parent=PARENT, queue={"name": PARENT + "/queues/q"}, retry=None)
    assert client.create_queue(parent=PARENT, queue={"name": PARENT + "/queues/q"}).name.endswith("/q")


def test_faults_are_gone_in_the_next_test(cloudtasks_emulator, cloudtasks_faults):
    cloudtasks_faults.fail("INTERNAL")
    assert len(cloudtasks_faults.list()) == 1


def test_and_here(cloudtasks_emulator, cloudtasks_faults):
    assert cloudtasks_faults.list() == []
"""


def test_the_plugin_fixture_in_a_users_suite(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(USER_SUITE)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)]
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "3 passed" in done.stdout
