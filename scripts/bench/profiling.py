"""py-spy on the emulator during a workload, summarised as the functions that hold the samples.

Native frames are included (--native): most of a CreateTask's cost is in grpc's Cython core and in
system calls, which a Python-only profile shows as time in `Runner.run`. Samples whose innermost
frame is a wait in epoll are the event loop and grpc's poller thread idling; they are left out.
Native mode pauses the process for each sample, so the profiled run is apart from the measured ones.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

WAITING = ("epoll_wait ", "epoll_pwait ")
UNNAMED = re.compile(r"0x[0-9a-f]+ \((.*)\)")  # a native frame without a symbol: its library


class PySpy:
    """Records collapsed stacks (py-spy's raw format, one `frame;frame;... count` a line) to `out`."""

    def __init__(self, out: Path, rate: int = 200) -> None:
        found = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
        if found is None:
            raise SystemExit("--py-spy needs py-spy: pip install py-spy")
        self.exe, self.out, self.rate = found, out, rate

    @contextlib.contextmanager
    def recording(self, pid: int) -> Iterator[None]:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        cmd = [self.exe, "record", "--pid", str(pid), "--format", "raw", "--nolineno", "--native"]
        spy = subprocess.Popen(
            [*cmd, "--rate", str(self.rate), "--output", str(self.out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.5)  # let it attach before the workload starts
            yield
        finally:
            spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
            try:
                spy.wait(60)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait(10)

    def hotspots(self, top: int = 15) -> dict[str, Any]:
        """The `top` functions by busy samples spent in them (self), with their inclusive share."""
        own: Counter[str] = Counter()
        inclusive: Counter[str] = Counter()
        busy = waiting = 0
        for line in self.out.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = [UNNAMED.sub(r"<native> (\1)", frame) for frame in stack.split(";")]
            samples = int(count)
            if frames[-1].startswith(WAITING):
                waiting += samples
                continue
            busy += samples
            own[frames[-1]] += samples
            for frame in set(frames):
                inclusive[frame] += samples
        rows = [
            {"function": frame, "self_pct": pct(n, busy), "total_pct": pct(inclusive[frame], busy)}
            for frame, n in own.most_common(top)
        ]
        return {"busy_samples": busy, "waiting_samples": waiting, "file": str(self.out), "top": rows}


def pct(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0
