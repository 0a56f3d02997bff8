"""Cloud Scheduler's rules as pure modules: schedules and time zones, RetryConfig, the job's fields and states.

Free of protos, storage and transports, so that the Scheduler API can be wired onto them.
"""

from __future__ import annotations

from .retry import Attempt, RetryConfig, TargetKind, next_attempt_us
from .schedule import INVALID_SCHEDULE, Schedule, parse_schedule

__all__ = [
    "INVALID_SCHEDULE",
    "Attempt",
    "RetryConfig",
    "Schedule",
    "TargetKind",
    "next_attempt_us",
    "parse_schedule",
]
