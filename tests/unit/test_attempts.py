"""The cloud's counting rules for one push attempt: what the task records and the next headers say."""

from __future__ import annotations

import pytest

from cloudtasks_emu.engine.attempts import Outcome, begin, retry_at_us, settle, slows_queue
from cloudtasks_emu.errors import Code
from cloudtasks_emu.model import AppEngineRequest, HttpRequest, Payload, RetryPolicy, Task

APP, HTTP = AppEngineRequest, HttpRequest


def attempted(payload: Payload, outcome: Outcome) -> Task:
    task = Task(name="projects/p/locations/l/queues/q/tasks/t", payload=payload, schedule_us=5, create_us=1)
    begin(task, now_us=10)
    settle(task, outcome, now_us=20)
    return task


@pytest.mark.parametrize(
    ("kind", "status", "error", "executions", "previous", "reason", "code"),
    [
        (APP, 200, "", 1, 200, "App Error", 0),
        (HTTP, 200, "", 1, 200, "", 0),
        (APP, 500, "", 1, 500, "App Error", Code.INTERNAL.grpc_code),  # App Engine: every answer executes
        (HTTP, 500, "", 0, 500, "", Code.INTERNAL.grpc_code),  # HTTP targets: 5xx does not
        (HTTP, 404, "", 1, 404, "", Code.NOT_FOUND.grpc_code),
        (APP, None, "timeout", 0, 0, "Instance Unavailable", Code.DEADLINE_EXCEEDED.grpc_code),
        (HTTP, None, "timeout", 0, 504, "", Code.DEADLINE_EXCEEDED.grpc_code),
        (HTTP, None, "ClientConnectorError: refused", 0, 0, "", Code.UNAVAILABLE.grpc_code),
    ],
)
def test_settle(
    kind: type[Payload], status: int | None, error: str, executions: int, previous: int, reason: str, code: int
) -> None:
    task = attempted(kind(), Outcome(status=status, error=error))
    assert (task.execution_count, task.previous_response, task.retry_reason) == (executions, previous, reason)
    assert task.last_attempt is not None
    assert (task.last_attempt.response_code, task.last_attempt.response_us) == (code, 20)
    assert task.response_count == (0 if status is None else 1)


def test_begin_counts_the_dispatch_and_keeps_the_first_attempt() -> None:
    task = Task(name="n", payload=HTTP(), schedule_us=5, create_us=1, dispatch_count=0)
    context = begin(task, now_us=10)
    assert (context.retry_count, context.eta_us, context.previous_response) == (0, 5, None)
    task.schedule_us = 50
    second = begin(task, now_us=60)
    assert second.retry_count == 1
    assert task.first_attempt is not None
    assert task.last_attempt is not None
    assert (task.first_attempt.dispatch_us, task.last_attempt.dispatch_us, task.dispatch_count) == (10, 60, 2)


@pytest.mark.parametrize(
    ("kind", "status", "slows"),
    [(APP, 503, True), (HTTP, 503, True), (HTTP, 429, True), (APP, 429, False), (HTTP, 500, False)],
)
def test_slows_queue(kind: type[Payload], status: int, slows: bool) -> None:
    task = Task(name="n", payload=kind(), schedule_us=0, create_us=0)
    assert slows_queue(task, Outcome(status=status)) is slows


def test_retry_at_backs_off_then_gives_up() -> None:
    task = Task(name="n", payload=HTTP(), schedule_us=0, create_us=0)
    policy = RetryPolicy(max_attempts=2, min_backoff_s=10)
    begin(task, now_us=1_000_000)
    assert retry_at_us(task, policy, now=1.0) == 11_000_000
    begin(task, now_us=11_000_000)
    assert retry_at_us(task, policy, now=11.0) is None
