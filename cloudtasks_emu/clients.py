"""One line to an official google-cloud-tasks client connected to the emulator.

Needs the `client` extra (`pip install cloudtasks-emu[client]`); never imported by the server.
"""

from __future__ import annotations

import importlib
import os
import socket
from typing import Any

_OPTIONS = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
VERSIONS = ("v2", "v2beta3", "v2beta2")
DEFAULT = "127.0.0.1:8123"  # the one port serves gRPC and REST


def grpc_address(host: str | None = None) -> str:
    """host:port for gRPC: `host`, else $CLOUD_TASKS_EMULATOR_HOST, else 127.0.0.1:8123."""
    return _bare(host or os.environ.get("CLOUD_TASKS_EMULATOR_HOST") or DEFAULT)


def http_address(host: str | None = None) -> str:
    """host:port for REST: `host`, else $CLOUD_TASKS_EMULATOR_HTTP_HOST, else $CLOUD_TASKS_EMULATOR_HOST
    (the main port answers REST too), else 127.0.0.1:8123."""
    env = os.environ.get("CLOUD_TASKS_EMULATOR_HTTP_HOST") or os.environ.get("CLOUD_TASKS_EMULATOR_HOST")
    return _bare(host or env or DEFAULT)


def _bare(address: str) -> str:
    """`http://host:port/` and `host:port` alike to `host:port`."""
    return address.split("://", 1)[-1].rstrip("/")


def require_listener(address: str, timeout_s: float = 1.0) -> None:
    """Fail at once, rather than after a client's 15-20 s of retries, when nothing answers at `address`."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout_s):
            pass
    except (OSError, ValueError) as error:
        raise ConnectionError(
            f"nothing listening at {address}: start `cloudtasks-emu start` or set $CLOUD_TASKS_EMULATOR_HOST"
        ) from error


def transport_factory(version: str, kind: str, address: str) -> Any:
    """A callable that builds the official transport `kind` ("grpc", "grpc_asyncio" or "rest") of
    `version` for the emulator at `address`, ignoring credentials (none are needed)."""
    transports = importlib.import_module(f"google.cloud.tasks_{version}.services.cloud_tasks.transports")

    def make(**kwargs: Any) -> Any:
        info = {"client_info": kwargs["client_info"]} if "client_info" in kwargs else {}
        import grpc

        if kind == "grpc":
            channel = grpc.insecure_channel(address, options=_OPTIONS)
            return transports.CloudTasksGrpcTransport(channel=channel, **info)
        if kind == "grpc_asyncio":
            aio_channel = grpc.aio.insecure_channel(address, options=_OPTIONS)
            return transports.CloudTasksGrpcAsyncIOTransport(channel=aio_channel, **info)
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
        return transports.CloudTasksRestTransport(host=f"http://{address}", credentials=credentials, **info)

    return make


def client(version: str = "v2", transport: str = "grpc", asyncio: bool = False, host: str | None = None) -> Any:
    """An official CloudTasks client (`tasks_v2`, `tasks_v2beta3` or `tasks_v2beta2`) for the emulator.

    Args:
        version: "v2", "v2beta3" or "v2beta2".
        transport: "grpc" (address from `host`, else $CLOUD_TASKS_EMULATOR_HOST, else 127.0.0.1:8123) or
            "rest" (from `host`, else $CLOUD_TASKS_EMULATOR_HTTP_HOST, else $CLOUD_TASKS_EMULATOR_HOST,
            else 127.0.0.1:8123: the one port serves both). Addresses may be `host:port` or `http://host:port`.
        asyncio: return the CloudTasksAsyncClient (gRPC only; call from inside the running loop).
    Raises:
        ValueError: an unknown version or transport, or asyncio with REST.
        ConnectionError: nothing listens at the address (checked within a second).
    """
    if version not in VERSIONS:
        raise ValueError(f"unknown Cloud Tasks API version {version!r}")
    if transport == "rest" and asyncio:
        raise ValueError("google-cloud-tasks has no asyncio REST transport; use transport='grpc'")
    if transport not in ("grpc", "rest"):
        raise ValueError(f"unknown transport {transport!r}: use 'grpc' or 'rest'")
    address = grpc_address(host) if transport == "grpc" else http_address(host)
    require_listener(address)
    module = importlib.import_module(f"google.cloud.tasks_{version}")
    kind = "grpc_asyncio" if asyncio else transport
    made = transport_factory(version, kind, address)()
    return (module.CloudTasksAsyncClient if asyncio else module.CloudTasksClient)(transport=made)
