"""A user's script: the official client and the emulator in one interpreter, a task to a real handler."""

import grpc
from google.cloud import tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

from cloudtasks_emu.testing import InProcessEmulator, RecordingHandler

handler = RecordingHandler().start()
with InProcessEmulator() as emulator:
    channel = grpc.insecure_channel(emulator.grpc)
    client = tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
    parent = "projects/p/locations/us-central1"
    queue = client.create_queue(parent=parent, queue={"name": f"{parent}/queues/orders"})
    client.create_task(parent=queue.name, task={"http_request": {"url": handler.url + "/orders", "body": b"one"}})
    emulator.drain("orders")
    print("delivered", [request.body.decode() for request in handler.requests_to("/orders")])
handler.stop()
