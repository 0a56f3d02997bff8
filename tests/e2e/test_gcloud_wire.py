"""gcloud's requests replayed byte for byte over HTTP, as apitools sends them (reference section 9).

These hold without gcloud installed: method, path, `?alt=json`, apitools' headers, a user's bearer
token (never validated), `pageSize=100` paging, PATCH with a camelCase `updateMask`, `{}` bodies,
`tasks/:buffer`, the queue.yaml deploy's v2beta3 PATCH upserts, ListLocations labels and apps.get.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from cloudtasks_emu.testing import EmulatorProcess

from .conftest import HttpAnswer, http_call

LOCATION = "us-central1"


def gcloud_call(server: EmulatorProcess, method: str, path: str, body: dict[str, Any] | None = None) -> HttpAnswer:
    """One request as gcloud sends it: alt=json appended, apitools' headers, a real-looking token."""
    headers = {
        "accept": "application/json",
        "accept-encoding": "gzip, deflate",
        "user-agent": "google-cloud-sdk gcloud/528.0.0 command/gcloud.tasks.queues.create",
        "authorization": "Bearer ya29.a0-users-real-token-that-the-emulator-never-checks",
    }
    if body is not None:
        headers["content-type"] = "application/json"
    separator = "&" if "?" in path else "?"
    return http_call(
        server.http,
        method,
        f"{path}{separator}alt=json",
        json.dumps(body).encode() if body is not None else None,
        headers,
    )


@pytest.fixture
def project() -> str:
    return f"wire-{uuid.uuid4().hex[:10]}"


def ok(answer: HttpAnswer) -> Any:
    assert answer.status == 200, answer.body
    assert answer.headers["Content-Type"].startswith("application/json")
    return answer.json()


def test_location_is_found_from_list_locations_and_apps_get(server: EmulatorProcess, project: str) -> None:
    locations = ok(gcloud_call(server, "GET", f"/v2/projects/{project}/locations?pageSize=100"))["locations"]
    # gcloud: locations[0].labels.additionalProperties[0].value
    assert next(iter(locations[0]["labels"].items())) == ("cloud.googleapis.com/region", LOCATION)
    app = ok(gcloud_call(server, "GET", f"/v1/apps/{project}"))
    assert app["name"] == f"apps/{project}"
    assert app["id"] == project
    assert app["locationId"] == "us-central"  # App Engine's name for us-central1
    assert app["codeBucket"]  # gcloud app deploy repairs an app without one


def test_list_locations_puts_the_configured_location_first(server: EmulatorProcess, project: str) -> None:
    ok(
        gcloud_call(
            server,
            "POST",
            f"/v2/projects/{project}/locations/asia-east1/queues",
            {"name": f"projects/{project}/locations/asia-east1/queues/q"},
        )
    )
    locations = ok(gcloud_call(server, "GET", f"/v2/projects/{project}/locations?pageSize=100"))["locations"]
    assert [loc["locationId"] for loc in locations] == [LOCATION, "asia-east1"]
    assert locations[1]["labels"] == {"cloud.googleapis.com/region": "asia-east1"}


def test_apps_get_rejects_a_malformed_id(server: EmulatorProcess) -> None:
    answer = gcloud_call(server, "GET", "/v1/apps/bad%20id")
    assert answer.status == 400
    assert answer.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_queue_commands(server: EmulatorProcess, project: str) -> None:
    parent = f"/v2/projects/{project}/locations/{LOCATION}"
    name = f"projects/{project}/locations/{LOCATION}/queues/q"
    # queues create: only the fields whose flags were given
    created = ok(gcloud_call(server, "POST", f"{parent}/queues", {"name": name, "retryConfig": {"maxAttempts": 7}}))
    assert created["retryConfig"]["maxAttempts"] == 7
    assert created["rateLimits"]["maxDispatchesPerSecond"] == 500
    # queues update: PATCH with a camelCase mask, comma escaped as apitools does
    mask = "rateLimits.maxDispatchesPerSecond%2CretryConfig.maxAttempts"
    patch = {"name": name, "rateLimits": {"maxDispatchesPerSecond": 10}, "retryConfig": {"maxAttempts": 3}}
    updated = ok(gcloud_call(server, "PATCH", f"/v2/{name}?updateMask={mask}", patch))
    assert updated["rateLimits"]["maxDispatchesPerSecond"] == 10
    assert updated["retryConfig"]["maxAttempts"] == 3
    assert updated["retryConfig"]["maxDoublings"] == 16  # outside the mask: kept
    for verb, state in [("pause", "PAUSED"), ("resume", "RUNNING"), ("purge", "RUNNING")]:
        assert ok(gcloud_call(server, "POST", f"/v2/{name}:{verb}", {}))["state"] == state
    assert ok(gcloud_call(server, "GET", f"/v2/{name}"))["name"] == name
    assert ok(gcloud_call(server, "DELETE", f"/v2/{name}")) == {}
    missing = gcloud_call(server, "GET", f"/v2/{name}")
    assert missing.status == 404
    assert missing.json()["error"]["status"] == "NOT_FOUND"


def test_list_calls_page_with_page_size_100(server: EmulatorProcess, project: str) -> None:
    parent = f"/v2/projects/{project}/locations/{LOCATION}"
    queue = f"projects/{project}/locations/{LOCATION}/queues/many"
    ok(gcloud_call(server, "POST", f"{parent}/queues", {"name": queue}))
    ok(gcloud_call(server, "POST", f"/v2/{queue}:pause", {}))
    for i in range(150):
        ok(
            gcloud_call(
                server,
                "POST",
                f"/v2/{queue}/tasks",
                {"task": {"name": f"{queue}/tasks/t{i:03}", "httpRequest": {"url": "https://example.com/"}}},
            )
        )
    seen: list[str] = []
    token = ""
    for _ in range(5):  # gcloud's pager follows nextPageToken
        page = ok(
            gcloud_call(server, "GET", f"/v2/{queue}/tasks?pageSize=100" + (f"&pageToken={token}" if token else ""))
        )
        seen += [task["name"] for task in page["tasks"]]
        token = page.get("nextPageToken", "")
        if not token:
            break
    assert len(seen) == 150 == len(set(seen))
    queues = ok(gcloud_call(server, "GET", f"{parent}/queues?pageSize=100"))
    assert [q["name"] for q in queues["queues"]] == [queue]


def test_task_commands(server: EmulatorProcess, project: str) -> None:
    queue = f"projects/{project}/locations/{LOCATION}/queues/tq"
    ok(gcloud_call(server, "POST", f"/v2/projects/{project}/locations/{LOCATION}/queues", {"name": queue}))
    ok(gcloud_call(server, "POST", f"/v2/{queue}:pause", {}))
    task = {"name": f"{queue}/tasks/t1", "httpRequest": {"url": "https://example.com/x", "body": "aGk="}}
    created = ok(gcloud_call(server, "POST", f"/v2/{queue}/tasks", {"task": task}))
    assert created["name"] == task["name"]
    assert "body" not in created["httpRequest"]  # BASIC
    described = ok(gcloud_call(server, "GET", f"/v2/{queue}/tasks/t1?responseView=FULL"))
    assert described["httpRequest"]["body"] == "aGk="
    assert ok(gcloud_call(server, "POST", f"/v2/{queue}/tasks/t1:run", {}))["name"] == task["name"]
    assert ok(gcloud_call(server, "DELETE", f"/v2/{queue}/tasks/t1")) == {}


def test_buffer_with_an_empty_task_id(server: EmulatorProcess, project: str) -> None:
    queue = f"projects/{project}/locations/{LOCATION}/queues/bq"
    target = {"uriOverride": {"host": "example.com", "pathOverride": {"path": "/in"}}}
    ok(
        gcloud_call(
            server, "POST", f"/v2/projects/{project}/locations/{LOCATION}/queues", {"name": queue, "httpTarget": target}
        )
    )
    ok(gcloud_call(server, "POST", f"/v2/{queue}:pause", {}))
    for path in (f"/v2/{queue}/tasks/:buffer", f"/v2/{queue}/tasks:buffer"):
        buffered = ok(gcloud_call(server, "POST", path, {}))
        assert buffered["task"]["name"].startswith(f"{queue}/tasks/")
        assert buffered["task"]["httpRequest"]["url"] == "https://example.com/in"


def test_app_deploy_upserts_through_v2beta3_patch(server: EmulatorProcess, project: str) -> None:
    parent = f"/v2beta3/projects/{project}/locations/{LOCATION}"
    assert ok(gcloud_call(server, "GET", f"{parent}/queues?pageSize=100")) == {}
    # A queue missing from the project is created by the PATCH, with gcloud's TTLs
    mask = "%2C".join(
        [
            *("rateLimits.maxBurstSize", "rateLimits.maxConcurrentDispatches", "rateLimits.maxDispatchesPerSecond"),
            *("retryConfig.maxAttempts", "retryConfig.maxBackoff", "retryConfig.maxDoublings"),
            *("retryConfig.maxRetryDuration", "retryConfig.minBackoff", "taskTtl", "tombstoneTtl"),
        ]
    )
    name = f"projects/{project}/locations/{LOCATION}/queues/fast"
    body = {
        "name": name,
        "rateLimits": {"maxBurstSize": 20, "maxConcurrentDispatches": 7, "maxDispatchesPerSecond": 10.0},
        "retryConfig": {
            "maxAttempts": 5,
            "maxBackoff": "3600s",
            "maxDoublings": 16,
            "maxRetryDuration": "0s",
            "minBackoff": "2.0s",
        },
        "taskTtl": "315360000s",
        "tombstoneTtl": "777600s",
    }
    queue = ok(gcloud_call(server, "PATCH", f"/v2beta3/{name}?updateMask={mask}", body))
    assert queue["rateLimits"] == {"maxDispatchesPerSecond": 10, "maxBurstSize": 20, "maxConcurrentDispatches": 7}
    assert (queue["taskTtl"], queue["tombstoneTtl"], queue["type"]) == ("315360000s", "777600s", "PUSH")
    # A pull queue of the file: maxAttempts and type only
    pull = f"projects/{project}/locations/{LOCATION}/queues/pulled"
    pull_body = {
        "name": pull,
        "retryConfig": {"maxAttempts": -1},
        "taskTtl": "315360000s",
        "tombstoneTtl": "777600s",
        "type": "PULL",
    }
    assert (
        ok(
            gcloud_call(
                server,
                "PATCH",
                f"/v2beta3/{pull}?updateMask=retryConfig.maxAttempts%2Ctype%2CtaskTtl%2CtombstoneTtl",
                pull_body,
            )
        )["type"]
        == "PULL"
    )
    # Rate-0 and left-out queues are paused with {} bodies; the list shows them
    assert ok(gcloud_call(server, "POST", f"/v2beta3/{pull}:pause", {}))["state"] == "PAUSED"
    listed = ok(gcloud_call(server, "GET", f"{parent}/queues?pageSize=100"))["queues"]
    assert {q["name"]: q["state"] for q in listed} == {name: "RUNNING", pull: "PAUSED"}
