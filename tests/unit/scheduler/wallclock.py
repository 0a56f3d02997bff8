"""Instants written as wall-clock times, for the scheduler's table tests."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from cloudtasks_emu.scheduler.schedule import parse_schedule


def us(iso: str) -> int:
    """Epoch microseconds of an ISO 8601 time with its offset."""
    return int(datetime.fromisoformat(iso).timestamp()) * 1_000_000


def local(run_us: int, zone: str) -> str:
    """A run as the job's wall clock shows it, offset included."""
    return datetime.fromtimestamp(run_us / 1_000_000, UTC).astimezone(ZoneInfo(zone)).isoformat()


def runs(schedule: str, time_zone: str, after: str, count: int) -> list[str]:
    """The next `count` runs of a schedule after `after`, on the job's wall clock."""
    parsed = parse_schedule(schedule, time_zone)
    return [local(run, time_zone or "UTC") for run in parsed.next_runs(us(after), count)]
