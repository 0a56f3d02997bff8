"""The admin API's OpenAPI document against the emulator that serves it: no route left out, no path that
does not answer, and every documented success answer carrying its schema's required fields."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from cloudtasks_emu.app import Emulator
from cloudtasks_emu.config import Settings
from cloudtasks_emu.transports.admin import OPENAPI

QUEUE = "projects/p/locations/us-central1/queues/q"  # the one the drain example names
# Besides /_emu/*: what other languages' kits and handlers call. The dashboard's own API is not a contract.
CONTRACT = re.compile(r"^/_emu/(?!ui/)|^/healthz$|^/\.well-known/|^/oauth2/")
DOCUMENT: dict[str, Any] = json.loads(OPENAPI.read_text())


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    server = Emulator(Settings(port=0, http_port=None, virtual_clock=True, queues=[QUEUE]))
    await server.start()
    yield server
    await server.stop(0.1)


def _app(emulator: Emulator) -> web.Application:
    runner = emulator._http
    assert runner is not None
    return runner.app


def _documented() -> list[tuple[str, str]]:
    """(METHOD, path) of every operation, path parameters filled with a sample value."""
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", "1", path)) for path, item in DOCUMENT["paths"].items() for method in item
    ]


def _schema(ref_or_schema: dict[str, Any]) -> dict[str, Any]:
    node = ref_or_schema
    while "$ref" in node:
        section, kind, name = node["$ref"].removeprefix("#/").split("/")
        node = DOCUMENT[section][kind][name]
    return node


async def test_every_admin_route_is_documented(emulator: Emulator) -> None:
    app = _app(emulator)
    covered: set[web.AbstractRoute] = set()
    for method, path in _documented():
        match = await app.router.resolve(make_mocked_request(method, path, app=app))
        assert match.http_exception is None, f"{method} {path} is documented but not served"
        covered.add(match.route)
    served = [
        route
        for route in app.router.routes()
        if route.method != "HEAD" and CONTRACT.search(route.resource.canonical if route.resource else "")
    ]
    missing = [f"{route.method} {route.resource.canonical}" for route in served if route not in covered]
    assert len(served) >= 14
    assert missing == [], "served but not in admin-openapi.json"


async def test_every_documented_path_answers_as_documented(emulator: Emulator) -> None:
    base = f"http://127.0.0.1:{emulator.port}"
    async with aiohttp.ClientSession() as session:
        for path, item in DOCUMENT["paths"].items():
            for method, operation in item.items():
                url = base + path
                if "{id}" in path:  # a fault that exists (earlier calls clear them)
                    async with session.post(f"{base}/_emu/faults", json={"code": 14, "rpc": "GetQueue"}) as made:
                        url = url.replace("{id}", (await made.json())["fault"]["id"])
                example = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
                body = example.get("example")
                async with session.request(method, url, json=body) as answer:
                    status, data = answer.status, await answer.json()
                assert str(status) in operation["responses"], f"{method} {path}: undocumented {status} {data}"
                response = _schema(operation["responses"][str(status)])
                schema = _schema(response["content"]["application/json"]["schema"])
                assert set(schema.get("required", [])) <= set(data), f"{method} {path}: {data}"
                # /_emu/group is a 404 without --database; everything else succeeds with its example.
                assert status == 200 or (path, status) == ("/_emu/group", 404), f"{method} {path}: {status} {data}"


async def test_the_served_document_is_the_shipped_file(emulator: Emulator) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{emulator.port}/_emu/openapi.json") as answer,
    ):
        assert answer.content_type == "application/json"
        assert await answer.json() == DOCUMENT
    assert DOCUMENT["openapi"].startswith("3.")
