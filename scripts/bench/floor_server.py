"""A reference for the CreateTask figures: a gRPC server that answers CreateTask with an empty Task and
does nothing else. Its CPU per call is the floor a server on that transport pays on this machine.
Prints {"ready": true, "grpc": ...} once serving.

`--kind` picks the transport: `aio` (grpc.aio on uvloop where installed, as cloudtasks-emu runs),
`aio-asyncio` (grpc.aio on asyncio's own loop), `sync` (grpc.server, handlers on its thread pool), or
`shared` (grpc.aio behind cloudtasks-emu's shared-port relay, as the emulator's main port serves it).
grpcio's poller is chosen by the GRPC_POLL_STRATEGY environment variable (epoll1, poll).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from concurrent import futures
from typing import Any

import grpc

KINDS = ("aio", "aio-asyncio", "sync", "shared")
SERVICE = "google.cloud.tasks.v2.CloudTasks"


def handlers(answer: Any) -> list[grpc.GenericRpcHandler]:
    methods = {"CreateTask": grpc.unary_unary_rpc_method_handler(answer)}
    return [grpc.method_handlers_generic_handler(SERVICE, methods)]


async def answer_async(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    return b""


def answer_sync(request: bytes, context: grpc.ServicerContext) -> bytes:
    return b""


def ready(address: str) -> None:
    print(json.dumps({"ready": True, "grpc": address}), flush=True)


async def serve_aio(shared: bool) -> None:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(handlers(answer_async))
    if not shared:
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        ready(f"127.0.0.1:{port}")
        await server.wait_for_termination()
        return
    # The emulator's own front: an aiohttp app on the port, gRPC relayed to a private listener.
    from aiohttp import web

    from cloudtasks_emu.transports.front import GrpcBackend
    from cloudtasks_emu.transports.http import start_http

    backend = GrpcBackend()
    backend.port = server.add_insecure_port(backend.bind_address)
    await server.start()
    runner, port, _ = await start_http(web.Application(), "127.0.0.1", 0, None, backend)
    ready(f"127.0.0.1:{port}")
    try:
        await server.wait_for_termination()
    finally:
        await runner.cleanup()
        backend.cleanup()


def serve_sync() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers(handlers(answer_sync))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    ready(f"127.0.0.1:{port}")
    while True:  # until SIGTERM ends the process
        time.sleep(3600)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=KINDS, default="aio")
    kind = parser.parse_args().kind
    if kind == "sync":
        serve_sync()
        return
    try:
        import uvloop
    except ImportError:
        uvloop = None
    if uvloop is None or kind == "aio-asyncio":
        asyncio.run(serve_aio(shared=False))
    else:
        uvloop.run(serve_aio(shared=kind == "shared"))


if __name__ == "__main__":
    main()
