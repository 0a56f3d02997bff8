"""Input a client can send at will answers INVALID_ARGUMENT / Google's JSON 400, never INTERNAL or a
plain-text 500, and malformed HTTP costs one WARNING line in the log, not a traceback."""

from __future__ import annotations

import base64
import json
import socket
import tempfile
from collections.abc import Iterator
from typing import IO, Any

import grpc
import pytest
from google.cloud import tasks_v2

from cloudtasks_emu.testing import EmulatorProcess
from tests.waiting import wait_until

from .conftest import PARENT, http_call, make_client, raises, unique_queue_name

DEEP = 5000  # far past any recursion limit


class Hostile:
    """An emulator whose log the tests read."""

    def __init__(self, log: IO[str]) -> None:
        self.log = log
        self.server = EmulatorProcess("--virtual-clock", stderr=log)
        host, port = self.server.address.rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.start = 0  # where the running test's part of the log begins

    def log_text(self) -> str:
        with open(self.log.name, encoding="utf-8") as file:
            return file.read()


@pytest.fixture(scope="module")
def hostile() -> Iterator[Hostile]:
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
        target = Hostile(log)
        yield target
        target.server.stop()


@pytest.fixture(autouse=True)
def _log_start(hostile: Hostile) -> None:
    hostile.start = len(hostile.log_text())


@pytest.fixture(scope="module")
def hostile_client(hostile: Hostile) -> Iterator[Any]:
    channel = grpc.insecure_channel(hostile.server.grpc)
    yield make_client(tasks_v2, channel)
    channel.close()


def json_400(status: int, body: bytes, words: str = "") -> None:
    assert status == 400, body
    error = json.loads(body)["error"]
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT"), error
    assert words in error["message"], error


def no_traceback(hostile: Hostile) -> None:
    text = hostile.log_text()[hostile.start :]
    assert "Traceback" not in text, text[-3000:]
    assert " ERROR " not in text, text[-3000:]


def raw_exchange(hostile: Hostile, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `data` on a fresh connection; the status, headers and body of the answer (read to close)."""
    with socket.create_connection((hostile.host, hostile.port), timeout=20) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


# Deeply nested JSON bodies, on every face that reads one.


@pytest.mark.parametrize(
    "path",
    [
        f"/v2/{PARENT}/queues",
        f"/v2beta2/{PARENT}/queues",
        "/_emu/faults",
        "/_emu/drain",
        "/_emu/clock:advance",
        "/_emu/ui/api/task:run",
        "/_emu/ui/api/queue:pause",
    ],
)
def test_a_deeply_nested_json_body_is_a_json_400(hostile: Hostile, path: str) -> None:
    body = b'{"name": ' + b"[" * DEEP + b"]" * DEEP + b"}"
    answer = http_call(hostile.server.http, "POST", path, body, {"Content-Type": "application/json"})
    json_400(answer.status, answer.body, "Invalid JSON payload")
    no_traceback(hostile)


def test_non_standard_json_constants_are_refused(hostile: Hostile) -> None:
    for literal in (b"NaN", b"Infinity", b"-Infinity"):
        body = b'{"timeout": ' + literal + b"}"
        answer = http_call(hostile.server.http, "POST", "/_emu/drain", body, {"Content-Type": "application/json"})
        json_400(answer.status, answer.body, "Invalid JSON payload")
    no_traceback(hostile)


def test_drain_timeout_must_be_a_finite_number(hostile: Hostile) -> None:
    for timeout in ("NaN", "Infinity", "-1", None, [1]):
        answer = hostile.server.call("POST", "/_emu/drain", {"timeout": timeout})
        assert answer["error"]["status"] == "INVALID_ARGUMENT", (timeout, answer)
        assert "timeout" in answer["error"]["message"]
    assert hostile.server.call("POST", "/_emu/drain", {"timeout": 1}) == {"idle": True}
    no_traceback(hostile)


# Forged page tokens.


def _nested_token() -> str:
    return base64.urlsafe_b64encode(b"[" * DEEP).decode().rstrip("=")


def test_a_page_token_of_nested_json_is_invalid_argument_over_grpc(hostile: Hostile, hostile_client: Any) -> None:
    name = unique_queue_name()
    hostile_client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=name))
    with raises("INVALID_ARGUMENT", match="page token"):
        hostile_client.list_queues(request={"parent": PARENT, "page_token": _nested_token()})
    with raises("INVALID_ARGUMENT", match="page token"):
        hostile_client.list_tasks(request={"parent": name, "page_token": _nested_token()})
    no_traceback(hostile)


def test_a_page_token_of_nested_json_is_a_json_400_over_rest(hostile: Hostile) -> None:
    name = unique_queue_name()
    assert http_call(hostile.server.http, "POST", f"/v2/{PARENT}/queues", {"name": name}).status == 200
    for path in (f"/v2/{PARENT}/queues", f"/v2/{name}/tasks"):
        answer = http_call(hostile.server.http, "GET", f"{path}?pageToken={_nested_token()}")
        json_400(answer.status, answer.body, "page token")
    no_traceback(hostile)


# Rates that are not numbers.


def test_a_nan_rate_is_invalid_argument_over_grpc(hostile: Hostile, hostile_client: Any) -> None:
    for rate in (float("nan"), float("inf")):
        queue = tasks_v2.Queue(
            name=unique_queue_name(), rate_limits=tasks_v2.RateLimits(max_dispatches_per_second=rate)
        )
        with raises("INVALID_ARGUMENT", match="maxDispatchesPerSecond"):
            hostile_client.create_queue(parent=PARENT, queue=queue)
    no_traceback(hostile)


@pytest.mark.parametrize(
    ("version", "field"), [("v2", "maxDispatchesPerSecond"), ("v2beta2", "maxTasksDispatchedPerSecond")]
)
def test_a_nan_rate_is_a_json_400_over_rest(hostile: Hostile, version: str, field: str) -> None:
    for rate in ("NaN", "Infinity", "-Infinity"):
        name = unique_queue_name()
        queue: dict[str, Any] = {"name": name, "rateLimits": {field: rate}}
        if version == "v2beta2":
            queue["appEngineHttpTarget"] = {}
        answer = http_call(hostile.server.http, "POST", f"/{version}/{PARENT}/queues", queue)
        json_400(answer.status, answer.body, field)
        # and on update, where the rate of an existing queue changes
        assert (
            http_call(hostile.server.http, "POST", f"/{version}/{PARENT}/queues", {**queue, "rateLimits": {}}).status
            == 200
        )
        answer = http_call(hostile.server.http, "PATCH", f"/{version}/{name}?updateMask=rateLimits", queue)
        json_400(answer.status, answer.body, field)
    no_traceback(hostile)


# Malformed HTTP: Google's JSON 400, and one WARNING line each.


def _warned(hostile: Hostile, before: int, words: str) -> None:
    """Exactly one new log line, a WARNING naming `words` (the emulator writes it before it answers)."""
    new = wait_until(lambda: hostile.log_text().splitlines()[before:], f"no new log line naming {words}")
    assert len(new) == 1, new
    assert " WARNING " in new[0], new
    assert words in new[0], new


@pytest.mark.parametrize(
    ("request_bytes", "words"),
    [
        (b"GET /v2/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n", "8190 bytes"),
        (b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", "8190 bytes"),
        (
            b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
            + b"".join(b"X-%d: a\r\n" % i for i in range(300))
            + b"\r\n",
            "Too many headers",
        ),
        (
            b"POST /_emu/drain HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "Transfer-Encoding",
        ),
    ],
    ids=["request-line", "header-line", "too-many-headers", "length-and-chunked"],
)
def test_a_malformed_request_is_a_json_400_and_one_warning(hostile: Hostile, request_bytes: bytes, words: str) -> None:
    before = len(hostile.log_text().splitlines())
    status, headers, body = raw_exchange(hostile, request_bytes)
    assert headers["content-type"].startswith("application/json"), headers
    json_400(status, body, words)
    _warned(hostile, before, words)
    no_traceback(hostile)
    assert http_call(hostile.server.http, "GET", "/healthz").status == 200
