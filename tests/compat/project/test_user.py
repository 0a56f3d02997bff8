"""A user's test through the pytest plugin, with the emulator in the test process."""

from google.cloud import tasks_v2

QUEUE = "projects/p/locations/us-central1/queues/mail"


def test_the_handler_gets_the_task(cloudtasks_emulator, cloudtasks_handler, cloudtasks_patch) -> None:
    client = tasks_v2.CloudTasksClient()  # patched: it reaches the emulator
    client.create_queue(parent=QUEUE.rsplit("/queues/", 1)[0], queue={"name": QUEUE})
    client.create_task(parent=QUEUE, task={"http_request": {"url": cloudtasks_handler.url + "/send", "body": b"x"}})
    cloudtasks_emulator.drain("mail")
    assert [r.body for r in cloudtasks_handler.requests_to("/send")] == [b"x"]
