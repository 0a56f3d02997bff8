"""Third-party REST clients that already know an emulator: Firebase Admin task queues, gcloud-aio/-rest-taskqueue."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import firebase_admin
import pytest
from firebase_admin import credentials, functions
from firebase_admin import exceptions as firebase_errors
from gcloud.aio.taskqueue import PushQueue as AioPushQueue
from gcloud.rest.taskqueue import PushQueue as RestPushQueue
from google.auth.credentials import AnonymousCredentials, Credentials

from cloudtasks_emu.testing import EmulatorProcess, RecordingHandler

from .conftest import LOCATION, PARENT, PROJECT, http_call


def create_queue(server: EmulatorProcess, version: str, queue_id: str, **fields: Any) -> str:
    name = f"{PARENT}/queues/{queue_id}"
    answer = http_call(server.http, "POST", f"/{version}/{PARENT}/queues", {"name": name, **fields})
    assert answer.status == 200, answer.body
    assert http_call(server.http, "POST", f"/{version}/{name}:pause", {}).status == 200
    return name


def get_task(server: EmulatorProcess, name: str) -> Any:
    return http_call(server.http, "GET", f"/v2/{name}?responseView=FULL")


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# Firebase Admin SDK: CLOUD_TASKS_EMULATOR_HOST, unversioned paths, answers wrapped in {"task"}.


class OfflineCredential(credentials.Base):  # type: ignore[misc]
    """Firebase needs a credential object; in emulator mode it never asks it for a token."""

    def get_credential(self) -> Credentials:
        return AnonymousCredentials()


@pytest.fixture
def firebase(server: EmulatorProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[firebase_admin.App]:
    monkeypatch.setenv("CLOUD_TASKS_EMULATOR_HOST", urlsplit(server.http).netloc)
    app = firebase_admin.initialize_app(OfflineCredential(), {"projectId": PROJECT}, name=new_id("emu"))
    yield app
    firebase_admin.delete_app(app)


def test_firebase_enqueue_and_delete(
    firebase: firebase_admin.App, server: EmulatorProcess, handler: RecordingHandler, admin: EmulatorProcess
) -> None:
    # Given a queue named after the function, paused so the tasks stay put
    function = new_id("fn")
    queue = create_queue(server, "v2", function)
    task_queue = functions.task_queue(function, app=firebase)
    path = f"/{function}"
    # When a task is enqueued with an ID and a URI
    options = functions.TaskOptions(task_id="job-1", uri=f"{handler.url}{path}", headers={"X-Extra": "1"})
    assert task_queue.enqueue({"n": 1}, options) == "job-1"
    # Then the emulator holds it as the Cloud Tasks HTTP task Firebase described
    task = get_task(server, f"{queue}/tasks/job-1").json()
    assert json.loads(base64.b64decode(task["httpRequest"]["body"])) == {"n": 1}
    assert task["httpRequest"]["headers"]["Content-Type"] == "application/json"
    assert task["httpRequest"]["headers"]["X-Extra"] == "1"
    assert task["httpRequest"]["oidcToken"]["serviceAccountEmail"] == "emulated-service-acct@email.com"
    # And delete removes it; the name stays taken as in the cloud
    task_queue.delete("job-1")
    assert get_task(server, f"{queue}/tasks/job-1").status == 404
    with pytest.raises(firebase_errors.AlreadyExistsError):
        task_queue.enqueue({"n": 1}, options)
    # A task with a generated ID is delivered with Firebase's body and an OIDC token
    generated = task_queue.enqueue({"n": 2}, functions.TaskOptions(uri=f"{handler.url}{path}"))
    assert generated.isdigit()
    http_call(server.http, "POST", f"/v2/{queue}:resume", {})
    admin.drain(queue)
    (got,) = handler.wait_for(path, 1)
    assert json.loads(got.body) == {"n": 2}
    assert got.headers["Authorization"].startswith("Bearer ")


def test_firebase_enqueue_without_uri_uses_the_queue_uri_override(
    firebase: firebase_admin.App, server: EmulatorProcess, handler: RecordingHandler
) -> None:
    function = new_id("fn")
    url = urlsplit(handler.url)
    override = {"scheme": "HTTP", "host": url.hostname, "port": str(url.port), "pathOverride": {"path": "/fn"}}
    queue = create_queue(server, "v2", function, httpTarget={"uriOverride": override})
    task_id = functions.task_queue(function, app=firebase).enqueue({"n": 3})
    assert get_task(server, f"{queue}/tasks/{task_id}").json()["httpRequest"]["url"] == f"{handler.url}/fn"


def test_firebase_enqueue_without_any_uri_is_refused(firebase: firebase_admin.App, server: EmulatorProcess) -> None:
    function = new_id("fn")
    create_queue(server, "v2", function)
    with pytest.raises(firebase_errors.FailedPreconditionError, match="without TaskOptions.uri"):
        functions.task_queue(function, app=firebase).enqueue({"n": 4})


def test_firebase_enqueue_to_a_missing_queue_is_not_found(firebase: firebase_admin.App) -> None:
    with pytest.raises(firebase_errors.NotFoundError, match="Queue does not exist"):
        functions.task_queue(new_id("fn"), app=firebase).enqueue({}, functions.TaskOptions(uri="https://x.test/"))


# gcloud-aio-taskqueue / gcloud-rest-taskqueue: CLOUDTASKS_EMULATOR_HOST, REST v2beta3.


def http_task_body(url: str) -> dict[str, Any]:
    return {"httpRequest": {"url": url, "httpMethod": "POST", "body": base64.b64encode(b"payload").decode()}}


@pytest.fixture
def gcloud_queue(server: EmulatorProcess, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CLOUDTASKS_EMULATOR_HOST", urlsplit(server.http).netloc)
    return create_queue(server, "v2beta3", new_id("gcloud"))


async def test_gcloud_aio_push_queue(gcloud_queue: str) -> None:
    async with AioPushQueue(PROJECT, gcloud_queue.rsplit("/", 1)[1], location=LOCATION) as queue:
        created = await queue.create(http_task_body("https://example.com/aio"))
        assert created["httpRequest"]["body"] == base64.b64encode(b"payload").decode()  # it asks for FULL
        got = await queue.get(created["name"], full=True)
        assert (got["name"], got["view"]) == (created["name"], "FULL")
        listed = await queue.list()
        assert [t["name"] for t in listed["tasks"]] == [created["name"]]
        assert await queue.delete(created["name"]) == {}
        assert await queue.list() == {}


def test_gcloud_rest_push_queue(gcloud_queue: str) -> None:
    with RestPushQueue(PROJECT, gcloud_queue.rsplit("/", 1)[1], location=LOCATION) as queue:
        created = queue.create(http_task_body("https://example.com/rest"))
        assert queue.get(created["name"])["view"] == "BASIC"
        assert [t["name"] for t in queue.list(full=True)["tasks"]] == [created["name"]]
        assert queue.delete(created["name"]) == {}
        assert queue.list() == {}
