"""The HTTP face: one aiohttp application (health, REST gateway, admin API) on the shared port and,
optionally, on a second HTTP-only port."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from ..config import HEAD_TIMEOUT_S, IDLE_TIMEOUT_S, MAX_HTTP_HEADERS, MAX_HTTP_LINE
from ..errors import Code, EmuError
from .descriptors import DescriptorWatch
from .edge import error_response
from .front import FrontSite, GrpcBackend
from .guard import Guard

logger = logging.getLogger(__name__)


def handler_options(idle_timeout_s: float = IDLE_TIMEOUT_S) -> dict[str, Any]:
    """What every HTTP connection is served with, on both ports."""
    return {
        "access_log": None,
        "max_line_size": MAX_HTTP_LINE,
        "max_field_size": MAX_HTTP_LINE,
        "max_headers": MAX_HTTP_HEADERS,
        # Between requests (and, on newer aiohttp, before the first): closed when idle this long.
        "keepalive_timeout": idle_timeout_s,
    }


class _Handler(RequestHandler):
    """aiohttp's connection handler, with its own errors (a request it cannot parse, a handler that
    raised) answered as Google's JSON error body: one WARNING line for the client's fault, since any
    client can send one at will, and the traceback only for ours."""

    __slots__ = ()

    def handle_error(
        self, request: BaseRequest, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        if request.writer.output_size > 0 or status >= 500:
            super().handle_error(request, status, exc, message)  # logs the traceback (raises if answering)
            error = EmuError(Code.INTERNAL, "Internal error.")
        else:
            text = _first_line(message or str(exc or "") or "cannot parse the request")
            logger.warning("refused a malformed HTTP request from %s: %s", request.remote, text)
            error = EmuError(Code.INVALID_ARGUMENT, f"Malformed HTTP request: {text}", http_status=status)
        response = error_response(error)
        response.force_close()
        return response


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0].rstrip(":") if lines else text


def handler_factory(server: web.Server, options: dict[str, Any]) -> Callable[[], asyncio.Protocol]:
    """The protocol factory of an HTTP connection served by `server` (the runner's)."""
    return lambda: _Handler(server, loop=asyncio.get_running_loop(), **options)


async def _watch_descriptors(_: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(DescriptorWatch().run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "SERVING"})


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error of the HTTP face as Google's JSON error body, unknown paths included."""
    try:
        return await handler(request)
    except EmuError as error:
        return error_response(error)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        message = f"The requested URL {request.method} {request.path} was not found on this server."
        return error_response(EmuError(Code.NOT_FOUND, message))


def build_http_app(guard: Guard) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024, middlewares=[guard.middleware, json_errors])
    app.router.add_get("/healthz", healthz)
    return app


async def start_http(
    app: web.Application,
    host: str,
    port: int,
    http_port: int | None,
    backend: GrpcBackend,
    head_timeout_s: float = HEAD_TIMEOUT_S,
    idle_timeout_s: float = IDLE_TIMEOUT_S,
) -> tuple[web.AppRunner, int, int | None]:
    """Serve `app` on `port` (gRPC relayed to `backend` there too) and on `http_port` unless None;
    connections are closed when they stall before a request head or idle between requests.

    Returns the runner and the two bound ports."""
    options = handler_options(idle_timeout_s)
    app.cleanup_ctx.append(_watch_descriptors)
    runner = web.AppRunner(app, **options)
    await runner.setup()
    try:
        assert runner.server is not None  # set up above
        serve = handler_factory(runner.server, options)
        shared = FrontSite(runner, serve, host, port, backend, head_timeout_s)
        await shared.start()
        second = None
        if http_port is not None:
            site = FrontSite(runner, serve, host, http_port, None, head_timeout_s)
            await site.start()
            second = site.port
    except BaseException:
        await runner.cleanup()
        raise
    return runner, shared.port, second
