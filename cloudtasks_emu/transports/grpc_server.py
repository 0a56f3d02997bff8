"""gRPC: one generic handler per service, built from our service descriptors; one line per RPC."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.cloud.location import locations_pb2
from google.longrunning import operations_pb2
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2

from .. import pool
from ..config import HEAD_TIMEOUT_S, IDLE_TIMEOUT_S
from ..errors import EmuError
from ..faults import Faults
from .edge import Call, invoke
from .status import grpc_trailers

logger = logging.getLogger(__name__)

# LeaseTasks answers may reach 32 MB and BatchCreateTasks requests 100 x 1 MB.
MAX_MESSAGE_BYTES = 128 * 1024 * 1024
SERVER_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # A port that is taken must be an error, not shared with another emulator.
    ("grpc.so_reuseport", 0),
]


def server_options(head_timeout_s: float = HEAD_TIMEOUT_S, idle_timeout_s: float = IDLE_TIMEOUT_S) -> list[Any]:
    """SERVER_OPTIONS, and the connections closed when silent: one that has not finished its HTTP/2
    preface and settings within `head_timeout_s`, one with no call open for `idle_timeout_s` (a GOAWAY,
    after which clients reconnect at their next call; a call in progress, streaming or slow, is not idle)."""
    return [
        *SERVER_OPTIONS,
        ("grpc.server_handshake_timeout_ms", round(head_timeout_s * 1000)),
        ("grpc.max_connection_idle_ms", round(idle_timeout_s * 1000)),
    ]


Handler = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _unary(call: Call | None, rpc: str, request_cls: Any, faults: Faults) -> Handler:
    async def handle(raw: bytes, context: grpc.aio.ServicerContext) -> Any:
        try:
            # Parsed here, not by grpc, so that garbage bytes are INVALID_ARGUMENT rather than INTERNAL.
            request = request_cls.FromString(raw)
        except DecodeError as error:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid {rpc} request: {error}")
        try:
            return await invoke(rpc, call, request, faults)
        except EmuError as error:
            await context.abort(grpc.StatusCode[error.code.name], error.message, grpc_trailers(error))

    return handle


def service_handler(service: ServiceDescriptor, target: object, faults: Faults) -> grpc.GenericRpcHandler:
    """Route every method of `service` to target.<snake_case name>, or UNIMPLEMENTED if it has none."""
    methods = {}
    for method in service.methods:
        request_cls = pool.message_class(method.input_type)
        methods[method.name] = grpc.unary_unary_rpc_method_handler(
            _unary(getattr(target, snake(method.name), None), method.name, request_cls, faults),
            response_serializer=pool.serialize,
        )
    return grpc.method_handlers_generic_handler(service.full_name, methods)


async def start_grpc(
    addresses: list[str],
    apis: list[tuple[ServiceDescriptor, object]],
    faults: Faults,
    head_timeout_s: float = HEAD_TIMEOUT_S,
    idle_timeout_s: float = IDLE_TIMEOUT_S,
) -> tuple[grpc.aio.Server, list[int]]:
    """Serve `apis` plus health and reflection on each address; returns the server and the bound ports."""
    server = grpc.aio.server(options=server_options(head_timeout_s, idle_timeout_s))
    server.add_generic_rpc_handlers([service_handler(service, target, faults) for service, target in apis])
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [service.full_name for service, _ in apis]
    for name in ["", *names]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    # Reflection reads our pool, where our protos are; the other services' files join them there.
    for file in [*(service.file for service, _ in apis), health_pb2.DESCRIPTOR, reflection_pb2.DESCRIPTOR]:
        pool.adopt(file.name)
    reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server, pool.POOL)
    bound = []
    for address in addresses:
        try:
            port = server.add_insecure_port(address)
        except RuntimeError as error:  # grpcio raises RuntimeError for a port it cannot bind
            raise OSError(f"cannot bind gRPC to {address}: {error}") from error
        if not port:
            raise OSError(f"cannot bind gRPC to {address}")
        bound.append(port)
    await server.start()
    return server, bound


LOCATIONS = locations_pb2.DESCRIPTOR.services_by_name["Locations"]
OPERATIONS = operations_pb2.DESCRIPTOR.services_by_name["Operations"]
