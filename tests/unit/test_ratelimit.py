"""Token bucket and congestion slow-down."""

from __future__ import annotations

import pytest

from cloudtasks_emu.engine.ratelimit import TokenBucket


def test_burst_then_rate() -> None:
    bucket = TokenBucket(rate=2, burst=3, now=0)
    assert [bucket.take(0) for _ in range(3)] == [0, 0, 0]
    assert bucket.take(0) == pytest.approx(0.5)
    assert bucket.take(0.5) == 0
    assert bucket.take(0.5) == pytest.approx(0.5)


def test_throttle_halves_and_recover_ramps_back() -> None:
    bucket = TokenBucket(rate=100, burst=1, now=0)
    bucket.throttle()
    bucket.throttle()
    assert bucket.effective_rate == 25
    for _ in range(200):
        bucket.recover()
    assert bucket.effective_rate == 100


def test_configure_keeps_a_throttled_rate_below_the_new_rate() -> None:
    bucket = TokenBucket(rate=100, burst=10, now=0)
    bucket.throttle()
    bucket.configure(rate=20, burst=5)
    assert bucket.effective_rate == 20
    assert bucket.tokens == 5
    bucket.throttle()
    bucket.configure(rate=300, burst=5)
    assert bucket.effective_rate == 10  # still recovering from congestion


def test_a_token_a_hair_short_at_epoch_times_is_taken() -> None:
    # Epoch seconds near 1.8e9 are floats ~0.2 us apart: 50 ms of refill at 20/s may come out a hair
    # below one token, and a wait that short must not be asked for (the loop would spin on it).
    now = 1_796_192_504.192172
    bucket = TokenBucket(20, 1, now)
    assert bucket.take(now) == 0
    later = round((now + 0.05) * 1_000_000) / 1_000_000  # as the shared clock stores it
    assert later - now < 0.05  # the hair
    assert bucket.take(later) == 0
