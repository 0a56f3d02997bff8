"""The cloud's counting rules for one push attempt, as functions of the task and the outcome.

No I/O and no clock: the scheduler passes the times in, so each rule can be checked from a table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..clock import US, to_us
from ..errors import Code, code_for_http
from ..model import AppEngineRequest, Attempt, Queue, RetryPolicy, Task
from .retry import backoff_s, gives_up

DEFAULT_DEADLINE_S = 600.0  # HTTP tasks, and App Engine tasks on automatic scaling
EXCERPT_BYTES = 1024  # of a handler's answer, kept in the attempt journal


@dataclass(slots=True, frozen=True)
class AttemptContext:
    """What the handler is told about this attempt (the X-AppEngine-* / X-CloudTasks-* headers)."""

    retry_count: int
    execution_count: int
    previous_response: int | None
    retry_reason: str | None
    eta_us: int


@dataclass(slots=True)
class Outcome:
    """Filled in by the delivery as it goes, so a timed-out attempt still knows its URL."""

    status: int | None = None  # HTTP status, None when no response came (timeout, connection error)
    url: str = ""
    error: str = ""  # "timeout" or a connection error
    latency_s: float = 0.0  # real time, measured by the delivery
    request_headers: dict[str, str] = field(default_factory=dict)
    response_excerpt: bytes = b""  # the first EXCERPT_BYTES of the answer's body

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


Deliver = Callable[[Queue, Task, AttemptContext, Outcome], Awaitable[None]]


def deadline_s(task: Task) -> float:
    return task.dispatch_deadline_ms / 1000 if task.dispatch_deadline_ms else DEFAULT_DEADLINE_S


def begin(task: Task, now_us: int) -> AttemptContext:
    """Count a dispatch on the task; the context is what this attempt's headers say."""
    context = AttemptContext(
        retry_count=task.dispatch_count,
        execution_count=task.execution_count,
        previous_response=task.previous_response,
        retry_reason=task.retry_reason,
        eta_us=task.schedule_us,
    )
    task.dispatch_count += 1
    if task.first_attempt is None:
        task.first_attempt = Attempt(schedule_us=task.schedule_us, dispatch_us=now_us)
    task.last_attempt = Attempt(schedule_us=task.schedule_us, dispatch_us=now_us)
    return context


def settle(task: Task, outcome: Outcome, now_us: int) -> None:
    """Record the response on the task and what the next attempt's headers will say."""
    app_engine = isinstance(task.payload, AppEngineRequest)
    attempt = task.last_attempt
    assert attempt is not None
    attempt.response_us = now_us
    if outcome.status is not None:
        task.response_count += 1
        attempt.response_code = 0 if outcome.ok else code_for_http(outcome.status).grpc_code
        attempt.response_message = "" if outcome.ok else f"HTTP {outcome.status}"
        # An App Engine handler's every answer counts as an execution; HTTP targets skip 5xx.
        if app_engine or outcome.status < 500:
            task.execution_count += 1
        task.previous_response = outcome.status
        task.retry_reason = "App Error" if app_engine else ""
    else:
        timed_out = outcome.error == "timeout"
        code = Code.DEADLINE_EXCEEDED if timed_out else Code.UNAVAILABLE
        attempt.response_code, attempt.response_message = code.grpc_code, outcome.error
        task.previous_response = 504 if timed_out and not app_engine else 0
        task.retry_reason = "Instance Unavailable" if app_engine else ""


def slows_queue(task: Task, outcome: Outcome) -> bool:
    """503 (and 429 from HTTP targets) halve the queue's rate, as the cloud's congestion control does."""
    return outcome.status == 503 or (outcome.status == 429 and not isinstance(task.payload, AppEngineRequest))


def retry_at_us(task: Task, policy: RetryPolicy, now: float) -> int | None:
    """When a failed task goes again, or None when its retries are spent."""
    first = task.first_attempt.dispatch_us if task.first_attempt and task.first_attempt.dispatch_us else 0
    if gives_up(task.dispatch_count, now - first / US, policy):
        return None
    return to_us(now + backoff_s(task.dispatch_count, policy))


def fail(task: Task, outcome: Outcome, queue_policy: RetryPolicy, now: float) -> bool:
    """Settle a failed attempt and set when the task goes again; False when its retries are spent."""
    settle(task, outcome, to_us(now))
    retry_at = retry_at_us(task, task.retry or queue_policy, now)
    if retry_at is None:
        return False
    task.schedule_us = retry_at
    return True
