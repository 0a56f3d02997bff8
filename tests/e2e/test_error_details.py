"""What a client sees: the google.rpc.Help detail of malformed names, and a URL with no host.

The official client exposes gRPC status details (grpc-status-details-bin) as `exc.details`; over
REST the detail is in the JSON error's `details`, with its `@type`.
"""

from __future__ import annotations

from typing import Any

import pytest
from google.api_core import exceptions
from google.rpc import error_details_pb2

from cloudtasks_emu.testing import EmulatorProcess

from .conftest import PARENT, http_call, http_task

QUEUE_HELP = (
    "Definition of queue name",
    "https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues#Queue.FIELDS.name",
)
TASK_HELP = (
    "Definition of task ID",
    "https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues.tasks#Task.FIELDS.name",
)
QUEUE_MESSAGE = 'Queue name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>/queues/<QUEUE_ID>".'


def help_links(error: exceptions.GoogleAPICallError) -> list[tuple[str, str]]:
    [detail] = error.details
    assert isinstance(detail, error_details_pb2.Help)
    return [(link.description, link.url) for link in detail.links]


def test_malformed_queue_name_carries_help_over_grpc(client: Any, tasks: Any, version: str) -> None:
    with pytest.raises(exceptions.InvalidArgument) as caught:
        client.get_queue(name=f"{PARENT}/queues/bad_id!")
    assert caught.value.message == QUEUE_MESSAGE
    assert help_links(caught.value) == [QUEUE_HELP]


def test_malformed_task_id_carries_help_over_grpc(client: Any, queue_name: str, version: str) -> None:
    task = http_task(version)
    task.name = f"{queue_name}/tasks/no.dots"
    with pytest.raises(exceptions.InvalidArgument, match='Task ID "no.dots" can contain only') as caught:
        client.create_task(parent=queue_name, task=task)
    assert help_links(caught.value) == [TASK_HELP]


def test_errors_without_help_have_no_details(client: Any) -> None:
    with pytest.raises(exceptions.NotFound) as caught:
        client.get_queue(name=f"{PARENT}/queues/never-made")
    assert caught.value.details == []


def test_help_detail_over_rest_with_its_type(server: EmulatorProcess, version: str) -> None:
    answer = http_call(server.http, "GET", f"/{version}/{PARENT}/queues/bad_id!")
    assert answer.status == 400
    error = answer.json()["error"]
    assert (error["status"], error["message"]) == ("INVALID_ARGUMENT", QUEUE_MESSAGE)
    link = {"description": QUEUE_HELP[0], "url": QUEUE_HELP[1]}
    assert error["details"] == [{"@type": "type.googleapis.com/google.rpc.Help", "links": [link]}]


def test_official_rest_client_reads_the_help_detail(rest_client: Any, queue_name: str, version: str) -> None:
    task = http_task(version)
    task.name = f"{queue_name}/tasks/bad id"
    with pytest.raises(exceptions.BadRequest) as caught:
        rest_client.create_task(parent=queue_name, task=task)
    # Over REST, api-core hands the details over as the JSON it read.
    link = {"description": TASK_HELP[0], "url": TASK_HELP[1]}
    assert caught.value.details == [{"@type": "type.googleapis.com/google.rpc.Help", "links": [link]}]


@pytest.mark.parametrize("url", ["http://", "https://", "http:///path", "http://:8080/x"])
def test_url_with_a_scheme_and_no_host_is_invalid(client: Any, queue_name: str, version: str, url: str) -> None:
    with pytest.raises(exceptions.InvalidArgument, match=r"HttpTarget.url must start with 'http://' or 'https://'\."):
        client.create_task(parent=queue_name, task=http_task(version, url=url))


@pytest.mark.parametrize("version", ["v2", "v2beta3"])
def test_batch_failure_carries_the_help_detail(client: Any, tasks: Any, queue_name: str, version: str) -> None:
    # A Batch item's google.rpc.Status is built like any other error's: its details come along.
    bad = http_task(version)
    bad.name = f"{queue_name}/tasks/no.dots"
    requests = [tasks.CreateTaskRequest(parent=queue_name, task=http_task(version)), {"task": bad}]
    operation = client.batch_create_tasks(parent=queue_name, requests=requests)
    operation.result(timeout=10)
    failure = operation.metadata.failed_requests[1]
    assert (failure.code, failure.message.startswith('Task ID "no.dots" can contain only')) == (3, True)
    [detail] = failure.details
    found = error_details_pb2.Help()
    assert detail.Unpack(found)
    assert [(link.description, link.url) for link in found.links] == [TASK_HELP]
