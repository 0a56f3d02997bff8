"""Safe on a developer's laptop: web pages and DNS rebinding cannot drive the emulator, real clients
are not bothered (every other e2e test runs with these checks on)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from cloudtasks_emu.testing import EmulatorProcess

from .conftest import PARENT, HttpAnswer, http_call


def refused(answer: HttpAnswer, status: int, code: str, words: str) -> None:
    assert answer.status == status, answer.body
    error = answer.json()["error"]
    assert (error["code"], error["status"]) == (status, code)
    assert words in error["message"]


def queue_exists(server: EmulatorProcess, name: str) -> bool:
    return http_call(server.http, "GET", f"/v2/{name}").status == 200


def new_name() -> str:
    return f"{PARENT}/queues/safe-{uuid.uuid4().hex[:10]}"


# Content type: a body must be JSON.


def test_a_text_plain_body_is_refused_and_creates_nothing(server: EmulatorProcess) -> None:
    name = new_name()
    body = f'{{"name": "{name}"}}'.encode()
    answer = http_call(server.http, "POST", f"/v2/{PARENT}/queues", body, {"Content-Type": "text/plain"})
    refused(answer, 415, "INVALID_ARGUMENT", "must be application/json")
    assert not queue_exists(server, name)


def test_a_form_body_to_reset_is_refused_and_resets_nothing(server: EmulatorProcess) -> None:
    name = new_name()
    assert http_call(server.http, "POST", f"/v2/{PARENT}/queues", {"name": name}).status == 200
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    refused(http_call(server.http, "POST", "/_emu/reset", b"{}", headers), 415, "INVALID_ARGUMENT", "application/json")
    assert queue_exists(server, name)


def test_a_body_without_content_type_is_refused(server: EmulatorProcess) -> None:
    answer = http_call(server.http, "POST", f"/v2/{PARENT}/queues", f'{{"name": "{new_name()}"}}'.encode())
    assert answer.status == 415


def test_json_with_a_charset_and_bodiless_posts_pass(server: EmulatorProcess) -> None:
    name = new_name()
    headers = {"Content-Type": "application/json; charset=utf-8"}
    body = f'{{"name": "{name}"}}'.encode()
    assert http_call(server.http, "POST", f"/v2/{PARENT}/queues", body, headers).status == 200
    assert http_call(server.http, "POST", f"/v2/{name}:pause").status == 200


# Origin and Sec-Fetch-Site: no page but the emulator's own, unless --allow-origin names it.


@pytest.mark.parametrize("origin", ["https://evil.example", "http://localhost:3000", "null"])
def test_a_foreign_origin_is_refused(server: EmulatorProcess, origin: str) -> None:
    name = new_name()
    answer = http_call(server.http, "POST", f"/v2/{PARENT}/queues", {"name": name}, {"Origin": origin})
    refused(answer, 403, "PERMISSION_DENIED", "--allow-origin")
    assert "Access-Control-Allow-Origin" not in answer.headers
    assert not queue_exists(server, name)
    refused(http_call(server.http, "GET", "/_emu/attempts", None, {"Origin": origin}), 403, "PERMISSION_DENIED", "")


def test_a_cross_site_fetch_is_refused(server: EmulatorProcess) -> None:
    answer = http_call(server.http, "POST", "/_emu/reset", {}, {"Sec-Fetch-Site": "cross-site"})
    refused(answer, 403, "PERMISSION_DENIED", "Cross-site")


def test_the_emulators_own_origin_passes(server: EmulatorProcess) -> None:
    headers = {"Origin": server.http, "Sec-Fetch-Site": "same-origin"}
    assert http_call(server.http, "POST", f"/v2/{PARENT}/queues", {"name": new_name()}, headers).status == 200


@pytest.fixture(scope="module")
def opened() -> Iterator[EmulatorProcess]:
    emulator = EmulatorProcess("--allow-origin", "http://localhost:3000", "--allowed-host", "tasks.internal")
    yield emulator
    emulator.stop()


def test_an_allowed_origin_gets_cors(opened: EmulatorProcess) -> None:
    origin = "http://localhost:3000"
    preflight = http_call(
        opened.http,
        "OPTIONS",
        f"/v2/{PARENT}/queues",
        None,
        {"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"] == "content-type"
    answer = http_call(opened.http, "POST", f"/v2/{PARENT}/queues", {"name": new_name()}, {"Origin": origin})
    assert answer.status == 200
    assert answer.headers["Access-Control-Allow-Origin"] == origin
    other = http_call(opened.http, "GET", f"/v2/{PARENT}/queues", None, {"Origin": "http://localhost:3001"})
    assert other.status == 403


# Host: the emulator's names only, which defeats DNS rebinding.


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.nip.io:{port}", "tasks.internal"])
def test_a_foreign_host_is_refused(server: EmulatorProcess, host: str) -> None:
    port = server.address.rsplit(":", 1)[1]
    answer = http_call(server.http, "GET", f"/v2/{PARENT}/queues", None, {"Host": host.format(port=port)})
    refused(answer, 403, "PERMISSION_DENIED", "--allowed-host")


@pytest.mark.parametrize("host", ["localhost:{port}", "127.0.0.1:{port}", "[::1]:{port}", "LOCALHOST", "app.localhost"])
def test_loopback_hosts_pass(server: EmulatorProcess, host: str) -> None:
    port = server.address.rsplit(":", 1)[1]
    assert http_call(server.http, "GET", "/healthz", None, {"Host": host.format(port=port)}).status == 200


def test_an_allowed_host_passes(opened: EmulatorProcess) -> None:
    assert http_call(opened.http, "GET", "/healthz", None, {"Host": "tasks.internal:8123"}).status == 200
    assert http_call(opened.http, "GET", "/healthz", None, {"Host": "other.internal"}).status == 403


def test_any_host_with_a_star() -> None:
    emulator = EmulatorProcess("--allowed-host", "*")
    try:
        assert http_call(emulator.http, "GET", "/healthz", None, {"Host": "cloudtasks:8123"}).status == 200
    finally:
        emulator.stop()
