"""The service's dashboard reads: tasks in schedule order straight from the dispatch heap, and the views."""

from __future__ import annotations

import base64
import json
import random

from cloudtasks_emu.clock import FakeClock, to_us
from cloudtasks_emu.config import Settings
from cloudtasks_emu.dashboard import views
from cloudtasks_emu.model import HttpRequest, Queue, Task
from cloudtasks_emu.service import TasksService
from cloudtasks_emu.tokens import TokenMinter

QUEUE = "projects/p/locations/l/queues/q"


def service_with_tasks(count: int, seed: int = 7) -> TasksService:
    clock = FakeClock(1_000_000.0)
    service = TasksService(Settings(), clock)
    service.create_queue("projects/p/locations/l", Queue(name=QUEUE))
    service.pause_queue(QUEUE)
    rng = random.Random(seed)
    for i in range(count):
        at = to_us(clock.now() + rng.randrange(50))  # many ties on purpose
        task = Task(name=f"{QUEUE}/tasks/t{i:04d}", payload=HttpRequest(url="http://x/"), schedule_us=at, create_us=0)
        service.create_task(QUEUE, task, False)
    return service


def schedule_order(service: TasksService) -> list[str]:
    """Every page of tasks_by_schedule, joined."""
    names: list[str] = []
    after = None
    for _ in range(1000):
        page = service.tasks_by_schedule(QUEUE, after, 7, lambda _: True)
        names += [task.name for _, task in page]
        if len(page) < 7:
            return names
        after = page[-1][0]
    raise AssertionError("paging did not end")


def test_tasks_by_schedule_pages_through_every_task_in_order() -> None:
    service = service_with_tasks(300)
    names = schedule_order(service)
    tasks = [service.get_task(name) for name in names]
    assert len(set(names)) == 300
    assert [t.schedule_us for t in tasks] == sorted(t.schedule_us for t in tasks)


def test_tasks_by_schedule_skips_deleted_and_rescheduled_entries() -> None:
    service = service_with_tasks(120)
    # Given some tasks deleted and others moved (their old heap entries stay behind)
    for i in range(0, 120, 5):
        service.delete_task(f"{QUEUE}/tasks/t{i:04d}")
    queue = service.require_queue(QUEUE)
    moved = [i for i in range(1, 120, 7) if i % 5]
    for i in moved:
        task = service.get_task(f"{QUEUE}/tasks/t{i:04d}")
        task.schedule_us += 1_000_000_000
        service.store.update_task(task)
        service.scheduler.schedule(queue, task)
    # Then the order holds each live task once, at its current time
    names = schedule_order(service)
    live = sorted(service.store.tasks_after(QUEUE, ""), key=lambda t: t.schedule_us)
    assert sorted(names) == sorted(t.name for t in live)
    assert [service.get_task(n).schedule_us for n in names] == [t.schedule_us for t in live]


def test_tasks_by_schedule_filters_without_losing_its_place() -> None:
    service = service_with_tasks(200)
    even = [n for n in schedule_order(service) if int(n[-4:]) % 2 == 0]
    got: list[str] = []
    after = None
    while True:
        page = service.tasks_by_schedule(QUEUE, after, 10, lambda t: int(t.name[-4:]) % 2 == 0)
        got += [task.name for _, task in page]
        if len(page) < 10:
            break
        after = page[-1][0]
    assert got == even


def test_body_views_and_token_decoding() -> None:
    body = views.body_views(b'{"a": [1, 2]}')
    assert body["json"] == '{\n  "a": [\n    1,\n    2\n  ]\n}'
    assert body["hex"] == '00000000  7b 22 61 22 3a 20 5b 31 2c 20 32 5d 7d           {"a": [1, 2]}'
    binary = views.body_views(bytes(range(250, 256)) * 1000)
    assert (binary["text"], binary["json"], binary["hex_truncated"]) == (None, None, True)
    assert len(binary["hex"].splitlines()) == views.HEX_LIMIT // 16
    minter = TokenMinter()
    oidc = views.decode_bearer("Bearer " + minter.oidc("sa@p.iam.gserviceaccount.com", "https://aud"))
    assert oidc is not None
    assert (oidc["kind"], oidc["claims"]["aud"], oidc["header"]["kid"]) == ("oidc", "https://aud", minter.key_id)
    oauth = views.decode_bearer("Bearer " + minter.oauth("sa@p.iam.gserviceaccount.com", ""))
    assert oauth is not None
    assert oauth["claims"]["email"] == "sa@p.iam.gserviceaccount.com"
    junk = "Bearer " + base64.urlsafe_b64encode(json.dumps({"x": 1}).encode()).decode()
    assert views.decode_bearer(junk) is None
    assert views.decode_bearer("Basic abc") is None
