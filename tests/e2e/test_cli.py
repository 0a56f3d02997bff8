"""The command line as a CI step or a container runs it: env vars, --version, --ready-file, ports."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.cloud import tasks_v2

from cloudtasks_emu.testing import EmulatorProcess

from .conftest import PARENT, make_client

EMU = [sys.executable, "-m", "cloudtasks_emu"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A short-lived CLI call (one that exits by itself: --help, --version, a rejected flag)."""
    return subprocess.run([*EMU, *args], capture_output=True, text=True, timeout=30, env={**os.environ, **(env or {})})


class Started:
    """`cloudtasks-emu start` with its environment; the ready line is read from stdout."""

    def __init__(self, *args: str, env: dict[str, str], command: tuple[str, ...] = ("start",)) -> None:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDTASKS_EMU_")}
        self.process = subprocess.Popen(
            [*EMU, *command, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**clean, "PYTHONUNBUFFERED": "1", **env},
        )
        assert self.process.stdout is not None
        self.ready = json.loads(self.process.stdout.readline() or "null")

    def stop(self) -> tuple[int, str]:
        self.process.terminate()
        _, stderr = self.process.communicate(timeout=20)
        return self.process.returncode, stderr


@pytest.fixture
def started() -> Iterator[list[Started]]:
    made: list[Started] = []
    yield made
    for each in made:
        if each.process.poll() is None:
            each.process.kill()
            each.process.communicate(timeout=20)


def test_version_names_the_package() -> None:
    done = run("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("cloudtasks-emu ")
    assert done.stdout.split()[1][0].isdigit()


def test_help_lists_a_variable_for_every_flag() -> None:
    done = run("start", "--help")
    assert done.returncode == 0
    flags = {word.strip("[],") for word in done.stdout.split() if word.startswith("--") and word != "--help"}
    assert "--http-port" in flags
    text = " ".join(done.stdout.split())
    for flag in flags:
        assert f"[env CLOUDTASKS_EMU_{flag[2:].upper().replace('-', '_')}]" in text, flag


@pytest.mark.parametrize("value", ["65536", "-1", "http"])
def test_port_outside_range_is_rejected_by_the_parser(value: str) -> None:
    done = run("start", "--port", value)
    assert done.returncode == 2
    assert "argument --port" in done.stderr


def test_bad_variable_is_rejected_with_its_name() -> None:
    done = run("start", env={"CLOUDTASKS_EMU_HTTP_PORT": "99999"})
    assert done.returncode == 2
    assert "CLOUDTASKS_EMU_HTTP_PORT='99999'" in done.stderr
    done = run("start", env={"CLOUDTASKS_EMU_VIRTUAL_CLOCK": "maybe"})
    assert done.returncode == 2
    assert "CLOUDTASKS_EMU_VIRTUAL_CLOCK" in done.stderr


def test_settings_come_from_variables(tmp_path: Path, started: list[Started]) -> None:
    # Given only environment variables: free ports, a virtual clock, SQLite storage and two queues.
    queues = [f"{PARENT}/queues/env-a", f"{PARENT}/queues/env-b"]
    emu = Started(
        env={
            "CLOUDTASKS_EMU_PORT": "0",
            "CLOUDTASKS_EMU_HTTP_PORT": "0",
            "CLOUDTASKS_EMU_VIRTUAL_CLOCK": "true",
            "CLOUDTASKS_EMU_QUEUE": ",".join(queues),
            "CLOUDTASKS_EMU_DATA_DIR": str(tmp_path),
        }
    )
    started.append(emu)
    # Then the emulator bound free ports, created both queues and runs the virtual clock.
    assert emu.ready["grpc_port"] not in (0, 8123)
    with grpc.insecure_channel(emu.ready["grpc"]) as channel:
        listed = [q.name for q in make_client(tasks_v2, channel).list_queues(parent=PARENT)]
    assert sorted(listed) == queues
    code, stderr = emu.stop()
    assert code == 0
    assert "clock virtual" in stderr
    assert f"storage sqlite in {tmp_path}" in stderr


def test_command_line_wins_over_variable(started: list[Started]) -> None:
    queue = f"{PARENT}/queues/from-argv"
    emu = Started(
        "--queue",
        queue,
        "--http-port",
        "0",
        env={
            "CLOUDTASKS_EMU_PORT": "0",
            "CLOUDTASKS_EMU_HTTP_PORT": "1",
            "CLOUDTASKS_EMU_QUEUE": f"{PARENT}/queues/from-env",
        },
    )
    started.append(emu)
    assert emu.ready["http_port"] != 1
    with grpc.insecure_channel(emu.ready["grpc"]) as channel:
        listed = [q.name for q in make_client(tasks_v2, channel).list_queues(parent=PARENT)]
    assert listed == [queue]


def test_flags_without_a_command_mean_start(started: list[Started]) -> None:
    # As `docker run IMAGE --queue X` runs it: the flags replace the image's CMD ["start"].
    queue = f"{PARENT}/queues/no-command"
    emu = Started("--port", "0", "--no-http-port", "--queue", queue, env={}, command=())
    started.append(emu)
    with grpc.insecure_channel(emu.ready["grpc"]) as channel:
        assert [q.name for q in make_client(tasks_v2, channel).list_queues(parent=PARENT)] == [queue]
    assert "cloudtasks-emu " in run("--version").stdout  # the top-level flags keep their meaning


def test_start_line_and_ready_file(tmp_path: Path, started: list[Started]) -> None:
    ready_file = tmp_path / "ready.json"
    emu = Started("--port", "0", "--http-port", "0", "--ready-file", str(ready_file), env={})
    started.append(emu)
    # The file holds the same JSON as the ready line, written whole before that line.
    assert json.loads(ready_file.read_text()) == emu.ready
    code, stderr = emu.stop()
    assert code == 0
    lines = [line for line in stderr.splitlines() if line.startswith("cloudtasks-emu ")]
    assert len(lines) == 1
    assert emu.ready["grpc"] in lines[0]
    assert emu.ready["http"] in lines[0]
    assert "storage memory" in lines[0]
    assert "clock real" in lines[0]
    assert stderr.count("stopping: ") == 1  # what the stop leaves behind, once
    # A stopped emulator leaves no ready file for the next CI step to trust.
    assert not ready_file.exists()


def test_second_emulator_on_a_taken_grpc_port_fails(started: list[Started]) -> None:
    # The direct gRPC listener is grpcio's own socket, which would share the port through SO_REUSEPORT.
    first = Started("--port", "0", "--http-port", "0", "--grpc-port", "0", env={})
    started.append(first)
    port = str(first.ready["grpc_port"])
    assert port != str(first.ready["port"])
    done = run("start", "--port", "0", "--http-port", "0", "--grpc-port", port)
    assert done.returncode == 1
    assert f"cannot bind gRPC to 127.0.0.1:{port}" in done.stderr


def test_taken_http_port_fails() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = run("start", "--port", "0", "--http-port", port)
    assert done.returncode == 1
    assert "address already in use" in done.stderr


def test_a_failed_start_prints_its_error_once_and_no_stop_report() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = run("start", "--port", "0", "--http-port", port)
    assert done.returncode == 1
    # The real error, alone: nothing started, so there is no "stopping: 0 deliveries..." to report.
    assert done.stderr.splitlines() == [
        f"cloudtasks-emu: [Errno 98] error while attempting to bind on address ('127.0.0.1', {port}): "
        "address already in use"
    ], done.stderr


def test_healthcheck_reports_serving_and_down() -> None:
    server = EmulatorProcess()
    try:
        port = server.http.rsplit(":", 1)[1]
        assert run("healthcheck", env={"CLOUDTASKS_EMU_HTTP_PORT": port}).returncode == 0
    finally:
        server.stop()
    down = run("healthcheck", "--http-port", port)
    assert down.returncode == 1
    assert "/healthz" in down.stderr
