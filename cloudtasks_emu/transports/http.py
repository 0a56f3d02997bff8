"""The HTTP face: one aiohttp application (health, REST gateway, admin API) on the shared port and,
optionally, on a second HTTP-only port."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from ..errors import Code, EmuError
from .edge import error_response
from .front import GrpcBackend, SharedSite
from .guard import Guard


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
    app: web.Application, host: str, port: int, http_port: int | None, backend: GrpcBackend
) -> tuple[web.AppRunner, int, int | None]:
    """Serve `app` on `port` (gRPC relayed to `backend` there too) and on `http_port` unless None.

    Returns the runner and the two bound ports."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        shared = SharedSite(runner, host, port, backend)
        await shared.start()
        second = None
        if http_port is not None:
            site = web.TCPSite(runner, host, http_port, reuse_port=False)
            await site.start()
            second = site.port
    except BaseException:
        await runner.cleanup()
        raise
    return runner, shared.port, second
