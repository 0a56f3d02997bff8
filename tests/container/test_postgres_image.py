"""The image built with EXTRAS=[postgres] (as compose.postgres.yaml builds it): two containers over one
PostgreSQL serve one set of queues, and one of them dispatches each push queue."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.postgres_server import PostgresServer

from .conftest import BASE, BUILD_TIMEOUT_S, ROOT, Container, docker

IMAGE = "cloudtasks-emu:test-postgres"
PARENT = "projects/p/locations/us-central1"


@pytest.fixture(scope="module")
def postgres_image() -> str:
    docker(
        "build",
        "--network",
        "host",
        "--build-arg",
        f"BASE={BASE}",
        "--build-arg",
        "EXTRAS=[postgres]",
        "-t",
        IMAGE,
        str(ROOT),
        timeout_s=BUILD_TIMEOUT_S,
    )
    return IMAGE


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


def call(container: Container, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{container.http}{path}", data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def test_two_containers_over_one_postgres_share_the_queues(postgres_image: str, postgres: PostgresServer) -> None:
    # The image's /data default is cleared, as compose.postgres.yaml does: state is in the database.
    env = {"CLOUDTASKS_EMU_DATABASE": postgres.url, "CLOUDTASKS_EMU_DATA_DIR": ""}
    made: list[Container] = []
    try:
        made += [Container(postgres_image, env=env), Container(postgres_image, env=env)]
        a, b = made
        name = f"{PARENT}/queues/shared"
        call(a, "POST", f"/v2/{PARENT}/queues", {"name": name})
        call(b, "POST", f"/v2/{name}:pause", {})
        assert call(a, "GET", f"/v2/{name}")["state"] == "PAUSED"
        end = time.monotonic() + 10
        while time.monotonic() < end:  # the queue is taken by one of them within moments
            owners = [c for c in made if name in call(c, "GET", "/_emu/group")["owned"]]
            if owners:
                break
            time.sleep(0.1)
        assert len(owners) == 1
    finally:
        for container in made:
            container.remove()
