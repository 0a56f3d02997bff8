"""pytest plugin (entry point `pytest11`): an emulator per session, reset before every test.

Fixtures:
    cloudtasks_emulator  the running emulator (EmulatorProcess or InProcessEmulator): `.grpc`, `.http`,
                         `.now()`, `.advance(s)`, `.drain(queue)`, `.attempts(queue)`, `.reset()`. Before each test it
                         is reset to its start-up state (the queues of `cloudtasks_emu_args` come back as declared)
                         and its virtual clock moves to real now, so code that computes `now + delay`
                         from the real clock sees the same time as the emulator. CLOUD_TASKS_EMULATOR_HOST
                         and CLOUD_TASKS_EMULATOR_HTTP_HOST point at it.
    cloudtasks_handler   a RecordingHandler; App Engine tasks are delivered to it, and
                         `cloudtasks_handler.url + "/path"` works as an HTTP target.
    cloudtasks_faults    a FaultInjector: `.fail(code, rpc=, queue=, times=)`, `.delay(s, ...)`,
                         `.dispatch(url_prefix, "refuse" | "timeout" | status)`; cleared after each test.
    cloudtasks_patch     patch_clients() for one test: official clients built without a transport or
                         endpoint (as frameworks build them) talk to the emulator.
The emulator runs with --virtual-clock (time moves with `.advance`); add flags with the ini option
`cloudtasks_emu_args`, e.g. `cloudtasks_emu_args = --queue projects/p/locations/l/queues/q`.
With the ini option `cloudtasks_emu_in_process = true` (or `-o cloudtasks_emu_in_process=true`) the
emulator runs in the test process itself (InProcessEmulator): ready in a fraction of a process start,
sharing the interpreter (and its GIL) with the tests; the default, a subprocess, keeps it apart.
`cloudtasks_patch` and the client helper (`cloudtasks_emu.client`) need the official client library:
install with `pip install 'cloudtasks-emu[client]'`.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator

import pytest

from .patch import patch_clients
from .testing import EmulatorHarness, EmulatorProcess, FaultInjector, RecordingHandler


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("cloudtasks_emu_args", "extra arguments for `cloudtasks-emu start`", default="")
    parser.addini(
        "cloudtasks_emu_in_process",
        "run the emulator in the test process (a thread) instead of a subprocess",
        type="bool",
        default=False,
    )


def start_emulator(config: pytest.Config, *flags: str) -> EmulatorHarness:
    """The session's emulator, in a subprocess or (cloudtasks_emu_in_process) in this process."""
    args = [*flags, *shlex.split(str(config.getini("cloudtasks_emu_args")))]
    if config.getini("cloudtasks_emu_in_process"):
        from .inprocess import InProcessEmulator  # loads the emulator itself: only when asked for

        return InProcessEmulator(*args)
    return EmulatorProcess(*args)


@pytest.fixture(scope="session")
def _cloudtasks_session(pytestconfig: pytest.Config) -> Iterator[tuple[EmulatorHarness, RecordingHandler]]:
    handler = RecordingHandler().start()
    emulator = start_emulator(pytestconfig, "--virtual-clock", "--app-engine-url", handler.url)
    saved = {k: os.environ.get(k) for k in ("CLOUD_TASKS_EMULATOR_HOST", "CLOUD_TASKS_EMULATOR_HTTP_HOST")}
    os.environ["CLOUD_TASKS_EMULATOR_HOST"] = emulator.grpc
    os.environ["CLOUD_TASKS_EMULATOR_HTTP_HOST"] = emulator.http.removeprefix("http://")
    try:
        yield emulator, handler
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        emulator.stop()
        handler.stop()


@pytest.fixture
def cloudtasks_emulator(_cloudtasks_session: tuple[EmulatorHarness, RecordingHandler]) -> EmulatorHarness:
    emulator, handler = _cloudtasks_session
    emulator.reset()
    handler.clear()
    return emulator


@pytest.fixture
def cloudtasks_handler(
    cloudtasks_emulator: EmulatorHarness, _cloudtasks_session: tuple[EmulatorHarness, RecordingHandler]
) -> RecordingHandler:
    return _cloudtasks_session[1]


@pytest.fixture
def cloudtasks_faults(cloudtasks_emulator: EmulatorHarness) -> Iterator[FaultInjector]:
    faults = cloudtasks_emulator.faults
    yield faults
    faults.clear()


@pytest.fixture
def cloudtasks_patch(cloudtasks_emulator: EmulatorHarness) -> Iterator[EmulatorHarness]:
    undo = patch_clients()
    try:
        yield cloudtasks_emulator
    finally:
        undo()
