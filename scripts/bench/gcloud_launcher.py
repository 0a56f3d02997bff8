"""Start gcloud-tasks-emulator (run by the python of its own venv) on 127.0.0.1 and a free port.

It binds [::]:PORT itself; this wraps grpc.server so it binds 127.0.0.1:0 instead, and prints
{"ready": true, "grpc": "127.0.0.1:PORT"} once the server has started, like cloudtasks-emu does.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import grpc
from gcloud_tasks_emulator.__main__ import main

_grpc_server = grpc.server


class LoopbackServer:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._server = _grpc_server(*args, **kwargs)
        self._port = 0

    def add_insecure_port(self, address: str) -> int:
        self._port = self._server.add_insecure_port("127.0.0.1:0")
        return self._port

    def start(self) -> None:
        self._server.start()
        print(json.dumps({"ready": True, "grpc": f"127.0.0.1:{self._port}"}), flush=True)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)


grpc.server = LoopbackServer
sys.argv = ["gcloud-tasks-emulator", "start", "--quiet"]
main()
