"""A throw-away PostgreSQL server for tests: initdb in a temporary directory, a free port on 127.0.0.1.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as the `postgres`
system user that Debian's package creates.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import BinaryIO

from tests.waiting import wait_until


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (scripts/deps/30-postgres.sh installs it)")
    return found[-1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """`with PostgresServer() as pg:` gives `pg.url` (postgresql://USER@127.0.0.1:PORT/postgres)."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="cloudtasks-emu-pg-"))
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        self.url = f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None

    def _run_as(self, args: list[str]) -> list[str]:
        return ["runuser", "-u", self.user, "--", *args] if os.geteuid() == 0 else args

    def start(self, timeout_s: float = 30.0) -> PostgresServer:
        data = self.dir / "data"
        if os.geteuid() == 0:
            shutil.chown(self.dir, self.user)
        subprocess.run(
            self._run_as([_bin("initdb"), "-D", str(data), "-U", self.user, "-A", "trust", "--no-sync", "-E", "UTF8"]),
            check=True,
            capture_output=True,
        )
        return self.resume(timeout_s)

    def halt(self) -> None:
        """A database outage: a fast shutdown (every session is ended), keeping the data for resume()."""
        if self._proc is not None and self._proc.poll() is None:
            stop = [_bin("pg_ctl"), "stop", "-D", str(self.dir / "data"), "-m", "fast", "-w"]
            subprocess.run(self._run_as(stop), check=True, capture_output=True, timeout=60)
            self._proc.wait(30)
        if self._log is not None:
            self._log.close()
            self._log = None

    def resume(self, timeout_s: float = 30.0) -> PostgresServer:
        """Start the server (again) on the same data and port; returns once it accepts connections."""
        data = self.dir / "data"
        self._log = open(self.dir / "server.log", "ab")  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(
            self._run_as(
                [
                    _bin("postgres"),
                    "-D",
                    str(data),
                    "-p",
                    str(self.port),
                    "-h",
                    "127.0.0.1",
                    "-k",
                    str(self.dir),
                    "-c",
                    "fsync=off",
                    "-c",
                    "max_connections=200",
                ]
            ),
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        proc = self._proc

        def state() -> str:
            ready = subprocess.run([_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True)
            if ready.returncode == 0:
                return "ready"
            return "exited" if proc.poll() is not None else ""

        with contextlib.suppress(AssertionError):  # not up in time: the log below says why
            if wait_until(state, "PostgreSQL up", timeout_s, every_s=0.1) == "ready":
                return self
        log = (self.dir / "server.log").read_text(errors="replace")
        self.stop()
        raise RuntimeError(f"PostgreSQL did not start on port {self.port}:\n{log}")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)
        if self._log is not None:
            self._log.close()
            self._log = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
