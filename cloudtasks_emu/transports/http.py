"""The HTTP port: health now; the REST gateway and the admin API mount here."""

from __future__ import annotations

from aiohttp import web


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "SERVING"})


def build_http_app() -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_get("/healthz", healthz)
    return app


async def start_http(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, bound
