"""`--data-dir` when its file or its disk fails: a damaged database is refused at start in one line,
and a full disk answers RESOURCE_EXHAUSTED naming it, loses nothing acknowledged and recovers.

The full disk is real: a tmpfs of a few hundred KB mounted by the test (we run as root), filled with
a file until the kernel answers ENOSPC, so SQLite meets the disk full as it would on a laptop.
"""

from __future__ import annotations

import contextlib
import errno
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.cloud import tasks_v2

from cloudtasks_emu.testing import EmulatorProcess

from .conftest import PARENT, http_call, make_client, raises

QUEUE = f"{PARENT}/queues/disk"
BODY = b"x" * 2000  # a few tasks fill a page or two


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "cloudtasks_emu", "start", "--port", "0", "--http-port", "0", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def new_task() -> tasks_v2.Task:
    return tasks_v2.Task(http_request=tasks_v2.HttpRequest(url="http://127.0.0.1:9/never", body=BODY))


@contextlib.contextmanager
def emulator(data_dir: Path, log: Path) -> Iterator[tuple[EmulatorProcess, Any]]:
    with open(log, "a") as stderr:
        server = EmulatorProcess("--virtual-clock", "--data-dir", str(data_dir), stderr=stderr)
    channel = grpc.insecure_channel(server.grpc)
    try:
        yield server, make_client(tasks_v2, channel)
    finally:
        channel.close()
        if server.process.poll() is None:
            server.kill()


def fill_a_database(data_dir: Path, log: Path, tasks: int) -> set[str]:
    """A database of one paused queue and `tasks` tasks, left as a kill leaves it (with its WAL)."""
    with emulator(data_dir, log) as (server, client):
        client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
        client.pause_queue(name=QUEUE)
        names = {client.create_task(parent=QUEUE, task=new_task()).name for _ in range(tasks)}
        server.kill()
    return names


def truncate(path: Path) -> None:
    with open(path, "r+b") as file:
        file.truncate(path.stat().st_size * 3 // 4)


def overwrite_the_middle(path: Path) -> None:
    with open(path, "r+b") as file:
        file.seek(path.stat().st_size // 2)
        file.write(b"\xa5" * 16384)


@pytest.mark.parametrize("damage", [truncate, overwrite_the_middle])
def test_a_damaged_database_is_refused_in_one_line(tmp_path: Path, damage: Any) -> None:
    data_dir = tmp_path / "data"
    fill_a_database(data_dir, tmp_path / "log", 300)
    database = data_dir / "cloudtasks-emu.sqlite3"
    damage(database)

    result = run_cli("--data-dir", str(data_dir))

    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stdout == ""  # never ready
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"cloudtasks-emu: --data-dir {data_dir}: {database} is damaged ("), line
    assert line.endswith("Move it away to start afresh, or restore a copy."), line


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real filesystem of 512 KB of our own."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount_point)], check=True, timeout=30)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True, timeout=30)


def fill(disk: Path) -> Path:
    """Take every free byte of `disk` with one file, as a runaway log would."""
    filler = disk / "filler"
    chunk = b"\0" * 4096
    with open(filler, "wb", buffering=0) as file:
        for _ in range(1024):  # 4 MB at most: far more than the disk
            try:
                file.write(chunk)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                return filler
    raise AssertionError("the disk never filled")


def test_a_full_disk_is_resource_exhausted_loses_nothing_and_recovers(small_disk: Path, tmp_path: Path) -> None:
    log = tmp_path / "emulator.log"
    data_dir = small_disk / "data"
    with emulator(data_dir, log) as (server, client):
        client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
        client.pause_queue(name=QUEUE)
        acknowledged = {client.create_task(parent=QUEUE, task=new_task()).name for _ in range(5)}
        filler = fill(small_disk)

        # Given a full disk, every write is refused with the reason, over gRPC and REST alike.
        full = f"The disk under --data-dir {data_dir} is full"
        for _ in range(3):
            with raises("RESOURCE_EXHAUSTED", match=full):
                acknowledged.add(client.create_task(parent=QUEUE, task=new_task(), retry=None).name)
        with raises("RESOURCE_EXHAUSTED", match=full):
            client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=f"{QUEUE}-2"), retry=None)
        answer = http_call(server.http, "POST", f"/v2/{QUEUE}/tasks", {"task": {"httpRequest": {"url": "http://h/"}}})
        assert (answer.status, answer.json()["error"]["status"]) == (429, "RESOURCE_EXHAUSTED"), answer.body
        assert full in answer.json()["error"]["message"]
        # Reads still work, and show only what was acknowledged.
        assert {task.name for task in client.list_tasks(parent=QUEUE)} == acknowledged

        # When space returns, writes work again, without a restart.
        filler.unlink()
        acknowledged |= {client.create_task(parent=QUEUE, task=new_task()).name for _ in range(3)}
        client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=f"{QUEUE}-2"))
        server.kill()  # nothing acknowledged may depend on a graceful stop

    with emulator(data_dir, log) as (_, client):
        assert {task.name for task in client.list_tasks(parent=QUEUE)} == acknowledged
        assert client.get_queue(name=f"{QUEUE}-2").name == f"{QUEUE}-2"
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text


def test_a_write_past_the_file_size_limit_is_unavailable_and_recovers(tmp_path: Path) -> None:
    # RLIMIT_FSIZE on the emulator process makes its next growing write fail with EFBIG: an I/O error
    # other than a full disk, which SQLite reports without saying which.
    log = tmp_path / "emulator.log"
    data_dir = tmp_path / "data"
    with emulator(data_dir, log) as (server, client):
        client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
        client.pause_queue(name=QUEUE)
        acknowledged = {client.create_task(parent=QUEUE, task=new_task()).name for _ in range(5)}
        pid = server.process.pid
        unlimited = resource.prlimit(pid, resource.RLIMIT_FSIZE)
        wal = data_dir / "cloudtasks-emu.sqlite3-wal"
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (wal.stat().st_size, unlimited[1]))

        for _ in range(3):
            with raises("UNAVAILABLE", match=f"--data-dir {data_dir} cannot be written now"):
                acknowledged.add(client.create_task(parent=QUEUE, task=new_task(), retry=None).name)
        assert {task.name for task in client.list_tasks(parent=QUEUE)} == acknowledged

        resource.prlimit(pid, resource.RLIMIT_FSIZE, unlimited)
        acknowledged.add(client.create_task(parent=QUEUE, task=new_task()).name)
        server.kill()

    with emulator(data_dir, log) as (_, client):
        assert {task.name for task in client.list_tasks(parent=QUEUE)} == acknowledged
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text
