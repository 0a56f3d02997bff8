"""The compose example's handler: queues one HTTP task to itself through the emulator's REST API,
logs every task delivered to it, and lists them at GET /received. Standard library only."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EMULATOR = os.environ.get("EMULATOR_HTTP", "http://emulator:8123")
QUEUE = os.environ.get("QUEUE", "projects/demo/locations/us-central1/queues/default")
SELF_URL = os.environ.get("HANDLER_URL", "http://handler:8080")
PORT = int(os.environ.get("PORT", "8080"))
# The address of our own name on the compose network, where the emulator reaches us: not every interface.
HOST = os.environ.get("HOST") or socket.gethostbyname(socket.gethostname())
received: list[dict[str, object]] = []


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        task = {"path": self.path, "task": self.headers.get("X-CloudTasks-TaskName"), "body": body.decode()}
        received.append(task)
        print(f"handler: delivered {json.dumps(task)}", flush=True)
        self.send_response(200)
        self.end_headers()

    def do_GET(self) -> None:
        data = json.dumps(received).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # one line per task is enough
        pass


def queue_a_task() -> None:
    task = {"task": {"httpRequest": {"url": f"{SELF_URL}/hello", "body": "aGVsbG8="}}}  # "hello"
    request = urllib.request.Request(
        f"{EMULATOR}/v2/{QUEUE}/tasks", data=json.dumps(task).encode(), headers={"Content-Type": "application/json"}
    )
    for _ in range(30):  # the emulator is healthy before we start; this only rides out a slow network
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                print(f"handler: queued {json.load(response)['name']}", flush=True)
                return
        except (urllib.error.URLError, OSError) as error:
            print(f"handler: emulator not reachable yet ({error})", file=sys.stderr, flush=True)
            time.sleep(1)
    sys.exit("handler: could not queue a task")


if __name__ == "__main__":
    server = ThreadingHTTPServer((HOST, PORT), Handler)
    print(f"handler: listening on {HOST}:{PORT}", flush=True)
    threading.Thread(target=queue_a_task, daemon=True).start()
    server.serve_forever()
