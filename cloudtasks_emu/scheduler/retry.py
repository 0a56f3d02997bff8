"""A job's RetryConfig: its validation, and what follows a failed attempt, as pure functions of times.

One execution of a job is its first attempt plus the retries of that attempt. The backoff is the Cloud
Tasks formula (engine/retry.py), which the Scheduler proto describes in the same words. Times are epoch
microseconds (`*_us`), durations seconds (`*_s`).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..engine.retry import backoff_s
from ..errors import invalid
from ..model import RetryPolicy
from .limits import MAX_RETRY_COUNT

_US = 1_000_000


class TargetKind(enum.StrEnum):
    HTTP = "HTTP"
    APP_ENGINE = "APP_ENGINE"
    PUBSUB = "PUBSUB"


@dataclass(frozen=True, slots=True)
class RetryConfig:
    """Job.retry_config with the API's defaults (retry_count 0, no duration limit, 5 s to 1 h, 5 doublings)."""

    retry_count: int = 0
    max_retry_duration_s: float = 0.0  # 0: no limit
    min_backoff_s: float = 5.0
    max_backoff_s: float = 3600.0
    max_doublings: int = 5


@dataclass(frozen=True, slots=True)
class Attempt:
    """One finished attempt of the current execution. `http_status` is None when no response came
    (connection failure, attempt deadline, failed publish)."""

    started_us: int
    finished_us: int
    http_status: int | None


def validate_retry_config(config: RetryConfig) -> None:
    """Raises EmuError (INVALID_ARGUMENT) for a RetryConfig the cloud refuses."""
    if not 0 <= config.retry_count <= MAX_RETRY_COUNT:
        raise invalid(f"RetryConfig.retryCount must be between 0 and {MAX_RETRY_COUNT}.")
    for label, value in (
        ("maxRetryDuration", config.max_retry_duration_s),
        ("minBackoffDuration", config.min_backoff_s),
        ("maxBackoffDuration", config.max_backoff_s),
    ):
        if not math.isfinite(value) or value < 0:
            raise invalid(f"RetryConfig.{label} cannot be negative.")
    if config.max_doublings < 0:
        raise invalid("RetryConfig.maxDoublings cannot be negative.")
    if config.min_backoff_s > config.max_backoff_s:
        raise invalid("RetryConfig.minBackoffDuration must be less than or equal to RetryConfig.maxBackoffDuration.")


def succeeded(http_status: int | None) -> bool:
    """2xx is success; the final response after redirects decides."""
    return http_status is not None and 200 <= http_status <= 299


def counts(target: TargetKind, http_status: int | None) -> bool:
    """Whether a failed attempt uses up one of the retries: App Engine's 503 is a system error that
    the cloud retries regardless of RetryConfig."""
    return not (target is TargetKind.APP_ENGINE and http_status == 503)


def interval_s(retry: int, config: RetryConfig) -> float:
    """The wait before retry number `retry` (1 is the first retry): min 10 s, max 300 s, 3 doublings
    gives 10, 20, 40, 80, 160, 240, 300, 300."""
    policy = RetryPolicy(
        min_backoff_s=config.min_backoff_s, max_backoff_s=config.max_backoff_s, max_doublings=config.max_doublings
    )
    return backoff_s(retry, policy)


def next_attempt_us(
    config: RetryConfig,
    target: TargetKind,
    history: Sequence[Attempt],
    next_scheduled_us: int,
    *,
    stop_at_next_run: bool = False,
) -> int | None:
    """When the next attempt of this execution starts, or None when the execution is over.

    `history` is the execution's attempts in order; it is over when the last one succeeded or the
    limits are reached: `1 + retry_count` counted failures and, when set, `max_retry_duration` since
    the first attempt started, both (retry_count 0 with a duration retries until the duration is
    spent). The wait is measured from the failure. Retries not counted (App Engine 503) stop at the next
    scheduled run, `next_scheduled_us`, since nothing else would end them; with `stop_at_next_run`
    (the older proto wording) every retry does, else counted retries run through it.
    """
    if not history or succeeded(history[-1].http_status):
        return None
    last = history[-1]
    at_us = last.finished_us + round(interval_s(len(history), config) * _US)
    counted = counts(target, last.http_status)
    if counted and _limits_reached(config, target, history):
        return None
    if at_us >= next_scheduled_us and (stop_at_next_run or not counted):
        return None
    return at_us


def _limits_reached(config: RetryConfig, target: TargetKind, history: Sequence[Attempt]) -> bool:
    failures = sum(1 for attempt in history if counts(target, attempt.http_status))
    count_reached = failures >= 1 + config.retry_count
    if not config.max_retry_duration_s:
        return count_reached
    elapsed_us = history[-1].finished_us - history[0].started_us
    return count_reached and elapsed_us >= config.max_retry_duration_s * _US


def give_up_rule(config: RetryConfig) -> str:
    """The limits that end a failing execution, in words, for the log and the dashboard."""
    rules = [f"retry_count {config.retry_count}"]
    if config.max_retry_duration_s:
        rules.append(f"max_retry_duration {config.max_retry_duration_s:g} s")
    return " and ".join(rules)
