"""What a handler sees: the URL of a task reaches it byte for byte, as the cloud sends it.

The handler here is a bare socket server that records each raw request line, so nothing between
the wire and the assertion could decode or re-order the URL.
"""

from __future__ import annotations

import queue
import socket
import threading
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.cloud import tasks_v2

from cloudtasks_emu.testing import EmulatorProcess

from .conftest import PARENT, make_client, unique_queue_name


class RawLineHandler:
    """Answers 200 to every request and keeps its request line, e.g. b"GET /a%2Fb?x=1 HTTP/1.1"."""

    def __init__(self) -> None:
        self.lines: queue.Queue[bytes] = queue.Queue()
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(10)
                data = b""
                while b"\r\n\r\n" not in data and len(data) < 1 << 20:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.lines.put(data.split(b"\r\n", 1)[0])
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    def next_line(self) -> str:
        return self.lines.get(timeout=20).decode("latin-1")

    def close(self) -> None:
        self._socket.close()


@pytest.fixture(scope="module")
def raw() -> Iterator[RawLineHandler]:
    handler = RawLineHandler()
    yield handler
    handler.close()


@pytest.fixture(scope="module")
def raw_server(raw: RawLineHandler) -> Iterator[EmulatorProcess]:
    srv = EmulatorProcess("--virtual-clock", "--app-engine-url", raw.url)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(raw_server: EmulatorProcess) -> Iterator[Any]:
    channel = grpc.insecure_channel(raw_server.grpc)
    yield make_client(tasks_v2, channel)
    channel.close()


# Escapes kept (`%2F` is not `/`, `%41` is not `A`, a bad escape stays), `+` and `%20` apart,
# repeated and empty parameters in their order, dot segments and a `%7e` left alone.
RAW = "/a%2Fb/./c/../d%7e?y=%2Fz&b=1+2&c=%20&a=2&a=1&&e=&q=%zz&x=%41"


def deliver(client: Any, server: EmulatorProcess, task: Any, **queue_fields: Any) -> None:
    name = unique_queue_name("raw")
    client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=name, **queue_fields))
    client.create_task(parent=name, task=task)
    server.drain(name)


def test_http_task_url_reaches_the_handler_byte_for_byte(
    client: Any, raw_server: EmulatorProcess, raw: RawLineHandler
) -> None:
    deliver(client, raw_server, tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=f"{raw.url}{RAW}")))
    assert raw.next_line() == f"POST {RAW} HTTP/1.1"


def test_app_engine_relative_uri_reaches_the_handler_byte_for_byte(
    client: Any, raw_server: EmulatorProcess, raw: RawLineHandler
) -> None:
    request = tasks_v2.AppEngineHttpRequest(relative_uri=RAW, http_method=tasks_v2.HttpMethod.GET)
    deliver(client, raw_server, tasks_v2.Task(app_engine_http_request=request))
    assert raw.next_line() == f"GET {RAW} HTTP/1.1"


def test_uri_override_query_reaches_the_handler_byte_for_byte(
    client: Any, raw_server: EmulatorProcess, raw: RawLineHandler
) -> None:
    query = "y=%2Fz&b=1+2&c=%20&a=2&a=1"
    override = tasks_v2.UriOverride(
        scheme=tasks_v2.UriOverride.Scheme.HTTP,
        query_override=tasks_v2.QueryOverride(query_params=query),
    )
    target = tasks_v2.HttpTarget(uri_override=override)
    task = tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=f"{raw.url}/p%2Fq?dropped=1"))
    deliver(client, raw_server, task, http_target=target)
    assert raw.next_line() == f"POST /p%2Fq?{query} HTTP/1.1"
