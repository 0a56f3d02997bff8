"""cloudtasks_emu.testcontainers end to end: a container started by testcontainers-python, tasks delivered."""

from __future__ import annotations

import json
import urllib.request

import pytest
from google.cloud import tasks_v2, tasks_v2beta2

from cloudtasks_emu.testcontainers import CloudTasksContainer
from cloudtasks_emu.testing import RecordingHandler

from .conftest import docker

pytestmark = pytest.mark.timeout(600)
PARENT = "projects/test-project/locations/us-central1"


@pytest.fixture(autouse=True)
def no_reaper(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ryuk, Testcontainers' clean-up container, comes from Docker Hub, which is out of reach here;
    # the `with` block removes our container itself.
    monkeypatch.setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
    from testcontainers.core.config import testcontainers_config

    monkeypatch.setattr(testcontainers_config, "_ryuk_disabled", True)


def test_container_delivers_tasks_and_gives_clients(image: str, handler: RecordingHandler) -> None:
    # Given the module's container on the host network, ports picked by the emulator.
    with CloudTasksContainer(image, port=0, args=("--virtual-clock",), network_mode="host") as emu:
        host, port = emu.get_emulator_host().rsplit(":", 1)
        assert host == "127.0.0.1"
        assert int(port) > 0
        # When a queue and a task are made through the client it hands out.
        client = emu.client("v2")
        queue = client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=f"{PARENT}/queues/tc"))
        client.create_task(
            parent=queue.name, task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=f"{handler.url}/tc"))
        )
        # Then the task reaches the handler, and every version and transport sees the same state.
        handler.wait_for("/tc", 1, timeout_s=30)
        assert [q.name for q in emu.client("v2", transport="rest").list_queues(parent=PARENT)] == [queue.name]
        assert [q.name for q in emu.client("v2beta2").list_queues(parent=PARENT)] == [queue.name]
        assert isinstance(emu.client("v2beta2"), tasks_v2beta2.CloudTasksClient)
        with urllib.request.urlopen(f"{emu.get_http_url()}/_emu/clock", timeout=10) as response:
            assert json.load(response)["virtual"] is True
        container_id = emu.get_container_id()
    # And leaving the block removes the container.
    assert docker("ps", "-aq", "--no-trunc", "--filter", f"id={container_id}").stdout.strip() == ""
