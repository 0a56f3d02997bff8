"""The Emulator: wires clock, service and both servers together; an async context manager."""

from __future__ import annotations

import copy
import logging
from types import TracebackType

import grpc
from aiohttp import web
from google.protobuf.descriptor import ServiceDescriptor

from . import names
from .clock import Clock
from .codec import CODECS
from .config import Settings
from .control import Controls
from .dashboard import add_dashboard_routes
from .dispatch import Dispatcher
from .engine.scheduler import Scheduler
from .engine.storage import open_backend
from .faults import Faults
from .mixins import LocationsApi, Operations
from .model import Queue
from .proto_api import CloudTasksApi
from .queue_config import config_queues
from .service import TasksService
from .tokens import TokenMinter
from .transports.admin import add_admin_routes
from .transports.appengine_admin import add_appengine_admin_routes
from .transports.edge import Apis
from .transports.front import GrpcBackend
from .transports.grpc_server import LOCATIONS, OPERATIONS, start_grpc
from .transports.guard import Guard
from .transports.http import build_http_app, start_http
from .transports.rest_gateway import add_rest_routes

logger = logging.getLogger(__name__)


def host_port(host: str, port: int) -> str:
    """`host:port`, with an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Emulator:
    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        # The store, its placement (with PostgreSQL: the group of processes sharing the queues), the
        # attempt journal and the clock, all from one place.
        self.backend = open_backend(settings, clock)
        self.clock: Clock = self.backend.clock
        self.tokens = TokenMinter()
        self.faults = Faults()
        self.dispatcher = Dispatcher(settings, self.tokens, self.faults)
        scheduler = Scheduler(self.backend, self.dispatcher.deliver)
        self.service = TasksService(settings, self.clock, scheduler)
        self.controls = Controls(self.service, self.clock, self.faults)
        operations = Operations(self.service)
        versions = {v: CloudTasksApi(codec, self.service, operations) for v, codec in CODECS.items()}
        self.apis = Apis(versions, LocationsApi(self.service), operations)
        self.port = 0  # the shared port: gRPC and HTTP/1.1
        self.grpc_port = 0  # the direct gRPC listener if there is one, else the shared port
        self.http_port = 0  # the second HTTP listener if there is one, else the shared port
        self._backend = GrpcBackend()
        self._grpc: grpc.aio.Server | None = None
        self._http: web.AppRunner | None = None
        self._state = "new"  # -> "started" -> "stopped"; a failed start goes straight to "stopped"

    def declare_queues(self) -> None:
        """Create the queues of --queue (push queues with the cloud's defaults) and --config."""
        queues = []
        for name in self.settings.queues:
            names.parse_queue(name)
            queues.append(Queue(name=name))
        if self.settings.config_file:
            with open(self.settings.config_file, encoding="utf-8") as file:
                queues += config_queues(file.read(), self.settings.location, self.settings.config_file)
        self.service.startup_queues = [copy.deepcopy(queue) for queue in queues]
        self.service.declare_queues(None, queues)

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        self.declare_queues()
        await self.dispatcher.start()
        self.service.scheduler.start()
        await self.backend.placement.start(self.service.scheduler)
        services: list[tuple[ServiceDescriptor, object]] = [
            (api.pb.DESCRIPTOR.services_by_name["CloudTasks"], api) for api in self.apis.versions.values()
        ]
        services += [(LOCATIONS, self.apis.locations), (OPERATIONS, self.apis.operations)]
        settings = self.settings
        addresses = [self._backend.bind_address]
        if settings.grpc_port is not None:
            addresses.append(host_port(settings.host, settings.grpc_port))
        timeouts = settings.head_timeout_s, settings.idle_timeout_s
        self._grpc, bound = await start_grpc(addresses, services, self.faults, *timeouts)
        self._backend.port = bound[0]
        http_app = build_http_app(Guard(settings.host, settings.allowed_hosts, settings.allow_origins))
        add_admin_routes(http_app, self.controls, self.tokens, settings.allow_remote_admin)
        add_appengine_admin_routes(http_app, settings.location)
        add_dashboard_routes(http_app, self.service, self.dispatcher.build)  # before the REST gateway's catch-all route
        add_rest_routes(http_app, self.apis, self.faults)
        self._http, self.port, second = await start_http(
            http_app, settings.host, settings.port, settings.http_port, self._backend, *timeouts
        )
        self.grpc_port = bound[1] if len(bound) > 1 else self.port
        self.http_port = self.port if second is None else second
        self._state = "started"

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop accepting calls (gRPC, then HTTP), stop the dispatcher loops, let in-flight
        deliveries finish within `grace_s` and cancel the rest, then close the client session.
        Stopping twice is harmless; a start that failed reports no stop (its error says what happened)."""
        if self._state == "stopped":
            return
        if self._state == "started":
            logger.info("%s", self._shutdown_report(grace_s))
        self._state = "stopped"
        if self._grpc is not None:
            await self._grpc.stop(1.0)
        if self._http is not None:
            await self._http.cleanup()
        self._backend.cleanup()
        await self.service.scheduler.stop(grace_s)
        await self.backend.placement.stop()  # after the deliveries in flight: then the others take our queues
        await self.dispatcher.close()
        self.backend.close()

    def _shutdown_report(self, grace_s: float) -> str:
        """What a stop leaves behind: deliveries in flight, tasks still pending, and whether they survive."""
        in_flight = sorted(name for rt in self.service.scheduler.runtimes.values() for name in rt.in_flight)
        counts = [self.service.store.count_tasks(name) for name in self.service.queue_names()]
        flight = f"{_count(len(in_flight), 'delivery', 'deliveries')} in flight"
        if in_flight:
            shown = ", ".join(in_flight[:10]) + (", ..." if len(in_flight) > 10 else "")
            flight += f" ({shown}; up to {grace_s:g} s to finish)"
        data_dir = self.settings.data_dir
        kept = f"kept in {data_dir} (SQLite)" if data_dir else "discarded (in-memory storage)"
        if self.settings.database:
            kept = "kept in PostgreSQL"
        queues = _count(sum(1 for c in counts if c), "queue", "queues")
        return f"stopping: {flight}; {_count(sum(counts), 'task', 'tasks')} pending in {queues}, {kept}"

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
