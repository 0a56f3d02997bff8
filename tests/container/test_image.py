"""The image built from our Dockerfile, run as users run it, driven with the official client."""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.request
import uuid

import grpc
import pytest
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import tasks_v2

from cloudtasks_emu.testing import RecordingHandler

from .conftest import Container, docker

# The first test in a session also builds the image.
pytestmark = pytest.mark.timeout(600)
PARENT = "projects/test-project/locations/us-central1"


def grpc_client(container: Container) -> tasks_v2.CloudTasksClient:
    channel = grpc.insecure_channel(container.grpc)
    transport = tasks_v2.services.cloud_tasks.transports.CloudTasksGrpcTransport(channel=channel)
    return tasks_v2.CloudTasksClient(transport=transport)


def test_queue_and_http_task_reach_a_handler_on_the_host(
    image: str, containers: list[Container], handler: RecordingHandler
) -> None:
    # Given the image running with its defaults (every address bound, from its environment).
    containers.append(Container(image))
    emu = containers[0]
    assert emu.ready["grpc"].startswith("0.0.0.0:")
    client = grpc_client(emu)
    # When a queue and an HTTP task to a handler on the host are created over gRPC.
    queue = client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=f"{PARENT}/queues/in-container"))
    client.create_task(
        parent=queue.name,
        task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=f"{handler.url}/from-container", body=b"hello")),
    )
    # Then the handler receives it as the cloud sends it, and REST sees the same queue.
    [received] = handler.wait_for("/from-container", 1, timeout_s=30)
    assert received.body == b"hello"
    assert received.headers["X-CloudTasks-QueueName"] == "in-container"
    rest = tasks_v2.CloudTasksClient(
        transport="rest", credentials=AnonymousCredentials(), client_options=ClientOptions(api_endpoint=emu.http)
    )
    assert [q.name for q in rest.list_queues(parent=PARENT)] == [queue.name]


def host_status(port: int, host: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", f"/v2/{PARENT}/queues", headers={"Host": host})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_the_image_answers_its_own_names_and_refuses_rebinding(image: str, containers: list[Container]) -> None:
    # Reached as a compose service, by an address or as Docker's host alias, the image answers; a dotted
    # name that only an attacker's DNS would point here (DNS rebinding from a web page) is refused.
    containers.append(Container(image))
    port = containers[0].ready["port"]
    for name in ("emulator", "localhost", "10.1.2.3", "[fd00::5]", "host.docker.internal", socket.gethostname()):
        assert host_status(port, f"{name}:{port}") == 200, name
    assert host_status(port, f"rebind.attacker.example:{port}") == 403
    assert host_status(port, f"tasks.corp.example:{port}") == 403
    # A dotted name of your own is one variable away.
    containers.append(Container(image, env={"CLOUDTASKS_EMU_ALLOWED_HOST": "tasks.corp.example"}))
    assert host_status(containers[1].ready["port"], f"tasks.corp.example:{containers[1].ready['port']}") == 200


def test_flags_after_the_image_name_mean_start(image: str, containers: list[Container]) -> None:
    queue = f"{PARENT}/queues/from-flags"
    containers.append(Container(image, "--queue", queue, "--virtual-clock"))
    assert [q.name for q in grpc_client(containers[0]).list_queues(parent=PARENT)] == [queue]


def test_state_survives_a_new_container_on_the_same_volume(image: str, containers: list[Container]) -> None:
    volume = f"cloudtasks-emu-test-{uuid.uuid4().hex[:10]}"
    try:
        # Given a queue and a task made in one container whose /data is a named volume.
        containers.append(Container(image, run_flags=("-v", f"{volume}:/data")))
        first = grpc_client(containers[0])
        queue = first.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=f"{PARENT}/queues/kept"))
        first.pause_queue(name=queue.name)
        task = first.create_task(
            parent=queue.name, task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url="http://127.0.0.1:9/x"))
        )
        docker("stop", "--time", "20", containers[0].name, timeout_s=60)
        # When a new container starts on the same volume.
        containers.append(Container(image, run_flags=("-v", f"{volume}:/data")))
        second = grpc_client(containers[1])
        # Then the queue and its task are there.
        assert [t.name for t in second.list_tasks(parent=queue.name)] == [task.name]
        assert "storage sqlite in /data" in containers[1].logs()
    finally:
        for container in containers:
            container.remove()
        docker("volume", "rm", "--force", volume, check=False)


def test_dashboard_files_are_in_the_image(image: str, containers: list[Container]) -> None:
    # A non-editable install ships only declared package data: the page and its scripts must be there.
    containers.append(Container(image))
    with urllib.request.urlopen(f"{containers[0].http}/", timeout=10) as response:
        assert response.status == 200
        assert "<html" in response.read().decode().lower()


def test_app_engine_url_comes_from_the_environment(
    image: str, containers: list[Container], handler: RecordingHandler
) -> None:
    containers.append(Container(image, env={"CLOUDTASKS_EMU_APP_ENGINE_URL": f"{handler.url}/gae"}))
    client = grpc_client(containers[0])
    queue = client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=f"{PARENT}/queues/appengine"))
    task = tasks_v2.Task(app_engine_http_request=tasks_v2.AppEngineHttpRequest(relative_uri="/work"))
    client.create_task(parent=queue.name, task=task)
    [received] = handler.wait_for("/gae/work", 1, timeout_s=30)
    assert received.headers["X-AppEngine-QueueName"] == "appengine"


def test_healthcheck_turns_healthy(image: str, containers: list[Container]) -> None:
    # The image's own HEALTHCHECK command, run every second instead of every five.
    containers.append(Container(image, run_flags=("--health-interval", "1s")))
    emu = containers[0]
    status = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = emu.inspect("{{.State.Health.Status}}")
        if status != "starting":
            break
        time.sleep(0.5)
    health = json.loads(emu.inspect("{{json .State.Health}}"))
    assert status == "healthy", health
    assert health["Log"][-1]["ExitCode"] == 0
    with urllib.request.urlopen(f"{emu.http}/healthz", timeout=10) as response:
        assert json.load(response) == {"status": "SERVING"}


def test_sigterm_stops_pid_1_cleanly(image: str, containers: list[Container]) -> None:
    containers.append(Container(image))
    emu = containers[0]
    assert emu.inspect("{{.State.Pid}}") != "0"
    # docker stop sends SIGTERM and waits 20 s before SIGKILL (exit code 137).
    docker("stop", "--time", "20", emu.name, timeout_s=60)
    assert emu.inspect("{{.State.ExitCode}}") == "0"
    assert "cloudtasks-emu" in emu.logs()


def test_runs_as_a_non_root_user(image: str, containers: list[Container]) -> None:
    containers.append(Container(image))
    emu = containers[0]
    uid = docker("exec", emu.name, "id", "-u").stdout.strip()
    assert uid not in ("", "0")
    assert emu.inspect("{{.Config.User}}") == "emu"
    assert docker("exec", emu.name, "test", "-w", "/data").returncode == 0


def test_final_stage_has_no_compiler_and_no_pip(image: str) -> None:
    found = docker(
        "run", "--rm", "--network", "none", "--entrypoint", "sh", image, "-c", "command -v gcc cc pip pip3 || true"
    ).stdout.split()
    assert found == []
    listed = docker("run", "--rm", "--network", "none", "--entrypoint", "sh", image, "-c", "ls /opt/venv/bin")
    assert "cloudtasks-emu" in listed.stdout.split()
