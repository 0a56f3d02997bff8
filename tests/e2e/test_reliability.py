"""Reliability: random and corrupted input, load, handler faults, client faults, resource caps.

Sizes are small in CI; `CLOUDTASKS_EMU_STRESS=full` (see scripts/stress) runs the issue's full sizes.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import string
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.api_core import exceptions
from google.cloud import tasks_v2, tasks_v2beta2, tasks_v2beta3
from google.cloud.location import locations_pb2
from google.iam.v1 import iam_policy_pb2
from google.protobuf import descriptor as pb_descriptor
from google.protobuf import duration_pb2, json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudtasks_emu.testing import EmulatorProcess, RecordingHandler

from .conftest import PARENT, make_client, unique_queue_name

FULL = os.environ.get("CLOUDTASKS_EMU_STRESS") == "full"
EXAMPLES = 300 if FULL else 25
LOAD_TASKS, LOAD_CLIENTS = (20_000, 50) if FULL else (2_000, 50)
VERSIONS = {"v2": tasks_v2, "v2beta3": tasks_v2beta3, "v2beta2": tasks_v2beta2}
BAD_CODES = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.DEADLINE_EXCEEDED}
QUEUE = f"{PARENT}/queues/fuzz"


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


@pytest.fixture(scope="module")
def target() -> Iterator[tuple[EmulatorProcess, RecordingHandler, grpc.Channel]]:
    handler = RecordingHandler().start()
    emulator = EmulatorProcess(
        "--virtual-clock", "--app-engine-url", handler.url, "--queue", QUEUE, "--queue-reuse-delay", "0"
    )
    channel = grpc.insecure_channel(emulator.grpc)
    yield emulator, handler, channel
    channel.close()
    assert emulator.stop() == 0
    handler.stop()


# -- random requests ---------------------------------------------------------------------------

NAMES = [
    QUEUE,
    f"{QUEUE}/tasks/t1",
    PARENT,
    "projects/p",
    f"{PARENT}/cmekConfig",
    f"{PARENT}/operations/x",
    "",
    "projects//locations/",
    "x" * 3000,
    "projects/p/locations/l/queues/q/tasks/" + "é" * 10,
]
TEXT = st.one_of(st.sampled_from(NAMES), st.text(string.printable, max_size=40))
INT32 = st.one_of(st.sampled_from([0, 1, -1, 2**31 - 1, -(2**31)]), st.integers(-(2**31), 2**31 - 1))
INT64 = st.one_of(st.sampled_from([0, -1, 2**63 - 1, -(2**63), 253402300800]), st.integers(-(2**63), 2**63 - 1))
FD = pb_descriptor.FieldDescriptor


def _scalar(field: pb_descriptor.FieldDescriptor) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FD.TYPE_STRING:
        return TEXT
    if kind == FD.TYPE_BYTES:
        return st.binary(max_size=64)
    if kind == FD.TYPE_BOOL:
        return st.booleans()
    if kind in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        return st.floats(allow_nan=True, allow_infinity=True, width=32 if kind == FD.TYPE_FLOAT else 64)
    if kind == FD.TYPE_ENUM:
        return st.one_of(st.sampled_from([v.number for v in field.enum_type.values]), INT32)
    if kind in (FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64):
        return INT64
    if kind in (FD.TYPE_UINT32, FD.TYPE_FIXED32):
        return st.integers(0, 2**32 - 1)
    if kind in (FD.TYPE_UINT64, FD.TYPE_FIXED64):
        return st.integers(0, 2**64 - 1)
    return INT32


@st.composite
def messages(draw: st.DrawFn, descriptor: pb_descriptor.Descriptor, depth: int = 0) -> dict[str, Any]:
    """A random message as a dict of field values (Timestamps and Durations included, any range)."""
    values: dict[str, Any] = {}
    for field in descriptor.fields:
        if depth > 4 or not draw(st.booleans()):
            continue
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
            if value.message_type is None:
                values[field.name] = draw(st.dictionaries(_scalar(key), _scalar(value), max_size=3))
            continue
        if field.message_type is not None:
            item: st.SearchStrategy[Any] = messages(field.message_type, depth + 1)
        else:
            item = _scalar(field)
        values[field.name] = draw(st.lists(item, max_size=3)) if field.is_repeated else draw(item)
    return values


def build(cls: Any, values: dict[str, Any]) -> Any:
    """A message of `cls` from drawn values; values the Python runtime refuses are left out."""
    message = cls()
    for name, value in values.items():
        field = cls.DESCRIPTOR.fields_by_name[name]
        try:
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                getattr(message, name).update(value)
            elif field.message_type is not None and field.is_repeated:
                for item in value:
                    added = getattr(message, name).add()
                    added.CopyFrom(build(type(added), item))
            elif field.message_type is not None:
                sub = getattr(message, name)
                sub.CopyFrom(build(type(sub), value))
            elif field.is_repeated:
                getattr(message, name).extend(value)
            else:
                setattr(message, name, value)
        except (ValueError, TypeError, OverflowError):
            pass
    return message


def _methods() -> list[tuple[str, str, Any]]:
    """(version, gRPC path, request protobuf class) for every RPC the official clients call."""
    found = []
    for version, module in VERSIONS.items():
        transport_cls = module.services.cloud_tasks.transports.CloudTasksGrpcTransport
        for attr in sorted(dir(transport_cls)):
            camel = "".join(part.title() for part in attr.split("_"))
            request = getattr(module, f"{camel}Request", None)
            if request is not None:
                found.append((version, f"/google.cloud.tasks.{version}.CloudTasks/{camel}", request.pb()))
            elif attr in ("get_iam_policy", "set_iam_policy", "test_iam_permissions"):
                found.append(
                    (
                        version,
                        f"/google.cloud.tasks.{version}.CloudTasks/{camel}",
                        getattr(iam_policy_pb2, f"{camel}Request"),
                    )
                )
    found.append(("-", "/google.cloud.location.Locations/ListLocations", locations_pb2.ListLocationsRequest))
    found.append(("-", "/google.cloud.location.Locations/GetLocation", locations_pb2.GetLocationRequest))
    return found


METHODS = _methods()


def _call(channel: grpc.Channel, path: str, payload: bytes) -> tuple[grpc.StatusCode, str]:
    stub = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
    try:
        stub(payload, timeout=10)
    except grpc.RpcError as error:
        return error.code(), error.details() or ""
    return grpc.StatusCode.OK, ""


@pytest.mark.parametrize(("version", "path", "request_cls"), METHODS, ids=[m[1].rsplit(".", 1)[-1] for m in METHODS])
def test_random_requests_get_proper_status_codes(target: Any, version: str, path: str, request_cls: Any) -> None:
    channel = target[2]
    codes: Counter[grpc.StatusCode] = Counter()

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(values=messages(request_cls.DESCRIPTOR), cut=st.integers(0, 64), garbage=st.binary(max_size=32))
    def check(values: dict[str, Any], cut: int, garbage: bytes) -> None:
        wire = build(request_cls, values).SerializeToString()
        for payload in (wire, wire[: max(0, len(wire) - cut)], garbage, wire + garbage):
            code, details = _call(channel, path, payload)
            codes[code] += 1
            assert code not in BAD_CODES, f"{path}: {code} for {payload[:80]!r}"
            assert "Traceback" not in details

    check()
    # The server still serves and keeps state: a queue made now reads back and lists (the fuzzing
    # may have deleted or changed the fuzz queue, so it proves nothing).
    client, probe = make_client(tasks_v2, channel), unique_queue_name("alive")
    client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=probe), timeout=5)
    assert client.get_queue(name=probe, timeout=5).state == tasks_v2.Queue.State.RUNNING
    assert probe in [q.name for q in client.list_queues(parent=PARENT, timeout=5)]
    client.delete_queue(name=probe, timeout=5)
    print(f"{path}: {sum(codes.values())} requests, {dict(codes)}")


def _rest_routes() -> list[tuple[str, str, str, Any]]:
    """(verb, URI template, body field, request protobuf class) of every REST rule the official clients use."""
    routes = []
    for version, module in VERSIONS.items():
        base = importlib.import_module(f"google.cloud.tasks_{version}.services.cloud_tasks.transports.rest_base")
        for attr in dir(base._BaseCloudTasksRestTransport):
            rule_holder = getattr(base._BaseCloudTasksRestTransport, attr)
            if not attr.startswith("_Base") or not hasattr(rule_holder, "_get_http_options"):
                continue
            camel = attr.removeprefix("_Base")
            request = getattr(module, f"{camel}Request", None)
            request_cls = request.pb() if request is not None else None
            for rule in rule_holder._get_http_options():
                routes.append((rule["method"].upper(), rule["uri"], rule.get("body", ""), request_cls))
    return routes


REST_ROUTES = _rest_routes()
SEGMENTS = st.sampled_from(["p", "test-project", "us-central1", "fuzz", "t1", "x:y", "%00", "é", "a" * 600, ".."])


KNOWN = {  # names that exist, so that bodies get past the lookups
    "projects/*": "projects/test-project",
    "projects/*/locations/*": PARENT,
    "projects/*/locations/*/queues/*": QUEUE,
    "projects/*/locations/*/queues/*/tasks/*": f"{QUEUE}/tasks/t1",
}


def _fill(template: str, draw: st.DrawFn) -> str:
    """The URI template with each {field=pattern} replaced by a known name or drawn path segments."""

    def one(match: re.Match[str]) -> str:
        pattern = match.group(1).split("=", 1)[-1]
        if pattern in KNOWN and draw(st.booleans()):
            return KNOWN[pattern]
        return "/".join(draw(SEGMENTS) if part == "*" else part for part in pattern.split("/"))

    return re.sub(r"\{([^}]*)\}", one, template)


@pytest.mark.parametrize(
    ("verb", "template", "body_field", "request_cls"), REST_ROUTES, ids=[f"{r[0]} {r[1]}" for r in REST_ROUTES]
)
def test_random_rest_requests_get_proper_status_codes(
    target: Any, verb: str, template: str, body_field: str, request_cls: Any
) -> None:
    emulator, _, channel = target
    statuses: Counter[int] = Counter()
    client = make_client(tasks_v2, channel)

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(data=st.data(), cut=st.integers(0, 40), enums_as_ints=st.booleans())
    def check(data: st.DataObject, cut: int, enums_as_ints: bool) -> None:
        try:  # the fuzzing before may have deleted the queue or made it a pull queue
            client.update_queue(queue=tasks_v2.Queue(name=QUEUE))
        except exceptions.InvalidArgument:
            emulator.reset(QUEUE)
            client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
        path = _fill(template, data.draw)
        body = b""
        if body_field:
            message = build(request_cls, data.draw(messages(request_cls.DESCRIPTOR))) if request_cls else None
            try:
                text = json_format.MessageToJson(message, use_integers_for_enums=enums_as_ints) if message else "{}"
            except (json_format.SerializeToJsonError, TypeError, KeyError):  # no JSON form: send a bad one
                text = '{"scheduleTime": "99999-99-99T99:99:99Z", "leaseDuration": "-1e99s"}'
            body = text.encode()[: max(0, len(text) - cut)] if cut % 3 == 0 else text.encode()
        query = data.draw(
            st.sampled_from(["", "?$alt=json;enum-encoding=int", "?pageSize=-1&readMask=nope&responseView=7"])
        )
        request = urllib.request.Request(
            f"{emulator.http}{urllib.parse.quote(path)}{query}", data=body or None, method=verb
        )
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, answer = response.status, response.read()
        except urllib.error.HTTPError as error:
            with error:
                status, answer = error.code, error.read()
        statuses[status] += 1
        assert status < 500 or status == 501, f"{verb} {path}: {status} {answer[:200]!r}"
        parsed = json.loads(answer)
        if status >= 400:
            assert set(parsed["error"]) >= {"code", "message", "status"}
            assert "Traceback" not in parsed["error"]["message"]

    check()
    print(f"{verb} {template}: {dict(statuses)}")


# -- load --------------------------------------------------------------------------------------


def test_load_every_task_delivered(target: Any) -> None:
    # Given 10 queues and 50 concurrent clients creating tasks for a 200-answering handler
    emulator, handler, _ = target
    queues = [f"{PARENT}/queues/load-{i}" for i in range(10)]
    with grpc.insecure_channel(emulator.grpc) as channel:
        admin_client = make_client(tasks_v2, channel)
        for name in queues:
            admin_client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=name))
    created: list[str] = []
    lock = threading.Lock()
    failures: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            with grpc.insecure_channel(emulator.grpc) as channel:
                client = make_client(tasks_v2, channel)
                for n in range(index, LOAD_TASKS, LOAD_CLIENTS):
                    task = tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=f"{handler.url}/load"))
                    made = client.create_task(parent=queues[n % len(queues)], task=task, timeout=30)
                    with lock:
                        created.append(made.name.rsplit("/", 1)[1])
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(LOAD_CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not failures
    # When the queues drain (the 500/s limit per queue applies on the virtual clock too)
    for _ in range(LOAD_TASKS // 500 + 2):
        emulator.advance(1)
        emulator.drain(timeout_s=60)
    # Then every task arrived, counted by name
    delivered = Counter(r.headers["X-CloudTasks-TaskName"] for r in handler.requests_to("/load"))
    lost = set(created) - set(delivered)
    duplicates = {name: n for name, n in delivered.items() if n > 1}
    print(f"created {len(created)}, delivered {len(delivered)}, lost {len(lost)}, duplicated {len(duplicates)}")
    assert len(created) == LOAD_TASKS
    assert not lost
    assert not duplicates


# -- faults ------------------------------------------------------------------------------------


def test_handler_and_client_faults_leave_the_emulator_responsive(target: Any) -> None:
    emulator, handler, channel = target
    client = make_client(tasks_v2, channel)
    retry = tasks_v2.RetryConfig(
        max_attempts=2, min_backoff=duration_pb2.Duration(seconds=1), max_backoff=duration_pb2.Duration(seconds=1)
    )
    queue, hang_queue = f"{PARENT}/queues/faults", f"{PARENT}/queues/faults-hang"
    for name in (queue, hang_queue):
        client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=name, retry_config=retry))
    rss_before = rss_kib(emulator.process.pid)
    # Given handlers that hang, drop the connection, refuse, answer slowly, or send huge bodies
    plan = {"/hang": ["hang", "hang"], "/close": ["close", "close"], "/huge": ["huge", "huge"], "/slow": ["slow"] * 40}
    for path, actions in plan.items():
        handler.script(path, actions)
    urls = [f"{handler.url}{p}" for p in plan for _ in range(2 if p != "/slow" else 40)]
    urls += ["http://127.0.0.1:9/refused"] * 2
    names = []
    for url in urls:
        task = tasks_v2.Task(
            http_request=tasks_v2.HttpRequest(url=url), dispatch_deadline=duration_pb2.Duration(seconds=15)
        )
        names.append(client.create_task(parent=hang_queue if "/hang" in url else queue, task=task).name)
    # And clients that give up mid-call
    list_tasks = channel.unary_unary("/google.cloud.tasks.v2.CloudTasks/ListTasks")
    request = tasks_v2.ListTasksRequest.serialize(tasks_v2.ListTasksRequest(parent=queue))
    for _ in range(50):
        list_tasks.future(request).cancel()
    # Then GetQueue answers within a bounded time throughout
    handler.wait_for("/hang", 2)
    assert client.get_queue(name=queue, timeout=5).name == queue
    emulator.drain(queue, timeout_s=60)  # the slow ones finish before virtual time passes their deadline
    for _ in range(3):
        assert client.get_queue(name=queue, timeout=5).name == queue
        emulator.advance(16)  # past deadlines and backoffs
        emulator.drain(timeout_s=60)
    # And every task ended as its RetryConfig says: delivered, or dropped after two attempts
    for name in names:
        with pytest.raises(exceptions.NotFound):
            client.get_task(name=name)
    attempts = Counter(a["url"].rsplit("/", 1)[1] for q in (queue, hang_queue) for a in emulator.attempts(q))
    # (hang and close fail once and then succeed, huge answers 200 however long its body, refused never works)
    assert attempts == {"hang": 4, "close": 4, "huge": 2, "slow": 40, "refused": 4}
    grown_mib = (rss_kib(emulator.process.pid) - rss_before) / 1024
    print(f"RSS grew {grown_mib:.1f} MiB over the fault run")
    assert grown_mib < 100  # the 64 MiB bodies were not read into memory


def test_resource_caps_answer_resource_exhausted() -> None:
    emulator = EmulatorProcess("--max-tasks", "3", "--max-task-bytes", "3000")
    try:
        with grpc.insecure_channel(emulator.grpc) as channel:
            client = make_client(tasks_v2, channel)
            queue = f"{PARENT}/queues/capped"
            client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=queue))
            client.pause_queue(name=queue)
            made = [client.create_task(parent=queue, task={"http_request": {"url": "http://x/"}}) for _ in range(3)]
            with pytest.raises(exceptions.ResourceExhausted, match="max-tasks"):
                client.create_task(parent=queue, task={"http_request": {"url": "http://x/"}})
            client.delete_task(name=made[0].name)
            with pytest.raises(exceptions.ResourceExhausted, match="max-task-bytes"):
                client.create_task(parent=queue, task={"http_request": {"url": "http://x/", "body": b"b" * 5000}})
            assert client.create_task(parent=queue, task={"http_request": {"url": "http://x/"}}).name
    finally:
        emulator.stop()


def test_binds_loopback_by_default() -> None:
    emulator = EmulatorProcess()
    try:
        assert emulator.grpc.startswith("127.0.0.1:")
        assert emulator.http.startswith("http://127.0.0.1:")
    finally:
        emulator.stop()
