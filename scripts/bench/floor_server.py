"""A reference for the CreateTask figures: a grpc.aio server that answers CreateTask with an empty
Task and does nothing else, on uvloop where installed (as cloudtasks-emu runs). Its CPU per call is
the floor any grpc.aio server pays on this machine. Prints {"ready": true, "grpc": ...} once serving."""

from __future__ import annotations

import asyncio
import json

import grpc


async def create_task(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    return b""


async def serve() -> None:
    server = grpc.aio.server()
    methods = {"CreateTask": grpc.unary_unary_rpc_method_handler(create_task)}
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("google.cloud.tasks.v2.CloudTasks", methods)])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(json.dumps({"ready": True, "grpc": f"127.0.0.1:{port}"}), flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve())
    else:
        uvloop.run(serve())
