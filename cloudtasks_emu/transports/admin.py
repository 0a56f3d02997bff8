"""The admin API under /_emu/ (plain JSON, for tests in any language) and the OIDC discovery documents."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..clock import FakeClock
from ..errors import EmuError

if TYPE_CHECKING:
    from ..app import Emulator

PREFIX = "/_emu"


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"code": status, "message": message}}, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = json.loads(await request.read() or b"{}")
    except ValueError as error:
        raise web.HTTPBadRequest(text=f"malformed JSON: {error}") from error
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return data


def _is_loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


def _seconds(data: dict[str, Any]) -> float:
    """`{"seconds": 1.5}` or `{"duration": "1.5s"}`."""
    if "seconds" in data:
        return float(data["seconds"])
    duration = str(data.get("duration", ""))
    if not duration.endswith("s"):
        raise ValueError('give "seconds" (a number) or "duration" (like "90s")')
    return float(duration[:-1])


def _clock_json(emulator: Emulator) -> dict[str, Any]:
    now = emulator.clock.now()
    return {
        "now": now,
        "time": dt.datetime.fromtimestamp(now, dt.UTC).isoformat().replace("+00:00", "Z"),
        "virtual": isinstance(emulator.clock, FakeClock),
    }


def add_admin_routes(app: web.Application, emulator: Emulator) -> None:
    async def get_clock(_: web.Request) -> web.Response:
        return web.json_response(_clock_json(emulator))

    async def move_clock(request: web.Request) -> web.Response:
        clock = emulator.clock
        if not isinstance(clock, FakeClock):
            return _error(400, "the clock is real: start the emulator with --virtual-clock to move it")
        data = await _body(request)
        try:
            if request.match_info["verb"] == "advance":
                seconds = _seconds(data)
                if seconds < 0:
                    return _error(400, "time only moves forward")
                clock.advance(seconds)
            else:
                at = float(data["now"]) if "now" in data else dt.datetime.fromisoformat(str(data["time"])).timestamp()
                if at < clock.now():
                    return _error(400, "time only moves forward")
                clock.set(at)
        except (KeyError, ValueError) as error:
            return _error(400, f"bad clock request: {error}")
        return web.json_response(_clock_json(emulator))

    async def drain(request: web.Request) -> web.Response:
        data = await _body(request)
        try:
            timeout_s = float(data.get("timeout", 30))
        except ValueError:
            return _error(400, "timeout must be a number of seconds")
        queues = [data["queue"]] if data.get("queue") else None
        idle = await emulator.service.scheduler.drain(min(timeout_s, 600), queues)
        return web.json_response({"idle": idle}, status=200 if idle else 504)

    async def reset(request: web.Request) -> web.Response:
        if not (emulator.settings.allow_remote_admin or _is_loopback(request.remote)):
            return _error(403, "reset is only allowed from loopback (start with --allow-remote-admin to change that)")
        data = await _body(request)
        try:
            emulator.service.reset(str(data.get("queue", "")))
        except EmuError as error:
            return _error(error.code.http_status, error.message)
        return web.json_response({})

    async def attempts(request: web.Request) -> web.Response:
        queue = request.query.get("queue", "")
        rows = [
            {
                "queue": a.queue,
                "task": a.task,
                "url": a.url,
                "status": a.status,
                "error": a.error,
                "latency_ms": round(a.latency_s * 1000, 3),
                "time": a.at,
                "retry_count": a.retry_count,
            }
            for a in emulator.service.scheduler.recent
            if not queue or a.queue == queue
        ]
        return web.json_response({"attempts": rows})

    async def openid_configuration(request: web.Request) -> web.Response:
        base = f"{request.scheme}://{request.host}"
        return web.json_response(emulator.tokens.openid_configuration(base))

    async def jwks(_: web.Request) -> web.Response:
        return web.json_response(emulator.tokens.jwks())

    app.router.add_get(f"{PREFIX}/clock", get_clock)
    app.router.add_post(PREFIX + "/clock:{verb:advance|set}", move_clock)
    app.router.add_post(f"{PREFIX}/drain", drain)
    app.router.add_post(f"{PREFIX}/reset", reset)
    app.router.add_get(f"{PREFIX}/attempts", attempts)
    app.router.add_get("/.well-known/openid-configuration", openid_configuration)
    app.router.add_get("/oauth2/v3/certs", jwks)
