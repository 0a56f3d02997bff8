"""REST specifics of the official clients with transport="rest": binary bodies and enums in JSON, and one
state seen through both transports. The core e2e modules run every body over REST as well."""

from __future__ import annotations

from typing import Any

import pytest
from google.api_core import exceptions

from cloudtasks_emu.testing import EmulatorProcess, RecordingHandler

from .conftest import (
    PARENT,
    VERSIONS,
    app_engine_task,
    http_task,
    unique_queue_name,
)

FULL = 2


def http_queue(client: Any, version: str) -> str:
    """A paused queue that takes HTTP tasks in every version."""
    module = VERSIONS[version]
    name = unique_queue_name("rest")
    fields = {"http_target": module.HttpTarget()} if version == "v2beta2" else {}
    client.create_queue(parent=PARENT, queue=module.Queue(name=name, **fields))
    client.pause_queue(name=name)
    return name


def test_task_rpcs_over_rest(
    rest_client: Any, version: str, handler: RecordingHandler, admin: EmulatorProcess, tasks: Any
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
