"""Task RPCs through the official clients of all three versions, over gRPC and REST."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from google.api_core import exceptions
from google.protobuf import duration_pb2, timestamp_pb2

from cloudtasks_emu.testing import EmulatorProcess

from .conftest import PARENT, VERSIONS, app_engine_task, http_task, push_queue, raises, unique_queue_name

pytestmark = pytest.mark.transports("grpc", "rest")

FULL = 2


def body_of(task: Any, version: str) -> bytes:
    if "http_request" in task:
        return bytes(task.http_request.body)
    return bytes(task.app_engine_http_request.payload if version == "v2beta2" else task.app_engine_http_request.body)


@pytest.fixture
def http_queue(client: Any, tasks: Any, version: str) -> str:
    """A queue that takes HTTP tasks in every version (v2beta2 needs an http_target queue)."""
    name = unique_queue_name("http")
    fields = {"http_target": tasks.HttpTarget()} if version == "v2beta2" else {}
    client.create_queue(parent=PARENT, queue=tasks.Queue(name=name, **fields))
    client.pause_queue(name=name)
    return name


def test_create_task_generates_an_id_and_times(
    client: Any, version: str, queue_name: str, admin: EmulatorProcess
) -> None:
    task = client.create_task(parent=queue_name, task=app_engine_task(version, body=b"hello"))
    prefix, task_id = task.name.rsplit("/", 1)
    assert prefix == f"{queue_name}/tasks"
    assert task_id.isdigit()
    assert len(task_id) >= 15
    assert task.create_time.microsecond == 0
    assert task.schedule_time.timestamp() == pytest.approx(admin.now(), abs=1e-6)
    assert task.view.name == "BASIC"
    assert body_of(task, version) == b""  # BASIC leaves the body out
    full = client.get_task(request={"name": task.name, "response_view": FULL})
    assert full.view.name == "FULL"
    assert body_of(full, version) == b"hello"


def test_create_task_named_twice_is_already_exists(client: Any, version: str, queue_name: str) -> None:
    task = app_engine_task(version)
    task.name = f"{queue_name}/tasks/my-task_1"
    assert client.create_task(parent=queue_name, task=task).name == task.name
    with raises("ALREADY_EXISTS", match="Requested entity already exists"):
        client.create_task(parent=queue_name, task=task)


def test_deleted_task_name_is_tombstoned(client: Any, version: str, queue_name: str) -> None:
    task = app_engine_task(version)
    task.name = f"{queue_name}/tasks/once"
    client.create_task(parent=queue_name, task=task)
    client.delete_task(name=task.name)
    with raises("ALREADY_EXISTS", match="existed too recently"):
        client.create_task(parent=queue_name, task=task)
    with raises("NOT_FOUND", match="The task no longer exists"):
        client.get_task(name=task.name)
    with raises("NOT_FOUND", match="The task no longer exists"):
        client.delete_task(name=task.name)
    with raises("NOT_FOUND", match="Requested entity was not found."):
        client.get_task(name=f"{queue_name}/tasks/never")


def test_create_task_in_missing_queue_is_not_found(client: Any, version: str) -> None:
    with raises("NOT_FOUND", match="Queue does not exist"):
        client.create_task(parent=unique_queue_name(), task=app_engine_task(version))


def test_create_task_bad_names(client: Any, version: str, queue_name: str) -> None:
    task = app_engine_task(version)
    task.name = f"{queue_name}/tasks/bad.id"
    with raises("INVALID_ARGUMENT", match='Task ID "bad.id" can contain only'):
        client.create_task(parent=queue_name, task=task)
    task.name = f"{queue_name}/tasks/{'a' * 501}"
    with raises("INVALID_ARGUMENT", match="between 1 and 500 characters"):
        client.create_task(parent=queue_name, task=task)
    task.name = f"{PARENT}/queues/other/tasks/t1"
    with raises("INVALID_ARGUMENT", match="must be the same as the queue name"):
        client.create_task(parent=queue_name, task=task)
    with raises("INVALID_ARGUMENT", match="Queue name must be formatted"):
        client.create_task(parent="projects/p/locations/l/queues/bad_queue", task=app_engine_task(version))


def test_schedule_time_rules(client: Any, version: str, queue_name: str, admin: EmulatorProcess) -> None:
    far = app_engine_task(version)
    far.schedule_time = timestamp_pb2.Timestamp(seconds=int(admin.now()) + 31 * 86400)
    with raises("INVALID_ARGUMENT", match="is too far in the future.*720h"):
        client.create_task(parent=queue_name, task=far)
    past = app_engine_task(version)
    past.schedule_time = timestamp_pb2.Timestamp(seconds=1000)
    assert abs(client.create_task(parent=queue_name, task=past).schedule_time.timestamp() - admin.now()) < 60
    later = app_engine_task(version)
    at = int(admin.now()) + 3600
    later.schedule_time = timestamp_pb2.Timestamp(seconds=at, nanos=123456789)
    created = client.create_task(parent=queue_name, task=later)
    assert created.schedule_time == dt.datetime.fromtimestamp(at, dt.UTC).replace(microsecond=123456)


def test_task_size_limit(client: Any, version: str, queue_name: str) -> None:
    assert client.create_task(parent=queue_name, task=app_engine_task(version, body=b"x" * 1_000_000))
    with raises("INVALID_ARGUMENT", match="Task size too large"):
        client.create_task(parent=queue_name, task=app_engine_task(version, body=b"x" * (1024 * 1024 + 4096)))


def test_app_engine_request_rules(client: Any, tasks: Any, version: str, queue_name: str) -> None:
    with raises("INVALID_ARGUMENT", match="must begin with '/'"):
        client.create_task(parent=queue_name, task=app_engine_task(version, relative="no-slash"))
    get_with_body = app_engine_task(version, body=b"x", http_method=tasks.HttpMethod.GET)
    with raises("INVALID_ARGUMENT", match="POST or PUT"):
        client.create_task(parent=queue_name, task=get_with_body)
    created = client.create_task(parent=queue_name, task=app_engine_task(version, relative="", body=b"abc"))
    request = created.app_engine_http_request
    assert (request.relative_url if version == "v2beta2" else request.relative_uri) == "/"
    assert request.http_method == tasks.HttpMethod.POST
    assert request.headers["User-Agent"] == "AppEngine-Google; (+http://code.google.com/appengine)"
    assert request.headers["Content-Type"] == "application/octet-stream"
    assert request.app_engine_routing.host == "test-project.appspot.com"
    routed = app_engine_task(version, headers={"content-type": "text/plain", "X-AppEngine-Foo": "no"}, body=b"a")
    routed.app_engine_http_request.app_engine_routing = tasks.AppEngineRouting(service="worker", version="v1")
    got = client.create_task(parent=queue_name, task=routed).app_engine_http_request
    assert "Content-Type" not in got.headers
    assert got.headers["content-type"] == "text/plain"
    assert "X-AppEngine-Foo" not in got.headers
    assert got.app_engine_routing.host == "v1.worker.test-project.appspot.com"


def test_http_request_rules(client: Any, tasks: Any, version: str, http_queue: str) -> None:
    with raises("INVALID_ARGUMENT", match="HttpRequest.url is required."):
        client.create_task(parent=http_queue, task=http_task(version, url=""))
    with raises("INVALID_ARGUMENT", match="must start with 'http://' or 'https://'"):
        client.create_task(parent=http_queue, task=http_task(version, url="ftp://x"))
    with raises("INVALID_ARGUMENT", match="POST or PUT or PATCH"):
        client.create_task(parent=http_queue, task=http_task(version, body=b"x", http_method=tasks.HttpMethod.GET))
    oidc = tasks.OidcToken(service_account_email="sa@p.iam.gserviceaccount.com", audience="aud")
    created = client.create_task(
        parent=http_queue,
        task=http_task(version, headers={"User-Agent": "mine", "X-Custom": "1"}, oidc_token=oidc),
    )
    assert created.http_request.headers["User-Agent"] == "Google-Cloud-Tasks"
    assert created.http_request.headers["X-Custom"] == "1"
    assert created.http_request.oidc_token.audience == "aud"
    assert created.http_request.http_method == tasks.HttpMethod.POST


@pytest.mark.parametrize("version", ["v2", "v2beta3"])
def test_dispatch_deadline_range(client: Any, version: str, http_queue: str, queue_name: str) -> None:
    short = http_task(version)
    short.dispatch_deadline = duration_pb2.Duration(seconds=10)
    with raises("INVALID_ARGUMENT", match=r"between \[15s, 30m\]"):
        client.create_task(parent=http_queue, task=short)
    longest = app_engine_task(version)
    longest.dispatch_deadline = duration_pb2.Duration(seconds=24 * 3600 + 15)
    assert client.create_task(parent=queue_name, task=longest).dispatch_deadline.total_seconds() == 24 * 3600 + 15
    longest.dispatch_deadline = duration_pb2.Duration(seconds=24 * 3600 + 15, nanos=1_000_000)
    with raises("INVALID_ARGUMENT", match=r"between \[15s, 24h15s\]"):
        client.create_task(parent=queue_name, task=longest)
    ok = http_task(version)
    ok.dispatch_deadline = duration_pb2.Duration(seconds=60, nanos=1_500_000)
    assert client.create_task(parent=http_queue, task=ok).dispatch_deadline.total_seconds() == pytest.approx(60.001)


def test_v2beta2_payload_must_match_the_queue(clients: dict[str, Any]) -> None:
    b2 = VERSIONS["v2beta2"]
    queue = unique_queue_name()
    clients["v2beta2"].create_queue(parent=PARENT, queue=push_queue("v2beta2", queue))
    with raises("INVALID_ARGUMENT", match="not compatible"):
        clients["v2beta2"].create_task(parent=queue, task=http_task("v2beta2"))
    with raises("INVALID_ARGUMENT", match="not compatible"):
        clients["v2beta2"].create_task(parent=queue, task=b2.Task(pull_message=b2.PullMessage(payload=b"p")))


def test_pull_tasks_keep_payload_and_tag(clients: dict[str, Any]) -> None:
    b2, b3 = VERSIONS["v2beta2"], VERSIONS["v2beta3"]
    queue = unique_queue_name("pull")
    clients["v2beta2"].create_queue(parent=PARENT, queue=b2.Queue(name=queue, pull_target=b2.PullTarget()))
    task = b2.Task(pull_message=b2.PullMessage(payload=b"\x00\xffdata", tag="red"))
    created = clients["v2beta2"].create_task(request={"parent": queue, "task": task, "response_view": FULL})
    assert created.pull_message.payload == b"\x00\xffdata"
    assert created.pull_message.tag == "red"
    basic = clients["v2beta2"].get_task(name=created.name)
    assert basic.pull_message.payload == b""
    assert basic.pull_message.tag == "red"
    through_b3 = clients["v2beta3"].get_task(request={"name": created.name, "response_view": FULL})
    assert through_b3.pull_message.payload == b"\x00\xffdata"
    with raises("INVALID_ARGUMENT", match="pullMessage cannot be set"):
        clients["v2beta3"].create_task(parent=queue, task=b3.Task(pull_message=b3.PullMessage(payload=b"x")))
    with raises("INVALID_ARGUMENT", match="not compatible with a pull queue"):
        clients["v2"].create_task(parent=queue, task=http_task("v2"))


def test_list_tasks_pages_survive_adds_and_deletes(client: Any, version: str, queue_name: str) -> None:
    names = [f"{queue_name}/tasks/t{i:02d}" for i in range(7)]
    for name in names:
        task = app_engine_task(version)
        task.name = name
        client.create_task(parent=queue_name, task=task)
    first = next(client.list_tasks(request={"parent": queue_name, "page_size": 3}).pages)
    assert [t.name for t in first.tasks] == names[:3]
    client.delete_task(name=names[3])
    added = app_engine_task(version)
    added.name = f"{queue_name}/tasks/t04a"
    client.create_task(parent=queue_name, task=added)
    rest = client.list_tasks(request={"parent": queue_name, "page_size": 3, "page_token": first.next_page_token})
    assert [t.name for t in rest] == [names[4], added.name, names[5], names[6]]
    with raises("INVALID_ARGUMENT", match="page_size"):
        list(client.list_tasks(request={"parent": queue_name, "page_size": -1}))
    with raises("NOT_FOUND", match="Queue does not exist"):
        list(client.list_tasks(parent=unique_queue_name()))


def test_list_tasks_response_view(client: Any, version: str, queue_name: str) -> None:
    client.create_task(parent=queue_name, task=app_engine_task(version, body=b"payload"))
    (basic,) = client.list_tasks(parent=queue_name)
    (full,) = client.list_tasks(request={"parent": queue_name, "response_view": FULL})
    assert body_of(basic, version) == b""
    assert body_of(full, version) == b"payload"


def test_one_state_behind_three_versions(clients: dict[str, Any]) -> None:
    # Given an HTTP task created through v2 and an App Engine task through v2beta2
    queue = unique_queue_name()
    clients["v2"].create_queue(parent=PARENT, queue=VERSIONS["v2"].Queue(name=queue))
    clients["v2"].pause_queue(name=queue)
    http = clients["v2"].create_task(parent=queue, task=http_task("v2", body=b"h"))
    b2_queue = unique_queue_name()
    clients["v2beta2"].create_queue(parent=PARENT, queue=push_queue("v2beta2", b2_queue))
    clients["v2beta2"].pause_queue(name=b2_queue)
    app = clients["v2beta2"].create_task(parent=b2_queue, task=app_engine_task("v2beta2", "/x?y=1", b"a"))
    # Then v2beta3 lists the HTTP task and v2 reads the App Engine task, with its fields renamed
    listed = list(clients["v2beta3"].list_tasks(request={"parent": queue, "response_view": FULL}))
    assert [(t.name, t.http_request.url, t.http_request.body) for t in listed] == [
        (http.name, "https://example.com/handler", b"h")
    ]
    read = clients["v2"].get_task(request={"name": app.name, "response_view": FULL})
    assert read.app_engine_http_request.relative_uri == "/x?y=1"
    assert read.app_engine_http_request.body == b"a"
    assert "app_engine_http_target" in clients["v2beta2"].get_queue(name=queue)


@pytest.mark.parametrize("version", ["v2", "v2beta3"])
def test_batch_create_tasks(client: Any, tasks: Any, version: str, queue_name: str) -> None:
    bad = app_engine_task(version, relative="nope")
    requests = [tasks.CreateTaskRequest(parent=queue_name, task=app_engine_task(version)) for _ in range(2)]
    requests.append(tasks.CreateTaskRequest(parent=queue_name, task=bad))
    operation = client.batch_create_tasks(parent=queue_name, requests=requests)
    result = operation.result(timeout=10)
    assert len(result.tasks) == 2
    metadata = operation.metadata
    assert metadata.state.name == "PARTIALLY_SUCCEEDED"
    assert list(metadata.failed_requests) == [2]
    assert metadata.failed_requests[2].code == 3
    assert len(list(client.list_tasks(parent=queue_name))) == 2
    again = client.batch_create_tasks(parent=queue_name, requests=[requests[2]])
    with pytest.raises(exceptions.GoogleAPICallError, match="None of the requests succeeded"):
        again.result(timeout=10)


@pytest.mark.parametrize("version", ["v2", "v2beta3"])
def test_batch_create_tasks_request_id_is_idempotent(client: Any, tasks: Any, version: str, queue_name: str) -> None:
    request = {
        "parent": queue_name,
        "requests": [{"task": app_engine_task(version)}],
        "request_id": str(uuid.uuid4()),  # a key the server has not seen in an earlier test
    }
    first = client.batch_create_tasks(request=request).result(timeout=10)
    second = client.batch_create_tasks(request=request).result(timeout=10)
    assert [t.name for t in first.tasks] == [t.name for t in second.tasks]
    assert len(list(client.list_tasks(parent=queue_name))) == 1


@pytest.mark.parametrize("version", ["v2", "v2beta3"])
def test_get_operation(client: Any, version: str, queue_name: str) -> None:
    from google.longrunning import operations_pb2

    operation = client.batch_create_tasks(parent=queue_name, requests=[{"task": app_engine_task(version)}])
    name = operation.operation.name
    got = client.get_operation(request=operations_pb2.GetOperationRequest(name=name))
    assert got.name == name
    assert got.done
    with raises("NOT_FOUND"):
        client.get_operation(request=operations_pb2.GetOperationRequest(name=f"{PARENT}/operations/nope"))


@pytest.mark.parametrize("version", ["v2", "v2beta3"])
def test_batch_delete_tasks(client: Any, version: str, queue_name: str) -> None:
    made = [client.create_task(parent=queue_name, task=app_engine_task(version)) for _ in range(3)]
    operation = client.batch_delete_tasks(parent=queue_name, names=[t.name for t in made] + [f"{queue_name}/tasks/x"])
    operation.result(timeout=10)
    assert operation.metadata.state.name == "PARTIALLY_SUCCEEDED"
    assert list(operation.metadata.failed_requests) == [3]
    assert list(client.list_tasks(parent=queue_name)) == []
    none_ok = client.batch_delete_tasks(parent=queue_name, names=[made[0].name])
    with pytest.raises(exceptions.GoogleAPICallError, match="None of the requests succeeded"):
        none_ok.result(timeout=10)
