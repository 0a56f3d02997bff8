"""The dashboard's data, read over HTTP from the real emulator: queues, tasks, a task's attempts, the feed."""

from __future__ import annotations

import base64
import json
import urllib.parse
import urllib.request
import uuid
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import tasks_v2, tasks_v2beta2
from google.protobuf import duration_pb2, timestamp_pb2

from cloudtasks_emu.testing import EmulatorProcess, RecordingHandler

from .conftest import PARENT, http_call, make_client, unique_queue_name

UI = "/_emu/ui/api"


@pytest.fixture
def v2(channel: Any) -> Any:
    return make_client(tasks_v2, channel)


def ui(server: EmulatorProcess, path: str, **params: str) -> Any:
    answer = http_call(server.http, "GET", f"{UI}/{path}?{urllib.parse.urlencode(params)}")
    assert answer.status == 200, answer.body
    return answer.json()


def act(server: EmulatorProcess, path: str, name: str) -> Any:
    return http_call(server.http, "POST", f"{UI}/{path}", {"name": name})


def new_queue(v2: Any, **fields: Any) -> str:
    name = unique_queue_name("ui")
    v2.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=name, **fields))
    return name


def at(seconds: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


def test_dashboard_page_and_its_files_are_served(server: EmulatorProcess) -> None:
    page = http_call(server.http, "GET", "/")
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert b"/_emu/ui/static/app.js" in page.body
    for name in ("app.js", "pages.js", "lib.js", "dashboard.css"):
        got = http_call(server.http, "GET", f"/_emu/ui/static/{name}")
        assert got.status == 200, name
        assert got.body
    # The REST gateway still answers beside it
    assert http_call(server.http, "GET", f"/v2/{PARENT}/queues").status == 200


def test_queues_show_config_counts_and_filters(v2: Any, server: EmulatorProcess, admin: EmulatorProcess) -> None:
    # Given a paused queue with limits, and two waiting tasks, the oldest 90 s old
    queue = new_queue(
        v2,
        rate_limits=tasks_v2.RateLimits(max_dispatches_per_second=7, max_concurrent_dispatches=3),
        retry_config=tasks_v2.RetryConfig(max_attempts=4, min_backoff=duration_pb2.Duration(seconds=2)),
    )
    v2.pause_queue(name=queue)
    for _ in range(2):
        v2.create_task(parent=queue, task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url="http://127.0.0.1:9/x")))
    admin.advance(90)
    # When the queues page reads it, filtered by its name
    data = ui(server, "queues", q=queue.rsplit("/", 1)[1])
    (row,) = data["queues"]
    # Then it shows what the API says
    assert (row["name"], row["project"], row["location"], row["type"], row["state"]) == (
        queue,
        "test-project",
        "us-central1",
        "push",
        "PAUSED",
    )
    assert row["rate"]["max_dispatches_per_second"] == 7
    assert row["rate"]["max_concurrent_dispatches"] == 3
    assert (row["retry"]["max_attempts"], row["retry"]["min_backoff_s"]) == (4, 2)
    assert (row["tasks"], row["in_flight"]) == (2, 0)
    assert row["oldest_age_s"] == pytest.approx(90, abs=0.01)
    assert "test-project" in data["projects"]
    assert ui(server, "queues", project="another-project")["queues"] == []


def test_a_queue_whose_tasks_are_all_due_later_has_nothing_overdue(v2: Any, server: EmulatorProcess) -> None:
    queue = new_queue(v2)
    later = timestamp_pb2.Timestamp()
    later.FromMicroseconds(round((server.now() + 3600) * 1_000_000))
    request = tasks_v2.HttpRequest(url="http://127.0.0.1:9/x")
    v2.create_task(parent=queue, task=tasks_v2.Task(http_request=request, schedule_time=later))
    (row,) = ui(server, "queues", q=queue.rsplit("/", 1)[1])["queues"]
    # Not "0 ms old": no task has waited yet (the page says "none due yet").
    assert (row["tasks"], row["oldest_age_s"]) == (1, None)


def test_queue_actions_act_on_the_service(v2: Any, server: EmulatorProcess) -> None:
    queue = new_queue(v2)
    v2.pause_queue(name=queue)
    v2.create_task(parent=queue, task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url="http://127.0.0.1:9/x")))
    assert act(server, "queue:resume", queue).json()["state"] == "RUNNING"
    assert v2.get_queue(name=queue).state == tasks_v2.Queue.State.RUNNING
    assert act(server, "queue:pause", queue).json()["state"] == "PAUSED"
    assert v2.get_queue(name=queue).state == tasks_v2.Queue.State.PAUSED
    assert act(server, "queue:purge", queue).status == 200
    assert list(v2.list_tasks(parent=queue)) == []
    assert act(server, "queue:delete", queue).status == 200
    with pytest.raises(exceptions.NotFound):
        v2.get_queue(name=queue)
    # A second delete is the service's NOT_FOUND, with its status
    again = act(server, "queue:delete", queue)
    assert (again.status, again.json()["error"]["status"]) == (404, "NOT_FOUND")


def test_tasks_page_by_name_and_by_schedule_time(v2: Any, server: EmulatorProcess, admin: EmulatorProcess) -> None:
    # Given 230 tasks whose schedule times run against their names
    queue = new_queue(v2)
    v2.pause_queue(name=queue)
    now = admin.now()
    for i in range(230):
        task = tasks_v2.Task(
            name=f"{queue}/tasks/t{i:03d}",
            schedule_time=at(now + 1000 - i),
            http_request=tasks_v2.HttpRequest(url="http://127.0.0.1:9/x"),
        )
        v2.create_task(parent=queue, task=task)

    def all_pages(sort: str) -> list[list[dict[str, Any]]]:
        pages, token = [], ""
        for _ in range(10):
            data = ui(server, "tasks", queue=queue, sort=sort, page_token=token)
            pages.append(data["tasks"])
            token = data["next_page_token"]
            if not token:
                return pages
        raise AssertionError("paging did not end")

    by_name = all_pages("name")
    assert [len(p) for p in by_name] == [100, 100, 30]
    names = [t["id"] for page in by_name for t in page]
    assert names == [f"t{i:03d}" for i in range(230)]
    by_schedule = all_pages("schedule")
    assert [len(p) for p in by_schedule] == [100, 100, 30]
    ids = [t["id"] for page in by_schedule for t in page]
    assert ids == [f"t{i:03d}" for i in reversed(range(230))]
    times = [t["schedule_time"] for page in by_schedule for t in page]
    assert times == sorted(times)
    assert {t["state"] for page in by_name for t in page} == {"scheduled"}


def test_tasks_filter_by_state(
    v2: Any, server: EmulatorProcess, handler: RecordingHandler, admin: EmulatorProcess
) -> None:
    # Given a task that failed once (now retrying) beside one never tried
    queue = new_queue(v2)
    path = f"/ui/{uuid.uuid4().hex[:8]}"
    handler.script(path, [500])
    later = at(admin.now() + 3600)
    waiting = v2.create_task(
        parent=queue, task=tasks_v2.Task(schedule_time=later, http_request=tasks_v2.HttpRequest(url=handler.url + path))
    )
    failed = v2.create_task(parent=queue, task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=handler.url + path)))
    admin.drain(queue)
    # Then each state filter finds its own, by either sort
    for sort in ("name", "schedule"):
        assert [t["name"] for t in ui(server, "tasks", queue=queue, state="retrying", sort=sort)["tasks"]] == [
            failed.name
        ]
        assert [t["name"] for t in ui(server, "tasks", queue=queue, state="scheduled", sort=sort)["tasks"]] == [
            waiting.name
        ]
        assert ui(server, "tasks", queue=queue, state="in_flight", sort=sort)["tasks"] == []
    bad = http_call(server.http, "GET", f"{UI}/tasks?queue={queue}&state=sleeping")
    assert bad.status == 400
    assert http_call(server.http, "GET", f"{UI}/tasks?queue={queue}&sort=schedule&page_token=zz").status == 400


def test_task_shows_its_attempts_as_sent_and_answered(
    v2: Any, server: EmulatorProcess, handler: RecordingHandler, admin: EmulatorProcess
) -> None:
    # Given an HTTP task with an OIDC token and a JSON body, whose handler fails once then succeeds
    queue = new_queue(v2)
    path = f"/ui/{uuid.uuid4().hex[:8]}"
    handler.script(path, [500, 200])
    request = tasks_v2.HttpRequest(
        url=handler.url + path,
        body=b'{"order": 42}',
        headers={"Content-Type": "application/json"},
        oidc_token=tasks_v2.OidcToken(service_account_email="robot@test-project.iam.gserviceaccount.com"),
    )
    task = v2.create_task(parent=queue, task=tasks_v2.Task(http_request=request))
    admin.drain(queue)
    # When the task page reads it after the first attempt
    data = ui(server, "task", name=task.name)
    detail, (first,) = data["task"], data["attempts"]
    # Then it shows the payload, the next request, and the failed attempt as the handler saw it
    assert detail["state"] == "retrying"
    assert detail["body"]["json"] == '{\n  "order": 42\n}'
    assert detail["body"]["hex"].startswith("00000000  7b 22 6f 72")
    assert detail["dispatch"]["url"] == handler.url + path
    assert dict(detail["dispatch"]["headers"])["X-CloudTasks-TaskRetryCount"] == "1"
    (received,) = handler.requests_to(path)
    assert (first["attempt"], first["status"], first["outcome"]) == (1, 500, "failed")
    assert first["url"] == handler.url + path
    assert first["response_excerpt"] == "ok"
    sent = dict(first["request_headers"])
    for header in ("X-CloudTasks-TaskName", "X-CloudTasks-TaskRetryCount", "Authorization"):
        assert sent[header] == received.headers[header]
    assert first["token"]["claims"]["email"] == "robot@test-project.iam.gserviceaccount.com"
    assert first["token"]["claims"]["aud"] == handler.url + path
    # The admin API's list of attempts carries the same request and response
    (listed,) = admin.attempts(queue)
    assert listed["response_excerpt"] == "ok"
    assert listed["request_headers"] == dict(first["request_headers"])
    # And once the retry succeeded the task is gone, but its attempts stay readable
    admin.advance(1)
    admin.drain(queue)
    data = ui(server, "task", name=task.name)
    assert data["task"] is None
    assert "no longer exists" in data["gone"]
    assert data["ending"] == {"outcome": "succeeded", "attempts": 2, "summary": "succeeded on attempt 2"}
    assert [(a["attempt"], a["status"]) for a in data["attempts"]] == [(2, 200), (1, 500)]


def test_a_task_that_gave_up_is_shown_as_given_up_with_its_rule(tmp_path: Any, handler: RecordingHandler) -> None:
    # Given an emulator whose log we read, a queue of 2 attempts, a task failing both, one deleted after a failure
    log = tmp_path / "emulator.log"
    with log.open("w") as stderr:
        emulator = EmulatorProcess("--virtual-clock", stderr=stderr)
    try:
        with __import__("grpc").insecure_channel(emulator.grpc) as channel:
            v2 = make_client(tasks_v2, channel)
            retry = tasks_v2.RetryConfig(max_attempts=2, min_backoff=duration_pb2.Duration(seconds=1))
            queue = new_queue(v2, retry_config=retry)
            path = f"/ui/{uuid.uuid4().hex[:8]}"
            handler.script(path, [500, 500, 500])
            make = tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=handler.url + path))
            doomed, deleted = v2.create_task(parent=queue, task=make), v2.create_task(parent=queue, task=make)
            emulator.drain(queue)
            v2.delete_task(name=deleted.name)
            emulator.advance(1)
            emulator.drain(queue)
        # When the task page reads them
        gave_up = ui(emulator, "task", name=doomed.name)
        gone = ui(emulator, "task", name=deleted.name)
    finally:
        emulator.stop()
    # Then the one that gave up says so, with its attempts and the rule; the deleted one is not "given up"
    assert gave_up["task"] is None
    assert gave_up["ending"] == {
        "outcome": "gave_up",
        "attempts": 2,
        "rule": "max_attempts 2",
        "summary": "gave up after 2 attempts: max_attempts 2 reached",
    }
    assert [(a["attempt"], a["status"]) for a in gave_up["attempts"]] == [(2, 500), (1, 500)]
    assert (gone["ending"]["outcome"], gone["ending"]["summary"]) == ("deleted", "deleted after 1 attempt")
    # And the log says it once, at INFO
    lines = [line for line in log.read_text().splitlines() if "gave up" in line]
    assert lines == [lines[0]]
    assert f"INFO cloudtasks_emu.engine.scheduler: gave up task={doomed.name} after 2 attempts" in lines[0]
    assert lines[0].endswith("max_attempts 2 reached")


def test_run_now_and_delete_from_the_dashboard(
    v2: Any, server: EmulatorProcess, handler: RecordingHandler, admin: EmulatorProcess
) -> None:
    queue = new_queue(v2)
    path = f"/ui/{uuid.uuid4().hex[:8]}"
    later = at(admin.now() + 3600)
    make = tasks_v2.Task(schedule_time=later, http_request=tasks_v2.HttpRequest(url=handler.url + path))
    task, doomed = v2.create_task(parent=queue, task=make), v2.create_task(parent=queue, task=make)
    assert act(server, "task:run", task.name).status == 200
    handler.wait_for(path, 1)
    admin.drain(queue)
    assert [(a["attempt"], a["status"]) for a in ui(server, "task", name=task.name)["attempts"]] == [(1, 200)]
    assert act(server, "task:delete", doomed.name).status == 200
    with pytest.raises(exceptions.NotFound):
        v2.get_task(name=doomed.name)
    assert act(server, "task:run", doomed.name).status == 404


def test_attempts_feed_filters_and_streams(
    v2: Any, server: EmulatorProcess, handler: RecordingHandler, admin: EmulatorProcess
) -> None:
    queue = new_queue(v2)
    path = f"/ui/{uuid.uuid4().hex[:8]}"
    handler.script(path, [503])
    # Given the live feed of this queue is open
    stream = urllib.request.urlopen(f"{server.http}{UI}/attempts:stream?queue={urllib.parse.quote(queue)}", timeout=30)
    assert stream.headers["Content-Type"] == "text/event-stream"
    # When one task fails and another succeeds
    for _ in range(2):
        v2.create_task(parent=queue, task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=handler.url + path)))
        admin.drain(queue)
    # Then both arrive on the stream, oldest first
    got: list[dict[str, Any]] = []
    with stream:
        for _ in range(200):
            line = stream.readline().decode()
            if line.startswith("data: "):
                got.append(json.loads(line[6:]))
            if len(got) == 2:
                break
    assert [(a["status"], a["outcome"]) for a in got] == [(503, "failed"), (200, "ok")]
    # And the list filters by outcome
    failed = ui(server, "attempts", queue=queue, outcome="failed")["attempts"]
    assert [a["status"] for a in failed] == [503]
    assert http_call(server.http, "GET", f"{UI}/attempts?outcome=maybe").status == 400
    row = next(r for r in ui(server, "queues", q=queue.rsplit("/", 1)[1])["queues"])
    assert (row["attempts_last_minute"], row["failures_last_minute"]) == (2, 1)


def test_pull_task_shows_its_lease_and_tag(channel: Any, server: EmulatorProcess, admin: EmulatorProcess) -> None:
    pull = make_client(tasks_v2beta2, channel)
    queue = unique_queue_name("uipull")
    pull.create_queue(parent=PARENT, queue=tasks_v2beta2.Queue(name=queue, pull_target=tasks_v2beta2.PullTarget()))
    message = tasks_v2beta2.PullMessage(payload=base64.b64decode("AAEC/w=="), tag="blue")
    pull.create_task(parent=queue, task=tasks_v2beta2.Task(pull_message=message))
    (leased,) = pull.lease_tasks(
        request={"parent": queue, "max_tasks": 1, "lease_duration": duration_pb2.Duration(seconds=60)}
    ).tasks
    (row,) = ui(server, "tasks", queue=queue)["tasks"]
    assert (row["state"], row["tag"]) == ("leased", "blue")
    assert row["lease_expiry"] == pytest.approx(leased.schedule_time.timestamp(), abs=1e-6)
    detail = ui(server, "task", name=row["name"])["task"]
    assert (detail["kind"], detail["dispatch"], detail["body"]["text"]) == ("pull", None, None)
    assert detail["body"]["hex"].startswith("00000000  00 01 02 ff")
    # Once the lease runs out it is waiting again
    admin.advance(61)
    assert ui(server, "tasks", queue=queue)["tasks"][0]["state"] == "scheduled"
    assert act(server, "task:run", row["name"]).status == 400


def test_unknown_names_are_clear_errors(server: EmulatorProcess) -> None:
    missing = http_call(server.http, "GET", f"{UI}/task?name={PARENT}/queues/nope/tasks/nope")
    assert (missing.status, missing.json()["error"]["status"]) == (404, "NOT_FOUND")
    assert http_call(server.http, "GET", f"{UI}/tasks?queue={PARENT}/queues/nope").status == 404
    assert http_call(server.http, "GET", f"{UI}/tasks?queue=nonsense").status == 400
    assert http_call(server.http, "POST", f"{UI}/queue:pause", b"not json").status == 415
    json_type = {"Content-Type": "application/json"}
    assert http_call(server.http, "POST", f"{UI}/queue:pause", b"not json", json_type).status == 400
    assert http_call(server.http, "POST", f"{UI}/queue:pause", {"name": 3}).status == 400


def test_app_engine_task_shows_the_url_its_routing_reaches(
    v2: Any, server: EmulatorProcess, handler: RecordingHandler
) -> None:
    # Given an App Engine task routed to the "worker" service (--app-engine-service worker=<handler>/worker)
    queue = new_queue(v2)
    v2.pause_queue(name=queue)
    request = tasks_v2.AppEngineHttpRequest(
        relative_uri="/jobs/resize?size=2", app_engine_routing=tasks_v2.AppEngineRouting(service="worker")
    )
    task = v2.create_task(parent=queue, task=tasks_v2.Task(app_engine_http_request=request))
    # Then the task page shows the URL and the App Engine headers the attempt will carry
    detail = ui(server, "task", name=task.name)["task"]
    assert (detail["kind"], detail["routing"]["service"]) == ("app_engine", "worker")
    assert detail["dispatch"]["url"] == f"{handler.url}/worker/jobs/resize?size=2"
    headers = dict(detail["dispatch"]["headers"])
    assert headers["X-AppEngine-QueueName"] == queue.rsplit("/", 1)[1]
    assert headers["X-AppEngine-TaskRetryCount"] == "0"
    assert detail["dispatch"]["token"] is None


def test_open_live_feeds_do_not_hold_up_a_stop() -> None:
    # Given an emulator with two pages' live feeds open
    server = EmulatorProcess("--virtual-clock")
    streams = [urllib.request.urlopen(f"{server.http}{UI}/attempts:stream", timeout=30) for _ in range(2)]
    try:
        # When it is asked to stop, it ends the streams and exits cleanly (not killed after the grace time)
        assert server.stop() == 0
        assert all(stream.read() == b"" for stream in streams)
    finally:
        for stream in streams:
            stream.close()
