"""The test harness: admin API over plain HTTP, virtual time, YAML queues, client helper, pytest plugin."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from google.api import httpbody_pb2
from google.api_core import exceptions
from google.cloud import tasks_v2, tasks_v2beta2
from google.protobuf import duration_pb2

from cloudtasks_emu import client as emulator_client
from cloudtasks_emu.testing import EmulatorProcess, RecordingHandler

from .conftest import PARENT, make_client


def http(method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """A plain HTTP call, as curl would make it."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)


@pytest.fixture
def own_emulator(tmp_path: Path) -> Any:
    handler = RecordingHandler().start()
    emulator = EmulatorProcess("--virtual-clock", "--app-engine-url", handler.url)
    yield emulator, handler
    emulator.stop()
    handler.stop()


def test_admin_api_over_plain_http(own_emulator: Any) -> None:
    emulator, handler = own_emulator
    base = emulator.http
    # clock
    status, clock = http("GET", f"{base}/_emu/clock")
    assert status == 200
    assert clock["virtual"] is True
    status, moved = http("POST", f"{base}/_emu/clock:advance", {"duration": "90s"})
    assert status == 200
    assert moved["now"] == pytest.approx(clock["now"] + 90)
    status, _ = http("POST", f"{base}/_emu/clock:advance", {"seconds": -1})
    assert status == 400
    status, jumped = http("POST", f"{base}/_emu/clock:set", {"time": "2031-01-01T00:00:00Z"})
    assert status == 200
    assert jumped["time"].startswith("2031-01-01T00:00:00")
    # a queue whose handler holds its request: drain times out, then succeeds once released
    queue = f"{PARENT}/queues/admin-q"
    with __import__("grpc").insecure_channel(emulator.grpc) as channel:
        client = make_client(tasks_v2, channel)
        client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=queue))
        handler.script("/held", ["hold"])
        url = f"{handler.url}/held"
        client.create_task(parent=queue, task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=url)))
        handler.wait_for("/held", 1)
        status, answer = http("POST", f"{base}/_emu/drain", {"queue": queue, "timeout": 0.2})
        assert (status, answer) == (504, {"idle": False})
        handler.release_held("/held")
        status, answer = http("POST", f"{base}/_emu/drain", {"timeout": 10})
        assert (status, answer) == (200, {"idle": True})
        # attempts, filtered by queue
        status, listed = http("GET", f"{base}/_emu/attempts?queue={queue}")
        assert status == 200
        assert [(a["url"], a["status"]) for a in listed["attempts"]] == [(url, 200)]
        status, unknown = http("GET", f"{base}/_emu/attempts?queue={queue}x")
        assert (status, unknown["known_queues"]) == (404, [queue])
        # reset one queue, then everything
        status, _ = http("POST", f"{base}/_emu/reset", {"queue": queue})
        assert status == 200
        with pytest.raises(exceptions.NotFound):
            client.get_queue(name=queue)
        client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=queue))  # no tombstone left
        assert http("POST", f"{base}/_emu/reset", {})[0] == 200
        assert list(client.list_queues(parent=PARENT)) == []
    status, body = http("GET", f"{base}/healthz")
    assert (status, body) == (200, {"status": "SERVING"})


def test_clock_cannot_move_without_virtual_clock() -> None:
    emulator = EmulatorProcess()
    try:
        status, body = http("POST", f"{emulator.http}/_emu/clock:advance", {"seconds": 5})
        assert status == 400
        assert "--virtual-clock" in body["error"]["message"]
        assert http("GET", f"{emulator.http}/_emu/clock")[1]["virtual"] is False
    finally:
        emulator.stop()


def test_minutes_of_backoff_pass_on_the_plugins_virtual_clock(
    cloudtasks_emulator: EmulatorProcess, cloudtasks_handler: RecordingHandler
) -> None:
    # Given the plugin's emulator, a client from the helper, and a handler failing 7 times
    client = emulator_client("v2")
    retry = tasks_v2.RetryConfig(
        min_backoff=duration_pb2.Duration(seconds=10), max_backoff=duration_pb2.Duration(seconds=300)
    )
    queue = f"{PARENT}/queues/backoff"
    client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=queue, retry_config=retry))
    cloudtasks_handler.script("/flaky", [500] * 7)
    started_real, started_virtual = time.monotonic(), cloudtasks_emulator.now()
    client.create_task(
        parent=queue, task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=f"{cloudtasks_handler.url}/flaky"))
    )
    # When time jumps through each backoff (10, 20, 40, 80, 160, 300, 300 s): a second short of it
    # brings nothing, the full backoff brings the next attempt
    for attempt, delay in enumerate([0, 10, 20, 40, 80, 160, 300, 300], start=1):
        if delay:
            cloudtasks_emulator.advance(delay - 1)
            cloudtasks_emulator.drain(queue)
            assert len(cloudtasks_handler.requests_to("/flaky")) == attempt - 1, f"attempt {attempt} came early"
            cloudtasks_emulator.advance(1)
        cloudtasks_emulator.drain(queue)
        assert len(cloudtasks_handler.requests_to("/flaky")) == attempt
    # Then all eight attempts came, over 15 virtual minutes
    assert len(cloudtasks_handler.requests_to("/flaky")) == 8
    assert cloudtasks_emulator.now() - started_virtual == pytest.approx(910)
    print(f"910 s of backoff took {time.monotonic() - started_real:.3f} s of real time")
    assert [a["status"] for a in cloudtasks_emulator.attempts(queue)] == [500] * 7 + [200]


def test_plugin_resets_state_between_tests(cloudtasks_emulator: EmulatorProcess) -> None:
    assert list(emulator_client("v2").list_queues(parent=PARENT)) == []  # the previous test's queue is gone


@pytest.mark.parametrize("version", ["v2", "v2beta3", "v2beta2"])
def test_client_helper_grpc(cloudtasks_emulator: EmulatorProcess, version: str) -> None:
    client = emulator_client(version)
    name = f"{PARENT}/queues/helper-{version}"
    queue = {"name": name, **({"app_engine_http_target": {}} if version == "v2beta2" else {})}
    assert client.create_queue(parent=PARENT, queue=queue).name == name


@pytest.mark.parametrize("version", ["v2", "v2beta3", "v2beta2"])
def test_client_helper_rest(cloudtasks_emulator: EmulatorProcess, version: str) -> None:
    client = emulator_client(version, transport="rest")
    name = f"{PARENT}/queues/rest-helper-{version}"
    queue = {"name": name, **({"app_engine_http_target": {}} if version == "v2beta2" else {})}
    assert client.create_queue(parent=PARENT, queue=queue).name == name
    assert emulator_client(version).get_queue(name=name).name == name  # the same state over gRPC
    with pytest.raises(ValueError, match="asyncio"):
        emulator_client(version, transport="rest", asyncio=True)


async def test_client_helper_grpc_asyncio(cloudtasks_emulator: EmulatorProcess) -> None:
    client = emulator_client("v2beta3", asyncio=True)
    name = f"{PARENT}/queues/helper-async"
    assert (await client.create_queue(parent=PARENT, queue={"name": name})).name == name


def test_config_file_declares_queues(tmp_path: Path, handler: RecordingHandler) -> None:
    config = tmp_path / "queues.yaml"
    config.write_text(
        """
queues:
  - name: projects/cfg/locations/us-central1/queues/emails
    rateLimits: {maxDispatchesPerSecond: 10, maxConcurrentDispatches: 2}
    retryConfig: {maxAttempts: 5, minBackoff: 2s, maxBackoff: 60s}
  - name: projects/cfg/locations/us-central1/queues/work
    type: PULL
"""
    )
    emulator = EmulatorProcess("--config", str(config), "--app-engine-url", handler.url, "--virtual-clock")
    try:
        with __import__("grpc").insecure_channel(emulator.grpc) as channel:
            client = make_client(tasks_v2, channel)
            queue = client.get_queue(name="projects/cfg/locations/us-central1/queues/emails")
            assert queue.rate_limits.max_dispatches_per_second == 10
            assert queue.rate_limits.max_concurrent_dispatches == 2
            assert queue.retry_config.max_attempts == 5
            assert queue.retry_config.min_backoff.total_seconds() == 2
            # a task goes straight to the handler, no set-up call needed
            task = tasks_v2.Task(app_engine_http_request=tasks_v2.AppEngineHttpRequest(relative_uri="/from-config"))
            client.create_task(parent=queue.name, task=task)
            emulator.drain(queue.name)
            assert len(handler.requests_to("/from-config")) == 1
            pull = make_client(tasks_v2beta2, channel).get_queue(name="projects/cfg/locations/us-central1/queues/work")
            assert "pull_target" in pull
    finally:
        emulator.stop()


def test_config_file_accepts_a_classic_queue_yaml(tmp_path: Path) -> None:
    config = tmp_path / "queue.yaml"
    config.write_text(
        """
project: legacy-app
queue:
  - name: mail
    rate: 120/m
    bucket_size: 7
    max_concurrent_requests: 3
    target: v1.worker
    retry_parameters:
      task_retry_limit: 4
      task_age_limit: 2h
      min_backoff_seconds: 1
      max_backoff_seconds: 30
      max_doublings: 2
"""
    )
    emulator = EmulatorProcess("--config", str(config))
    try:
        with __import__("grpc").insecure_channel(emulator.grpc) as channel:
            queue = make_client(tasks_v2beta2, channel).get_queue(
                name="projects/legacy-app/locations/us-central1/queues/mail"
            )
        assert queue.rate_limits.max_tasks_dispatched_per_second == 2
        assert queue.rate_limits.max_burst_size == 7
        assert queue.rate_limits.max_concurrent_tasks == 3
        override = queue.app_engine_http_target.app_engine_routing_override
        assert (override.service, override.version) == ("worker", "v1")
        retry = queue.retry_config
        assert retry.max_attempts == 5  # 4 retries after the first attempt
        assert retry.max_retry_duration.total_seconds() == 7200
        assert retry.max_doublings == 2
    finally:
        emulator.stop()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "queues: [{name: projects/p/locations/l/queues/q, rateLimits: {maxDispatchesPerSecond: 900}}]",
            "less than or equal to 500",
        ),
        ("queues: [{name: projects/p/locations/l/queues/q, colour: blue}]", "colour"),
        ("queues: [{name: not/a/queue}]", "Queue name must be formatted"),
        ("queue: [{name: q, rate: fast}]", "project"),
        ("project: p\nqueue: [{name: q, rate: fast}]", "queue 'q', key rate: must look like"),
        ("queues: [", "not valid YAML"),
    ],
)
def test_bad_config_stops_start_up_with_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    cmd = [sys.executable, "-m", "cloudtasks_emu", "start", "--port", "0", "--http-port", "0", "--config", str(config)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_upload_queue_yaml_creates_updates_and_disables(channel: Any) -> None:
    client = make_client(tasks_v2beta2, channel)
    parent = "projects/yaml-app/locations/us-central1"

    def upload(text: str) -> None:
        client.upload_queue_yaml(
            request={"app_id": "s~yaml-app", "http_body": httpbody_pb2.HttpBody(data=text.encode())}
        )

    upload("queue:\n- name: a\n  rate: 5/s\n- name: b\n  mode: pull\n")
    assert client.get_queue(name=f"{parent}/queues/a").rate_limits.max_tasks_dispatched_per_second == 5
    assert "pull_target" in client.get_queue(name=f"{parent}/queues/b")
    upload("queue:\n- name: a\n  rate: 1/s\n")
    assert client.get_queue(name=f"{parent}/queues/a").rate_limits.max_tasks_dispatched_per_second == 1
    assert client.get_queue(name=f"{parent}/queues/b").state.name == "DISABLED"
    upload("queue:\n- name: a\n  rate: 1/s\n- name: b\n  mode: pull\n")
    assert client.get_queue(name=f"{parent}/queues/b").state.name == "RUNNING"
    with pytest.raises(exceptions.InvalidArgument, match="target type of queue .*queues/a cannot be changed"):
        upload("queue:\n- name: a\n  mode: pull\n")
    with pytest.raises(exceptions.InvalidArgument, match="YAML"):
        upload("queue: [")
    # A name deleted too recently is refused, as CreateQueue refuses it, and no queue changes.
    client.delete_queue(name=f"{parent}/queues/b")
    with pytest.raises(exceptions.FailedPrecondition, match="existed too recently"):
        upload("queue:\n- name: a\n  rate: 2/s\n- name: b\n  mode: pull\n")
    assert client.get_queue(name=f"{parent}/queues/a").rate_limits.max_tasks_dispatched_per_second == 1


def test_sigterm_lets_an_in_flight_delivery_finish(handler: RecordingHandler) -> None:
    emulator = EmulatorProcess("--app-engine-url", handler.url)
    with __import__("grpc").insecure_channel(emulator.grpc) as channel:
        client = make_client(tasks_v2, channel)
        queue = f"{PARENT}/queues/shutdown"
        client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=queue))
        handler.script("/slow-finish", ["hold"])
        task = tasks_v2.Task(app_engine_http_request=tasks_v2.AppEngineHttpRequest(relative_uri="/slow-finish"))
        client.create_task(parent=queue, task=task)
        handler.wait_for("/slow-finish", 1)
    emulator.terminate()
    handler.release_held("/slow-finish")
    assert emulator.stop() == 0


def test_harness_calls_take_a_unique_queue_id(handler: RecordingHandler) -> None:
    # Given queues "orders" (one) and "emails" (in two projects), and a task delivered on "orders"
    orders, emails_a, emails_b = (
        f"projects/{p}/locations/us-central1/queues/{q}" for p, q in [("a", "orders"), ("a", "emails"), ("b", "emails")]
    )
    emulator = EmulatorProcess("--virtual-clock", *(f"--queue={q}" for q in (orders, emails_a, emails_b)))
    try:
        with __import__("grpc").insecure_channel(emulator.grpc) as channel:
            client = make_client(tasks_v2, channel)
            url = f"{handler.url}/short-id"
            client.create_task(parent=orders, task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=url)))
        # Then every harness call takes the unique ID "orders" for the full name
        emulator.drain("orders")
        assert [(a["queue"], a["status"]) for a in emulator.attempts("orders")] == [(orders, 200)]
        assert emulator.faults.fail("UNAVAILABLE", queue="orders", times=1)["queue"] == "orders"
        emulator.faults.clear()
        # And a shared ID is refused with the names it matches, by every call
        calls = [
            lambda: emulator.drain("emails"),
            lambda: emulator.attempts("emails"),
            lambda: emulator.reset("emails"),
        ]
        for call in calls:
            with pytest.raises(LookupError) as refused:
                call()
            assert f"{emails_a}, {emails_b}" in str(refused.value)
        with pytest.raises(ValueError, match=f"{emails_a}, {emails_b}"):
            emulator.faults.fail("UNAVAILABLE", queue="emails")
        answer = emulator.call("POST", "/_emu/drain", {"queue": "emails"})
        assert (answer["error"]["status"], answer["matching_queues"]) == ("INVALID_ARGUMENT", [emails_a, emails_b])
        # And an unknown ID still names the closest queues; a unique one resets its queue
        with pytest.raises(LookupError, match=orders):
            emulator.drain("order")
        emulator.reset("orders")
        assert emulator.call("POST", "/_emu/drain", {"queue": orders})["error"]["code"] == 404
    finally:
        emulator.stop()
