"""Push delivery to a real aiohttp handler: headers, retries on the virtual clock, limits, tokens.

Queues and tasks are made over gRPC and over REST: what is delivered must not depend on it.
"""

from __future__ import annotations

import itertools
import json
import uuid
from typing import Any

import jwt
import pytest
from google.protobuf import duration_pb2, field_mask_pb2

from cloudtasks_emu.testing import EmulatorProcess, RecordingHandler

from .conftest import (
    PARENT,
    VERSIONS,
    app_engine_task,
    http_task,
    push_queue,
    raises,
    unique_queue_name,
)

pytestmark = pytest.mark.transports("grpc", "rest")

FULL = 2


def new_path() -> str:
    return f"/h/{uuid.uuid4().hex[:12]}"


def make_queue(client: Any, version: str, **fields: Any) -> str:
    name = unique_queue_name("push")
    client.create_queue(parent=PARENT, queue=push_queue(version, name, **fields))
    return name


def http_queue(client: Any, tasks: Any, version: str, **fields: Any) -> str:
    name = unique_queue_name("push")
    if version == "v2beta2":
        fields.setdefault("http_target", tasks.HttpTarget())
    client.create_queue(parent=PARENT, queue=tasks.Queue(name=name, **fields))
    return name


def retry(tasks: Any, version: str, attempts: int = 0, **durations: float) -> Any:
    config = tasks.RetryConfig(
        **{k: duration_pb2.Duration(seconds=int(v), nanos=int(v % 1 * 1e9)) for k, v in durations.items()}
    )
    if attempts:
        config.max_attempts = attempts
    return config


def dispatch_count(task: Any, version: str) -> int:
    return int(task.status.attempt_dispatch_count if version == "v2beta2" else task.dispatch_count)


def test_app_engine_request_carries_the_cloud_headers(
    client: Any, version: str, handler: RecordingHandler, admin: EmulatorProcess
) -> None:
    # Given an App Engine task with a body, headers and a query string
    queue = make_queue(client, version)
    path = new_path()
    task = app_engine_task(version, f"{path}?a=1&b=two", b'{"k": 1}', headers={"X-Custom": "yes"})
    created = client.create_task(parent=queue, task=task)
    # When the queue drains
    admin.drain(queue)
    # Then the handler got exactly the cloud's request
    (got,) = handler.requests_to(path)
    assert (got.method, got.query, got.body) == ("POST", "a=1&b=two", b'{"k": 1}')
    headers = got.headers
    assert headers["X-AppEngine-QueueName"] == queue.rsplit("/", 1)[1]
    assert headers["X-AppEngine-TaskName"] == created.name.rsplit("/", 1)[1]
    assert headers["X-AppEngine-TaskRetryCount"] == "0"
    assert headers["X-AppEngine-TaskExecutionCount"] == "0"
    assert headers["X-AppEngine-TaskETA"] == f"{created.schedule_time.timestamp():.6f}"
    assert "X-AppEngine-TaskPreviousResponse" not in headers
    assert "X-AppEngine-TaskRetryReason" not in headers
    assert headers["User-Agent"] == "AppEngine-Google; (+http://code.google.com/appengine)"
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["X-Custom"] == "yes"
    # And the task is gone, its name tombstoned
    with raises("NOT_FOUND", match="no longer exists"):
        client.get_task(name=created.name)


def test_app_engine_service_routing(
    client: Any, tasks: Any, version: str, handler: RecordingHandler, admin: EmulatorProcess
) -> None:
    queue = make_queue(client, version)
    path = new_path()
    task = app_engine_task(version, path)
    task.app_engine_http_request.app_engine_routing = tasks.AppEngineRouting(service="worker")
    client.create_task(parent=queue, task=task)
    admin.drain(queue)
    assert len(handler.requests_to(f"/worker{path}")) == 1


def test_http_retries_follow_the_formula_and_headers(
    client: Any, tasks: Any, version: str, handler: RecordingHandler, admin: EmulatorProcess
) -> None:
    # Given a handler that fails five times, on a queue with min 1 s, max 10 s, 2 doublings
    policy = retry(tasks, version, min_backoff=1, max_backoff=10)
    policy.max_doublings = 2
    queue = http_queue(client, tasks, version, retry_config=policy)
    path = new_path()
    handler.script(path, [503, 404, 429, 500, 302, 200])
    created = client.create_task(parent=queue, task=http_task(version, f"{handler.url}{path}", body=b"b"))
    admin.drain(queue)
    # When time moves to just before, then exactly at, each retry
    for count, delay in enumerate([1, 2, 4, 8, 10], start=1):
        assert len(handler.requests_to(path)) == count
        admin.advance(delay - 0.01)
        admin.drain(queue)
        assert len(handler.requests_to(path)) == count, f"retry {count} came early"
        admin.advance(0.01)
        admin.drain(queue)
    # Then six attempts arrived with the cloud's counters
    got = handler.wait_for(path, 6)
    h = [r.headers for r in got]
    assert [x["X-CloudTasks-TaskRetryCount"] for x in h] == ["0", "1", "2", "3", "4", "5"]
    assert [x["X-CloudTasks-TaskExecutionCount"] for x in h] == ["0", "0", "1", "2", "2", "3"]
    assert [x.get("X-CloudTasks-TaskPreviousResponse") for x in h] == [
        None,
        "503",
        "404",
        "429",
        "500",
        "302",
    ]
    assert [x.get("X-CloudTasks-TaskRetryReason") for x in h] == [None, "", "", "", "", ""]
    assert all(x["X-CloudTasks-QueueName"] == queue.rsplit("/", 1)[1] for x in h)
    assert all(x["User-Agent"] == "Google-Cloud-Tasks" for x in h)
    etas = [float(x["X-CloudTasks-TaskETA"]) for x in h]
    assert [round(b - a, 3) for a, b in itertools.pairwise(etas)] == [1, 2, 4, 8, 10]
    with raises("NOT_FOUND"):
        client.get_task(name=created.name)


def test_app_engine_retry_headers(
    client: Any, tasks: Any, version: str, handler: RecordingHandler, admin: EmulatorProcess
) -> None:
    queue = make_queue(client, version, retry_config=retry(tasks, version, min_backoff=1, max_backoff=1))
    path = new_path()
    handler.script(path, [503, 500, 200])
    client.create_task(parent=queue, task=app_engine_task(version, path))
    for _ in range(3):
        admin.drain(queue)
        admin.advance(1)
    got = handler.wait_for(path, 3)
    assert [r.headers["X-AppEngine-TaskRetryCount"] for r in got] == ["0", "1", "2"]
    assert [r.headers["X-AppEngine-TaskExecutionCount"] for r in got] == ["0", "1", "2"]
    assert [r.headers.get("X-AppEngine-TaskPreviousResponse") for r in got] == [None, "503", "500"]
    assert [r.headers.get("X-AppEngine-TaskRetryReason") for r in got] == [None, "App Error", "App Error"]


def test_status_fields_track_attempts(
    client: Any, tasks: Any, version: str, handler: RecordingHandler, admin: EmulatorProcess
) -> None:
    queue = make_queue(client, version, retry_config=retry(tasks, version, min_backoff=60, max_backoff=60))
    path = new_path()
    handler.script(path, [404])
    created = client.create_task(parent=queue, task=app_engine_task(version, path))
    admin.drain(queue)
    task = client.get_task(name=created.name)
    if version == "v2beta2":
        status = task.status
        assert (status.attempt_dispatch_count, status.attempt_response_count) == (1, 1)
        assert status.first_attempt_status.dispatch_time is not None
        assert status.last_attempt_status.response_status.code == 5
    else:
        assert (task.dispatch_count, task.response_count) == (1, 1)
        assert task.first_attempt.dispatch_time == task.last_attempt.dispatch_time
        assert task.last_attempt.response_status.code == 5  # 404 -> NOT_FOUND
        assert task.last_attempt.response_time is not None
    assert task.schedule_time.timestamp() == pytest.approx(admin.now() + 60, abs=0.01)


def test_max_attempts_drops_the_task(
    client: Any, tasks: Any, version: str, handler: RecordingHandler, admin: EmulatorProcess
) -> None:
    queue = make_queue(client, version, retry_config=retry(tasks, version, attempts=2, min_backoff=1, max_backoff=1))
    path = new_path()
    handler.script(path, [500, 500, 500])
    created = client.create_task(parent=queue, task=app_engine_task(version, path))
    for _ in range(3):
        admin.drain(queue)
        admin.advance(1)
    admin.drain(queue)
    assert len(handler.requests_to(path)) == 2
    with raises("NOT_FOUND", match="no longer exists"):
        client.get_task(name=created.name)


def test_rate_limit_is_held(
    client: Any, tasks: Any, version: str, handler: RecordingHandler, admin: EmulatorProcess
) -> None:
    # Given 2 dispatches per second (burst 2) and 7 due tasks
    rate = "max_tasks_dispatched_per_second" if version == "v2beta2" else "max_dispatches_per_second"
    queue = make_queue(client, version, rate_limits=tasks.RateLimits(**{rate: 2}))
    client.pause_queue(name=queue)
    path = new_path()
    for _ in range(7):
        client.create_task(parent=queue, task=app_engine_task(version, path))
    client.resume_queue(name=queue)
    # Then each second of virtual time lets two more through
    delivered = []
    for _ in range(4):
        admin.drain(queue)
        delivered.append(len(handler.requests_to(path)))
        admin.advance(1)
    assert delivered == [2, 4, 6, 7]


def test_concurrency_limit_is_held(
    client: Any, tasks: Any, version: str, handler: RecordingHandler, grpc_clients: dict[str, Any]
) -> None:
    concurrency = "max_concurrent_tasks" if version == "v2beta2" else "max_concurrent_dispatches"
    queue = make_queue(client, version, rate_limits=tasks.RateLimits(**{concurrency: 2}))
    path = new_path()
    handler.script(path, ["hold"] * 5)
    for _ in range(5):
        client.create_task(parent=queue, task=app_engine_task(version, path))
    handler.wait_for(path, 2)
    # Then the emulator itself counts two attempts in flight: it counts a third the moment it starts one,
    # before its request reaches the handler, and every create has woken the queue's loop by now.
    request = {"name": queue, "read_mask": {"paths": ["stats"]}}
    stats = grpc_clients["v2beta3"].get_queue(request=request).stats
    assert (stats.concurrent_dispatches_count, stats.tasks_count) == (2, 5), "a third dispatch went past the limit"
    assert len(handler.requests_to(path)) == 2
    handler.release_held(path)
    handler.wait_for(path, 5)
    assert handler.max_active[path] == 2


def test_pause_holds_and_purge_drops(
    client: Any, version: str, handler: RecordingHandler, admin: EmulatorProcess
) -> None:
    queue = make_queue(client, version)
    client.pause_queue(name=queue)
    path = new_path()
    for _ in range(3):
        client.create_task(parent=queue, task=app_engine_task(version, path))
    admin.drain(queue)
    assert handler.requests_to(path) == []
    client.resume_queue(name=queue)
    admin.drain(queue)
    assert len(handler.requests_to(path)) == 3
    client.pause_queue(name=queue)
    other = new_path()
    client.create_task(parent=queue, task=app_engine_task(version, other))
    client.purge_queue(name=queue)
    client.resume_queue(name=queue)
    admin.drain(queue)
    assert handler.requests_to(other) == []


def test_run_task_dispatches_at_once(
    client: Any, version: str, handler: RecordingHandler, admin: EmulatorProcess
) -> None:
    queue = make_queue(client, version)
    client.pause_queue(name=queue)
    path = new_path()
    created = client.create_task(parent=queue, task=app_engine_task(version, path, b"x"))
    ran = client.run_task(request={"name": created.name, "response_view": FULL})
    assert dispatch_count(ran, version) == 1
    assert ran.view.name == "FULL"
    admin.drain(queue)
    assert len(handler.requests_to(path)) == 1
    with raises("NOT_FOUND", match="no longer exists"):
        client.run_task(name=created.name)


def test_run_task_on_a_pull_task_is_rejected(clients: dict[str, Any]) -> None:
    b2 = VERSIONS["v2beta2"]
    queue = unique_queue_name("pull")
    clients["v2beta2"].create_queue(parent=PARENT, queue=b2.Queue(name=queue, pull_target=b2.PullTarget()))
    task = clients["v2beta2"].create_task(parent=queue, task=b2.Task(pull_message=b2.PullMessage(payload=b"p")))
    with raises("FAILED_PRECONDITION", match="pull task"):
        clients["v2beta2"].run_task(name=task.name)


@pytest.mark.parametrize("version", ["v2", "v2beta3"])
def test_dispatch_deadline_fails_a_hanging_attempt(
    client: Any, tasks: Any, version: str, handler: RecordingHandler, admin: EmulatorProcess
) -> None:
    queue = make_queue(client, version, retry_config=retry(tasks, version, min_backoff=1, max_backoff=1))
    path = new_path()
    handler.script(path, ["hang"])
    task = http_task(version, f"{handler.url}{path}")
    task.dispatch_deadline = duration_pb2.Duration(seconds=15)
    created = client.create_task(parent=queue, task=task)
    handler.wait_for(path, 1)
    admin.advance(15)
    admin.drain(queue)
    failed = client.get_task(name=created.name)
    assert failed.last_attempt.response_status.code == 4  # DEADLINE_EXCEEDED
    assert failed.response_count == 0
    admin.advance(1)
    admin.drain(queue)
    second = handler.wait_for(path, 2)[1]
    assert second.headers["X-CloudTasks-TaskPreviousResponse"] == "504"
    assert second.headers["X-CloudTasks-TaskExecutionCount"] == "0"


@pytest.mark.parametrize("version", ["v2"])
def test_refused_connection_is_a_failed_attempt(client: Any, tasks: Any, version: str, admin: EmulatorProcess) -> None:
    queue = make_queue(client, version, retry_config=retry(tasks, version, min_backoff=30, max_backoff=30))
    created = client.create_task(parent=queue, task=http_task(version, "http://127.0.0.1:9/nothing-listens"))
    admin.drain(queue)
    task = client.get_task(name=created.name)
    assert (task.dispatch_count, task.response_count) == (1, 0)
    assert task.last_attempt.response_status.code == 14  # UNAVAILABLE
    attempts = admin.call("GET", f"/_emu/attempts?queue={queue}")["attempts"]
    assert len(attempts) == 1
    assert attempts[0]["status"] is None
    assert attempts[0]["url"] == "http://127.0.0.1:9/nothing-listens"


@pytest.mark.parametrize("version", ["v2beta3"])
def test_connection_closed_mid_response_is_retried(
    client: Any, tasks: Any, version: str, handler: RecordingHandler, admin: EmulatorProcess
) -> None:
    queue = make_queue(client, version, retry_config=retry(tasks, version, min_backoff=2, max_backoff=2))
    path = new_path()
    handler.script(path, ["close"])
    created = client.create_task(parent=queue, task=http_task(version, f"{handler.url}{path}"))
    admin.drain(queue)
    task = client.get_task(name=created.name)
    assert (task.dispatch_count, task.response_count) == (1, 0)
    admin.advance(2)
    admin.drain(queue)
    assert len(handler.requests_to(path)) == 2
    with raises("NOT_FOUND"):
        client.get_task(name=created.name)


def test_oidc_and_oauth_tokens(
    client: Any, tasks: Any, version: str, server: EmulatorProcess, handler: RecordingHandler, admin: EmulatorProcess
) -> None:
    queue = http_queue(client, tasks, version)
    oidc_path, oauth_path = new_path(), new_path()
    email = "runner@test-project.iam.gserviceaccount.com"
    oidc = tasks.OidcToken(service_account_email=email)
    client.create_task(parent=queue, task=http_task(version, f"{handler.url}{oidc_path}", oidc_token=oidc))
    oauth = tasks.OAuthToken(service_account_email=email, scope="https://www.googleapis.com/auth/userinfo.email")
    client.create_task(parent=queue, task=http_task(version, f"{handler.url}{oauth_path}", oauth_token=oauth))
    admin.drain(queue)
    (got,) = handler.requests_to(oidc_path)
    scheme, token = got.headers["Authorization"].split(" ", 1)
    assert scheme == "Bearer"
    config = json.loads(urlopen_text(f"{server.http}/.well-known/openid-configuration"))
    key = jwt.PyJWKClient(config["jwks_uri"]).get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token, key.key, algorithms=["RS256"], audience=f"{handler.url}{oidc_path}", issuer=config["issuer"]
    )
    assert claims["email"] == email
    assert claims["email_verified"] is True
    (got_oauth,) = handler.requests_to(oauth_path)
    assert got_oauth.headers["Authorization"].startswith("Bearer ya29.")


@pytest.mark.parametrize("version", ["v2", "v2beta3"])
def test_queue_http_target_overrides(
    client: Any, tasks: Any, version: str, handler: RecordingHandler, admin: EmulatorProcess
) -> None:
    path = new_path()
    port = int(handler.url.rsplit(":", 1)[1])
    target = tasks.HttpTarget(
        uri_override=tasks.UriOverride(
            scheme=tasks.UriOverride.Scheme.HTTP,
            host="127.0.0.1",
            port=port,
            path_override=tasks.PathOverride(path=path),
        ),
        http_method=tasks.HttpMethod.PUT,
        header_overrides=[tasks.HttpTarget.HeaderOverride(header=tasks.HttpTarget.Header(key="X-Team", value="blue"))],
    )
    queue = http_queue(client, tasks, version, http_target=target)
    client.create_task(parent=queue, task=http_task(version, "https://example.com/original?q=1", body=b"data"))
    admin.drain(queue)
    (got,) = handler.requests_to(path)
    assert (got.method, got.query, got.body) == ("PUT", "q=1", b"data")
    assert got.headers["X-Team"] == "blue"


def test_redirects_are_not_followed(
    client: Any, tasks: Any, version: str, handler: RecordingHandler, admin: EmulatorProcess
) -> None:
    queue = http_queue(client, tasks, version, retry_config=retry(tasks, version, min_backoff=5, max_backoff=5))
    path = new_path()
    handler.script(path, [302])
    created = client.create_task(parent=queue, task=http_task(version, f"{handler.url}{path}"))
    admin.drain(queue)
    assert handler.requests_to("/elsewhere") == []
    assert dispatch_count(client.get_task(name=created.name), version) == 1


@pytest.mark.parametrize("version", ["v2beta3"])
def test_queue_stats_count_real_dispatches(
    client: Any, tasks: Any, version: str, handler: RecordingHandler, admin: EmulatorProcess
) -> None:
    queue = make_queue(client, version)
    for _ in range(3):
        client.create_task(parent=queue, task=app_engine_task(version, new_path()))
    admin.drain(queue)
    stats = client.get_queue(request={"name": queue, "read_mask": field_mask_pb2.FieldMask(paths=["stats"])}).stats
    assert stats.executed_last_minute_count == 3
    assert stats.tasks_count == 0
    assert stats.concurrent_dispatches_count == 0


def urlopen_text(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())
