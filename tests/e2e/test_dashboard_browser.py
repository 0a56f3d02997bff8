"""The dashboard in a real browser: Debian's chromium driven by playwright-core (tests/dashboard/scenario.mjs).

scripts/deps/40-browser.sh installs both. Set DASHBOARD_SCREENSHOTS to a folder to keep one PNG per page
(scripts/screenshots does, for docs/).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.cloud import tasks_v2, tasks_v2beta2
from google.protobuf import duration_pb2, timestamp_pb2

from cloudtasks_emu.testing import EmulatorProcess, RecordingHandler

from .conftest import PARENT, make_client

SCENARIO = Path(__file__).parents[1] / "dashboard" / "scenario.mjs"
CHROMIUM = "/usr/bin/chromium"
FAULT_PREFIX = "http://127.0.0.1:9/payments"
WAITING_QUEUE = f"{PARENT}/queues/emails"


@pytest.fixture
def own_server() -> Iterator[EmulatorProcess]:
    """An emulator of our own, so the pages show only this scenario's queue."""
    server = EmulatorProcess("--virtual-clock")
    yield server
    server.stop()


def test_dashboard_answers_where_is_my_task_and_why_it_failed(own_server: EmulatorProcess) -> None:
    assert os.access(CHROMIUM, os.X_OK), "chromium is missing: scripts/deps/40-browser.sh installs it"
    handler = RecordingHandler().start()
    channel = grpc.insecure_channel(own_server.grpc)
    try:
        # Given a paused queue with a task whose handler fails once then succeeds, and one due in an hour
        client: Any = make_client(tasks_v2, channel)
        queue = f"{PARENT}/queues/orders-{uuid.uuid4().hex[:6]}"
        client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=queue))
        client.pause_queue(name=queue)
        handler.script("/orders/charge", [500, 200])
        request = tasks_v2.HttpRequest(
            url=handler.url + "/orders/charge",
            body=json.dumps({"order": 1042, "amount": {"currency": "EUR", "value": "19.90"}}).encode(),
            headers={"Content-Type": "application/json"},
            oidc_token=tasks_v2.OidcToken(service_account_email="orders@test-project.iam.gserviceaccount.com"),
        )
        flaky = client.create_task(parent=queue, task=tasks_v2.Task(http_request=request))
        later_at = timestamp_pb2.Timestamp()
        later_at.FromDatetime(dt.datetime.fromtimestamp(own_server.now() + 3600, dt.UTC))
        later_request = tasks_v2.HttpRequest(url=handler.url + "/orders/receipt", body=b"receipt for 1042")
        later = client.create_task(parent=queue, task=tasks_v2.Task(schedule_time=later_at, http_request=later_request))
        others = add_neighbours(client, make_client(tasks_v2beta2, channel), own_server.now())
        fault = own_server.call("POST", "/_emu/faults", {"url_prefix": FAULT_PREFIX, "dispatch": 503, "times": 2})
        clock_at_start = own_server.now()

        # When a developer walks through the dashboard in chromium
        seen = run_scenario(own_server.http, queue, flaky.name, later.name)

        # Then what the browser showed is what happened
        assert seen["tasksListed"] == "2"
        assert seen["waitingAfterCancel"] == "3"
        assert len(list(client.list_tasks(parent=WAITING_QUEUE))) == 3  # the cancelled purge purged nothing
        assert seen["firstAttemptUrl"] == f"{handler.url}/orders/charge"
        assert sorted(seen["feed"]) == ["200", "200", "500"]
        assert seen["failedOnly"] == ["500"]
        assert seen["gone"] == ["finished", "Succeeded on attempt 2."]
        assert seen["clockBefore"] != seen["clockAfter"]
        assert (seen["paused"], seen["resumed"], seen["errors"]) == (True, True, [])
        assert (seen["filtered"], seen["queues"]) == (1, 1 + others)
        assert [r.headers["X-CloudTasks-TaskRetryCount"] for r in handler.requests_to("/orders/charge")] == ["0", "1"]
        assert len(handler.requests_to("/orders/receipt")) == 1
        assert client.get_queue(name=queue).state == tasks_v2.Queue.State.RUNNING
        assert own_server.now() >= clock_at_start + 3601
        assert seen["fault"][:4] == [fault["fault"]["id"], f"dispatch to {FAULT_PREFIX}…", "answer 503", "2 more times"]
        assert own_server.call("GET", "/_emu/faults") == {"faults": []}
    finally:
        channel.close()
        handler.stop()


def add_neighbours(v2: Any, b2: Any, now: float) -> int:
    """Two more queues, so the queues page shows a paused rate-limited queue and a pull queue with a lease."""
    emails = WAITING_QUEUE
    limits = tasks_v2.RateLimits(max_dispatches_per_second=5, max_concurrent_dispatches=2)
    v2.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=emails, rate_limits=limits))
    v2.pause_queue(name=emails)
    for minutes in (5, 10, 15):
        at = timestamp_pb2.Timestamp()
        at.FromDatetime(dt.datetime.fromtimestamp(now + 60 * minutes, dt.UTC))
        task = tasks_v2.Task(schedule_time=at, http_request=tasks_v2.HttpRequest(url="http://127.0.0.1:9/send"))
        v2.create_task(parent=emails, task=task)
    thumbnails = f"{PARENT}/queues/thumbnails"
    b2.create_queue(parent=PARENT, queue=tasks_v2beta2.Queue(name=thumbnails, pull_target=tasks_v2beta2.PullTarget()))
    for tag in ("png", "jpeg"):
        b2.create_task(parent=thumbnails, task=tasks_v2beta2.Task(pull_message=tasks_v2beta2.PullMessage(tag=tag)))
    lease = {"parent": thumbnails, "max_tasks": 1, "lease_duration": duration_pb2.Duration(seconds=600)}
    assert len(b2.lease_tasks(request=lease).tasks) == 1
    return 2


def run_scenario(url: str, queue: str, flaky: str, later: str) -> dict[str, Any]:
    shots = os.environ.get("DASHBOARD_SCREENSHOTS", "")
    env = {
        "DASHBOARD_URL": url,
        "QUEUE": queue,
        "FLAKY_TASK": flaky,
        "LATER_TASK": later,
        "FAULT_PREFIX": FAULT_PREFIX,
        "WAITING_QUEUE": WAITING_QUEUE,
        "SCREENSHOT_DIR": str(Path(shots).resolve()) if shots else "",
    }
    return run_node(SCENARIO, env)


def run_node(script: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run a browser script beside SCENARIO in a fresh chromium profile; the JSON it printed last."""
    with tempfile.TemporaryDirectory(prefix="dashboard-chromium-") as profile:
        full_env = {**os.environ, **env, "USER_DATA_DIR": profile, "CHROMIUM": CHROMIUM}
        done = subprocess.run(
            ["node", script.name], cwd=script.parent, env=full_env, capture_output=True, text=True, timeout=90
        )
    assert done.returncode == 0, f"the browser scenario failed:\n{done.stdout}\n{done.stderr}"
    seen: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return seen


def test_on_the_real_clock_the_pages_show_no_null_and_nothing_overdue() -> None:
    # Given an emulator as a first start gives it (real clock) with a queue whose one task is due in an hour
    server = EmulatorProcess()
    channel = grpc.insecure_channel(server.grpc)
    try:
        client: Any = make_client(tasks_v2, channel)
        queue = f"{PARENT}/queues/later-{uuid.uuid4().hex[:6]}"
        client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=queue))
        at = timestamp_pb2.Timestamp()
        at.FromDatetime(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
        task = tasks_v2.Task(schedule_time=at, http_request=tasks_v2.HttpRequest(url="http://127.0.0.1:9/later"))
        client.create_task(parent=queue, task=task)

        # When the user opens the clock page and the queues page
        seen = run_node(SCENARIO.parent / "real_clock.mjs", {"DASHBOARD_URL": server.http, "QUEUE": queue})
    finally:
        channel.close()
        server.stop()

    # Then the clock page says the clock is real, with no stray "null", and the queue has nothing overdue
    assert "null" not in seen["clockPage"], seen["clockPage"]
    assert "Start the emulator with --virtual-clock to move time from here." in seen["clockPage"]
    oldest = seen["queueRow"][7]  # the "Oldest" column
    assert oldest == "none due yet", seen["queueRow"]
    assert seen["errors"] == []
