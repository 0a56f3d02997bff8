"""The cloud's backoff formula and give-up rule."""

from __future__ import annotations

import pytest

from cloudtasks_emu.engine.retry import backoff_s, gives_up
from cloudtasks_emu.model import RetryPolicy


def test_backoff_doubles_then_grows_linearly_up_to_the_cap() -> None:
    # The documented example: min 10 s, max 300 s, 3 doublings.
    policy = RetryPolicy(min_backoff_s=10, max_backoff_s=300, max_doublings=3)
    assert [backoff_s(k, policy) for k in range(1, 9)] == [10, 20, 40, 80, 160, 240, 300, 300]


def test_backoff_with_no_doublings_is_linear() -> None:
    policy = RetryPolicy(min_backoff_s=1, max_backoff_s=100, max_doublings=0)
    assert [backoff_s(k, policy) for k in range(1, 5)] == [1, 2, 3, 4]


def test_default_policy_starts_at_a_tenth_of_a_second() -> None:
    assert backoff_s(1, RetryPolicy()) == pytest.approx(0.1)
    assert backoff_s(40, RetryPolicy()) == 3600


@pytest.mark.parametrize(
    ("max_attempts", "duration_s", "attempts", "age_s", "stop"),
    [
        (3, 0, 2, 999, False),
        (3, 0, 3, 0, True),
        (-1, 0, 10_000, 1e9, False),  # unlimited both ways: until the task TTL
        (-1, 60, 50, 59, False),
        (-1, 60, 50, 60, True),
        (3, 60, 3, 10, False),  # both set: both must be reached
        (3, 60, 3, 60, True),
    ],
)
def test_gives_up(max_attempts: int, duration_s: float, attempts: int, age_s: float, stop: bool) -> None:
    policy = RetryPolicy(max_attempts=max_attempts, max_retry_duration_s=duration_s)
    assert gives_up(attempts, age_s, policy) is stop
