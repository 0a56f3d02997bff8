"""Reference section 8, fact by fact: what the real service answered (v2 over gRPC, recorded 2026).

Facts already held by other files are not repeated here (duplicate queue, name outside parent, rate and
retry limits, re-creating a deleted queue, duplicate task, task under another queue, empty url and
scheme, dispatch_deadline ranges, size limit, HTTP dispatch header sequence, HTTP timeout 504).
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import grpc
import pytest
from google.api_core import exceptions
from google.cloud import tasks_v2
from google.protobuf import duration_pb2, timestamp_pb2

from cloudtasks_emu.testing import EmulatorProcess, RecordingHandler

from .conftest import PARENT, make_client, unique_queue_name

QUEUE_MISSING = (
    "Queue does not exist. If you just created the queue, wait at least a minute for the queue to initialize."
)
ENTITY_MISSING = "Requested entity was not found."
TASK_GONE = (
    "The task no longer exists, though a task with this name existed recently. "
    "The task either successfully completed or was deleted."
)


@pytest.fixture
def v2(channel: grpc.Channel) -> Any:
    return make_client(tasks_v2, channel)


def new_queue(v2: Any, **fields: Any) -> str:
    name = unique_queue_name("rec")
    v2.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=name, **fields))
    return name


def test_malformed_parent_is_permission_denied(v2: Any) -> None:
    with pytest.raises(exceptions.PermissionDenied) as caught:
        v2.create_queue(parent="not-a-valid-parent", queue=tasks_v2.Queue(name=unique_queue_name()))
    assert caught.value.message == "Permission denied on resource project not-a-valid-parent."


def test_max_attempts_below_minus_one(v2: Any) -> None:
    with pytest.raises(exceptions.InvalidArgument) as caught:
        new_queue(v2, retry_config=tasks_v2.RetryConfig(max_attempts=-2))
    assert caught.value.message == "RetryConfig.maxAttempts must be greater or equal to -1."


def test_new_queue_defaults_and_negative_burst_ignored(v2: Any) -> None:
    name = new_queue(v2, rate_limits=tasks_v2.RateLimits(max_burst_size=-5))
    queue = v2.get_queue(name=name)
    rate = queue.rate_limits
    assert (rate.max_dispatches_per_second, rate.max_burst_size, rate.max_concurrent_dispatches) == (500, 100, 1000)
    retry = queue.retry_config
    assert (retry.max_attempts, retry.max_doublings) == (100, 16)
    assert "max_retry_duration" not in retry
    assert (retry.min_backoff.total_seconds(), retry.max_backoff.total_seconds()) == (0.1, 3600)


def test_missing_queue_messages(v2: Any) -> None:
    name = unique_queue_name("never")
    for call in (v2.get_queue, v2.pause_queue, v2.resume_queue, v2.purge_queue):
        with pytest.raises(exceptions.NotFound) as caught:
            call(name=name)
        assert caught.value.message == QUEUE_MISSING
    with pytest.raises(exceptions.NotFound) as caught:
        v2.delete_queue(name=name)
    assert caught.value.message == ENTITY_MISSING
    with pytest.raises(exceptions.NotFound) as caught:
        v2.create_task(parent=name, task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url="https://x.example/")))
    assert caught.value.message == QUEUE_MISSING


def test_deleted_queue_is_missing_for_get_and_create_task(v2: Any) -> None:
    name = new_queue(v2)
    v2.delete_queue(name=name)
    with pytest.raises(exceptions.NotFound, match="Queue does not exist"):
        v2.get_queue(name=name)
    with pytest.raises(exceptions.NotFound, match="Queue does not exist"):
        v2.create_task(parent=name, task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url="https://x.example/")))


def test_schedule_time_too_far_names_the_time_in_us_pacific(v2: Any) -> None:
    name = new_queue(v2)
    at = datetime.datetime(2099, 12, 31, 16, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=-8)))
    task = tasks_v2.Task(
        http_request=tasks_v2.HttpRequest(url="https://x.example/"),
        schedule_time=timestamp_pb2.Timestamp(seconds=int(at.timestamp())),
    )
    with pytest.raises(exceptions.InvalidArgument) as caught:
        v2.create_task(parent=name, task=task)
    assert caught.value.message == (
        "The Task.scheduleTime, 2099-12-31T16:00:00-08:00, is too far in the future. "
        "Schedule time must be no more than 720h in the future."
    )


def test_never_created_and_deleted_task_messages(v2: Any) -> None:
    name = new_queue(v2)
    v2.pause_queue(name=name)
    never = f"{name}/tasks/never"
    for call in (v2.get_task, v2.delete_task, v2.run_task):
        with pytest.raises(exceptions.NotFound) as caught:
            call(name=never)
        assert caught.value.message == ENTITY_MISSING
    task = v2.create_task(parent=name, task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url="https://x.example/")))
    v2.delete_task(name=task.name)
    for call in (v2.get_task, v2.delete_task, v2.run_task):
        with pytest.raises(exceptions.NotFound) as caught:
            call(name=task.name)
        assert caught.value.message == TASK_GONE


def test_bad_percent_escape_in_url_is_accepted(v2: Any) -> None:
    name = new_queue(v2)
    v2.pause_queue(name=name)
    task = v2.create_task(
        parent=name, task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url="https://x.example/%zz"))
    )
    assert task.http_request.url == "https://x.example/%zz"


def test_stored_headers(v2: Any) -> None:
    name = new_queue(v2)
    v2.pause_queue(name=name)
    # HTTP: key case kept, the service's User-Agent, no default Content-Type; BASIC keeps headers
    http = tasks_v2.HttpRequest(url="https://x.example/", headers={"x-Mixed-Case": "v"}, body=b"b")
    stored = v2.create_task(parent=name, task=tasks_v2.Task(http_request=http)).http_request
    assert dict(stored.headers) == {"x-Mixed-Case": "v", "User-Agent": "Google-Cloud-Tasks"}
    assert stored.body == b""
    # App Engine: Content-Length, the App Engine User-Agent, octet-stream only when no content-type was sent
    request = tasks_v2.AppEngineHttpRequest(relative_uri="/w", body=b"abc")
    headers = dict(
        v2.create_task(parent=name, task=tasks_v2.Task(app_engine_http_request=request)).app_engine_http_request.headers
    )
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Length"] == "3"
    assert headers["User-Agent"] == "AppEngine-Google; (+http://code.google.com/appengine)"
    request = tasks_v2.AppEngineHttpRequest(relative_uri="/w", body=b"{}", headers={"content-type": "application/json"})
    headers = dict(
        v2.create_task(parent=name, task=tasks_v2.Task(app_engine_http_request=request)).app_engine_http_request.headers
    )
    assert headers["content-type"] == "application/json"
    assert "Content-Type" not in headers


def test_app_engine_task_of_a_million_bytes_is_accepted(v2: Any) -> None:
    name = new_queue(v2)
    v2.pause_queue(name=name)
    request = tasks_v2.AppEngineHttpRequest(relative_uri="/w", body=b"x" * 1_000_000)
    v2.create_task(parent=name, task=tasks_v2.Task(app_engine_http_request=request))
    request.body = b"x" * (1024 * 1024 + 4096)
    with pytest.raises(exceptions.InvalidArgument, match="Task size too large"):
        v2.create_task(parent=name, task=tasks_v2.Task(app_engine_http_request=request))


def test_app_engine_timeout_retries_with_instance_unavailable(
    v2: Any, handler: RecordingHandler, admin: EmulatorProcess
) -> None:
    retry = tasks_v2.RetryConfig(
        min_backoff=duration_pb2.Duration(seconds=1), max_backoff=duration_pb2.Duration(seconds=1)
    )
    name = new_queue(v2, retry_config=retry)
    path = f"/rec-{uuid.uuid4().hex[:8]}"
    handler.script(path, ["hang"])
    request = tasks_v2.AppEngineHttpRequest(relative_uri=path)
    task = tasks_v2.Task(app_engine_http_request=request, dispatch_deadline=duration_pb2.Duration(seconds=15))
    v2.create_task(parent=name, task=task)
    handler.wait_for(path, 1)
    admin.advance(15)
    admin.drain(name)
    admin.advance(1)
    admin.drain(name)
    second = handler.wait_for(path, 2)[1]
    assert second.headers["X-AppEngine-TaskPreviousResponse"] == "0"
    assert second.headers["X-AppEngine-TaskRetryReason"] == "Instance Unavailable"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"rate_limits": {"max_dispatches_per_second": -1}}, "RateLimits.maxDispatchesPerSecond cannot be negative."),
        (
            {"rate_limits": {"max_dispatches_per_second": 501}},
            "RateLimits.maxDispatchesPerSecond must be less than or equal to 500.",
        ),
        (
            {"rate_limits": {"max_concurrent_dispatches": 5001}},
            "RateLimits.maxConcurrentDispatches must be less than or equal to 5000.",
        ),
    ],
)
def test_rate_limit_messages_name_the_field_in_camel_case(v2: Any, fields: dict[str, Any], message: str) -> None:
    with pytest.raises(exceptions.InvalidArgument) as caught:
        new_queue(v2, **fields)
    assert caught.value.message == message
