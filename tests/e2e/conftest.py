"""Start the real emulator as a subprocess and connect the official clients to it over gRPC.

The official library and our generated protos cannot share one process (both register
google.cloud.tasks.* in protobuf's default pool), so these tests import only cloudtasks_emu.testing
(and the client helper), which load neither.
"""

from __future__ import annotations

import json
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

from cloudtasks_emu.testing import EmulatorProcess, RecordingHandler

VERSIONS = {"v2": tasks_v2, "v2beta3": tasks_v2beta3, "v2beta2": tasks_v2beta2}
PROJECT = "test-project"
LOCATION = "us-central1"
PARENT = f"projects/{PROJECT}/locations/{LOCATION}"


# The emulator subprocess; it is also the admin API client (`admin` fixture).
Server = Admin = EmulatorProcess


def start_server(*args: str, timeout_s: float = 20.0) -> EmulatorProcess:
    """Run `python -m cloudtasks_emu start` on free ports and wait for its ready line."""
    return EmulatorProcess(*args, timeout_s=timeout_s)


def stop_server(server: EmulatorProcess) -> int:
    return server.stop()


@pytest.fixture(scope="session")
def handler() -> Iterator[RecordingHandler]:
    recorder = RecordingHandler().start()
    yield recorder
    recorder.stop()


@pytest.fixture(scope="session")
def server(handler: RecordingHandler) -> Iterator[EmulatorProcess]:
    srv = EmulatorProcess(
        "--virtual-clock", "--app-engine-url", handler.url, "--app-engine-service", f"worker={handler.url}/worker"
    )
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def admin(server: EmulatorProcess) -> EmulatorProcess:
    return server


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
