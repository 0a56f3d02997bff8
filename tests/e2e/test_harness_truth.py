"""A harness that never passes a test that tests nothing: typos fail, time is re-based, dead addresses say so."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest
from google.cloud import tasks_v2

from cloudtasks_emu import client as emulator_client
from cloudtasks_emu.testing import EmulatorProcess, RecordingHandler
from tests.waiting import wait_until

from .conftest import PARENT, http_call

DAY_S = 86400


@pytest.fixture
def logged_emulator(tmp_path: Path) -> Any:
    log = (tmp_path / "emulator.log").open("w")
    emulator = EmulatorProcess("--virtual-clock", stderr=log)
    yield emulator, tmp_path / "emulator.log"
    emulator.stop()
    log.close()


def test_drain_and_attempts_refuse_an_unknown_queue(logged_emulator: Any) -> None:
    emulator, _ = logged_emulator
    emails = f"{PARENT}/queues/emails"
    emulator_client("v2", host=emulator.grpc).create_queue(parent=PARENT, queue={"name": emails})
    typo = f"{PARENT}/queues/emials"
    # A typo is a 404 that names the queue meant, not an idle queue with no attempts
    answer = http_call(emulator.http, "POST", "/_emu/drain", {"queue": typo})
    assert answer.status == 404
    assert answer.json()["known_queues"] == [emails]
    assert f"did you mean {emails}?" in answer.json()["error"]["message"]
    assert http_call(emulator.http, "GET", f"/_emu/attempts?queue={typo}").status == 404
    with pytest.raises(LookupError, match="emails"):
        emulator.drain(typo)
    with pytest.raises(LookupError, match="emails"):
        emulator.attempts(typo)
    emulator.drain(emails)  # the real name still drains
    assert emulator.attempts(emails) == []


def test_a_request_naming_an_unknown_queue_logs_the_closest_names(logged_emulator: Any) -> None:
    emulator, log = logged_emulator
    client = emulator_client("v2", host=emulator.grpc)
    for name in ("emails", "exports", "work"):
        client.create_queue(parent=PARENT, queue={"name": f"{PARENT}/queues/{name}"})
    task = tasks_v2.Task(http_request=tasks_v2.HttpRequest(url="http://127.0.0.1:9/x"))
    with pytest.raises(Exception, match="Queue does not exist"):
        client.create_task(parent=f"{PARENT}/queues/emials", task=task)
    emulator.stop()  # flushes the log
    lines = [line for line in log.read_text().splitlines() if "emials" in line]
    assert len(lines) == 1
    assert " INFO " in lines[0]
    assert f"did you mean {PARENT}/queues/emails?" in lines[0]
    assert "work" not in lines[0]


def test_reset_moves_the_virtual_clock_back_to_real_now(logged_emulator: Any) -> None:
    emulator, _ = logged_emulator
    # Given virtual time a day ahead of the real clock
    emulator.advance(DAY_S)
    assert emulator.now() > time.time() + DAY_S / 2
    # A reset that keeps the clock keeps it
    emulator.reset(keep_clock=True)
    assert emulator.now() > time.time() + DAY_S / 2
    # A reset of one queue moves forward only: other queues keep their tasks
    queue = f"{PARENT}/queues/one"
    emulator_client("v2", host=emulator.grpc).create_queue(parent=PARENT, queue={"name": queue})
    emulator.reset(queue)
    assert emulator.now() > time.time() + DAY_S / 2
    # A full reset goes back to real now, so `now + delay` from the real clock means what it says
    emulator.reset()
    assert abs(emulator.now() - time.time()) < DAY_S / 2


def test_client_helper_says_nothing_is_listening() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for transport in ("grpc", "rest"):
        with pytest.raises(ConnectionError, match=f"nothing listening at 127.0.0.1:{port}"):
            emulator_client("v2", transport=transport, host=f"http://127.0.0.1:{port}")


def test_client_helper_accepts_a_url(cloudtasks_emulator: EmulatorProcess) -> None:
    name = f"{PARENT}/queues/by-url"
    emulator_client("v2", host=f"http://{cloudtasks_emulator.grpc}").create_queue(parent=PARENT, queue={"name": name})
    assert emulator_client("v2", transport="rest", host=cloudtasks_emulator.http).get_queue(name=name).name == name


def test_sigterm_logs_what_was_in_flight_and_pending(tmp_path: Path, handler: RecordingHandler) -> None:
    log_path = tmp_path / "emulator.log"
    with log_path.open("w") as log:
        emulator = EmulatorProcess("--virtual-clock", "--app-engine-url", handler.url, stderr=log)
        try:
            # Given one delivery held by its handler and two tasks due tomorrow
            client = emulator_client("v2", host=emulator.grpc)
            queue = f"{PARENT}/queues/shutdown-report"
            client.create_queue(parent=PARENT, queue={"name": queue})
            handler.script("/in-flight", ["hold"])
            held = client.create_task(parent=queue, task={"app_engine_http_request": {"relative_uri": "/in-flight"}})
            tomorrow = {"seconds": int(emulator.now()) + DAY_S}
            for _ in range(2):
                client.create_task(
                    parent=queue, task={"app_engine_http_request": {"relative_uri": "/x"}, "schedule_time": tomorrow}
                )
            handler.wait_for("/in-flight", 1)
            # When it is asked to stop (the held delivery is let go once the stop has begun)
            emulator.terminate()
            _wait_for_line(log_path, "stopping:")
        finally:
            handler.release_held("/in-flight")
            assert emulator.stop() == 0
    # Then one line says what was in flight, what was pending, and that memory mode loses it
    (line,) = [line for line in log_path.read_text().splitlines() if "stopping:" in line]
    assert f"1 delivery in flight ({held.name}; up to" in line
    assert "3 tasks pending in 1 queue, discarded (in-memory storage)" in line


def _wait_for_line(path: Path, text: str, timeout_s: float = 10) -> None:
    wait_until(lambda: text in path.read_text(), f"no {text!r} in {path}", timeout_s, every_s=0.02)


def test_sigterm_with_a_data_dir_says_tasks_are_kept(tmp_path: Path) -> None:
    log_path, data = tmp_path / "emulator.log", tmp_path / "data"
    with log_path.open("w") as log:
        emulator = EmulatorProcess("--virtual-clock", "--data-dir", str(data), stderr=log)
        try:
            client = emulator_client("v2", host=emulator.grpc)
            queue = f"{PARENT}/queues/kept"
            client.create_queue(parent=PARENT, queue={"name": queue})
            tomorrow = {"seconds": int(emulator.now()) + DAY_S}
            client.create_task(
                parent=queue, task={"app_engine_http_request": {"relative_uri": "/x"}, "schedule_time": tomorrow}
            )
        finally:
            assert emulator.stop() == 0
    (line,) = [line for line in log_path.read_text().splitlines() if "stopping:" in line]
    assert f"0 deliveries in flight; 1 task pending in 1 queue, kept in {data} (SQLite)" in line
