"""Start the real emulator as a subprocess and connect the official clients to it over gRPC or REST.

Tests marked `transports("grpc", "rest")` run their body over each: the `client` fixtures are the
official client over gRPC, then with transport="rest". Such tests assert errors with `raises(status)`, which both
transports satisfy (over REST the client picks the class from the HTTP status alone).

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
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import grpc
import pytest
from google.api_core import exceptions
from google.cloud import tasks_v2, tasks_v2beta2, tasks_v2beta3

from cloudtasks_emu.testing import EmulatorProcess, RecordingHandler

VERSIONS = {"v2": tasks_v2, "v2beta3": tasks_v2beta3, "v2beta2": tasks_v2beta2}
PROJECT = "test-project"
LOCATION = "us-central1"
PARENT = f"projects/{PROJECT}/locations/{LOCATION}"


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
def channel(server: EmulatorProcess) -> Iterator[grpc.Channel]:
    ch = grpc.insecure_channel(server.grpc)
    yield ch
    ch.close()


def make_client(module: ModuleType, channel: grpc.Channel) -> Any:
    transport = module.services.cloud_tasks.transports.CloudTasksGrpcTransport(channel=channel)
    return module.CloudTasksClient(transport=transport)


@pytest.fixture(params=list(VERSIONS))
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


TRANSPORTS = ("grpc", "rest")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "transports(*names): run the test body over each transport (grpc, rest)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("transports")
    if marker is not None and "transport" in metafunc.fixturenames:
        metafunc.parametrize("transport", marker.args or TRANSPORTS)


@pytest.fixture
def transport() -> str:
    """The transport of the `client` fixtures: gRPC unless the test is marked with `transports`."""
    return "grpc"


@pytest.fixture
def tasks(version: str) -> ModuleType:
    """The official client module of the version under test."""
    return VERSIONS[version]


@pytest.fixture(scope="session")
def grpc_clients(channel: grpc.Channel) -> dict[str, Any]:
    """The official client of each version over gRPC."""
    return {v: make_client(m, channel) for v, m in VERSIONS.items()}


@pytest.fixture
def clients(transport: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """The official client of each version over the transport under test."""
    made: dict[str, Any] = request.getfixturevalue(f"{transport}_clients")
    return made


@pytest.fixture
def client(clients: dict[str, Any], version: str) -> Any:
    return clients[version]


# The class each canonical code raises over both transports: its HTTP status's class.
_HTTP_CLASSES: dict[str, type[exceptions.GoogleAPICallError]] = {
    "INVALID_ARGUMENT": exceptions.BadRequest,
    "FAILED_PRECONDITION": exceptions.BadRequest,
    "PERMISSION_DENIED": exceptions.Forbidden,
    "NOT_FOUND": exceptions.NotFound,
    "ALREADY_EXISTS": exceptions.Conflict,
    "ABORTED": exceptions.Conflict,
    "RESOURCE_EXHAUSTED": exceptions.TooManyRequests,
    "UNAVAILABLE": exceptions.ServiceUnavailable,
}


def status_of(error: exceptions.GoogleAPICallError) -> str:
    """The canonical code the server sent: the gRPC status, or the REST body's error.status."""
    if error.response is not None and hasattr(error.response, "json"):  # REST: a requests.Response
        return str(error.response.json()["error"]["status"])
    assert error.grpc_status_code is not None
    return str(error.grpc_status_code.name)


@contextmanager
def raises(status: str, match: str | None = None) -> Iterator[pytest.ExceptionInfo[exceptions.GoogleAPICallError]]:
    """The call fails with canonical code `status` over either transport, its message matching `match`."""
    with pytest.raises(_HTTP_CLASSES[status], match=match) as info:
        yield info
    assert status_of(info.value) == status


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


def make_rest_client(module: ModuleType, server: EmulatorProcess) -> Any:
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials

    return module.CloudTasksClient(
        transport="rest", credentials=AnonymousCredentials(), client_options=ClientOptions(api_endpoint=server.http)
    )


@pytest.fixture(scope="session")
def rest_clients(server: EmulatorProcess) -> Iterator[dict[str, Any]]:
    """The official client of each version over REST/JSON."""
    made = {v: make_rest_client(m, server) for v, m in VERSIONS.items()}
    yield made
    for client in made.values():
        client.transport.close()


@pytest.fixture
def rest_client(rest_clients: dict[str, Any], version: str) -> Any:
    return rest_clients[version]


@pytest.fixture(scope="session")
def discovery(server: EmulatorProcess) -> Iterator[Any]:
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
