"""Small summaries of samples."""

from __future__ import annotations

import math


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of some values, by the nearest-rank method."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def summary_ms(seconds: list[float]) -> dict[str, float | None]:
    """p50 / p99 / max of durations in milliseconds (None without samples)."""
    if not seconds:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    return {"p50_ms": ms(percentile(seconds, 50)), "p99_ms": ms(percentile(seconds, 99)), "max_ms": ms(max(seconds))}
