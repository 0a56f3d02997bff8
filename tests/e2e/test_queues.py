"""Queue RPCs through the official clients of all three versions, over gRPC and REST."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from google.protobuf import duration_pb2, field_mask_pb2

from .conftest import PARENT, VERSIONS, app_engine_task, push_queue, raises, unique_queue_name

pytestmark = pytest.mark.transports("grpc", "rest")


def rate_names(version: str) -> tuple[str, str]:
    if version == "v2beta2":
        return "max_tasks_dispatched_per_second", "max_concurrent_tasks"
    return "max_dispatches_per_second", "max_concurrent_dispatches"


def fresh_location() -> str:
    return f"projects/list-project/locations/loc-{uuid.uuid4().hex[:10]}"


def test_create_queue_fills_the_cloud_defaults(client: Any, version: str) -> None:
    name = unique_queue_name()
    queue = client.create_queue(parent=PARENT, queue=push_queue(version, name))
    rate, concurrency = rate_names(version)
    assert queue.name == name
    assert queue.state == queue.State.RUNNING
    assert getattr(queue.rate_limits, rate) == 500
    assert queue.rate_limits.max_burst_size == 100
    assert getattr(queue.rate_limits, concurrency) == 1000
    retry = queue.retry_config
    assert retry.max_attempts == 100
    assert retry.min_backoff.total_seconds() == pytest.approx(0.1)
    assert retry.max_backoff.total_seconds() == 3600
    assert retry.max_doublings == 16
    assert client.get_queue(name=name) == queue


def test_create_queue_duplicate_is_already_exists(client: Any, version: str, queue_name: str) -> None:
    with raises("ALREADY_EXISTS", match="Queue already exists"):
        client.create_queue(parent=PARENT, queue=push_queue(version, queue_name))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (f"{PARENT}/queues/bad_id", "Queue name must be formatted"),
        (f"{PARENT}/queues/{'x' * 101}", "Queue name must be formatted"),
        ("projects/p/locations/elsewhere/queues/q", "must begin with"),
    ],
)
def test_create_queue_bad_name(client: Any, version: str, name: str, message: str) -> None:
    with raises("INVALID_ARGUMENT", match=message):
        client.create_queue(parent=PARENT, queue=push_queue(version, name))


@pytest.mark.transports("grpc")  # over REST the parent is a URL path: the client refuses it unsent
def test_create_queue_malformed_parent_is_permission_denied(client: Any, version: str) -> None:
    with raises("PERMISSION_DENIED", match="not-a-valid-parent"):
        client.create_queue(parent="not-a-valid-parent", queue=push_queue(version, unique_queue_name()))


def test_create_queue_out_of_range_names_the_field(client: Any, tasks: Any, version: str) -> None:
    rate, concurrency = rate_names(version)
    cases = [
        ({rate: 501}, "RateLimits.max.*must be less than or equal to 500"),
        ({rate: -1}, "cannot be negative"),
        ({concurrency: 5001}, "must be less than or equal to 5000"),
    ]
    for limits, message in cases:
        queue = push_queue(version, unique_queue_name(), rate_limits=tasks.RateLimits(**limits))
        with raises("INVALID_ARGUMENT", match=message):
            client.create_queue(parent=PARENT, queue=queue)
    retry_cases = [
        ({"max_doublings": -1}, "RetryConfig.maxDoublings cannot be negative."),
        ({"min_backoff": duration_pb2.Duration(seconds=-1)}, "RetryConfig.minBackoff cannot be negative."),
        (
            {
                "min_backoff": duration_pb2.Duration(seconds=20),
                "max_backoff": duration_pb2.Duration(seconds=10),
            },
            "RetryConfig.minBackoff must be less than or equal to RetryConfig.maxBackoff.",
        ),
        ({"max_attempts": -2}, "RetryConfig.maxAttempts"),
    ]
    for retry, message in retry_cases:
        queue = push_queue(version, unique_queue_name(), retry_config=tasks.RetryConfig(**retry))
        with raises("INVALID_ARGUMENT", match=message):
            client.create_queue(parent=PARENT, queue=queue)


def test_create_queue_keeps_given_settings(client: Any, tasks: Any, version: str) -> None:
    rate, concurrency = rate_names(version)
    retry = tasks.RetryConfig(max_attempts=5, min_backoff=duration_pb2.Duration(seconds=2), max_doublings=3)
    queue = push_queue(
        version,
        unique_queue_name(),
        rate_limits=tasks.RateLimits(**{rate: 7, concurrency: 3}),
        retry_config=retry,
    )
    created = client.create_queue(parent=PARENT, queue=queue)
    assert getattr(created.rate_limits, rate) == 7
    assert getattr(created.rate_limits, concurrency) == 3
    assert created.rate_limits.max_burst_size == 7  # derived from the rate
    assert created.retry_config.max_attempts == 5
    assert created.retry_config.min_backoff.total_seconds() == 2
    assert created.retry_config.max_doublings == 3


def test_create_queue_v2beta2_needs_a_target(clients: dict[str, Any]) -> None:
    queue = VERSIONS["v2beta2"].Queue(name=unique_queue_name())
    with raises("INVALID_ARGUMENT", match="targetType"):
        clients["v2beta2"].create_queue(parent=PARENT, queue=queue)


def test_get_queue_missing_is_not_found(client: Any) -> None:
    with raises("NOT_FOUND", match="Queue does not exist"):
        client.get_queue(name=unique_queue_name())


def test_list_queues_pages_with_tokens_that_survive_changes(client: Any, version: str) -> None:
    # Given five queues in a location of their own
    location = fresh_location()
    names = [f"{location}/queues/q{i}" for i in range(5)]
    for name in names:
        client.create_queue(parent=location, queue=push_queue(version, name))
    # When paging two at a time while a queue is added and one deleted
    first = client.list_queues(request={"parent": location, "page_size": 2}).pages
    page = next(first)
    assert [q.name for q in page.queues] == names[:2]
    client.create_queue(parent=location, queue=push_queue(version, f"{location}/queues/q2a"))
    client.delete_queue(name=names[3])
    rest = client.list_queues(request={"parent": location, "page_size": 2, "page_token": page.next_page_token})
    # Then the token resumes after the last name seen
    assert [q.name for q in rest] == [names[2], f"{location}/queues/q2a", names[4]]


def test_list_queues_filter_by_state(client: Any, version: str) -> None:
    location = fresh_location()
    for i in range(3):
        client.create_queue(parent=location, queue=push_queue(version, f"{location}/queues/q{i}"))
    client.pause_queue(name=f"{location}/queues/q1")
    paused = client.list_queues(request={"parent": location, "filter": "state: PAUSED"})
    assert [q.name for q in paused] == [f"{location}/queues/q1"]
    with raises("INVALID_ARGUMENT", match="filter"):
        list(client.list_queues(request={"parent": location, "filter": "bogus ~~ x"}))


def test_list_queues_token_with_changed_filter_is_invalid(client: Any, version: str) -> None:
    location = fresh_location()
    for i in range(3):
        client.create_queue(parent=location, queue=push_queue(version, f"{location}/queues/q{i}"))
    page = next(client.list_queues(request={"parent": location, "page_size": 1}).pages)
    request = {"parent": location, "page_token": page.next_page_token, "filter": "state: RUNNING"}
    with raises("INVALID_ARGUMENT", match="page token"):
        list(client.list_queues(request=request))
    with raises("INVALID_ARGUMENT", match="page token"):
        list(client.list_queues(request={"parent": location, "page_token": "garbage"}))


def test_update_queue_changes_only_masked_fields(client: Any, tasks: Any, version: str, queue_name: str) -> None:
    rate, concurrency = rate_names(version)
    change = push_queue(
        version,
        queue_name,
        rate_limits=tasks.RateLimits(**{rate: 20, concurrency: 7}),
        retry_config=tasks.RetryConfig(max_attempts=3),
    )
    mask = field_mask_pb2.FieldMask(paths=[f"rate_limits.{rate}"])
    updated = client.update_queue(queue=change, update_mask=mask)
    assert getattr(updated.rate_limits, rate) == 20
    assert getattr(updated.rate_limits, concurrency) == 1000
    assert updated.retry_config.max_attempts == 100
    if version == "v2":
        assert updated.rate_limits.max_burst_size == 20  # output only: recomputed on update
    assert client.get_queue(name=queue_name) == updated


def test_update_queue_with_empty_mask_replaces_everything(
    client: Any, tasks: Any, version: str, queue_name: str
) -> None:
    rate, _ = rate_names(version)
    client.update_queue(
        queue=push_queue(version, queue_name, rate_limits=tasks.RateLimits(**{rate: 3})),
        update_mask=field_mask_pb2.FieldMask(paths=[f"rate_limits.{rate}"]),
    )
    replaced = client.update_queue(
        queue=push_queue(version, queue_name, retry_config=tasks.RetryConfig(max_attempts=9))
    )
    assert getattr(replaced.rate_limits, rate) == 500
    assert replaced.retry_config.max_attempts == 9


def test_update_queue_creates_a_missing_queue(client: Any, version: str) -> None:
    name = unique_queue_name()
    created = client.update_queue(queue=push_queue(version, name))
    assert created.state == created.State.RUNNING
    assert client.get_queue(name=name).name == name


def test_update_queue_bad_mask_is_invalid(client: Any, version: str, queue_name: str) -> None:
    with raises("INVALID_ARGUMENT", match="field mask"):
        client.update_queue(queue=push_queue(version, queue_name), update_mask=field_mask_pb2.FieldMask(paths=["nope"]))


def test_pause_resume_and_state(client: Any, queue_name: str) -> None:
    assert client.pause_queue(name=queue_name).state.name == "PAUSED"
    assert client.get_queue(name=queue_name).state.name == "PAUSED"
    assert client.resume_queue(name=queue_name).state.name == "RUNNING"


def test_missing_queue_operations_are_not_found(client: Any) -> None:
    name = unique_queue_name()
    for call in (client.pause_queue, client.resume_queue, client.purge_queue):
        with raises("NOT_FOUND", match="Queue does not exist"):
            call(name=name)
    with raises("NOT_FOUND", match="Requested entity was not found."):
        client.delete_queue(name=name)


def test_purge_queue_removes_tasks_and_sets_purge_time(client: Any, version: str, queue_name: str) -> None:
    for _ in range(3):
        client.create_task(parent=queue_name, task=app_engine_task(version))
    purged = client.purge_queue(name=queue_name)
    assert purged.purge_time is not None
    assert purged.purge_time.timestamp() > 0
    assert list(client.list_tasks(parent=queue_name)) == []
    client.create_task(parent=queue_name, task=app_engine_task(version))
    assert len(list(client.list_tasks(parent=queue_name))) == 1


def test_delete_queue_removes_it_and_blocks_the_name(client: Any, version: str, queue_name: str) -> None:
    task = client.create_task(parent=queue_name, task=app_engine_task(version))
    client.delete_queue(name=queue_name)
    with raises("NOT_FOUND"):
        client.get_queue(name=queue_name)
    with raises("NOT_FOUND"):
        client.get_task(name=task.name)
    with raises("FAILED_PRECONDITION", match="existed too recently"):
        client.create_queue(parent=PARENT, queue=push_queue(version, queue_name))
    with raises("NOT_FOUND", match="Queue does not exist"):
        client.create_task(parent=queue_name, task=app_engine_task(version))


@pytest.mark.parametrize("version", ["v2beta3", "v2beta2"])
def test_read_mask_returns_stats_only_when_asked(client: Any, version: str, queue_name: str) -> None:
    client.create_task(parent=queue_name, task=app_engine_task(version))
    plain = client.get_queue(name=queue_name)
    assert not plain.stats.tasks_count
    masked = client.get_queue(request={"name": queue_name, "read_mask": field_mask_pb2.FieldMask(paths=["stats"])})
    assert masked.stats.tasks_count == 1
    assert masked.stats.oldest_estimated_arrival_time is not None
    listed = client.list_queues(request={"parent": PARENT, "read_mask": {"paths": ["name", "stats"]}})
    assert any(q.name == queue_name and q.stats.tasks_count == 1 for q in listed)


def test_pull_queues_through_v2beta2_and_v2beta3(clients: dict[str, Any]) -> None:
    b2, b3 = VERSIONS["v2beta2"], VERSIONS["v2beta3"]
    name = unique_queue_name("pull")
    created = clients["v2beta2"].create_queue(parent=PARENT, queue=b2.Queue(name=name, pull_target=b2.PullTarget()))
    assert "pull_target" in created
    assert created.rate_limits.max_concurrent_tasks == -1
    assert clients["v2beta3"].get_queue(name=name).type_ == b3.Queue.Type.PULL
    b3_name = unique_queue_name("pull")
    made = clients["v2beta3"].create_queue(parent=PARENT, queue=b3.Queue(name=b3_name, type_=b3.Queue.Type.PULL))
    assert made.type_ == b3.Queue.Type.PULL
    assert "pull_target" in clients["v2beta2"].get_queue(name=b3_name)
    with raises("INVALID_ARGUMENT", match="target type"):
        clients["v2beta3"].update_queue(queue=b3.Queue(name=b3_name, type_=b3.Queue.Type.PUSH))
