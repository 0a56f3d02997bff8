"""A Testcontainers module: the emulator's image as a throw-away container for a test suite.

Needs the `testcontainers` extra (`pip install cloudtasks-emu[testcontainers]`). Imports neither our
generated protos nor the official client until `client()` is called, so any test process may use it.

    with CloudTasksContainer("cloudtasks-emu") as emulator:
        client = emulator.client("v2")
        client.create_queue(parent="projects/p/locations/us-central1", queue={"name": ...})
"""

from __future__ import annotations

import json
from typing import Any

from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import LogMessageWaitStrategy

from .clients import client as official_client

# The ready line on stdout (see cli.serve): it appears once both servers are bound.
READY_LINE = r'^\{"ready": true'


class CloudTasksContainer(DockerContainer):
    """The emulator in a container: gRPC, REST, the admin API and /healthz on one `port`.

    With the default bridge network the port is published on a free host port. With
    `network_mode="host"` the container shares the host's ports: pass `port=0` and the port it bound
    is read from its ready line. Extra emulator flags go in `args`; environment with `with_env`.
    """

    def __init__(
        self,
        image: str = "cloudtasks-emu:latest",
        port: int = 8123,
        args: tuple[str, ...] = (),
        startup_timeout_s: float = 30.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(image=image, **kwargs)
        self.port = port
        self._host_network = kwargs.get("network_mode") == "host"
        self._ready: dict[str, Any] = {}
        self.with_env("CLOUDTASKS_EMU_PORT", str(port))
        if self._host_network:  # the second HTTP listener would need a free host port too
            self.with_env("CLOUDTASKS_EMU_NO_HTTP_PORT", "1")
        else:
            self.with_exposed_ports(port)
        self.with_command(["start", *args])
        self.waiting_for(LogMessageWaitStrategy(READY_LINE).with_startup_timeout(int(startup_timeout_s)))

    def start(self) -> CloudTasksContainer:
        super().start()
        stdout, _ = self.get_logs()
        for line in stdout.decode(errors="replace").splitlines():
            if line.startswith('{"ready": true'):
                self._ready = json.loads(line)
                break
        return self

    def get_emulator_host(self) -> str:
        """host:port for every client: the value for CLOUD_TASKS_EMULATOR_HOST (gRPC and REST alike)."""
        if self._host_network:
            return f"127.0.0.1:{self._ready.get('port', self.port)}"
        return f"{self.get_container_host_ip()}:{self.get_exposed_port(self.port)}"

    def get_http_url(self) -> str:
        """Base URL of the REST API, the admin API (/_emu/...) and /healthz: the same port."""
        return f"http://{self.get_emulator_host()}"

    def client(self, version: str = "v2", transport: str = "grpc", asyncio: bool = False) -> Any:
        """An official google-cloud-tasks client for this container (needs the `client` extra too)."""
        host = self.get_emulator_host() if transport == "grpc" else self.get_http_url()
        return official_client(version, transport=transport, asyncio=asyncio, host=host)
