"""Frameworks from PyPI that build a bare `tasks_v2.CloudTasksClient()`, used unchanged: patch_clients()
(and the CLOUDTASKS_EMU_PATCH=1 start-up hook) points them at the emulator, and the tasks they create
reach a real server of theirs: a FastAPI app under uvicorn, and the deferred library's WSGI handler."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import uvicorn
from cloud_tasks_deferred_v2.wsgi import application as deferred_application
from fastapi import APIRouter, FastAPI, HTTPException
from fastapi_gcp_tasks import AsyncDelayedRouteBuilder, DelayedRouteBuilder
from google.cloud import tasks_v2

from cloudtasks_emu.testing import EmulatorProcess
from tests.waiting import wait_until

PROJECT = "framework-app"
LOCATION = "us-central1"
PARENT = f"projects/{PROJECT}/locations/{LOCATION}"


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def _bound_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def uvicorn_server() -> Iterator[Any]:
    """start(app) serves a FastAPI app under uvicorn on a port known in advance (`.url`)."""
    sock = _bound_socket()
    state: dict[str, Any] = {"url": f"http://127.0.0.1:{sock.getsockname()[1]}"}

    def start(app: FastAPI) -> None:
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        wait_until(lambda: server.started or not thread.is_alive(), "uvicorn did not start", every_s=0.01)
        assert server.started, "uvicorn did not start"
        state.update(server=server, thread=thread)

    state["start"] = start
    yield type("Uvicorn", (), state)
    if "server" in state:
        state["server"].should_exit = True
        state["thread"].join(10)
    sock.close()


def test_fastapi_gcp_tasks_delay_retry_and_countdown(cloudtasks_patch: EmulatorProcess, uvicorn_server: Any) -> None:
    emulator = cloudtasks_patch
    queue = f"{PARENT}/queues/fastapi"
    calls: list[str] = []
    # Given a FastAPI app whose delayed route builder makes its own client and its own queue
    router = APIRouter(route_class=DelayedRouteBuilder(queue_path=queue, base_url=uvicorn_server.url))

    @router.post("/greet/{name}")
    def greet(name: str) -> None:
        calls.append(name)
        if name == "flaky" and calls.count("flaky") == 1:
            raise HTTPException(status_code=500)

    app = FastAPI()
    app.include_router(router)
    uvicorn_server.start(app)
    # When tasks are delayed through the framework
    greet.delay(name="ada")  # type: ignore[attr-defined]
    greet.delay(name="flaky")  # type: ignore[attr-defined]
    greet.options(countdown=600).delay(name="later")  # type: ignore[attr-defined]
    emulator.drain(queue)
    # Then they reach the app; the one that failed comes back after its backoff
    assert sorted(calls) == ["ada", "flaky"]
    emulator.advance(1)
    emulator.drain(queue)
    assert sorted(calls) == ["ada", "flaky", "flaky"]
    # and the countdown (computed from the real clock) holds until virtual time passes it
    emulator.advance(300)
    emulator.drain(queue)
    assert "later" not in calls
    emulator.advance(400)
    emulator.drain(queue)
    assert calls.count("later") == 1
    assert sorted(a["status"] for a in emulator.attempts(queue)) == [200, 200, 200, 500]


async def test_fastapi_gcp_tasks_async_client(cloudtasks_patch: EmulatorProcess, uvicorn_server: Any) -> None:
    queue = f"{PARENT}/queues/fastapi-async"
    calls: list[int] = []
    router = APIRouter(
        route_class=AsyncDelayedRouteBuilder(queue_path=queue, base_url=uvicorn_server.url, auto_create_queue=True)
    )

    @router.post("/count/{n}")
    async def count(n: int) -> None:
        calls.append(n)

    app = FastAPI()
    app.include_router(router)
    uvicorn_server.start(app)
    task = await count.delay(n=7)  # type: ignore[attr-defined]
    assert task.name.startswith(f"{queue}/tasks/")
    cloudtasks_patch.drain(queue)  # blocking is fine: uvicorn serves from its own thread
    assert calls == [7]


@pytest.fixture
def deferred_setup(tmp_path: Path) -> Iterator[tuple[EmulatorProcess, dict[str, str]]]:
    """The deferred library's own WSGI handler on a real server, an emulator delivering App Engine
    tasks to it, its `default` queue, and the environment the library reads."""
    server = make_server("127.0.0.1", 0, deferred_application, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    emulator = EmulatorProcess("--virtual-clock", "--app-engine-url", f"http://127.0.0.1:{server.server_port}")
    env = {
        **os.environ,
        "CLOUD_TASKS_EMULATOR_HOST": emulator.grpc,
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "QUEUE_LOCATION": LOCATION,
    }
    try:
        emulator.call("POST", f"/v2/{PARENT}/queues", {"name": f"{PARENT}/queues/default"})
        yield emulator, env
    finally:
        emulator.stop()
        server.shutdown()
        thread.join(10)
        server.server_close()


def test_deferred_through_the_start_up_hook(deferred_setup: tuple[EmulatorProcess, dict[str, str]], tmp_path: Path):
    emulator, env = deferred_setup
    target = tmp_path / "parent" / "made"
    # Given a program that knows nothing of emulators, run with CLOUDTASKS_EMU_PATCH=1
    program = f"import os\nfrom cloud_tasks_deferred_v2 import deferred\ndeferred.defer(os.mkdir, {str(target)!r})\n"
    result = subprocess.run(
        [sys.executable, "-c", program], env={**env, "CLOUDTASKS_EMU_PATCH": "1"}, capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.stderr.decode()
    # When the task runs before its parent directory exists, the handler fails (500) and it is retried
    queue = f"{PARENT}/queues/default"
    emulator.drain(queue)
    assert not target.exists()
    target.parent.mkdir()
    emulator.advance(1)
    emulator.drain(queue)
    # Then the deferred call ran in the handler, on its second attempt
    assert target.is_dir()
    assert [a["status"] for a in emulator.attempts(queue)] == [500, 204]


def test_start_up_hook_does_nothing_unless_asked(deferred_setup: tuple[EmulatorProcess, dict[str, str]]) -> None:
    _, env = deferred_setup
    probe = "import sys; print('cloudtasks_emu' in sys.modules)"
    unset = {k: v for k, v in env.items() if k != "CLOUDTASKS_EMU_PATCH"}
    asked = subprocess.run([sys.executable, "-c", probe], env={**unset, "CLOUDTASKS_EMU_PATCH": "1"}, **_TEXT)
    not_asked = subprocess.run([sys.executable, "-c", probe], env=unset, **_TEXT)
    assert (asked.stdout.strip(), not_asked.stdout.strip()) == ("True", "False")
    # Asked, a stock client built with no arguments reaches the emulator (no credentials anywhere)
    listing = (
        "from google.cloud import tasks_v2\n"
        "print([q.name for q in tasks_v2.CloudTasksClient().list_queues(parent={!r})])"
    )
    result = subprocess.run(
        [sys.executable, "-c", listing.format(PARENT)],
        env={**unset, "CLOUDTASKS_EMU_PATCH": "1", "GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent.json"},
        **_TEXT,
    )
    assert result.stdout.strip() == str([f"{PARENT}/queues/default"]), result.stderr


_TEXT: dict[str, Any] = {"capture_output": True, "text": True, "timeout": 60}


def test_patch_leaves_explicit_clients_alone(cloudtasks_patch: EmulatorProcess) -> None:
    # A client given its own endpoint keeps it (nothing listens on port 9: a refused connection)
    from google.api_core import exceptions
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials

    mine = tasks_v2.CloudTasksClient(
        transport="rest",
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint="http://127.0.0.1:9"),
    )
    with pytest.raises((exceptions.GoogleAPIError, OSError)):
        mine.list_queues(parent=PARENT, timeout=5, retry=None)
    # while a bare one, over either transport, reaches the emulator
    tasks_v2.CloudTasksClient().create_queue(parent=PARENT, queue={"name": f"{PARENT}/queues/bare"})
    names = [q.name for q in tasks_v2.CloudTasksClient(transport="rest").list_queues(parent=PARENT)]
    assert f"{PARENT}/queues/bare" in names


@pytest.mark.parametrize("version", ["v2", "v2beta3", "v2beta2"])
async def test_patch_covers_every_version_and_transport(cloudtasks_emulator: EmulatorProcess, version: str) -> None:
    import importlib

    from cloudtasks_emu import patch_clients

    module = importlib.import_module(f"google.cloud.tasks_{version}")
    stock_init = module.CloudTasksClient.__init__
    parent = f"projects/patched-{version}/locations/{LOCATION}"
    name = f"{parent}/queues/q"
    queue = {"name": name, **({"app_engine_http_target": {}} if version == "v2beta2" else {})}
    undo = patch_clients()
    try:
        module.CloudTasksClient().create_queue(parent=parent, queue=queue)  # gRPC
        assert module.CloudTasksClient(transport="rest").get_queue(name=name).name == name
        assert (await module.CloudTasksAsyncClient().get_queue(name=name)).name == name
    finally:
        undo()
    assert module.CloudTasksClient.__init__ is stock_init
