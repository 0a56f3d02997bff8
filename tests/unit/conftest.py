"""Fixtures for the in-process tests: every storage backend, chosen by a fixture parameter.

The PostgreSQL backend runs against a real server that this test session starts (tests/postgres_server.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from engine_harness import GROUPED

from cloudtasks_emu.engine.storage import Storage, open_storage
from tests.postgres_server import PostgresServer

BACKENDS = ["memory", "sqlite", "postgres"]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with PostgresServer() as server:
        yield server.url


def _open(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Storage:
    if backend == "postgres-group":
        opened = _open("postgres", tmp_path, request)
        GROUPED.add(opened)
        return opened
    if backend == "postgres":
        return open_storage("", request.getfixturevalue("postgres_url"))
    return open_storage("" if backend == "memory" else str(tmp_path / "data"))


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """An empty store of each backend; the contract tests run once per backend."""
    opened = _open(request.param, tmp_path, request)
    opened.clear()  # the PostgreSQL database is shared by the session's tests
    yield opened
    opened.close()


@pytest.fixture
def reopen(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[Storage], Storage]]:
    """Close a store and open its data again, as a restarted process would. The memory backend has
    nothing on disk, so its 'restart' keeps the live store: that still rebuilds every index from it."""
    kept: list[Storage] = []

    def reopen_(old: Storage) -> Storage:
        if request.node.callspec.params["store"] == "memory":
            return old
        old.close()
        new = _open(request.node.callspec.params["store"], tmp_path, request)
        kept.append(new)
        return new

    yield reopen_
    for new in kept:
        new.close()
