"""Cloud Scheduler's rules as pure modules: schedules and time zones, RetryConfig, the job's fields and states.

Free of protos, storage and transports, so that the Scheduler API can be wired onto them.
"""

from __future__ import annotations

from .job_rules import JobSpec, JobState, validate_job
from .retry import Attempt, RetryConfig, TargetKind, next_attempt_us
from .schedule import INVALID_SCHEDULE, Schedule, parse_schedule

__all__ = [
    "INVALID_SCHEDULE",
    "Attempt",
    "JobSpec",
    "JobState",
    "RetryConfig",
    "Schedule",
    "TargetKind",
    "next_attempt_us",
    "parse_schedule",
    "validate_job",
]
