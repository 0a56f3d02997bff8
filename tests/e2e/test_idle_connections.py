"""Connections that say nothing are closed, on every port: silent sockets, half a request, a partial
HTTP/2 preface, idle keep-alive and idle gRPC connections; hundreds of them at a lowered descriptor limit
are reaped, with one warning, and clients are served again. A live feed (SSE) and calls in progress,
slow or streaming, are not idle and survive the timeouts.

The emulators here run with the timeouts shortened by their flags (`--head-timeout`, `--idle-timeout`).
Each wait is bounded: reading a socket until its EOF is how a test sees a timeout fire."""

from __future__ import annotations

import os
import queue
import selectors
import socket
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import IO

import grpc
import pytest
from google.cloud import tasks_v2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cloudtasks_emu.testing import EmulatorProcess, RecordingHandler

from .conftest import PARENT, make_client, unique_queue_name

HEAD_S, IDLE_S = 1, 2
BOUND_S = 20.0  # far past every timeout here: a socket still open by then was never going to be closed
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
UI = "/_emu/ui/api"


@pytest.fixture(scope="module")
def log() -> Iterator[IO[str]]:
    with tempfile.TemporaryFile("w+") as file:
        yield file


@pytest.fixture(scope="module")
def emu(handler: RecordingHandler, log: IO[str]) -> Iterator[EmulatorProcess]:
    args = ["--head-timeout", str(HEAD_S), "--idle-timeout", str(IDLE_S), "--grpc-port", "0"]
    srv = EmulatorProcess(*args, "--app-engine-url", handler.url, stderr=log)
    yield srv
    srv.stop()


def ports(emu: EmulatorProcess) -> dict[str, int]:
    return {"shared": emu.ready["port"], "http-only": emu.ready["http_port"], "grpc-only": emu.ready["grpc_port"]}


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=BOUND_S)


def read_until_closed(sock: socket.socket) -> bytes:
    """What the server sent before it closed `sock`; fails if it is still open after BOUND_S."""
    deadline, got = time.monotonic() + BOUND_S, b""
    with sock:
        while (remaining := deadline - time.monotonic()) > 0:
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                return got
            if not chunk:
                return got
            got += chunk
    pytest.fail(f"the server kept the connection open for {BOUND_S} s (it sent {got[:80]!r})")


def head(emu: EmulatorProcess, path: str = "/healthz") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {emu.address}\r\n\r\n".encode()


@pytest.mark.parametrize("port", ["shared", "http-only", "grpc-only"])
def test_a_silent_connection_is_closed(emu: EmulatorProcess, port: str) -> None:
    sock = connect(ports(emu)[port])
    read_until_closed(sock)


@pytest.mark.parametrize("port", ["shared", "http-only"])
@pytest.mark.parametrize(
    "sent",
    [b"G", b"GET /healthz HT", b"POST /v2/projects/p/locations/l/queues HTTP/1.1\r\nHost: 127.0.0.1\r\n"],
    ids=["one-byte", "half-a-request-line", "half-a-head"],
)
def test_half_a_request_is_closed(emu: EmulatorProcess, port: str, sent: bytes) -> None:
    sock = connect(ports(emu)[port])
    sock.sendall(sent)
    assert read_until_closed(sock) == b""


@pytest.mark.parametrize("port", ["shared", "grpc-only"])
@pytest.mark.parametrize("sent", [PREFACE[:10], PREFACE], ids=["partial-preface", "preface-without-settings"])
def test_a_partial_http2_start_is_closed(emu: EmulatorProcess, port: str, sent: bytes) -> None:
    sock = connect(ports(emu)[port])
    sock.sendall(sent)
    read_until_closed(sock)  # gRPC may answer with its SETTINGS and a GOAWAY first


@pytest.mark.parametrize("port", ["shared", "http-only"])
def test_an_idle_keep_alive_connection_is_closed_after_its_answer(emu: EmulatorProcess, port: str) -> None:
    sock = connect(ports(emu)[port])
    sock.sendall(head(emu))
    answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(b'{"status": "SERVING"}')


def test_a_request_head_sent_in_pieces_is_served(emu: EmulatorProcess) -> None:
    sock = connect(ports(emu)["shared"])
    for piece in (b"GET /heal", b"thz HTTP/1.1\r", b"\nHost: ", f"{emu.address}\r\n\r".encode(), b"\n"):
        sock.sendall(piece)
    assert read_until_closed(sock).startswith(b"HTTP/1.1 200 ")


def test_an_idle_grpc_connection_is_let_go_and_the_next_call_reconnects(emu: EmulatorProcess) -> None:
    states: queue.Queue[grpc.ChannelConnectivity] = queue.Queue()
    with grpc.insecure_channel(emu.grpc) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        assert stub.Check(health_pb2.HealthCheckRequest(), timeout=BOUND_S).status == 1  # SERVING
        channel.subscribe(states.put)
        # The client keeps an idle channel for 30 minutes: IDLE now means the server sent GOAWAY.
        deadline = time.monotonic() + BOUND_S
        seen = []
        while grpc.ChannelConnectivity.IDLE not in seen[1:]:
            seen.append(states.get(timeout=max(deadline - time.monotonic(), 0.001)))
        assert stub.Check(health_pb2.HealthCheckRequest(), timeout=BOUND_S).status == 1


def test_a_live_feed_and_calls_in_progress_outlast_the_timeouts(
    emu: EmulatorProcess, handler: RecordingHandler
) -> None:
    client = make_client(tasks_v2, grpc.insecure_channel(emu.grpc))
    name = unique_queue_name("idle")
    client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=name))
    quoted = urllib.parse.quote(name)
    # Given a live feed, a health Watch stream and a slow unary call (answered after 2 idle timeouts)
    feed = urllib.request.urlopen(f"{emu.http}{UI}/attempts:stream?queue={quoted}", timeout=BOUND_S)
    channel = grpc.insecure_channel(emu.grpc)
    watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(), timeout=BOUND_S)
    assert next(watch).status == 1
    emu.faults.delay(2 * IDLE_S + 1, rpc="GetQueue", queue=name, times=1)
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(client.get_queue, name=name, timeout=BOUND_S, retry=None)
        # When a silent socket and an idle keep-alive connection have both been closed
        read_until_closed(connect(ports(emu)["shared"]))
        keep_alive = connect(ports(emu)["shared"])
        keep_alive.sendall(head(emu))
        read_until_closed(keep_alive)
        # Then the calls still run: the slow one answers, the stream is open
        assert slow.result(timeout=BOUND_S).name == name
    assert watch.is_active()
    watch.cancel()
    channel.close()
    # And the feed still delivers: an attempt made now arrives on it
    client.create_task(parent=name, task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=f"{handler.url}/idle")))
    emu.drain(name)
    with feed:
        lines = [feed.readline() for _ in range(2)]
    assert lines[0] == b"event: attempt\n"
    assert name.encode() in lines[1]


def _fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _wait_all_closed(socks: list[socket.socket]) -> None:
    """Bounded: every socket has seen its EOF (or a reset, or a refused connect)."""
    with selectors.DefaultSelector() as selector:
        for sock in socks:
            selector.register(sock, selectors.EVENT_READ)
        deadline = time.monotonic() + 3 * BOUND_S
        while selector.get_map() and (remaining := deadline - time.monotonic()) > 0:
            for key, _ in selector.select(remaining):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    more = sock.recv(4096)
                except OSError:
                    more = b""
                if not more:
                    selector.unregister(sock)
        assert not selector.get_map(), f"{len(selector.get_map())} connections never closed"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prlimit and /proc/<pid>/fd are Linux's")
def test_hundreds_of_idle_sockets_at_a_low_descriptor_limit_are_reaped_with_one_warning() -> None:
    with tempfile.TemporaryFile("w+") as log:
        emu = EmulatorProcess("--head-timeout", "3", "--idle-timeout", "3", stderr=log)
        try:
            import resource  # here: Linux only

            pid = emu.process.pid
            # Given a descriptor limit 200 above what the emulator holds at rest
            limit = _fd_count(pid) + 200
            _, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
            resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, hard))
            # When 240 sockets connect and say nothing: more than the limit allows
            socks = []
            for _ in range(240):
                sock = socket.socket()
                sock.setblocking(False)
                sock.connect_ex(("127.0.0.1", emu.ready["port"]))
                socks.append(sock)
            try:
                # Then every one of them is closed, and clients are served again
                _wait_all_closed(socks)
            finally:
                for sock in socks:
                    sock.close()
            client = make_client(tasks_v2, grpc.insecure_channel(emu.grpc))
            name = unique_queue_name("fd")
            client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=name), timeout=BOUND_S)
            assert emu.call("GET", "/healthz") == {"status": "SERVING"}
        finally:
            emu.stop()
        # And the log warned once that the limit was near, naming it
        log.seek(0)
        warnings = [line for line in log if "open file descriptors" in line]
        assert len(warnings) == 1, warnings
        assert "WARNING" in warnings[0]
        assert f"of {limit} open file descriptors" in warnings[0]
