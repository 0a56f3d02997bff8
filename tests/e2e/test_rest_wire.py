"""The REST gateway on the wire, with plain HTTP: routes, JSON mapping, errors, enum encoding, BufferTask, CORS."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest

from cloudtasks_emu.testing import EmulatorProcess, RecordingHandler

from .conftest import PARENT, PROJECT, HttpAnswer, http_call, unique_queue_name

VERSIONS = ("v2", "v2beta3", "v2beta2")
INT_ENUMS = "$alt=json;enum-encoding=int"


def call(
    server: EmulatorProcess, method: str, path: str, body: bytes | dict[str, Any] | None = None, **headers: str
) -> Any:
    return http_call(server.http, method, path, body, {k.replace("_", "-"): v for k, v in headers.items()})


def assert_error(answer: HttpAnswer, status: int, code: str, message: str = "") -> None:
    assert answer.status == status, answer.body
    assert answer.headers["Content-Type"].startswith("application/json")
    error = answer.json()["error"]
    assert (error["code"], error["status"], error["details"]) == (status, code, [])
    assert message in error["message"]
    assert "Traceback" not in error["message"]


def new_queue(server: EmulatorProcess, version: str, prefix: str = "wire", **fields: Any) -> str:
    name = unique_queue_name(prefix)
    if version == "v2beta2" and "httpTarget" not in fields:
        fields["appEngineHttpTarget"] = {}
    answer = call(server, "POST", f"/{version}/{PARENT}/queues", {"name": name, **fields})
    assert answer.status == 200, answer.body
    return name


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/nothing/here"),
        ("GET", "/v9/projects/p/locations/l/queues"),
        ("GET", f"/v2/{PARENT}/queues/q:pause"),
        ("POST", f"/v2/{PARENT}/queues/q/tasks:lease"),
        ("PUT", f"/v2/{PARENT}/queues/q"),
        ("DELETE", "/healthz"),
    ],
)
def test_unknown_route_is_not_found(server: EmulatorProcess, method: str, path: str) -> None:
    assert_error(call(server, method, path), 404, "NOT_FOUND", "was not found on this server")


def test_existing_http_routes_still_answer(server: EmulatorProcess, admin: EmulatorProcess) -> None:
    assert call(server, "GET", "/healthz").json() == {"status": "SERVING"}
    assert "now" in admin.call("GET", "/_emu/clock")
    assert "keys" in call(server, "GET", "/oauth2/v3/certs").json()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"task": ', "Invalid JSON payload"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"task": 5}', "Invalid JSON payload"),
        (b'{"task": {"nope": 1}}', "nope"),
        (b'{"task": {"scheduleTime": "yesterday"}}', "Invalid JSON payload"),
        (b"\xff\xfe", "Invalid JSON payload"),
    ],
)
def test_malformed_body_is_invalid_argument(server: EmulatorProcess, body: bytes, message: str) -> None:
    answer = call(server, "POST", f"/v2/{PARENT}/queues/q/tasks", body, Content_Type="application/json")
    assert_error(answer, 400, "INVALID_ARGUMENT", message)


def test_unknown_query_parameter_is_invalid_argument(server: EmulatorProcess) -> None:
    assert_error(call(server, "GET", f"/v2/{PARENT}/queues?colour=red"), 400, "INVALID_ARGUMENT", "colour")


@pytest.mark.parametrize("version", VERSIONS)
def test_missing_queue_is_not_found(server: EmulatorProcess, version: str) -> None:
    answer = call(server, "GET", f"/{version}/{unique_queue_name()}")
    assert_error(answer, 404, "NOT_FOUND", "Queue does not exist.")


def test_query_parameters_nest_by_dots(server: EmulatorProcess) -> None:
    name = new_queue(server, "v2beta3")
    assert set(call(server, "GET", f"/v2beta3/{name}?readMask=stats").json()) == {"name", "stats"}
    ok = call(server, "POST", f"/v2beta3/{name}:getIamPolicy?options.requestedPolicyVersion=3", {})
    assert ok.status == 200, ok.body
    bad = call(server, "POST", f"/v2beta3/{name}:getIamPolicy?options.nope=3", {})
    assert_error(bad, 400, "INVALID_ARGUMENT", "nope")


def test_standard_parameters_are_ignored(server: EmulatorProcess) -> None:
    query = "$.xgafv=2&%24xgafv=1&alt=json&prettyPrint=false&fields=queues&key=k&access_token=t&quotaUser=u&pageToken="
    answer = call(server, "GET", f"/v2/{PARENT}/queues?{query}")
    assert answer.status == 200, answer.body
    assert answer.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("version", VERSIONS)
def test_enum_encoding_follows_alt(server: EmulatorProcess, version: str) -> None:
    name = new_queue(server, version)
    assert call(server, "GET", f"/{version}/{name}").json()["state"] == "RUNNING"
    assert call(server, "GET", f"/{version}/{name}?{INT_ENUMS}").json()["state"] == 1
    assert call(server, "POST", f"/{version}/{name}:pause?{INT_ENUMS}", {}).json()["state"] == 2


@pytest.mark.parametrize("method", ["PUT", 4])
def test_enums_arrive_by_name_or_number(server: EmulatorProcess, method: str | int) -> None:
    name = new_queue(server, "v2beta3")
    call(server, "POST", f"/v2beta3/{name}:pause", {})
    task = {"httpRequest": {"url": "https://example.com/", "httpMethod": method}}
    answer = call(server, "POST", f"/v2beta3/{name}/tasks", {"task": task, "responseView": 2})
    assert (answer.json()["httpRequest"]["httpMethod"], answer.json()["view"]) == ("PUT", "FULL")
    listed = call(server, "GET", f"/v2beta3/{name}/tasks?responseView=2&{INT_ENUMS}").json()
    assert (listed["tasks"][0]["httpRequest"]["httpMethod"], listed["tasks"][0]["view"]) == (4, 2)


def test_unknown_enum_value_is_invalid_argument(server: EmulatorProcess) -> None:
    task = {"httpRequest": {"url": "https://example.com/", "httpMethod": "FETCH"}}
    answer = call(server, "POST", f"/v2/{PARENT}/queues/q/tasks", {"task": task})
    assert_error(answer, 400, "INVALID_ARGUMENT", "FETCH")


def test_json_mapping_of_bytes_durations_timestamps_and_proto_names(
    server: EmulatorProcess, admin: EmulatorProcess
) -> None:
    # Given a queue and a task written with proto field names, URL-safe base64 and fractional times
    name = new_queue(server, "v2", retry_config={"min_backoff": "3.5s", "max_backoff": "10s"})
    assert call(server, "GET", f"/v2/{name}").json()["retryConfig"]["minBackoff"] == "3.500s"
    call(server, "POST", f"/v2/{name}:pause", {})
    at = dt.datetime.fromtimestamp(int(admin.now()) + 3600, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.123456Z")
    task = {
        "http_request": {"url": "https://example.com/", "body": base64.urlsafe_b64encode(b"\xfb\xff").decode()},
        "schedule_time": at,
        "dispatch_deadline": "20.5s",
    }
    answer = call(server, "POST", f"/v2/{name}/tasks", {"task": task, "response_view": "FULL"})
    assert answer.status == 200, answer.body
    # Then the answer is lowerCamelCase with standard base64, RFC 3339 and seconds durations
    created = answer.json()
    assert created["httpRequest"]["body"] == base64.b64encode(b"\xfb\xff").decode()
    assert (created["scheduleTime"], created["dispatchDeadline"]) == (at, "20.500s")


def test_update_queue_takes_the_name_from_the_path(server: EmulatorProcess) -> None:
    name = new_queue(server, "v2")
    mask = "rateLimits.maxDispatchesPerSecond,retryConfig.maxAttempts"
    body = {"name": "projects/other/locations/x/queues/y", "rateLimits": {"maxDispatchesPerSecond": 3}}
    body["retryConfig"] = {"maxAttempts": 4}
    answer = call(server, "PATCH", f"/v2/{name}?updateMask={mask}", body)
    assert answer.status == 200, answer.body
    queue = answer.json()
    assert queue["name"] == name
    assert (queue["rateLimits"]["maxDispatchesPerSecond"], queue["retryConfig"]["maxAttempts"]) == (3, 4)


def test_empty_responses_are_empty_objects(server: EmulatorProcess) -> None:
    name = new_queue(server, "v2")
    answer = call(server, "DELETE", f"/v2/{name}", Content_Type="application/json")
    assert (answer.status, answer.json()) == (200, {})


def test_operations_and_locations_routes(server: EmulatorProcess) -> None:
    name = new_queue(server, "v2beta3")
    call(server, "POST", f"/v2beta3/{name}:pause", {})
    batch = {"requests": [{"task": {"httpRequest": {"url": "https://example.com/"}}}]}
    operation = call(server, "POST", f"/v2beta3/{name}/tasks:batchCreate", batch).json()
    assert operation["done"] is True
    assert operation["metadata"]["@type"] == "type.googleapis.com/google.cloud.tasks.v2beta3.BatchCreateTasksMetadata"
    assert operation["metadata"]["state"] == "SUCCEEDED"
    assert operation["response"]["@type"] == "type.googleapis.com/google.cloud.tasks.v2beta3.BatchCreateTasksResponse"
    assert call(server, "GET", f"/v2beta3/{operation['name']}").json() == operation
    assert_error(call(server, "GET", f"/v2beta2/{operation['name']}"), 404, "NOT_FOUND")
    for version in VERSIONS:
        locations = call(server, "GET", f"/{version}/projects/{PROJECT}/locations").json()["locations"]
        assert PARENT in [loc["name"] for loc in locations]


# BufferTask: the raw body becomes an HTTP task addressed by the queue's uri_override.


def buffer_queue(server: EmulatorProcess, version: str, handler: RecordingHandler, path: str, **target: Any) -> str:
    url = urlsplit(handler.url)
    override = {"scheme": "HTTP", "host": url.hostname, "port": str(url.port), "pathOverride": {"path": path}}
    name = new_queue(server, version, "buf", httpTarget={"uriOverride": override, **target})
    call(server, "POST", f"/{version}/{name}:pause", {})
    return name


@pytest.mark.parametrize("version", VERSIONS)
def test_buffer_task_creates_an_http_task_from_the_raw_body(
    server: EmulatorProcess, version: str, handler: RecordingHandler, admin: EmulatorProcess
) -> None:
    path = f"/buffer/{uuid.uuid4().hex[:12]}"
    name = buffer_queue(server, version, handler, path)
    # When a raw body is buffered, with an ID and without one
    headers = {"Content-Type": "text/csv"}
    named = http_call(server.http, "POST", f"/{version}/{name}/tasks/row-1:buffer", b"a,b\n1,2\n", headers)
    auto = http_call(server.http, "POST", f"/{version}/{name}/tasks:buffer", b"3,4\n", headers)
    assert named.status == auto.status == 200, named.body
    task = named.json()["task"]
    assert task["name"] == f"{name}/tasks/row-1"
    assert auto.json()["task"]["name"].startswith(f"{name}/tasks/")
    assert task["httpRequest"]["url"] == f"{handler.url}{path}"
    assert task["httpRequest"]["httpMethod"] == "POST"
    assert task["httpRequest"]["headers"]["Content-Type"] == "text/csv"
    full = call(server, "GET", f"/{version}/{name}/tasks/row-1?responseView=FULL").json()
    assert base64.b64decode(full["httpRequest"]["body"]) == b"a,b\n1,2\n"
    # Then both are delivered as CreateTask's HTTP tasks are
    call(server, "POST", f"/{version}/{name}:resume", {})
    admin.drain(name)
    got = handler.wait_for(path, 2)
    assert sorted(r.body for r in got) == [b"3,4\n", b"a,b\n1,2\n"]
    assert {r.headers["Content-Type"] for r in got} == {"text/csv"}
    again = http_call(server.http, "POST", f"/{version}/{name}/tasks/row-1:buffer", b"x", headers)
    assert_error(again, 409, "ALREADY_EXISTS")


def test_buffer_task_takes_the_queue_method(server: EmulatorProcess, handler: RecordingHandler) -> None:
    name = buffer_queue(server, "v2", handler, "/put-here", httpMethod="PUT")
    answer = http_call(server.http, "POST", f"/v2/{name}/tasks:buffer", b"{}")
    assert answer.json()["task"]["httpRequest"]["httpMethod"] == "PUT"


@pytest.mark.parametrize("version", VERSIONS)
def test_buffer_task_needs_a_uri_override(server: EmulatorProcess, version: str) -> None:
    name = new_queue(server, version)
    answer = http_call(server.http, "POST", f"/{version}/{name}/tasks:buffer", b"x")
    assert_error(answer, 400, "FAILED_PRECONDITION", "has no httpTarget.uriOverride with a host")
    missing = http_call(server.http, "POST", f"/{version}/{unique_queue_name()}/tasks:buffer", b"x")
    assert_error(missing, 404, "NOT_FOUND")


@pytest.mark.parametrize("quoted", [True, False])
def test_upload_queue_yaml_takes_a_raw_body(server: EmulatorProcess, quoted: bool) -> None:
    queue_id = f"yaml-{uuid.uuid4().hex[:12]}"
    document = f"queue:\n- name: {queue_id}\n  rate: 2/s\n"
    body, content_type = (f'"{document!s}"'.replace("\n", "\\n"), "application/json") if quoted else (document, "")
    headers = {"Content-Type": content_type or "application/x-yaml"}
    answer = http_call(server.http, "POST", f"/api/queue/update?appId={PROJECT}", body.encode(), headers)
    assert (answer.status, answer.json()) == (200, {})
    queue = call(server, "GET", f"/v2beta2/{PARENT}/queues/{queue_id}").json()
    assert queue["rateLimits"]["maxTasksDispatchedPerSecond"] == 2
