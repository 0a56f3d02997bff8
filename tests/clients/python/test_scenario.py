"""The issue 14 scenario with google-cloud-tasks, once over gRPC and once over REST."""

from __future__ import annotations

import http.server
import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from google.api_core import exceptions
from google.cloud import tasks_v2, tasks_v2beta2, tasks_v2beta3
from google.protobuf import duration_pb2, field_mask_pb2

PARENT = "projects/python-client/locations/us-central1"
RUN = format(time.time_ns(), "x")  # queue IDs unique per run: a deleted name stays blocked


def connect() -> tasks_v2.CloudTasksClient:
    # [START readme-python-connect]
    import os

    import grpc
    from google.cloud import tasks_v2
    from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

    address = os.environ.get("CLOUD_TASKS_EMULATOR_HOST", "127.0.0.1:8123")
    channel = grpc.insecure_channel(address)  # plain text: pass a channel, not api_endpoint
    client = tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
    # [END readme-python-connect]
    return client


def connect_rest(module: Any) -> Any:
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials

    endpoint = "http://" + os.environ["CLOUD_TASKS_EMULATOR_HOST"]
    return module.CloudTasksClient(
        transport="rest", credentials=AnonymousCredentials(), client_options=ClientOptions(api_endpoint=endpoint)
    )


def make_client(module: Any, transport: str) -> Any:
    if transport == "rest":
        return connect_rest(module)
    if module is tasks_v2:
        return connect()
    import grpc

    channel = grpc.insecure_channel(os.environ["CLOUD_TASKS_EMULATOR_HOST"])
    transports = module.services.cloud_tasks.transports
    return module.CloudTasksClient(transport=transports.CloudTasksGrpcTransport(channel=channel))


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


class Handler:
    """A real HTTP server on APP_ENGINE_EMULATOR_HOST's address; it answers 200 and records by path."""

    def __init__(self) -> None:
        host, port = os.environ["APP_ENGINE_EMULATOR_HOST"].removeprefix("http://").split(":")
        self.url = f"http://{host}:{port}"
        self.requests: dict[str, queue.Queue[Received]] = {}
        self._lock = threading.Lock()
        outer = self

        class _Request(http.server.BaseHTTPRequestHandler):
            def _record(self) -> None:
                path, _, query = self.path.partition("?")
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.inbox(path).put(Received(self.command, path, query, dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _record

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((host, int(port)), _Request)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def inbox(self, path: str) -> queue.Queue[Received]:
        with self._lock:
            return self.requests.setdefault(path, queue.Queue())

    def next(self, path: str) -> Received:
        try:
            return self.inbox(path).get(timeout=20)
        except queue.Empty:
            pytest.fail(f"no request reached {path} within 20 s")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def hook() -> Iterator[Handler]:
    handler = Handler()
    yield handler
    handler.stop()


@pytest.fixture(params=["grpc", "rest"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def queue_name(queue_id: str, transport: str) -> str:
    return f"{PARENT}/queues/{queue_id}-{transport}-{RUN}"


def verify_id_token(token: str, audience: str) -> dict[str, Any]:
    """Verifies the token with the JWKS that the emulator's OpenID configuration names."""
    import json
    import urllib.request

    base = "http://" + os.environ["CLOUD_TASKS_EMULATOR_HOST"]
    with urllib.request.urlopen(f"{base}/.well-known/openid-configuration", timeout=10) as response:
        jwks_uri = json.load(response)["jwks_uri"]
    key = jwt.PyJWKClient(jwks_uri).get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token, key.key, algorithms=["RS256"], audience=audience, issuer="https://accounts.google.com"
    )
    return claims


def test_queue_lifecycle(transport: str) -> None:
    client = make_client(tasks_v2, transport)
    name = queue_name("life", transport)
    created = client.create_queue(parent=PARENT, queue={"name": name, "rate_limits": {"max_dispatches_per_second": 50}})
    assert created.name == name
    assert created.state == tasks_v2.Queue.State.RUNNING
    with pytest.raises(exceptions.AlreadyExists if transport == "grpc" else exceptions.Conflict):
        client.create_queue(parent=PARENT, queue={"name": name})
    with pytest.raises(exceptions.InvalidArgument if transport == "grpc" else exceptions.BadRequest):
        client.create_queue(parent=PARENT, queue={"name": f"{PARENT}/queues/not_valid!"})
    assert client.get_queue(name=name).rate_limits.max_dispatches_per_second == 50

    client.create_queue(parent=PARENT, queue={"name": queue_name("page-a", transport)})
    client.create_queue(parent=PARENT, queue={"name": queue_name("page-b", transport)})
    pages = list(client.list_queues(request={"parent": PARENT, "page_size": 2}).pages)
    listed = [q.name for page in pages for q in page.queues if q.name.endswith(f"-{transport}-{RUN}")]
    assert len(listed) == 3
    assert len(pages) >= 2
    assert all(len(page.queues) <= 2 for page in pages)

    mask = field_mask_pb2.FieldMask(paths=["retry_config.max_attempts"])
    updated = client.update_queue(queue={"name": name, "retry_config": {"max_attempts": 7}}, update_mask=mask)
    assert updated.retry_config.max_attempts == 7
    assert updated.rate_limits.max_dispatches_per_second == 50

    assert client.pause_queue(name=name).state == tasks_v2.Queue.State.PAUSED
    client.create_task(parent=name, task={"http_request": {"url": "http://127.0.0.1:9/never"}})
    assert len(list(client.list_tasks(parent=name))) == 1
    client.purge_queue(name=name)
    assert list(client.list_tasks(parent=name)) == []
    assert client.resume_queue(name=name).state == tasks_v2.Queue.State.RUNNING

    client.delete_queue(name=name)
    with pytest.raises(exceptions.NotFound):
        client.get_queue(name=name)


def test_http_task_with_oidc_token(transport: str, hook: Handler) -> None:
    client = make_client(tasks_v2, transport)
    queue_ = client.create_queue(parent=PARENT, queue={"name": queue_name("http", transport)})
    audience, account = f"https://handler.example/python-{transport}", "tasks@python-client.iam.gserviceaccount.com"
    path = f"/http/python-{transport}"
    http_request = {
        "url": f"{hook.url}{path}?step=1",
        "http_method": tasks_v2.HttpMethod.PUT,
        "headers": {"Content-Type": "application/json", "X-Client": "python"},
        "body": b'{"hello": "python"}',
        "oidc_token": {"service_account_email": account, "audience": audience},
    }
    task = client.create_task(parent=queue_.name, task={"http_request": http_request})

    got = hook.next(path)
    assert (got.method, got.query, got.body) == ("PUT", "step=1", b'{"hello": "python"}')
    headers = {k.lower(): v for k, v in got.headers.items()}
    assert headers["x-cloudtasks-queuename"] == queue_.name.rsplit("/", 1)[1]
    assert headers["x-cloudtasks-taskname"] == task.name.rsplit("/", 1)[1]
    assert headers["x-cloudtasks-taskretrycount"] == "0"
    assert headers["x-cloudtasks-taskexecutioncount"] == "0"
    assert float(headers["x-cloudtasks-tasketa"]) > 1e9
    assert headers["user-agent"] == "Google-Cloud-Tasks"
    assert headers["x-client"] == "python"

    token = headers["authorization"].removeprefix("Bearer ")
    claims = verify_id_token(token, audience)
    assert claims["email"] == account
    assert claims["email_verified"] is True
    with pytest.raises(jwt.InvalidAudienceError):
        verify_id_token(token, "https://someone.else")
    tampered = token[:-2] + ("BB" if token.endswith("AA") else "AA")
    with pytest.raises(jwt.InvalidSignatureError):
        verify_id_token(tampered, audience)


def test_app_engine_task(transport: str, hook: Handler) -> None:
    client = make_client(tasks_v2, transport)
    queue_ = client.create_queue(parent=PARENT, queue={"name": queue_name("appengine", transport)})
    path = f"/appengine/python-{transport}"
    request = {"http_method": tasks_v2.HttpMethod.POST, "relative_uri": f"{path}?x=1", "body": b"from python"}
    task = client.create_task(parent=queue_.name, task={"app_engine_http_request": request})
    got = hook.next(path)
    assert (got.method, got.query, got.body) == ("POST", "x=1", b"from python")
    headers = {k.lower(): v for k, v in got.headers.items()}
    assert headers["x-appengine-queuename"] == queue_.name.rsplit("/", 1)[1]
    assert headers["x-appengine-taskname"] == task.name.rsplit("/", 1)[1]
    assert headers["x-appengine-taskretrycount"] == "0"
    assert "AppEngine-Google" in headers["user-agent"]


def test_task_errors(transport: str) -> None:
    client = make_client(tasks_v2, transport)
    queue_ = client.create_queue(parent=PARENT, queue={"name": queue_name("errors", transport)})
    with pytest.raises(exceptions.NotFound):
        client.get_task(name=f"{queue_.name}/tasks/missing")
    with pytest.raises(exceptions.InvalidArgument if transport == "grpc" else exceptions.BadRequest):
        client.create_task(parent=queue_.name, task={"http_request": {"url": "ftp://not-http"}})
    with pytest.raises(exceptions.NotFound):  # what the service answers for a missing queue (reference section 8)
        client.create_task(parent=queue_name("absent", transport), task={"http_request": {"url": "http://x"}})


def test_v2beta3_shares_state(transport: str) -> None:
    client, beta = make_client(tasks_v2, transport), make_client(tasks_v2beta3, transport)
    queue_ = beta.create_queue(parent=PARENT, queue={"name": queue_name("beta3", transport)})
    beta.pause_queue(name=queue_.name)
    task = beta.create_task(parent=queue_.name, task={"http_request": {"url": "http://127.0.0.1:9/beta3"}})
    assert client.get_task(name=task.name).http_request.url == "http://127.0.0.1:9/beta3"
    assert client.get_queue(name=queue_.name).state == tasks_v2.Queue.State.PAUSED


def test_pull_queue_lease_renew_acknowledge(transport: str) -> None:
    pull = make_client(tasks_v2beta2, transport)
    queue_ = pull.create_queue(parent=PARENT, queue={"name": queue_name("pull", transport), "pull_target": {}})
    pull.create_task(parent=queue_.name, task={"pull_message": {"payload": b"work for python", "tag": "python"}})

    lease = {
        "parent": queue_.name,
        "max_tasks": 10,
        "lease_duration": duration_pb2.Duration(seconds=60),
        "response_view": tasks_v2beta2.Task.View.FULL,
        "filter": "tag=python",
    }
    leased = pull.lease_tasks(request=lease).tasks
    assert [t.pull_message.payload for t in leased] == [b"work for python"]
    first = leased[0]
    renewed = pull.renew_lease(
        name=first.name, schedule_time=first.schedule_time, lease_duration=duration_pb2.Duration(seconds=120)
    )
    assert renewed.schedule_time > first.schedule_time
    with pytest.raises(exceptions.FailedPrecondition if transport == "grpc" else exceptions.BadRequest):
        pull.acknowledge_task(name=first.name, schedule_time=first.schedule_time)
    pull.acknowledge_task(name=first.name, schedule_time=renewed.schedule_time)
    with pytest.raises(exceptions.NotFound):
        pull.get_task(name=first.name)
