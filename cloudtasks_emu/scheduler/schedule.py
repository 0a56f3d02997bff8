"""A job's `schedule` and `time_zone`: validation as Cloud Scheduler does it, and the next run times.

Unix-cron is evaluated by cronsim, the English-like forms are translated by groc.py; both yield
wall-clock times of the job's zone, and one rule turns a wall-clock time into an instant: a time that
occurs twice (the clocks go back) names its first occurrence, a time that does not exist (the clocks
go forward) names the first instant after the gap. Every wall-clock time of the schedule runs once.
Times are epoch microseconds (`*_us`), as in the model.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from cronsim import CronSim, CronSimError

from ..errors import invalid
from .groc import Groc, translate

INVALID_SCHEDULE = "Schedule or time zone is invalid."

# The crontab(5) macros, as their five fields (@reboot has no meaning for a job).
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# The dialect Google's page describes (crontab(5)): numbers or three-letter names, `a-b` ranges, and
# `/N` only after `*` or a range. cronsim also knows L, W, #, ? and `a/N`; those are refused here.
_VALUE = r"(?:\d+|[A-Za-z]{3})"
_ITEM = re.compile(rf"(?:\*|{_VALUE}-{_VALUE})(?:/\d+)?|{_VALUE}")
# A repeated hour is skipped candidate by candidate: bounded far above the longest overlap in the tz
# database for an every-minute schedule.
_MAX_SKIPPED = 100_000
_US = 1_000_000


@functools.cache
def _zone_names() -> dict[str, str]:
    """Every tz database name, by its lower-case spelling (`utc` is documented for UTC)."""
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def resolve_zone(time_zone: str) -> tzinfo:
    """The zone a job's `time_zone` names; empty means UTC."""
    if not time_zone:
        return UTC
    name = _zone_names().get(time_zone.lower())
    if name is None:
        raise invalid(INVALID_SCHEDULE)
    return zoneinfo.ZoneInfo(name)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A validated schedule in its zone. `text` and `time_zone` are kept as given (echoed verbatim)."""

    text: str
    time_zone: str
    zone: tzinfo = field(repr=False)
    cron: str | None = None  # five fields, evaluated by cronsim
    window: tuple[int, int, int] | None = None  # groc "every N ... from A to B" / synchronized
    every_s: int | None = None  # groc "every N minutes|hours": real time since the previous run
    english: bool = False  # English-like: X-CloudScheduler-ScheduleTime is not promised for it

    def next_after(self, after_us: int) -> int:
        """The first run strictly after `after_us`.

        For a plain interval the run is `every_s` after `after_us`, so the caller passes the moment the
        previous execution ended (or the job was created, resumed or updated), as App Engine counts it.
        """
        if self.every_s is not None:
            return after_us + self.every_s * _US
        after = datetime.fromtimestamp(after_us / _US, UTC)
        walls = self._walls(after.astimezone(self.zone).replace(tzinfo=None))
        for _ in range(_MAX_SKIPPED):
            wall = next(walls, None)
            if wall is None:
                break
            instant = _instant(wall, self.zone)
            if instant > after:
                return _epoch_us(instant)
        raise RuntimeError(f"no run of {self.text!r} found after {after.isoformat()}")

    def next_runs(self, after_us: int, count: int) -> list[int]:
        """The next `count` runs after `after_us`, each counted from the one before."""
        runs: list[int] = []
        for _ in range(count):
            after_us = self.next_after(after_us)
            runs.append(after_us)
        return runs

    def describe(self) -> str:
        """The schedule in words, for the dashboard."""
        if self.cron is not None and not self.english:
            return CronSim(self.cron, datetime(2000, 1, 1)).explain()
        return self.text.strip()

    def _walls(self, start: datetime) -> Iterator[datetime]:
        """The schedule's wall-clock times after the naive local time `start`, in order."""
        if self.cron is not None:
            yield from CronSim(self.cron, start)  # ends past cronsim's 50-year horizon
        elif self.window is not None:
            yield from _window_walls(self.window, start)


def _window_walls(window: tuple[int, int, int], start: datetime) -> Iterator[datetime]:
    first, last, step = window
    span = (last - first) % (24 * 60)
    offsets = [first + k * step for k in range(span // step + 1)]
    day = start.date() - timedelta(days=1)  # a window that wraps past midnight started the day before
    while True:
        midnight = datetime.combine(day, time())
        for minutes in offsets:
            wall = midnight + timedelta(minutes=minutes)
            if wall > start:
                yield wall
        day += timedelta(days=1)


def _instant(wall: datetime, zone: tzinfo) -> datetime:
    """The instant a naive wall-clock time names in `zone`: its first occurrence, or the end of a gap."""
    earlier = wall.replace(tzinfo=zone, fold=0)
    as_utc = earlier.astimezone(UTC)
    if as_utc.astimezone(zone).replace(tzinfo=None) == wall:
        return as_utc
    # A skipped time: fold=0 applies the offset from before the jump (an instant after it), fold=1 the
    # offset from after it (an instant before it). The jump itself is the first whole second in between
    # that has the later offset.
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = int(as_utc.timestamp())
    offset = as_utc.astimezone(zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == offset:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _epoch_us(instant: datetime) -> int:
    return (instant - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _unix_cron(text: str) -> str | None:
    """The five fields of a unix-cron schedule in the accepted dialect, or None."""
    expression = _MACROS.get(text.strip().lower(), text)
    fields = expression.split()
    if len(fields) != 5 or not all(_ITEM.fullmatch(item) for part in fields for item in part.split(",")):
        return None
    return " ".join(fields)


def parse_schedule(text: str, time_zone: str = "") -> Schedule:
    """Validate a job's schedule and time zone as the cloud does.

    Raises:
        EmuError: INVALID_ARGUMENT `Schedule or time zone is invalid.` for a bad schedule or zone.
    """
    zone = resolve_zone(time_zone)
    cron = _unix_cron(text)
    groc: Groc | None = None if cron is not None else translate(text)
    if groc is not None:
        cron = groc.cron
    if cron is None and groc is None:
        raise invalid(INVALID_SCHEDULE)
    if cron is not None:
        try:
            # Some day within cronsim's 50-year horizon must match (`0 0 31 2 *` never does).
            next(CronSim(cron, datetime.combine(date(2000, 1, 1), time())))
        except (CronSimError, StopIteration):
            raise invalid(INVALID_SCHEDULE) from None
    return Schedule(
        text=text,
        time_zone=time_zone,
        zone=zone,
        cron=cron,
        window=groc.window if groc else None,
        every_s=groc.every_s if groc else None,
        english=groc is not None,
    )
