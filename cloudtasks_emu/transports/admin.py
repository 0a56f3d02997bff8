"""The admin API under /_emu/ (plain JSON, for tests in any language) and the OIDC discovery documents."""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
from pathlib import Path
from typing import Any

from aiohttp import web

from ..control import Controls, UnknownQueue
from ..errors import Code, EmuError, invalid
from ..tokens import TokenMinter
from .guard import json_body
from .status import rest_error_body

PREFIX = "/_emu"
# The admin API's contract, shipped as package data and served as it is (docs/admin-api.md in prose).
OPENAPI = Path(__file__).with_name("admin-openapi.json")


def _unknown_queue(error: UnknownQueue) -> web.Response:
    """Google's error body plus the known (or matching) queues, so that a typo in a test fails instead of
    passing idle."""
    return web.json_response({**rest_error_body(error), **error.extra}, status=error.http_status)


def _is_loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


def _finite(value: Any) -> float:
    """A number (or its text) that is finite: the clock must not move to NaN or infinity."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _seconds(data: dict[str, Any]) -> float:
    """`{"seconds": 1.5}` or `{"duration": "1.5s"}`."""
    if "seconds" in data:
        return _finite(data["seconds"])
    duration = str(data.get("duration", ""))
    if not duration.endswith("s"):
        raise ValueError('give "seconds" (a number) or "duration" (like "90s")')
    return _finite(duration[:-1])


def add_admin_routes(app: web.Application, controls: Controls, tokens: TokenMinter, allow_remote: bool) -> None:
    async def get_clock(_: web.Request) -> web.Response:
        return web.json_response(controls.clock_json())

    async def move_clock(request: web.Request) -> web.Response:
        data = await json_body(request)
        try:
            if request.match_info["verb"] == "advance":
                controls.move_clock(by_s=_seconds(data))
            else:
                at = _finite(data["now"]) if "now" in data else dt.datetime.fromisoformat(str(data["time"])).timestamp()
                controls.move_clock(to=at)
        except (KeyError, TypeError, ValueError) as error:
            raise invalid(f"bad clock request: {error}") from error
        return web.json_response(controls.clock_json())

    async def drain(request: web.Request) -> web.Response:
        data = await json_body(request)
        try:
            timeout_s = float(data.get("timeout", 30))
        except (TypeError, ValueError) as error:
            raise invalid("timeout must be a number of seconds") from error
        try:
            idle = await controls.drain(timeout_s, str(data.get("queue") or ""))
        except UnknownQueue as error:
            return _unknown_queue(error)
        return web.json_response({"idle": idle}, status=200 if idle else 504)

    async def reset(request: web.Request) -> web.Response:
        if not (allow_remote or _is_loopback(request.remote)):
            message = "reset is only allowed from loopback (start with --allow-remote-admin to change that)"
            raise EmuError(Code.PERMISSION_DENIED, message)
        data = await json_body(request)
        try:
            controls.reset(str(data.get("queue", "")), keep_clock=bool(data.get("keep_clock", False)))
        except UnknownQueue as error:
            return _unknown_queue(error)
        return web.json_response(controls.clock_json())

    async def attempts(request: web.Request) -> web.Response:
        try:
            return web.json_response({"attempts": controls.attempts(request.query.get("queue", ""))})
        except UnknownQueue as error:
            return _unknown_queue(error)

    async def add_fault(request: web.Request) -> web.Response:
        try:
            fault = controls.add_fault(await json_body(request))
        except UnknownQueue as error:
            return _unknown_queue(error)
        return web.json_response({"fault": fault.to_json()})

    async def list_faults(_: web.Request) -> web.Response:
        return web.json_response({"faults": [fault.to_json() for fault in controls.faults.list()]})

    async def clear_faults(request: web.Request) -> web.Response:
        controls.faults.clear(request.match_info.get("id", ""))
        return web.json_response({})

    async def group(_: web.Request) -> web.Response:
        return web.json_response(controls.group_json())

    openapi = OPENAPI.read_bytes()

    async def openapi_document(_: web.Request) -> web.Response:
        return web.Response(body=openapi, content_type="application/json")

    async def openid_configuration(request: web.Request) -> web.Response:
        base = f"{request.scheme}://{request.host}"
        return web.json_response(tokens.openid_configuration(base))

    async def jwks(_: web.Request) -> web.Response:
        return web.json_response(tokens.jwks())

    async def x509_certs(_: web.Request) -> web.Response:
        return web.json_response(tokens.x509_certs())

    app.router.add_get(f"{PREFIX}/clock", get_clock)
    app.router.add_post(PREFIX + "/clock:{verb:advance|set}", move_clock)
    app.router.add_post(f"{PREFIX}/drain", drain)
    app.router.add_post(f"{PREFIX}/reset", reset)
    app.router.add_get(f"{PREFIX}/attempts", attempts)
    app.router.add_post(f"{PREFIX}/faults", add_fault)
    app.router.add_get(f"{PREFIX}/faults", list_faults)
    app.router.add_delete(f"{PREFIX}/faults", clear_faults)
    app.router.add_delete(PREFIX + "/faults/{id}", clear_faults)
    app.router.add_get(f"{PREFIX}/group", group)
    app.router.add_get(f"{PREFIX}/openapi.json", openapi_document)
    app.router.add_get("/.well-known/openid-configuration", openid_configuration)
    app.router.add_get("/oauth2/v3/certs", jwks)
    app.router.add_get("/oauth2/v1/certs", x509_certs)
