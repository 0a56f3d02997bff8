"""The one edge: invoke, the error renderers for every code, faults and the Host rule."""

from __future__ import annotations

from typing import Any

import pytest
from google.longrunning import operations_pb2
from google.protobuf import empty_pb2

from cloudtasks_emu.errors import Code, EmuError
from cloudtasks_emu.faults import Faults, queue_of
from cloudtasks_emu.transports.edge import invoke
from cloudtasks_emu.transports.guard import Guard

Q = "projects/p/locations/l/queues/q"


async def test_invoke_awaits_and_maps_unexpected_errors_to_internal() -> None:
    async def answer(request: Any) -> Any:
        return empty_pb2.Empty()

    def broken(request: Any) -> Any:
        raise KeyError("bug")

    request = operations_pb2.GetOperationRequest(name="x")
    assert await invoke("GetOperation", answer, request, Faults()) == empty_pb2.Empty()
    with pytest.raises(EmuError) as internal:
        await invoke("GetOperation", broken, request, Faults())
    assert (internal.value.code, internal.value.message) == (Code.INTERNAL, "Internal error.")
    with pytest.raises(EmuError) as missing:
        await invoke("GetOperation", None, request, Faults())
    assert missing.value.code == Code.UNIMPLEMENTED


async def test_a_call_fault_acts_its_times_on_matching_calls_only() -> None:
    faults = Faults()
    faults.add({"rpc": "GetQueue", "queue": "q", "code": "ABORTED", "times": 1})
    assert faults.for_call("GetQueue", "projects/p/locations/l/queues/other") is None
    assert faults.for_call("PauseQueue", Q) is None
    fault = faults.for_call("GetQueue", Q)
    assert fault is not None
    assert fault.code == Code.ABORTED
    assert faults.list() == []


@pytest.mark.parametrize(
    ("field", "value", "queue"),
    [
        ("parent", Q, Q),
        ("name", f"{Q}/tasks/t", Q),
        ("name", f"{Q}:pause", Q),
        ("parent", "projects/p/locations/l", ""),
    ],
)
def test_queue_of_a_request(field: str, value: str, queue: str) -> None:
    class Request:
        pass

    request = Request()
    setattr(request, field, value)
    assert queue_of(request) == queue


@pytest.mark.parametrize(
    ("bound", "allowed", "host", "ok"),
    [
        ("127.0.0.1", [], "localhost:8123", True),
        ("127.0.0.1", [], "127.0.0.1:8123", True),
        ("127.0.0.1", [], "[::1]:8123", True),
        ("127.0.0.1", [], "127.9.9.9", True),
        ("127.0.0.1", [], "dev.localhost:8123", True),
        ("127.0.0.1", [], "evil.example:8123", False),
        ("127.0.0.1", [], "10.0.0.5:8123", False),
        ("10.0.0.5", [], "10.0.0.5:8123", True),
        ("0.0.0.0", [], "192.168.1.20:8123", True),
        ("0.0.0.0", [], "rebind.example", False),
        ("0.0.0.0", [], "rebind.example.:8123", False),
        ("0.0.0.0", [], "emulator:8123", True),  # a compose service name
        ("0.0.0.0", [], "host.docker.internal:8123", True),
        ("127.0.0.1", [], "host.docker.internal:8123", False),
        ("0.0.0.0", [], "host.docker.internal.rebind.example", False),
        ("0.0.0.0", [], "10.0.0.5:8123", True),
        ("0.0.0.0", [], "[fd00::5]:8123", True),
        ("::", [], "emulator", True),
        ("127.0.0.1", [], "emulator:8123", False),  # loopback only: a single-label name is not the emulator
        ("0.0.0.0", ["tasks.internal"], "tasks.internal:8123", True),
        ("0.0.0.0", ["cloudtasks"], "CloudTasks:8123", True),
        ("127.0.0.1", ["*"], "anything.example", True),
    ],
)
def test_host_rule(bound: str, allowed: list[str], host: str, ok: bool) -> None:
    assert Guard(bound, allowed, []).host_allowed(host) is ok


def test_bound_everywhere_the_machines_own_hostname_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("socket.gethostname", lambda: "box.corp.example")
    assert Guard("0.0.0.0", [], []).host_allowed("Box.Corp.Example:8123")
    assert not Guard("127.0.0.1", [], []).host_allowed("box.corp.example:8123")
    assert not Guard("0.0.0.0", [], []).host_allowed("corp.example:8123")
