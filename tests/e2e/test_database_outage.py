"""`--database` while PostgreSQL is down: every call answers UNAVAILABLE (gRPC 14, REST 503), an attempt
that ends meanwhile is made again, and the emulator serves again by itself once the database is back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.api_core import exceptions
from google.cloud import tasks_v2

from cloudtasks_emu.testing import EmulatorProcess, RecordingHandler
from tests.postgres_server import PostgresServer
from tests.waiting import wait_until

from .conftest import PARENT, http_call, make_client, unique_queue_name

HELD = "/held-through-outage"


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    """A server of this test's own: the test stops and restarts it."""
    with PostgresServer() as server:
        yield server


def rest(server: EmulatorProcess, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    answer = http_call(server.http, method, f"/v2/{path}", body)
    return answer.status, answer.json()


def wait_for_text(log: Path, texts: tuple[str, ...], timeout_s: float = 20.0) -> str:
    def found() -> str:
        content = log.read_text(errors="replace")
        return content if any(text in content for text in texts) else ""

    return wait_until(found, lambda: f"none of {texts} in the log:\n{log.read_text(errors='replace')}", timeout_s)


def test_every_call_during_an_outage_is_unavailable_and_service_resumes(
    postgres: PostgresServer, handler: RecordingHandler, tmp_path: Path
) -> None:
    log_path = tmp_path / "emulator.log"
    queue_name = unique_queue_name("outage")
    with open(log_path, "w") as log:
        server = EmulatorProcess("--database", postgres.url, "--virtual-clock", stderr=log)
    channel = grpc.insecure_channel(server.grpc)
    client = make_client(tasks_v2, channel)
    no_retry: dict[str, Any] = {"retry": None, "timeout": 30}
    try:
        client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=queue_name))
        handler.script(HELD, ["hold"])
        request = tasks_v2.HttpRequest(url=handler.url + HELD)
        held = client.create_task(parent=queue_name, task=tasks_v2.Task(http_request=request))
        handler.wait_for(HELD, 1)

        postgres.halt()
        handler.release_held(HELD)  # the attempt ends while its outcome cannot be written
        wait_for_text(log_path, (held.name.rsplit("/", 1)[-1], "never retrieved"))

        for _ in range(3):  # not only the first call: the reconnects fail too
            with pytest.raises(exceptions.ServiceUnavailable):
                client.get_queue(name=queue_name, **no_retry)
            with pytest.raises(exceptions.ServiceUnavailable):
                client.create_task(parent=queue_name, task=tasks_v2.Task(http_request=request), **no_retry)
            with pytest.raises(exceptions.ServiceUnavailable):
                list(client.list_tasks(parent=queue_name, **no_retry))
            status, body = rest(server, "GET", queue_name)
            assert (status, body["error"]["status"]) == (503, "UNAVAILABLE"), body
            status, body = rest(server, "POST", f"{queue_name}/tasks", {"task": {"httpRequest": {"url": request.url}}})
            assert (status, body["error"]["status"]) == (503, "UNAVAILABLE"), body
            status, body = rest(server, "GET", f"{PARENT}/queues")
            assert (status, body["error"]["status"]) == (503, "UNAVAILABLE"), body

        postgres.resume()
        assert client.get_queue(name=queue_name, **no_retry).name == queue_name
        client.create_task(parent=queue_name, task=tasks_v2.Task(http_request=request), **no_retry)
        status, body = rest(server, "GET", f"{queue_name}/tasks")
        assert status == 200, body
        # The attempt whose outcome was lost is made again (at least once), then every task is delivered.
        server.drain(timeout_s=30)
        assert len(handler.requests_to(HELD)) >= 3
        assert list(client.list_tasks(parent=queue_name, **no_retry)) == []
    finally:
        channel.close()
        server.stop()
    text = log_path.read_text(errors="replace")
    assert "never retrieved" not in text, text
    assert "Traceback" not in text, text
