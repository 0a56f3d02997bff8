"""The compose example (compose.yaml): the emulator and the handler service, a task flowing between them."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import ROOT

pytestmark = pytest.mark.timeout(600)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for each in sockets:
            each.bind(("127.0.0.1", 0))
        return [each.getsockname()[1] for each in sockets]
    finally:
        for each in sockets:
            each.close()


def host_network_variant(emu_port: int, emu_http_port: int, handler_port: int) -> dict[str, Any]:
    """compose.yaml with both services on the host network (all traffic stays on loopback), on ports
    the test picked: addresses become 127.0.0.1 instead of service names; nothing else changes."""
    document = yaml.safe_load((ROOT / "compose.yaml").read_text())
    emulator, handler = document["services"]["emulator"], document["services"]["handler"]
    for service in (emulator, handler):
        service.pop("ports")
        service["network_mode"] = "host"
    emulator.pop("build")  # the session's image, built from the same Dockerfile
    emulator["environment"].update(
        CLOUDTASKS_EMU_PORT=str(emu_port),
        CLOUDTASKS_EMU_HTTP_PORT=str(emu_http_port),
        CLOUDTASKS_EMU_APP_ENGINE_URL=f"http://127.0.0.1:{handler_port}",
    )
    handler["environment"].update(
        EMULATOR_HTTP=f"http://127.0.0.1:{emu_port}",
        HANDLER_URL=f"http://127.0.0.1:{handler_port}",
        HOST="127.0.0.1",
        PORT=str(handler_port),
    )
    return document  # type: ignore[no-any-return]


def test_compose_publishes_on_loopback_only_and_documents_its_variables() -> None:
    text = (ROOT / "compose.yaml").read_text()
    services = yaml.safe_load(text)["services"]
    published = [port for service in services.values() for port in service.get("ports", [])]
    assert published, "the example publishes the emulator and the handler"
    # Other machines on the network cannot reach them: host side bound to loopback.
    assert all(str(port).startswith("127.0.0.1:") for port in published), published
    assert "0.0.0.0" not in text
    assert "0.0.0.0" not in (ROOT / "examples" / "compose" / "handler.py").read_text()
    # Every variable compose.yaml reads is documented where users look.
    variables = set(re.findall(r"\$\{(\w+)", text))
    assert variables == {"CLOUDTASKS_EMU_BASE", "CLOUDTASKS_EMU_IMAGE"}
    guide = (ROOT / "docs" / "container.md").read_text()
    for name in variables:
        assert f"`{name}`" in guide, name
    # The guide leads with what works where no registry is reachable: the local base image.
    first_block = guide.split("```bash", 1)[1].split("```", 1)[0]
    assert "debootstrap" in first_block, first_block


@pytest.fixture
def compose(image: str, tmp_path: Path) -> Iterator[tuple[list[str], dict[str, str], int]]:
    emu_port, emu_http_port, handler_port = free_ports(3)
    variant = tmp_path / "compose.yaml"
    variant.write_text(yaml.safe_dump(host_network_variant(emu_port, emu_http_port, handler_port)))
    env = {**os.environ, "CLOUDTASKS_EMU_IMAGE": image}
    command = ["docker-compose", "--project-name", f"emu{uuid.uuid4().hex[:8]}", "--project-directory", str(ROOT)]
    command += ["-f", str(variant)]
    yield command, env, handler_port
    subprocess.run([*command, "down", "--volumes", "--timeout", "10"], env=env, capture_output=True, timeout=120)


def test_compose_example_delivers_a_task_to_the_handler_service(
    compose: tuple[list[str], dict[str, str], int],
) -> None:
    command, env, handler_port = compose
    # Given the example brought up (the handler waits for the emulator's healthcheck).
    up = subprocess.run([*command, "up", "-d", "--no-build"], env=env, capture_output=True, text=True, timeout=180)
    assert up.returncode == 0, up.stderr
    # Then the task the handler queued through the emulator comes back to it.
    received: list[dict[str, str]] = []
    deadline = time.monotonic() + 60
    while not received and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{handler_port}/received", timeout=5) as response:
                received = json.load(response)
        except (urllib.error.URLError, ConnectionError):
            pass
        if not received:
            time.sleep(0.5)
    logs = subprocess.run([*command, "logs", "--no-color"], env=env, capture_output=True, text=True, timeout=60)
    assert len(received) == 1, logs.stdout + logs.stderr
    assert received[0]["path"] == "/hello"
    assert received[0]["body"] == "hello"
    assert "handler: delivered" in logs.stdout
