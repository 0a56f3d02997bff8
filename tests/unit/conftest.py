"""Fixtures for the in-process tests: every storage backend, chosen by a fixture parameter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cloudtasks_emu.engine.storage import Storage, open_storage

BACKENDS = ["memory", "sqlite"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """An empty store of each backend; the contract tests run once per backend."""
    opened = open_storage("" if request.param == "memory" else str(tmp_path / "data"))
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
        new = open_storage(str(tmp_path / "data"))
        kept.append(new)
        return new

    yield reopen_
    for new in kept:
        new.close()
