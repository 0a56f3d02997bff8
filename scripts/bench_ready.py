"""Ready-time figures for docs/benchmarks.md: the emulator as the pytest plugin starts it, in a
subprocess (EmulatorProcess) or in the test's own process (InProcessEmulator).

Each measurement is a fresh interpreter that times, from its first import of cloudtasks_emu.testing,
the start until the emulator answers, then a second start in the same process (what a second session
fixture would cost). The runs alternate the two kinds so that the machine's load hits both alike.
Run with .venv/bin/python: `python scripts/bench_ready.py --runs 9`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

PROBE = """
import json, sys, time
started = time.perf_counter()
from cloudtasks_emu.testing import EmulatorProcess, InProcessEmulator
kind = EmulatorProcess if sys.argv[1] == "subprocess" else InProcessEmulator
times = []
for _ in range(2):
    begin = time.perf_counter() if times else started
    emulator = kind("--virtual-clock")
    times.append(time.perf_counter() - begin)
    emulator.stop()
print(json.dumps(times))
"""


def one_run(kind: str) -> list[float]:
    done = subprocess.run([sys.executable, "-c", PROBE, kind], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"{kind} probe failed: {done.stderr}")
    times: list[float] = json.loads(done.stdout.strip().splitlines()[-1])
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    runs = parser.parse_args().runs
    results: dict[str, list[list[float]]] = {"subprocess": [], "in-process": []}
    for _ in range(runs):
        for kind in results:
            results[kind].append(one_run(kind))
    first = {kind: statistics.median(t[0] for t in times) for kind, times in results.items()}
    second = {kind: statistics.median(t[1] for t in times) for kind, times in results.items()}
    print(f"| start | subprocess | in-process | in-process / subprocess |  (median of {runs})")
    print("|---|---|---|---|")
    for label, figures in (("first, imports included", first), ("second, same process", second)):
        sub, inproc = figures["subprocess"], figures["in-process"]
        print(f"| {label} | {sub * 1000:.0f} ms | {inproc * 1000:.0f} ms | {inproc / sub:.2f} |")


if __name__ == "__main__":
    main()
