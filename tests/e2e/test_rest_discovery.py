"""googleapiclient's discovery clients (v2beta2 and v2) against the REST gateway: enums by name, alt=json."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from cloudtasks_emu.testing import EmulatorProcess, RecordingHandler

from .conftest import PARENT, PROJECT, unique_queue_name


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def queues_of(api: Any) -> Any:
    return api.projects().locations().queues()


def test_v2beta2_queues_with_paging(discovery: Any) -> None:
    queues = queues_of(discovery("v2beta2"))
    # Given three pull queues
    names = sorted(unique_queue_name("disc") for _ in range(3))
    for name in names:
        created = queues.create(parent=PARENT, body={"name": name, "pullTarget": {}}).execute()
        assert (created["name"], created["state"]) == (name, "RUNNING")
    # When listing two a page, list_next follows nextPageToken until it runs out
    seen: list[str] = []
    request = queues.list(parent=PARENT, pageSize=2)
    for _ in range(1000):
        if request is None:
            break
        page = request.execute()
        assert len(page["queues"]) <= 2
        seen += [q["name"] for q in page["queues"]]
        request = queues.list_next(request, page)
    assert set(names) <= set(seen)
    assert seen == sorted(seen)
    # Then get, patch and delete work on one of them
    assert queues.get(name=names[0]).execute()["pullTarget"] == {}
    patched = queues.patch(
        name=names[0], updateMask="retryConfig.maxAttempts", body={"retryConfig": {"maxAttempts": 3}}
    )
    assert patched.execute()["retryConfig"]["maxAttempts"] == 3
    assert queues.delete(name=names[0]).execute() == {}
    with pytest.raises(HttpError) as raised:
        queues.get(name=names[0]).execute()
    assert raised.value.status_code == 404
    assert "Queue does not exist" in raised.value.reason


def test_v2beta2_pull_tasks(discovery: Any) -> None:
    queues = queues_of(discovery("v2beta2"))
    tasks = queues.tasks()
    queue = unique_queue_name("pull")
    queues.create(parent=PARENT, body={"name": queue, "pullTarget": {}}).execute()
    # Given a named pull task with a tag
    name = f"{queue}/tasks/job-1"
    body = {"task": {"name": name, "pullMessage": {"payload": b64(b"work"), "tag": "blue"}}, "responseView": "FULL"}
    created = tasks.create(parent=queue, body=body).execute()
    assert (created["name"], created["view"], created["pullMessage"]["payload"]) == (name, "FULL", b64(b"work"))
    assert tasks.get(name=name, responseView="BASIC").execute()["view"] == "BASIC"
    assert [t["name"] for t in tasks.list(parent=queue).execute()["tasks"]] == [name]
    # When leased, renewed and cancelled, each answer carries the schedule time that proves the lease
    lease = {"maxTasks": 10, "leaseDuration": "30s", "responseView": "FULL", "filter": "tag=blue"}
    (leased,) = tasks.lease(parent=queue, body=lease).execute()["tasks"]
    assert leased["pullMessage"]["payload"] == b64(b"work")
    renewed = tasks.renewLease(name=name, body={"scheduleTime": leased["scheduleTime"], "leaseDuration": "90s"})
    renewed = renewed.execute()
    assert renewed["scheduleTime"] > leased["scheduleTime"]
    cancelled = tasks.cancelLease(name=name, body={"scheduleTime": renewed["scheduleTime"]}).execute()
    with pytest.raises(HttpError) as raised:
        tasks.acknowledge(name=name, body={"scheduleTime": renewed["scheduleTime"]}).execute()
    assert raised.value.status_code == 400
    (again,) = tasks.lease(parent=queue, body={"maxTasks": 1, "leaseDuration": "30s"}).execute()["tasks"]
    assert again["scheduleTime"] > cancelled["scheduleTime"]
    # Then acknowledging finishes the task
    assert tasks.acknowledge(name=name, body={"scheduleTime": again["scheduleTime"]}).execute() == {}
    with pytest.raises(HttpError) as raised:
        tasks.get(name=name).execute()
    assert raised.value.status_code == 404
    assert tasks.lease(parent=queue, body={"maxTasks": 1, "leaseDuration": "30s"}).execute() == {}


def test_v2beta2_push_tasks_run_and_delete(discovery: Any, handler: RecordingHandler, admin: EmulatorProcess) -> None:
    queues = queues_of(discovery("v2beta2"))
    tasks = queues.tasks()
    queue = unique_queue_name("push")
    queues.create(parent=PARENT, body={"name": queue, "httpTarget": {}}).execute()
    queues.pause(name=queue).execute()
    path = f"/disc/{uuid.uuid4().hex[:12]}"
    request = {"url": f"{handler.url}{path}", "httpMethod": "PATCH", "body": b64(b"{}"), "headers": {"X-A": "1"}}
    created = tasks.create(parent=queue, body={"task": {"httpRequest": request}}).execute()
    ran = tasks.run(name=created["name"], body={}).execute()
    assert ran["name"] == created["name"]
    (got,) = handler.wait_for(path, 1)
    assert (got.method, got.body, got.headers["X-A"]) == ("PATCH", b"{}", "1")
    admin.drain(queue)
    other = tasks.create(parent=queue, body={"task": {"httpRequest": {"url": f"{handler.url}{path}"}}}).execute()
    assert tasks.delete(name=other["name"]).execute() == {}
    assert tasks.list(parent=queue).execute() == {}


def test_v2_queue_and_task_rpcs(discovery: Any) -> None:
    api = discovery("v2")
    queues = queues_of(api)
    tasks = queues.tasks()
    queue = unique_queue_name("v2disc")
    body = {"name": queue, "rateLimits": {"maxDispatchesPerSecond": 2}, "retryConfig": {"minBackoff": "3.5s"}}
    created = queues.create(parent=PARENT, body=body).execute()
    assert created["retryConfig"]["minBackoff"] == "3.500s"
    assert queues.pause(name=queue).execute()["state"] == "PAUSED"
    task: dict[str, Any] = {
        "httpRequest": {"url": "https://example.com/x", "httpMethod": "PUT", "body": b64(b"\x00\x01")}
    }
    task["scheduleTime"] = "2099-01-01T00:00:00.123456Z"
    with pytest.raises(HttpError) as raised:
        tasks.create(parent=queue, body={"task": task}).execute()
    assert raised.value.status_code == 400
    assert "too far in the future" in raised.value.reason
    del task["scheduleTime"]
    created_task = tasks.create(parent=queue, body={"task": task, "responseView": "FULL"}).execute()
    assert created_task["httpRequest"]["body"] == b64(b"\x00\x01")
    assert created_task["httpRequest"]["httpMethod"] == "PUT"
    assert tasks.get(name=created_task["name"], responseView="FULL").execute()["view"] == "FULL"
    assert [t["name"] for t in tasks.list(parent=queue, pageSize=10).execute()["tasks"]] == [created_task["name"]]
    assert tasks.delete(name=created_task["name"]).execute() == {}
    locations = api.projects().locations().list(name=f"projects/{PROJECT}").execute()
    assert PARENT in [loc["name"] for loc in locations["locations"]]
    assert queues.delete(name=queue).execute() == {}


def test_v2beta2_upload_queue_yaml(discovery: Any) -> None:
    queue_id = f"yaml-{uuid.uuid4().hex[:12]}"
    document = f"queue:\n- name: {queue_id}\n  rate: 5/s\n"
    # googleapiclient sends the str body JSON-quoted; the gateway reads it as the text it quotes
    api = discovery("v2beta2")
    assert api.api().queue().update(appId=PROJECT, body=document).execute() == {}
    queue = queues_of(api).get(name=f"{PARENT}/queues/{queue_id}").execute()
    assert queue["rateLimits"]["maxTasksDispatchedPerSecond"] == 5


def test_v2_buffer_takes_a_str_body_as_is(discovery: Any) -> None:
    queues = queues_of(discovery("v2"))
    queue = unique_queue_name("buf")
    target = {"uriOverride": {"scheme": "HTTP", "host": "127.0.0.1", "port": "9", "pathOverride": {"path": "/in"}}}
    queues.create(parent=PARENT, body={"name": queue, "httpTarget": target}).execute()
    queues.pause(name=queue).execute()
    answer = queues.tasks().buffer(queue=queue, taskId="b-1", body="hello").execute()
    assert answer["task"]["name"] == f"{queue}/tasks/b-1"
    assert answer["task"]["httpRequest"]["url"] == "http://127.0.0.1:9/in"
    full = queues.tasks().get(name=f"{queue}/tasks/b-1", responseView="FULL").execute()
    assert full["httpRequest"]["body"] == b64(b"hello")
