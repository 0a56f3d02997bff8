"""A job's RetryConfig: validation, the backoff formula, and when an execution retries or gives up."""

from __future__ import annotations

import pytest

from cloudtasks_emu.errors import Code, EmuError
from cloudtasks_emu.scheduler.retry import (
    Attempt,
    RetryConfig,
    TargetKind,
    counts,
    give_up_rule,
    interval_s,
    next_attempt_us,
    succeeded,
    validate_retry_config,
)

S = 1_000_000
FAR = 10**9 * S  # a next scheduled run that never interferes


def attempt_starts(
    config: RetryConfig,
    statuses: list[int | None],
    target: TargetKind = TargetKind.HTTP,
    next_scheduled_us: int = FAR,
    *,
    stop_at_next_run: bool = False,
    took_s: float = 0.0,
) -> list[float]:
    """Play one execution whose attempts answer `statuses` in turn; the start of each attempt, in seconds."""
    history: list[Attempt] = []
    start = 0
    for status in statuses:
        history.append(Attempt(start, start + round(took_s * S), status))
        following = next_attempt_us(config, target, history, next_scheduled_us, stop_at_next_run=stop_at_next_run)
        if following is None:
            return [attempt.started_us / S for attempt in history]
        start = following
    raise AssertionError(f"still retrying after {len(statuses)} attempts")


def test_backoff_follows_the_documented_example() -> None:
    # min 10 s, max 300 s, 3 doublings: doubles three times, then linear steps of 80 s, capped.
    config = RetryConfig(retry_count=5, min_backoff_s=10, max_backoff_s=300, max_doublings=3)
    assert [interval_s(k, config) for k in range(1, 9)] == [10, 20, 40, 80, 160, 240, 300, 300]


def test_backoff_with_the_api_defaults() -> None:
    assert [interval_s(k, RetryConfig()) for k in range(1, 6)] == [5, 10, 20, 40, 80]


def test_retry_count_retries_after_the_first_attempt() -> None:
    starts = attempt_starts(RetryConfig(retry_count=5), [500] * 10)
    assert starts == [0, 5, 15, 35, 75, 155]  # 1 + 5 attempts, 5, 10, 20, 40, 80 s apart


def test_no_retry_by_default() -> None:
    assert attempt_starts(RetryConfig(), [500, 500]) == [0]


def test_success_ends_the_execution() -> None:
    assert attempt_starts(RetryConfig(retry_count=5), [500, 204]) == [0, 5]


@pytest.mark.parametrize("status", [None, 301, 404, 429, 500, 503])
def test_every_non_2xx_or_missing_response_fails(status: int | None) -> None:
    assert not succeeded(status)
    assert attempt_starts(RetryConfig(retry_count=1), [status, status]) == [0, 5]


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_2xx_succeeds(status: int) -> None:
    assert succeeded(status)


def test_backoff_counts_from_the_failure() -> None:
    starts = attempt_starts(RetryConfig(retry_count=2), [500, 500, 500], took_s=30)
    assert starts == [0, 35, 75]  # each attempt took 30 s, then waited 5 s and 10 s


def test_max_retry_duration_alone_retries_until_it_is_spent() -> None:
    # retry_count 0 with a duration: retries go on until 60 s since the first attempt have passed.
    config = RetryConfig(max_retry_duration_s=60, min_backoff_s=10, max_backoff_s=10)
    assert attempt_starts(config, [500] * 20) == [0, 10, 20, 30, 40, 50, 60]


def test_with_both_limits_both_must_be_reached() -> None:
    config = RetryConfig(retry_count=2, max_retry_duration_s=45, min_backoff_s=10, max_backoff_s=10)
    assert attempt_starts(config, [500] * 20) == [0, 10, 20, 30, 40, 50]  # the duration outlasts the count
    config = RetryConfig(retry_count=4, max_retry_duration_s=5, min_backoff_s=10, max_backoff_s=10)
    assert attempt_starts(config, [500] * 20) == [0, 10, 20, 30, 40]  # the count outlasts the duration


def test_app_engine_503_is_retried_without_counting() -> None:
    starts = attempt_starts(RetryConfig(retry_count=1), [503, 503, 500, 503, 500, 500], TargetKind.APP_ENGINE)
    # Two counted failures (1 + retry_count) end it: the 503s in between did not use up the retry.
    assert starts == [0, 5, 15, 35, 75]
    assert not counts(TargetKind.APP_ENGINE, 503)
    assert counts(TargetKind.APP_ENGINE, 500)


def test_app_engine_503_is_retried_even_with_no_retries_configured() -> None:
    assert attempt_starts(RetryConfig(), [503, 503, 200], TargetKind.APP_ENGINE) == [0, 5, 15]


@pytest.mark.parametrize("target", [TargetKind.HTTP, TargetKind.PUBSUB])
def test_503_counts_for_other_targets(target: TargetKind) -> None:
    assert counts(target, 503)
    assert attempt_starts(RetryConfig(retry_count=1), [503, 503, 503], target) == [0, 5]


def test_uncounted_retries_stop_at_the_next_scheduled_run() -> None:
    # An App Engine app answering 503 forever yields to the next run instead of holding the job.
    starts = attempt_starts(RetryConfig(), [503] * 20, TargetKind.APP_ENGINE, next_scheduled_us=60 * S)
    assert starts == [0, 5, 15, 35]  # the next one, at 75 s, would be past the run due at 60 s


def test_counted_retries_run_through_the_next_scheduled_run() -> None:
    config = RetryConfig(retry_count=5)
    assert attempt_starts(config, [500] * 10, next_scheduled_us=20 * S) == [0, 5, 15, 35, 75, 155]


def test_stop_at_next_run_ends_retries_at_the_next_scheduled_run() -> None:
    config = RetryConfig(retry_count=5)
    starts = attempt_starts(config, [500] * 10, next_scheduled_us=20 * S, stop_at_next_run=True)
    assert starts == [0, 5, 15]


def test_empty_history_has_no_next_attempt() -> None:
    assert next_attempt_us(RetryConfig(retry_count=5), TargetKind.HTTP, [], FAR) is None


@pytest.mark.parametrize("retry_count", [0, 1, 5])
def test_retry_count_0_to_5_is_accepted(retry_count: int) -> None:
    validate_retry_config(RetryConfig(retry_count=retry_count))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (RetryConfig(retry_count=-1), "RetryConfig.retryCount must be between 0 and 5."),
        (RetryConfig(retry_count=6), "RetryConfig.retryCount must be between 0 and 5."),
        (RetryConfig(max_retry_duration_s=-1), "RetryConfig.maxRetryDuration cannot be negative."),
        (RetryConfig(min_backoff_s=-1), "RetryConfig.minBackoffDuration cannot be negative."),
        (RetryConfig(max_backoff_s=float("nan")), "RetryConfig.maxBackoffDuration cannot be negative."),
        (RetryConfig(max_doublings=-1), "RetryConfig.maxDoublings cannot be negative."),
        (
            RetryConfig(min_backoff_s=10, max_backoff_s=5),
            "RetryConfig.minBackoffDuration must be less than or equal to RetryConfig.maxBackoffDuration.",
        ),
    ],
)
def test_invalid_retry_config_is_refused(config: RetryConfig, message: str) -> None:
    with pytest.raises(EmuError) as caught:
        validate_retry_config(config)
    assert caught.value.code is Code.INVALID_ARGUMENT
    assert caught.value.message == message


def test_give_up_rule_in_words() -> None:
    assert give_up_rule(RetryConfig()) == "retry_count 0"
    assert (
        give_up_rule(RetryConfig(retry_count=3, max_retry_duration_s=90)) == "retry_count 3 and max_retry_duration 90 s"
    )
