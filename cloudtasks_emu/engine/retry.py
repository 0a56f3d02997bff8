"""The cloud's retry rules as pure functions of explicit times."""

from __future__ import annotations

from ..model import RetryPolicy


def backoff_s(retry: int, policy: RetryPolicy) -> float:
    """Delay before retry number `retry` (1 after the first failed attempt).

    min_backoff doubles max_doublings times, then grows in linear steps of min * 2**max_doublings,
    capped at max_backoff: min 10 s, max 300 s, 3 doublings gives 10, 20, 40, 80, 160, 240, 300.
    """
    doublings = policy.max_doublings
    if retry <= doublings + 1:
        delay = policy.min_backoff_s * 2 ** (retry - 1)
    else:
        delay = policy.min_backoff_s * 2**doublings * (retry - doublings)
    return float(min(policy.max_backoff_s, delay))


def gives_up(attempts: int, age_s: float, policy: RetryPolicy) -> bool:
    """Whether a task that failed `attempts` times, first dispatched `age_s` ago, is dropped.

    With both limits set, both must be reached; with neither, the task retries for ever (Queue.task_ttl
    is stored and returned, not enforced).
    """
    limit = None if policy.max_attempts < 0 else policy.max_attempts
    duration = policy.max_retry_duration_s or None
    if limit is None and duration is None:
        return False
    return (limit is None or attempts >= limit) and (duration is None or age_s >= duration)


def give_up_rule(policy: RetryPolicy) -> str:
    """The limits that drop a failing task, in words, for the log and the dashboard."""
    rules = [f"max_attempts {policy.max_attempts}"] if policy.max_attempts >= 0 else []
    if policy.max_retry_duration_s:
        rules.append(f"max_retry_duration {policy.max_retry_duration_s:g} s")
    return " and ".join(rules) or "no retry limit"
