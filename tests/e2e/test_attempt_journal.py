"""`--attempt-journal-size`: /_emu/attempts keeps the last N push attempts of each queue."""

from __future__ import annotations

import grpc
from google.cloud import tasks_v2

from cloudtasks_emu.testing import EmulatorProcess, RecordingHandler

from .conftest import PARENT, make_client


def test_the_journal_keeps_the_last_attempts_of_each_queue() -> None:
    handler = RecordingHandler().start()
    server = EmulatorProcess("--virtual-clock", "--attempt-journal-size", "2")
    channel = grpc.insecure_channel(server.grpc)
    try:
        client = make_client(tasks_v2, channel)
        for queue_id, count in [("busy", 5), ("quiet", 1)]:
            queue = f"{PARENT}/queues/{queue_id}"
            client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=queue))
            for n in range(count):
                url = f"{handler.url}/{queue_id}/{n}"
                client.create_task(parent=queue, task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=url)))
                server.drain()
        busy = server.attempts(f"{PARENT}/queues/busy")
        assert [a["url"].rsplit("/", 1)[1] for a in busy] == ["3", "4"]
        assert [a["status"] for a in busy] == [200, 200]
        assert len(server.attempts()) == 3
    finally:
        channel.close()
        server.stop()
        handler.stop()
