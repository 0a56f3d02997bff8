"""The emulator in the test's own process: the harness of EmulatorProcess, and nothing left behind at stop."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from cloudtasks_emu.testing import EmulatorProcess, InProcessEmulator, RecordingHandler

PARENT = "projects/p/locations/us-central1"
QUEUE = f"{PARENT}/queues/q"


def rest(emulator: InProcessEmulator, path: str, body: dict[str, Any]) -> Any:
    """A REST call as curl would make it (this process holds no official client)."""
    data = json.dumps(body).encode()
    request = urllib.request.Request(f"{emulator.http}{path}", data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def rfc3339(epoch: float) -> str:
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sockets() -> set[str]:
    """This process's open sockets (inodes), from /proc."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the fd of the listing itself, closed meanwhile
            continue
        if target.startswith("socket:"):
            found.add(target)
    return found


def refused(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.fixture
def handler() -> Iterator[RecordingHandler]:
    recorder = RecordingHandler().start()
    yield recorder
    recorder.stop()


def test_in_process_emulator_delivers_and_leaves_nothing_running(
    handler: RecordingHandler, caplog: pytest.LogCaptureFixture
) -> None:
    # Given this process's threads and sockets before the emulator starts
    threads, open_sockets = set(threading.enumerate()), sockets()
    # When an in-process emulator delivers a task, schedules a retry and a future task, and stops
    emulator = InProcessEmulator("--virtual-clock", "--queue", QUEUE)
    assert emulator.ready["port"] != 0
    handler.script("/work", [500, 200])
    rest(emulator, f"/v2/{QUEUE}/tasks", {"task": {"httpRequest": {"url": handler.url + "/work"}}})
    later = emulator.now() + 3600
    task = {"httpRequest": {"url": handler.url + "/later"}, "scheduleTime": rfc3339(later)}
    rest(emulator, f"/v2/{QUEUE}/tasks", {"task": task})
    emulator.drain(QUEUE)
    emulator.advance(10)  # past the first backoff
    emulator.drain(QUEUE)
    assert [a["status"] for a in emulator.attempts(QUEUE)] == [500, 200]
    assert len(handler.requests_to("/work")) == 2
    emulator.faults.fail("UNAVAILABLE", rpc="GetQueue", times=1)
    assert [f["code"] for f in emulator.faults.list()] == ["UNAVAILABLE"]
    with caplog.at_level(logging.WARNING, logger="cloudtasks_emu"):
        assert emulator.stop() == 0
        emulator.stop()  # twice is harmless
    # Then its ports are closed, and no thread, socket or task of it is left
    assert refused(emulator.address)
    assert refused(emulator.http.removeprefix("http://"))
    assert set(threading.enumerate()) - threads == set()  # threads of earlier tests may end meanwhile
    assert sockets() - open_sockets == set()
    assert not [r for r in caplog.records if "still running" in r.getMessage()]
    assert handler.requests_to("/later") == []


def test_in_process_emulator_shares_the_process_harness() -> None:
    # The admin methods live once, in the base both kinds of emulator share
    harness = {"call", "now", "advance", "drain", "reset", "attempts", "faults"}
    for name in harness:
        assert getattr(InProcessEmulator, name) is getattr(EmulatorProcess, name), name


def test_in_process_emulator_that_cannot_start_says_why() -> None:
    threads = set(threading.enumerate())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match="did not start.*address already in use"):
            InProcessEmulator("--port", str(port))
    with pytest.raises(RuntimeError, match="bad flags"):
        InProcessEmulator("--no-such-flag")
    assert set(threading.enumerate()) - threads == set()  # threads of earlier tests may end meanwhile


def test_in_process_emulator_as_a_context_manager() -> None:
    with InProcessEmulator("--queue", QUEUE) as emulator:
        emulator.reset()
        assert emulator.attempts(QUEUE) == []
    assert refused(emulator.address)
