"""Start the real emulator as a subprocess and connect the official clients to it over gRPC.

The official library and our generated protos cannot share one process (both register
google.cloud.tasks.* in protobuf's default pool), so these tests never import cloudtasks_emu.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import grpc
import pytest
from google.cloud import tasks_v2, tasks_v2beta2, tasks_v2beta3

from .handler import RecordingHandler

VERSIONS = {"v2": tasks_v2, "v2beta3": tasks_v2beta3, "v2beta2": tasks_v2beta2}
PROJECT = "test-project"
LOCATION = "us-central1"
PARENT = f"projects/{PROJECT}/locations/{LOCATION}"


@dataclass
class Server:
    process: subprocess.Popen[str]
    grpc: str
    http: str


def start_server(*args: str, timeout_s: float = 20.0) -> Server:
    """Run `python -m cloudtasks_emu start` on free ports and wait for its ready line."""
    cmd = [sys.executable, "-m", "cloudtasks_emu", "start", "--port", "0", "--http-port", "0", *args]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()  # type: ignore[union-attr]
    try:
        ready = json.loads(lines.get(timeout=timeout_s))
    except (queue.Empty, ValueError) as error:
        process.kill()
        process.wait(timeout=10)
        process.stdout.close()  # type: ignore[union-attr]
        raise RuntimeError(f"emulator did not start (exit code {process.returncode})") from error
    return Server(process, ready["grpc"], ready["http"])


def stop_server(server: Server) -> int:
    server.process.terminate()
    try:
        return server.process.wait(timeout=10)
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(timeout=10)
        server.process.stdout.close()  # type: ignore[union-attr]


@pytest.fixture(scope="session")
def handler() -> Iterator[RecordingHandler]:
    recorder = RecordingHandler().start()
    yield recorder
    recorder.stop()


@pytest.fixture(scope="session")
def server(handler: RecordingHandler) -> Iterator[Server]:
    srv = start_server(
        "--virtual-clock",
        "--app-engine-url",
        handler.url,
        "--app-engine-service",
        f"worker={handler.url}/worker",
    )
    yield srv
    stop_server(srv)


class Admin:
    """The emulator's admin API over plain HTTP."""

    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            payload = json.load(error)
            error.close()
            return payload

    def now(self) -> float:
        return float(self.call("GET", "/_emu/clock")["now"])

    def advance(self, seconds: float) -> None:
        self.call("POST", "/_emu/clock:advance", {"seconds": seconds})

    def drain(self, queue: str, timeout_s: float = 20) -> None:
        answer = self.call("POST", "/_emu/drain", {"queue": queue, "timeout": timeout_s})
        assert answer == {"idle": True}, answer


@pytest.fixture(scope="session")
def admin(server: Server) -> Admin:
    return Admin(server.http)


@pytest.fixture(scope="session")
def channel(server: Server) -> Iterator[grpc.Channel]:
    ch = grpc.insecure_channel(server.grpc)
    yield ch
    ch.close()


def make_client(module: ModuleType, channel: grpc.Channel) -> Any:
    transport = module.services.cloud_tasks.transports.CloudTasksGrpcTransport(channel=channel)
    return module.CloudTasksClient(transport=transport)


@pytest.fixture(params=list(VERSIONS))
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def tasks(version: str) -> ModuleType:
    """The official client module of the version under test."""
    return VERSIONS[version]


@pytest.fixture
def client(tasks: ModuleType, channel: grpc.Channel) -> Any:
    return make_client(tasks, channel)


@pytest.fixture
def clients(channel: grpc.Channel) -> dict[str, Any]:
    return {v: make_client(m, channel) for v, m in VERSIONS.items()}


def unique_queue_name(prefix: str = "q") -> str:
    return f"{PARENT}/queues/{prefix}-{uuid.uuid4().hex[:12]}"


def push_queue(version: str, name: str, **fields: Any) -> Any:
    """A Queue message with the push target each version expects on create."""
    module = VERSIONS[version]
    if version == "v2beta2":
        fields.setdefault("app_engine_http_target", module.AppEngineHttpTarget())
    return module.Queue(name=name, **fields)


@pytest.fixture
def queue_name(client: Any, version: str) -> str:
    """A fresh push queue in the version under test, paused so that its tasks stay put."""
    name = unique_queue_name()
    client.create_queue(parent=PARENT, queue=push_queue(version, name))
    client.pause_queue(name=name)
    return name


def http_task(version: str, url: str = "https://example.com/handler", **fields: Any) -> Any:
    module = VERSIONS[version]
    return module.Task(http_request=module.HttpRequest(url=url, **fields))


def app_engine_task(version: str, relative: str = "/work", body: bytes = b"", **fields: Any) -> Any:
    module = VERSIONS[version]
    key, body_key = ("relative_url", "payload") if version == "v2beta2" else ("relative_uri", "body")
    request = module.AppEngineHttpRequest(**{key: relative, body_key: body}, **fields)
    return module.Task(app_engine_http_request=request)


# REST: the official clients with transport="rest", googleapiclient's discovery client, and plain HTTP.


def make_rest_client(module: ModuleType, server: Server) -> Any:
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials

    return module.CloudTasksClient(
        transport="rest", credentials=AnonymousCredentials(), client_options=ClientOptions(api_endpoint=server.http)
    )


@pytest.fixture(scope="session")
def rest_clients(server: Server) -> Iterator[dict[str, Any]]:
    """The official client of each version over REST/JSON."""
    made = {v: make_rest_client(m, server) for v, m in VERSIONS.items()}
    yield made
    for client in made.values():
        client.transport.close()


@pytest.fixture
def rest_client(rest_clients: dict[str, Any], version: str) -> Any:
    return rest_clients[version]


@pytest.fixture(scope="session")
def discovery(server: Server) -> Iterator[Any]:
    """build(version): googleapiclient's discovery client of that version, pointed at the emulator."""
    import httplib2
    from googleapiclient.discovery import build

    made: dict[str, tuple[Any, httplib2.Http]] = {}

    def make(version: str) -> Any:
        if version not in made:
            http = httplib2.Http()
            options = {"api_endpoint": server.http}
            made[version] = build("cloudtasks", version, static_discovery=True, client_options=options, http=http), http
        return made[version][0]

    yield make
    for _, http in made.values():
        http.close()


@dataclass
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http_call(
    base: str, method: str, path: str, body: bytes | dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> HttpAnswer:
    """One plain HTTP request; a dict body is sent as JSON. Error statuses are answers, not exceptions."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(f"{base}{path}", data=data, method=method, headers=headers or {})
    if isinstance(body, dict):
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return HttpAnswer(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        with error:
            return HttpAnswer(error.code, dict(error.headers), error.read())
