"""One address for every client: with only the main port open, every client we document reaches the
same state through CLOUD_TASKS_EMULATOR_HOST=host:port (gRPC over HTTP/2, everything else HTTP/1.1)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import firebase_admin
import grpc
import httplib2
import pytest
from firebase_admin import functions
from gcloud.aio.taskqueue import PushQueue as AioPushQueue
from gcloud.rest.taskqueue import PushQueue as RestPushQueue
from googleapiclient.discovery import build
from grpc_health.v1 import health_pb2, health_pb2_grpc

import cloudtasks_emu
from cloudtasks_emu.testing import EmulatorProcess

from .conftest import LOCATION, PARENT, PROJECT, http_call
from .test_rest_third_party import OfflineCredential


@pytest.fixture(scope="module")
def one() -> Iterator[EmulatorProcess]:
    """An emulator with no second HTTP port: the main port is all there is."""
    emulator = EmulatorProcess("--no-http-port")
    yield emulator
    emulator.stop()


@pytest.fixture
def env(one: EmulatorProcess, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in ("CLOUD_TASKS_EMULATOR_HOST", "CLOUDTASKS_EMULATOR_HOST"):
        monkeypatch.setenv(name, one.address)
    monkeypatch.delenv("CLOUD_TASKS_EMULATOR_HTTP_HOST", raising=False)
    return one.address


def new_queue(one: EmulatorProcess, version: str = "v2") -> str:
    name = f"{PARENT}/queues/one-{uuid.uuid4().hex[:10]}"
    assert http_call(one.http, "POST", f"/{version}/{PARENT}/queues", {"name": name}).status == 200
    assert http_call(one.http, "POST", f"/{version}/{name}:pause", {}).status == 200
    return name


def task_names(one: EmulatorProcess, queue: str) -> list[str]:
    return [t["name"] for t in http_call(one.http, "GET", f"/v2/{queue}/tasks").json().get("tasks", [])]


def test_ready_line_names_one_address(one: EmulatorProcess) -> None:
    host, port = one.address.rsplit(":", 1)
    assert (host, int(port)) == ("127.0.0.1", one.ready["port"])
    assert one.grpc == one.address
    assert one.http == f"http://{one.address}"


def test_official_grpc_and_rest_clients_share_the_address(one: EmulatorProcess, env: str) -> None:
    queue = new_queue(one)
    grpc_client = cloudtasks_emu.client("v2")
    rest_client = cloudtasks_emu.client("v2", transport="rest")
    made = grpc_client.create_task(parent=queue, task={"http_request": {"url": "https://example.com/a"}})
    assert rest_client.get_task(name=made.name).name == made.name
    rest_made = rest_client.create_task(parent=queue, task={"http_request": {"url": "https://example.com/b"}})
    assert {t.name for t in grpc_client.list_tasks(parent=queue)} == {made.name, rest_made.name}


async def test_official_async_grpc_client(one: EmulatorProcess, env: str) -> None:
    queue = new_queue(one)
    client = cloudtasks_emu.client("v2beta3", asyncio=True)
    made = await client.create_task(parent=queue, task={"http_request": {"url": "https://example.com/c"}})
    assert task_names(one, queue) == [made.name]


def test_grpc_health_and_reflection_answer_on_the_address(one: EmulatorProcess) -> None:
    with grpc.insecure_channel(one.address) as channel:
        answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_firebase_admin(one: EmulatorProcess, env: str) -> None:
    queue = new_queue(one)
    app = firebase_admin.initialize_app(OfflineCredential(), {"projectId": PROJECT}, name=uuid.uuid4().hex)
    try:
        task_queue = functions.task_queue(queue.rsplit("/", 1)[1], app=app)
        task_id = task_queue.enqueue({"n": 1}, functions.TaskOptions(uri="https://example.com/fn"))
        assert task_names(one, queue) == [f"{queue}/tasks/{task_id}"]
    finally:
        firebase_admin.delete_app(app)


def http_task(url: str) -> dict[str, Any]:
    return {"httpRequest": {"url": url, "httpMethod": "POST", "body": base64.b64encode(b"x").decode()}}


async def test_gcloud_aio_taskqueue(one: EmulatorProcess, env: str) -> None:
    queue = new_queue(one, "v2beta3")
    async with AioPushQueue(PROJECT, queue.rsplit("/", 1)[1], location=LOCATION) as push:
        created = await push.create(http_task("https://example.com/aio"))
    assert task_names(one, queue) == [created["name"]]


def test_gcloud_rest_taskqueue(one: EmulatorProcess, env: str) -> None:
    queue = new_queue(one, "v2beta3")
    with RestPushQueue(PROJECT, queue.rsplit("/", 1)[1], location=LOCATION) as push:
        created = push.create(http_task("https://example.com/rest"))
    assert task_names(one, queue) == [created["name"]]


def test_discovery_client(one: EmulatorProcess, env: str) -> None:
    queue = new_queue(one)
    http = httplib2.Http()
    try:
        api = build(
            "cloudtasks", "v2", static_discovery=True, client_options={"api_endpoint": f"http://{env}"}, http=http
        )
        created = (
            api.projects()
            .locations()
            .queues()
            .tasks()
            .create(parent=queue, body={"task": http_task("https://example.com/d")})
            .execute()
        )
    finally:
        http.close()
    assert task_names(one, queue) == [created["name"]]


def curl(*args: str) -> Any:
    done = subprocess.run(["curl", "-sS", "--fail-with-body", *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_curl_reaches_rest_admin_health_and_oidc(one: EmulatorProcess, env: str) -> None:
    queue = new_queue(one)
    body = json.dumps({"task": http_task("https://example.com/curl")})
    created = curl("-H", "Content-Type: application/json", "-d", body, f"{env}/v2/{queue}/tasks")
    assert task_names(one, queue) == [created["name"]]
    assert curl(f"{env}/healthz") == {"status": "SERVING"}
    assert curl(f"{env}/_emu/clock")["virtual"] is False
    assert curl(f"{env}/.well-known/openid-configuration")["jwks_uri"] == f"http://{env}/oauth2/v3/certs"
    assert curl(f"{env}/oauth2/v3/certs")["keys"]


def test_the_second_http_port_and_a_direct_grpc_port_serve_the_same_state() -> None:
    emulator = EmulatorProcess("--http-port", "0", "--grpc-port", "0")
    try:
        ready = emulator.ready
        assert len({ready["port"], ready["http_port"], ready["grpc_port"]}) == 3
        queue = new_queue(emulator)
        answer = http_call(f"http://127.0.0.1:{ready['http_port']}", "GET", f"/v2/{queue}")
        assert answer.json()["name"] == queue
        with grpc.insecure_channel(f"127.0.0.1:{ready['grpc_port']}") as channel:
            check = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
            assert check.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        emulator.stop()


def test_a_taken_port_is_an_error(one: EmulatorProcess) -> None:
    port = one.address.rsplit(":", 1)[1]
    with pytest.raises(RuntimeError, match="did not start"):
        EmulatorProcess("--no-http-port", "--port", port, timeout_s=15)


def test_an_http2_preface_with_nothing_after_it_does_not_hang_the_port(one: EmulatorProcess) -> None:
    host, port = one.address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    assert http_call(one.http, "GET", "/healthz").json() == {"status": "SERVING"}


@pytest.mark.skipif(shutil.which("gcloud") is None, reason="gcloud (google-cloud-cli) is not installed")
def test_gcloud(one: EmulatorProcess, tmp_path: Path) -> None:
    queue = new_queue(one)
    env = {
        **os.environ,
        "CLOUDSDK_CONFIG": str(tmp_path),
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS": f"{one.http}/",
        "CLOUDSDK_AUTH_DISABLE_CREDENTIALS": "true",
        "CLOUDSDK_CORE_PROJECT": PROJECT,
        "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
        "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "true",
    }
    queue_id = queue.rsplit("/", 1)[1]
    cmd = ["gcloud", "tasks", "create-http-task", "--queue", queue_id, "--location", LOCATION]
    done = subprocess.run(
        [*cmd, "--url", "https://example.com/g", "--format=json"], env=env, capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, done.stderr
    assert task_names(one, queue) == [json.loads(done.stdout)["name"]]
