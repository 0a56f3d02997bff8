"""Each official client's own test project (tests/clients/<language>/) against the real emulator.

Every project runs as its language's tool would run it, in a subprocess, with the emulator's addresses in
the environment variables the README tells users to set: CLOUD_TASKS_EMULATOR_HOST (the one host:port for
gRPC, REST and the OIDC documents) and APP_ENGINE_EMULATOR_HOST (where the project's own handler listens,
and where the emulator delivers App Engine tasks). A missing toolchain fails.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudtasks_emu.testing import EmulatorProcess

HERE = Path(__file__).parent
TOOL_TIMEOUT_S = 900  # a cold Maven or Go build on two shared cores

PROJECTS = {
    "go": ["go", "test", "-count=1", "./..."],
    "node": ["npm", "test"],
    "java": ["mvn", "-B", "--no-transfer-progress", "test"],
    "python": [sys.executable, "-m", "pytest", "-q", "."],
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_tool(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run one project's tests; a missing tool or a failing run fails with the tool's own output."""
    if shutil.which(command[0], path=env.get("PATH")) is None:
        pytest.fail(f"{command[0]} is not installed (scripts/deps/*-clients.sh installs what the projects need)")
    try:
        done = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"{' '.join(command)} ran over {TOOL_TIMEOUT_S} s:\n{error.stdout}\n{error.stderr}")
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def _tool_path() -> str:
    """PATH plus Go's install directory, where scripts/deps puts grpcurl."""
    gopath = os.environ.get("GOPATH") or str(Path.home() / "go")
    return os.pathsep.join([os.environ.get("PATH", ""), str(Path(gopath) / "bin")])


@pytest.fixture
def emulator() -> Iterator[tuple[EmulatorProcess, dict[str, str]]]:
    """A fresh emulator per project, App Engine tasks going to a port that the project's handler binds."""
    handler = f"127.0.0.1:{_free_port()}"
    server = EmulatorProcess("--app-engine-url", f"http://{handler}")
    env = {
        **os.environ,
        "PATH": _tool_path(),
        "CLOUD_TASKS_EMULATOR_HOST": server.address,
        "APP_ENGINE_EMULATOR_HOST": handler,
        "GOTOOLCHAIN": "local",  # the installed Go, never a downloaded one
    }
    yield server, env
    server.stop()


@pytest.mark.timeout(TOOL_TIMEOUT_S + 60)
@pytest.mark.parametrize("language", list(PROJECTS))
def test_client_project_passes(language: str, emulator: tuple[EmulatorProcess, dict[str, str]]) -> None:
    _, env = emulator
    run_tool(PROJECTS[language], HERE / language, env)


def test_grpcurl_lists_and_calls_through_reflection(emulator: tuple[EmulatorProcess, dict[str, str]]) -> None:
    server, env = emulator
    listed = run_tool(["grpcurl", "-plaintext", server.address, "list"], HERE, env).stdout.split()
    for service in (
        "google.cloud.tasks.v2.CloudTasks",
        "google.cloud.tasks.v2beta3.CloudTasks",
        "google.cloud.tasks.v2beta2.CloudTasks",
        "grpc.health.v1.Health",
    ):
        assert service in listed

    # A call whose request and response grpcurl can only encode from the reflected descriptors.
    parent = "projects/grpcurl/locations/us-central1"
    queue = {"name": f"{parent}/queues/reflected", "rateLimits": {"maxConcurrentDispatches": 3}}
    request = json.dumps({"parent": parent, "queue": queue})
    method = "google.cloud.tasks.v2.CloudTasks/CreateQueue"
    created = json.loads(run_tool(["grpcurl", "-plaintext", "-d", request, server.address, method], HERE, env).stdout)
    # grpcurl prints proto field names (it reads camelCase or proto names alike).
    assert created["name"] == queue["name"]
    assert created["rate_limits"]["max_concurrent_dispatches"] == 3
    assert created["state"] == "RUNNING"
