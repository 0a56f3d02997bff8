"""The processes under test (emulators, push handler): start, CPU time and RSS from /proc, bounded stop."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
OUR_CMD = [sys.executable, "-m", "cloudtasks_emu", "start", "--port", "0", "--http-port", "0", "--log-level", "WARNING"]


class Proc:
    """A child process that prints one JSON line when it is ready; its stderr goes to a log file."""

    def __init__(
        self, name: str, cmd: list[str], log_dir: Path, ready_timeout_s: float = 60.0, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("a")
        started = time.perf_counter()
        self.popen = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=self._log,
            bufsize=0,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        try:
            self.ready: dict[str, Any] = self._ready_line(ready_timeout_s)
        except BaseException:
            self.stop()
            raise
        self.ready_s = time.perf_counter() - started

    @property
    def pid(self) -> int:
        return self.popen.pid

    def _ready_line(self, timeout_s: float) -> dict[str, Any]:
        """The first stdout line that is a JSON object (other lines are skipped), within timeout_s."""
        stdout = self.popen.stdout
        assert stdout is not None
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([stdout], [], [], left)[0]:
                break
            line = stdout.readline()
            if not line:
                raise RuntimeError(f"{self.name} exited with {self.popen.wait(10)}; see {self.log_path}")
            if line.startswith(b"{"):
                ready: dict[str, Any] = json.loads(line)
                return ready
        raise TimeoutError(f"{self.name} printed no ready line in {timeout_s} s; see {self.log_path}")

    def cpu_s(self) -> float:
        """User + system CPU time of all its threads so far."""
        return sum(self.cpu_split())

    def cpu_split(self) -> tuple[float, float]:
        """(user, system) CPU seconds of all its threads so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS

    def context_switches(self) -> int:
        """Voluntary and involuntary context switches of its live threads so far."""
        total = 0
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                status = (task / "status").read_text()
            except FileNotFoundError:  # the thread ended meanwhile
                continue
            total += sum(int(line.split()[1]) for line in status.splitlines() if "ctxt_switches" in line)
        return total

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no VmRSS for {self.name}")

    def stop(self) -> None:
        """SIGTERM, wait (bounded), then SIGKILL; safe to call twice."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(15)
        for stream in (self.popen.stdout, self._log):
            if stream is not None:
                stream.close()

    def __enter__(self) -> Proc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_ours(log_dir: Path) -> Proc:
    """cloudtasks-emu on free ports of 127.0.0.1; ready["grpc"] is host:port."""
    return Proc("cloudtasks-emu", OUR_CMD, log_dir)


def start_theirs(python: Path, log_dir: Path) -> Proc:
    """gcloud-tasks-emulator under its own interpreter, through our loopback launcher."""
    return Proc("gcloud-tasks-emulator", [str(python), str(HERE / "gcloud_launcher.py")], log_dir)


def start_floor(log_dir: Path, kind: str = "aio", env: dict[str, str] | None = None, name: str = "floor") -> Proc:
    """A no-op gRPC server of floor_server.py (`kind`: aio, aio-asyncio, sync, shared)."""
    return Proc(name, [sys.executable, str(HERE / "floor_server.py"), "--kind", kind], log_dir, env=env)


def start_handler(log_dir: Path) -> Proc:
    """The push handler (handler.py) in its own process; ready["url"] is its base URL."""
    return Proc("handler", [sys.executable, str(HERE / "handler.py")], log_dir)


class CpuMeter:
    """CPU time (user, system) and context switches of some processes, and CPU time of this one,
    between entering and leaving the block."""

    def __init__(self, **procs: Proc) -> None:
        self.procs = procs
        self.used: dict[str, float] = {}
        self.system: dict[str, float] = {}
        self.switches: dict[str, int] = {}

    def _sample(self) -> dict[str, tuple[float, float, int]]:
        return {name: (*proc.cpu_split(), proc.context_switches()) for name, proc in self.procs.items()}

    def __enter__(self) -> CpuMeter:
        self._wall = time.perf_counter()
        self._client = time.process_time()
        self._start = self._sample()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_s = time.perf_counter() - self._wall
        for name, (user, system, switches) in self._sample().items():
            user0, system0, switches0 = self._start[name]
            self.used[name] = user - user0 + system - system0
            self.system[name] = system - system0
            self.switches[name] = switches - switches0
        self.used["bench"] = time.process_time() - self._client

    def busy(self, name: str) -> float:
        """Share of one core that `name` used, in percent."""
        return round(100 * self.used[name] / self.wall_s, 1)

    def per_call_us(self, name: str, calls: int) -> float:
        return round(1e6 * self.used[name] / max(calls, 1), 1)

    def system_pct(self, name: str) -> float:
        """Share of its CPU time spent in the kernel, in percent."""
        return round(100 * self.system[name] / self.used[name], 1) if self.used[name] else 0.0

    def switches_per_call(self, name: str, calls: int) -> float:
        return round(self.switches[name] / max(calls, 1), 2)


class OthersMeter:
    """CPU used by everything but this process and its reaped children (other processes, and time
    stolen by the hypervisor) between entering and leaving the block, in percent of all cores."""

    @staticmethod
    def _sample() -> tuple[float, float, float]:
        fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        user, nice, system, _, _, irq, softirq, steal = fields
        ours = os.times()
        own = ours.user + ours.system + ours.children_user + ours.children_system
        return time.perf_counter(), (user + nice + system + irq + softirq + steal) / CLOCK_TICKS, own

    def __enter__(self) -> OthersMeter:
        self._start = self._sample()
        return self

    def __exit__(self, *exc: object) -> None:
        (wall0, busy0, own0), (wall, busy, own) = self._start, self._sample()
        self.pct = round(100 * max(0.0, (busy - busy0) - (own - own0)) / ((wall - wall0) * (os.cpu_count() or 1)), 1)
