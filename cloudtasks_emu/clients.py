"""One line to an official google-cloud-tasks client connected to the emulator.

Needs the `client` extra (`pip install cloudtasks-emu[client]`); never imported by the server.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

_OPTIONS = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]


def client(version: str = "v2", transport: str = "grpc", asyncio: bool = False, host: str | None = None) -> Any:
    """An official CloudTasks client (`tasks_v2`, `tasks_v2beta3` or `tasks_v2beta2`) for the emulator.

    Args:
        version: "v2", "v2beta3" or "v2beta2".
        transport: "grpc" (address from `host`, else $CLOUD_TASKS_EMULATOR_HOST, else 127.0.0.1:8123) or
            "rest" (from `host`, else $CLOUD_TASKS_EMULATOR_HTTP_HOST, else $CLOUD_TASKS_EMULATOR_HOST, else
            127.0.0.1:8123: the one port serves both).
        asyncio: return the CloudTasksAsyncClient (gRPC only; call from inside the running loop).
    Raises:
        ValueError: an unknown version or transport, or asyncio with REST.
    """
    if version not in ("v2", "v2beta3", "v2beta2"):
        raise ValueError(f"unknown Cloud Tasks API version {version!r}")
    module = importlib.import_module(f"google.cloud.tasks_{version}")
    transports = importlib.import_module(f"google.cloud.tasks_{version}.services.cloud_tasks.transports")
    if transport == "grpc":
        import grpc

        address = host or os.environ.get("CLOUD_TASKS_EMULATOR_HOST") or "127.0.0.1:8123"
        if asyncio:
            channel = grpc.aio.insecure_channel(address, options=_OPTIONS)
            return module.CloudTasksAsyncClient(transport=transports.CloudTasksGrpcAsyncIOTransport(channel=channel))
        sync_channel = grpc.insecure_channel(address, options=_OPTIONS)
        return module.CloudTasksClient(transport=transports.CloudTasksGrpcTransport(channel=sync_channel))
    if transport == "rest":
        if asyncio:
            raise ValueError("google-cloud-tasks has no asyncio REST transport; use transport='grpc'")
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials

        env = os.environ
        address = (
            host
            or env.get("CLOUD_TASKS_EMULATOR_HTTP_HOST")
            or env.get("CLOUD_TASKS_EMULATOR_HOST")
            or "127.0.0.1:8123"
        )
        options = ClientOptions(api_endpoint=address if "://" in address else f"http://{address}")
        credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
        return module.CloudTasksClient(transport="rest", credentials=credentials, client_options=options)
    raise ValueError(f"unknown transport {transport!r}: use 'grpc' or 'rest'")
