"""Token bucket for max_dispatches_per_second / max_burst_size, with congestion slow-down."""

from __future__ import annotations

from ..clock import EPSILON_S


class TokenBucket:
    """Tokens refill at `rate` per second up to `burst`; `take` spends one or says how long to wait.

    A 503 (or 429 from an HTTP target) halves the effective rate, and each success wins back
    a tenth of the way to the configured rate, the way the cloud's congestion control backs off
    and ramps up again.
    """

    MIN_RATE = 0.1

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self.effective_rate = rate
        self.tokens = float(self.burst)
        self.updated = now

    def configure(self, rate: float, burst: int) -> None:
        throttled = self.effective_rate < self.rate
        self.rate, self.burst = rate, max(1, burst)
        self.effective_rate = min(self.effective_rate, rate) if throttled else rate
        self.tokens = min(self.tokens, self.burst)

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.effective_rate)
            self.updated = now

    def take(self, now: float) -> float:
        """Spend a token and return 0, or return the seconds until one is available."""
        self._refill(now)
        # Epoch seconds as floats are only ~0.2 us apart, so a token may refill a hair short of 1: a wait
        # below the clock's resolution would return at once and be asked for again and again.
        if self.tokens >= 1 - EPSILON_S * self.effective_rate:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.effective_rate

    def throttle(self) -> None:
        self.effective_rate = max(self.MIN_RATE, self.effective_rate / 2)

    def recover(self) -> None:
        if self.effective_rate < self.rate:
            self.effective_rate = min(self.rate, self.effective_rate + (self.rate - self.effective_rate) / 10 + 0.1)
