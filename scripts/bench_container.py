"""Container figures for docs/benchmarks.md: what our Dockerfile adds on top of its base image, and
`docker run` to the ready line (beside the same start outside a container).

Run with .venv/bin/python after ./scripts/test built cloudtasks-emu:test (tests/container)."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import uuid


def image_bytes(image: str) -> int:
    out = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", image], capture_output=True, text=True)
    out.check_returncode()
    return int(out.stdout.strip())


def to_ready_s(command: list[str], stop: list[str] | None = None) -> float:
    """Seconds from starting `command` until the ready JSON line appears on its stdout; then stop it
    (with the `stop` command when given, else SIGTERM)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    elapsed = time.perf_counter() - started
    if stop:
        subprocess.run(stop, capture_output=True, timeout=60)
    else:
        process.terminate()
    process.wait(timeout=60)
    process.stdout.close()
    if '"ready": true' not in line:
        raise SystemExit(f"no ready line: {line!r}")
    return elapsed


def run_to_ready_s(image: str) -> float:
    """`docker run` on the host network, ports picked by the emulator."""
    name = f"emu-bench-{uuid.uuid4().hex[:8]}"
    ports = ["-e", "CLOUDTASKS_EMU_PORT=0", "-e", "CLOUDTASKS_EMU_HTTP_PORT=0"]
    command = ["docker", "run", "--rm", "--name", name, "--network", "host", *ports, image]
    return to_ready_s(command, stop=["docker", "stop", name])


def bare_to_ready_s() -> float:
    """The same start outside a container, for the ratio: what the container itself costs."""
    return to_ready_s([sys.executable, "-m", "cloudtasks_emu", "start", "--port", "0", "--http-port", "0"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--image", default="cloudtasks-emu:test")
    parser.add_argument("--base", default="cloudtasks-emu-base:bookworm")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    added_mb = (image_bytes(args.image) - image_bytes(args.base)) / 1e6
    run_to_ready_s(args.image)  # warm the page cache once
    times = [run_to_ready_s(args.image) for _ in range(args.runs)]
    median = statistics.median(times)
    bare_to_ready_s()
    bare = statistics.median([bare_to_ready_s() for _ in range(args.runs)])
    print(f"added on top of the base: {added_mb:.1f} MB ({added_mb / 120:.2f} of the 120 MB target)")
    print(
        f"docker run to ready: median {median:.2f} s, max {max(times):.2f} s of {args.runs} runs "
        f"({median / 2:.2f} of the 2 s target)"
    )
    print(f"the same start outside a container: median {bare:.2f} s (container / bare = {median / bare:.2f})")


if __name__ == "__main__":
    main()
