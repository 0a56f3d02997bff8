"""The official clients of all three versions with transport="rest", against the REST gateway."""

from __future__ import annotations

from typing import Any

import pytest
from google.api_core import exceptions
from google.protobuf import field_mask_pb2

from cloudtasks_emu.testing import RecordingHandler

from .conftest import (
    LOCATION,
    PARENT,
    PROJECT,
    VERSIONS,
    Admin,
    app_engine_task,
    http_task,
    push_queue,
    unique_queue_name,
)

FULL = 2


def rate_field(version: str) -> str:
    return "max_tasks_dispatched_per_second" if version == "v2beta2" else "max_dispatches_per_second"


def http_queue(client: Any, version: str) -> str:
    """A paused queue that takes HTTP tasks in every version."""
    module = VERSIONS[version]
    name = unique_queue_name("rest")
    fields = {"http_target": module.HttpTarget()} if version == "v2beta2" else {}
    client.create_queue(parent=PARENT, queue=module.Queue(name=name, **fields))
    client.pause_queue(name=name)
    return name


def test_queue_rpcs_over_rest(rest_client: Any, tasks: Any, version: str) -> None:
    # Given two new queues
    names = sorted(unique_queue_name("restq") for _ in range(2))
    for name in names:
        created = rest_client.create_queue(parent=PARENT, queue=push_queue(version, name))
        assert created.name == name
        assert created.state == tasks.Queue.State.RUNNING
    # When listing one queue a page, the pager follows the tokens
    listed = [q.name for q in rest_client.list_queues(request={"parent": PARENT, "page_size": 1})]
    assert set(names) <= set(listed)
    # UpdateQueue sends the Queue without its name (it is in the path) and a camelCase updateMask
    rate = tasks.RateLimits(**{rate_field(version): 7.0})
    mask = field_mask_pb2.FieldMask(paths=[f"rate_limits.{rate_field(version)}"])
    updated = rest_client.update_queue(queue=push_queue(version, names[0], rate_limits=rate), update_mask=mask)
    assert getattr(updated.rate_limits, rate_field(version)) == 7.0
    assert getattr(rest_client.get_queue(name=names[0]).rate_limits, rate_field(version)) == 7.0
    assert rest_client.pause_queue(name=names[0]).state == tasks.Queue.State.PAUSED
    assert rest_client.resume_queue(name=names[0]).state == tasks.Queue.State.RUNNING
    assert rest_client.purge_queue(name=names[0]).purge_time
    rest_client.delete_queue(name=names[0])
    with pytest.raises(exceptions.NotFound, match="Queue does not exist"):
        rest_client.get_queue(name=names[0])


def test_create_queue_twice_is_conflict(rest_client: Any, version: str) -> None:
    name = unique_queue_name("restq")
    rest_client.create_queue(parent=PARENT, queue=push_queue(version, name))
    with pytest.raises(exceptions.Conflict, match="Queue already exists") as raised:
        rest_client.create_queue(parent=PARENT, queue=push_queue(version, name))
    assert raised.value.code == 409


def test_task_rpcs_over_rest(
    rest_client: Any, version: str, handler: RecordingHandler, admin: Admin, tasks: Any
) -> None:
    queue = http_queue(rest_client, version)
    path = f"/rest/{queue.rsplit('/', 1)[1]}"
    # Given a named task with a body and a method given as an enum
    task = http_task(version, f"{handler.url}{path}", body=b"\x00\xffhi", http_method=tasks.HttpMethod.PUT)
    task.name = f"{queue}/tasks/t-1"
    created = rest_client.create_task(request={"parent": queue, "task": task, "response_view": FULL})
    assert created.name == task.name
    assert created.http_request.body == b"\x00\xffhi"
    assert created.http_request.http_method == tasks.HttpMethod.PUT
    assert created.view == tasks.Task.View.FULL
    with pytest.raises(exceptions.Conflict, match="Requested entity already exists"):
        rest_client.create_task(parent=queue, task=task)
    # Then it reads back in both views and lists
    assert rest_client.get_task(name=task.name).http_request.body == b""
    assert rest_client.get_task(request={"name": task.name, "response_view": FULL}).http_request.body == b"\x00\xffhi"
    assert [t.name for t in rest_client.list_tasks(parent=queue)] == [task.name]
    # RunTask dispatches although the queue is paused
    ran = rest_client.run_task(name=task.name)
    assert ran.name == task.name
    (got,) = handler.wait_for(path, 1)
    assert (got.method, got.body) == ("PUT", b"\x00\xffhi")
    admin.drain(queue)
    with pytest.raises(exceptions.NotFound, match="The task no longer exists"):
        rest_client.delete_task(name=task.name)
    second = rest_client.create_task(parent=queue, task=http_task(version, f"{handler.url}{path}"))
    rest_client.delete_task(name=second.name)
    assert list(rest_client.list_tasks(parent=queue)) == []


def test_create_task_in_missing_queue_over_rest(rest_client: Any, version: str) -> None:
    with pytest.raises(exceptions.NotFound, match="Queue does not exist") as raised:
        rest_client.create_task(parent=unique_queue_name(), task=app_engine_task(version))
    assert raised.value.code == 404


@pytest.mark.parametrize("version", ["v2", "v2beta3"])
def test_batch_create_tasks_over_rest(rest_client: Any, version: str, tasks: Any) -> None:
    queue = http_queue(rest_client, version)
    requests = [{"task": http_task(version, f"https://example.com/{i}")} for i in range(3)]
    requests.append({"task": http_task(version, "ftp://nowhere")})
    # When the batch runs, the operation comes back over REST with Any-packed metadata and response
    operation = rest_client.batch_create_tasks(parent=queue, requests=requests)
    response = operation.result(timeout=30)
    assert len(response.tasks) == 3
    metadata = operation.metadata
    assert metadata.state == tasks.BatchCreateTasksMetadata.State.PARTIALLY_SUCCEEDED
    assert list(metadata.failed_requests) == [3]
    # And GetOperation answers on the operations path of the version
    polled = rest_client.get_operation({"name": operation.operation.name})
    assert polled.done
    assert polled.name == operation.operation.name
    with pytest.raises(exceptions.NotFound):
        rest_client.get_operation({"name": f"{PARENT}/operations/missing"})


def test_lease_rpcs_over_rest(rest_clients: dict[str, Any]) -> None:
    client, module = rest_clients["v2beta2"], VERSIONS["v2beta2"]
    queue = unique_queue_name("pull")
    client.create_queue(parent=PARENT, queue=module.Queue(name=queue, pull_target=module.PullTarget()))
    client.create_task(parent=queue, task=module.Task(pull_message=module.PullMessage(payload=b"p", tag="a")))
    leased = client.lease_tasks(
        request={"parent": queue, "max_tasks": 5, "lease_duration": {"seconds": 60}, "response_view": FULL}
    ).tasks
    assert [t.pull_message.payload for t in leased] == [b"p"]
    renewed = client.renew_lease(
        name=leased[0].name, schedule_time=leased[0].schedule_time, lease_duration={"seconds": 120}
    )
    cancelled = client.cancel_lease(name=renewed.name, schedule_time=renewed.schedule_time)
    again = client.lease_tasks(request={"parent": queue, "lease_duration": {"seconds": 60}, "max_tasks": 1}).tasks
    assert [t.name for t in again] == [cancelled.name]
    client.acknowledge_task(name=again[0].name, schedule_time=again[0].schedule_time)
    with pytest.raises(exceptions.NotFound):
        client.get_task(name=again[0].name)


def test_locations_over_rest(rest_client: Any) -> None:
    listed = rest_client.list_locations({"name": f"projects/{PROJECT}"})
    assert f"{PARENT}" in [loc.name for loc in listed.locations]
    location = rest_client.get_location({"name": PARENT})
    assert location.location_id == LOCATION
    with pytest.raises(exceptions.NotFound):
        rest_client.get_location({"name": f"projects/{PROJECT}/locations/mars-north1"})


def test_iam_over_rest(rest_client: Any, version: str) -> None:
    queue = unique_queue_name("iam")
    rest_client.create_queue(parent=PARENT, queue=push_queue(version, queue))
    policy = {"bindings": [{"role": "roles/cloudtasks.enqueuer", "members": ["user:a@example.com"]}]}
    stored = rest_client.set_iam_policy(request={"resource": queue, "policy": policy})
    assert rest_client.get_iam_policy(request={"resource": queue}).etag == stored.etag
    allowed = rest_client.test_iam_permissions(request={"resource": queue, "permissions": ["cloudtasks.tasks.create"]})
    assert list(allowed.permissions) == ["cloudtasks.tasks.create"]


def test_task_created_over_rest_is_seen_over_grpc_and_back(
    rest_client: Any, client: Any, version: str, queue_name: str
) -> None:
    over_rest = rest_client.create_task(parent=queue_name, task=app_engine_task(version, body=b"from rest"))
    assert client.get_task(request={"name": over_rest.name, "response_view": FULL}).name == over_rest.name
    over_grpc = client.create_task(parent=queue_name, task=app_engine_task(version, body=b"from grpc"))
    fetched = rest_client.get_task(request={"name": over_grpc.name, "response_view": FULL})
    body = fetched.app_engine_http_request.payload if version == "v2beta2" else fetched.app_engine_http_request.body
    assert body == b"from grpc"
    assert {t.name for t in rest_client.list_tasks(parent=queue_name)} == {over_rest.name, over_grpc.name}
    client.delete_task(name=over_rest.name)
    with pytest.raises(exceptions.NotFound):
        rest_client.get_task(name=over_rest.name)


def test_a_queue_made_in_one_version_reads_in_the_others(rest_clients: dict[str, Any]) -> None:
    name = unique_queue_name("cross")
    rest_clients["v2"].create_queue(parent=PARENT, queue=push_queue("v2", name))
    for version in ("v2beta3", "v2beta2"):
        assert rest_clients[version].get_queue(name=name).name == name
