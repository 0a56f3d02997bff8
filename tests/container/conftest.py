"""Build the image from our Dockerfile once per session and run containers of it on the host network.

scripts/deps/60-docker.sh installs Docker, starts dockerd and imports a Debian base image (no image
registry is reachable here). Without a working dockerd these tests fail with the reason, never skip.
Containers use the host's network so that every connection stays on loopback.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudtasks_emu.testing import RecordingHandler

ROOT = Path(__file__).resolve().parents[2]
BASE = os.environ.get("CLOUDTASKS_EMU_TEST_BASE", "cloudtasks-emu-base:bookworm")
# A tag of its own lets several checkouts build their images side by side.
IMAGE = os.environ.get("CLOUDTASKS_EMU_TEST_IMAGE", "cloudtasks-emu:test")
# Building reinstalls the package from PyPI whenever its source changed.
BUILD_TIMEOUT_S = 540


def docker(*args: str, timeout_s: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout_s)
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done


@pytest.fixture(scope="session")
def image() -> str:
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        pytest.fail("no docker command: scripts/deps/60-docker.sh installs Debian's docker.io")
    if info.returncode != 0:
        pytest.fail(
            "dockerd is not reachable (scripts/deps/60-docker.sh starts it; its log is "
            f"/var/log/cloudtasks-emu-dockerd.log): {info.stderr.strip()}"
        )
    if docker("image", "inspect", BASE, check=False).returncode != 0:
        pytest.fail(f"base image {BASE} is missing: scripts/deps/60-docker.sh builds it")
    docker(
        "build", "--network", "host", "--build-arg", f"BASE={BASE}", "-t", IMAGE, str(ROOT), timeout_s=BUILD_TIMEOUT_S
    )
    return IMAGE


class Container:
    """`docker run -d --network host` of the image; the ready JSON line is read from its log."""

    def __init__(self, image: str, *args: str, env: dict[str, str] | None = None, run_flags: tuple[str, ...] = ()):
        self.name = f"cloudtasks-emu-test-{uuid.uuid4().hex[:10]}"
        env = {"CLOUDTASKS_EMU_PORT": "0", "CLOUDTASKS_EMU_HTTP_PORT": "0", **(env or {})}
        flags = [item for key, value in env.items() for item in ("-e", f"{key}={value}")]
        docker("run", "-d", "--name", self.name, "--network", "host", *flags, *run_flags, image, *args)
        # `docker logs -f` ends when the container stops, so this read is bounded by the timeout.
        self._logs = subprocess.Popen(["docker", "logs", "-f", self.name], stdout=subprocess.PIPE, text=True)
        assert self._logs.stdout is not None
        line = self._logs.stdout.readline()
        try:
            self.ready = json.loads(line)
        except ValueError:
            raise AssertionError(f"no ready line from the container: {line!r}; {self.logs()}") from None
        # The one port serves every client, as a user would point them.
        self.grpc: str = f"127.0.0.1:{self.ready['port']}"
        self.http: str = f"http://127.0.0.1:{self.ready['port']}"

    def logs(self) -> str:
        done = docker("logs", self.name, check=False)
        return done.stdout + done.stderr

    def inspect(self, template: str) -> str:
        return docker("inspect", "-f", template, self.name).stdout.strip()

    def remove(self) -> None:
        docker("rm", "--force", "--volumes", self.name, check=False)
        self._logs.kill()
        self._logs.wait(timeout=10)
        if self._logs.stdout is not None:
            self._logs.stdout.close()


@pytest.fixture
def containers(image: str) -> Iterator[list[Container]]:
    """Run containers with `containers.append(Container(image, ...))`; all are removed afterwards."""
    made: list[Container] = []
    yield made
    for container in made:
        container.remove()


@pytest.fixture(scope="session")
def handler() -> Iterator[RecordingHandler]:
    recorder = RecordingHandler().start()
    yield recorder
    recorder.stop()
