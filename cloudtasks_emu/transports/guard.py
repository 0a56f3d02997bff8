"""Keep web pages out: any page open in the developer's browser can send requests to localhost.

Three checks, before any handler runs, that real clients pass without knowing about them:
- Host must name the emulator (loopback, the bound address, or --allowed-host), which defeats
  DNS rebinding: a foreign name resolving to 127.0.0.1 still carries its own Host header. Bound to
  every interface (a container), any IP literal, this machine's hostname, single-label names (compose
  services, network aliases) and Docker's host.docker.internal pass too: rebinding needs a dotted name
  that the attacker's DNS answers, and no public DNS answers for those.
- A browser's Origin must be the emulator's own, and Sec-Fetch-Site must not be cross-site, unless
  --allow-origin names the origin; then, and only then, CORS grants it.
- A body must be JSON (see `require_json`, called where bodies are read), as Google's APIs want:
  browsers send text/plain cross-site without a preflight, never application/json.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler

from ..errors import Code, EmuError, invalid
from .edge import error_response

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
WILDCARDS = frozenset({"", "0.0.0.0", "::"})
# Docker's names for the host (Docker Desktop, --add-host ...:host-gateway): under the reserved .internal.
DOCKER_HOST_NAMES = frozenset({"host.docker.internal", "gateway.docker.internal"})


def _host_name(host: str) -> str:
    """The name part of a Host header: `[::1]:8123` -> `::1`, `Localhost.:80` -> `localhost`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0].rstrip(".") if host.count(":") == 1 else host.rstrip(".")


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


class Guard:
    def __init__(self, bound_host: str, allowed_hosts: list[str], allowed_origins: list[str]) -> None:
        self.bound_host = _host_name(bound_host)
        self.everywhere = self.bound_host in WILDCARDS
        self.hostname = _host_name(socket.gethostname())
        self.any_host = "*" in allowed_hosts
        self.hosts = {_host_name(h) for h in allowed_hosts} | {self.bound_host}
        self.origins = {o.rstrip("/").lower() for o in allowed_origins}

    def host_allowed(self, host: str) -> bool:
        name = _host_name(host)
        if self.any_host or not host or name in self.hosts:
            return True
        if name in LOOPBACK_NAMES or name.endswith(".localhost"):
            return True
        ip = _ip(name)
        if ip is not None:  # bound to every interface, any address of this machine is the emulator's
            return ip.is_loopback or self.everywhere
        return self.everywhere and ("." not in name or name == self.hostname or name in DOCKER_HOST_NAMES)

    def origin_refusal(self, request: web.Request) -> str | None:
        """Why a browser request is refused, or None; the emulator's own pages pass."""
        origin = request.headers.get("Origin")
        if origin is not None and origin.rstrip("/").lower() in self.origins:
            return None
        if origin is not None:
            parts = urlsplit(origin.lower())
            if parts.scheme not in ("http", "https") or parts.netloc != request.host.lower():
                return f"Origin {origin} may not call the emulator (start it with --allow-origin {origin} to allow)."
        if request.headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
            return "Cross-site requests may not call the emulator (start it with --allow-origin ORIGIN to allow)."
        return None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not self.host_allowed(request.headers.get("Host", "")):
            host = request.headers.get("Host", "")
            message = f"Host {host} is not this emulator (start it with --allowed-host NAME to allow it)."
            return error_response(EmuError(Code.PERMISSION_DENIED, message))
        if refusal := self.origin_refusal(request):
            return error_response(EmuError(Code.PERMISSION_DENIED, refusal))
        origin = request.headers.get("Origin")
        preflight = request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
        response = web.Response(status=204) if preflight else await handler(request)
        if origin is not None and origin.rstrip("/").lower() in self.origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
            if preflight:
                response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
                response.headers["Access-Control-Allow-Headers"] = request.headers.get(
                    "Access-Control-Request-Headers", ""
                )
                response.headers["Access-Control-Max-Age"] = "600"
        return response


def require_json(request: web.Request) -> None:
    """415 unless a request that carries a body says it is JSON (`application/json`, any parameters)."""
    if request.content_length == 0 or not request.body_exists:
        return
    if request.content_type != "application/json":
        sent = request.headers.get("Content-Type", "none")
        raise EmuError(
            Code.INVALID_ARGUMENT,
            f"Invalid Content-Type {sent}: a request body must be application/json.",
            http_status=415,
        )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (numbers must be finite)")


def parse_json(raw: bytes) -> Any:
    """A body's JSON (standard JSON only: no NaN or Infinity); INVALID_ARGUMENT for anything else,
    nesting too deep for the parser included."""
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError as error:
        raise invalid("Invalid JSON payload received. The JSON is nested too deeply.") from error
    except ValueError as error:
        raise invalid(f"Invalid JSON payload received. {error}") from error


def json_object(raw: bytes) -> dict[str, Any]:
    """A body that must be a JSON object (an empty body is `{}`)."""
    data = parse_json(raw) if raw.strip() else {}
    if not isinstance(data, dict):
        raise invalid("Invalid JSON payload received. The body must be a JSON object.")
    return data


async def json_body(request: web.Request) -> dict[str, Any]:
    """The JSON object a request carries, checked as `require_json` and `json_object` do."""
    require_json(request)
    return json_object(await request.read()) if request.can_read_body else {}
