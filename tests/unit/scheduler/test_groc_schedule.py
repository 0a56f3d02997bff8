"""The English-like App Engine cron schedules: the documented forms, their runs, and what is refused."""

from __future__ import annotations

import pytest

from cloudtasks_emu.errors import Code, EmuError
from cloudtasks_emu.scheduler.schedule import parse_schedule
from tests.unit.scheduler.wallclock import local, runs, us


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        # Specific times: "every" or ordinals, weekdays or "day", optionally "of" months, then HH:MM.
        ("every day 00:00", "2026-01-01T12:00:00+00:00", ["2026-01-02T00:00", "2026-01-03T00:00"]),
        ("every monday 09:00", "2026-01-01T00:00:00+00:00", ["2026-01-05T09:00", "2026-01-12T09:00"]),
        ("Every Monday 9:00", "2026-01-01T00:00:00+00:00", ["2026-01-05T09:00", "2026-01-12T09:00"]),
        ("every mon,wed,fri 17:30", "2026-01-05T18:00:00+00:00", ["2026-01-07T17:30", "2026-01-09T17:30"]),
        ("every thursday of jan,feb 10:00", "2026-01-27T00:00:00+00:00", ["2026-01-29T10:00", "2026-02-05T10:00"]),
        ("1st,3rd monday of month 15:30", "2026-01-01T00:00:00+00:00", ["2026-01-05T15:30", "2026-01-19T15:30"]),
        ("first sunday of sep,oct,nov 00:00", "2026-01-01T00:00:00+00:00", ["2026-09-06T00:00", "2026-10-04T00:00"]),
        ("second,third tue of march 17:00", "2026-01-01T00:00:00+00:00", ["2026-03-10T17:00", "2026-03-17T17:00"]),
        ("fifth friday of month 08:00", "2026-01-01T00:00:00+00:00", ["2026-01-30T08:00", "2026-05-29T08:00"]),
        ("2nd wednesday 12:00", "2026-01-01T00:00:00+00:00", ["2026-01-14T12:00", "2026-02-11T12:00"]),
        # The day-of-month list form, and "<ordinal> day" as a day of the month.
        ("1,8,15,22 of month 09:00", "2026-01-02T00:00:00+00:00", ["2026-01-08T09:00", "2026-01-15T09:00"]),
        ("1 of jan,april,july,oct 00:00", "2026-01-02T00:00:00+00:00", ["2026-04-01T00:00", "2026-07-01T00:00"]),
        ("2nd,third day of month 06:00", "2026-01-02T12:00:00+00:00", ["2026-01-03T06:00", "2026-02-02T06:00"]),
        # Quarters, from the grammar of the same syntax.
        ("first monday of quarter 09:00", "2026-01-06T00:00:00+00:00", ["2026-04-06T09:00", "2026-07-06T09:00"]),
        ("1 of 2nd month of quarter 00:00", "2026-01-01T00:00:00+00:00", ["2026-02-01T00:00", "2026-05-01T00:00"]),
        # Intervals aligned to a daily window, or to midnight with "synchronized".
        (
            "every 2 hours from 10:00 to 14:00",
            "2026-01-01T00:00:00+00:00",
            ["2026-01-01T10:00", "2026-01-01T12:00", "2026-01-01T14:00", "2026-01-02T10:00"],
        ),
        (
            "every 25 mins from 23:30 to 00:30",  # a window past midnight
            "2026-01-01T12:00:00+00:00",
            ["2026-01-01T23:30", "2026-01-01T23:55", "2026-01-02T00:20", "2026-01-02T23:30"],
        ),
        (
            "every 6 hours synchronized",
            "2026-01-01T01:00:00+00:00",
            ["2026-01-01T06:00", "2026-01-01T12:00", "2026-01-01T18:00", "2026-01-02T00:00"],
        ),
        (
            "every 45 minutes synchronized",
            "2026-01-01T23:00:00+00:00",
            ["2026-01-01T23:15", "2026-01-02T00:00", "2026-01-02T00:45"],
        ),
    ],
)
def test_wall_clock_forms(schedule: str, after: str, expected: list[str]) -> None:
    assert [run[:16] for run in runs(schedule, "", after, len(expected))] == expected


@pytest.mark.parametrize(
    ("schedule", "period_s"), [("every 5 minutes", 300), ("every 1 mins", 60), ("every 12 hours", 43200)]
)
def test_plain_interval_counts_from_the_previous_run(schedule: str, period_s: int) -> None:
    parsed = parse_schedule(schedule, "America/New_York")
    start = us("2026-03-08T01:59:00-05:00") + 123  # DST changes nothing: this is real time
    assert parsed.next_runs(start, 3) == [start + k * period_s * 1_000_000 for k in (1, 2, 3)]
    assert parsed.english


def test_window_across_spring_forward_runs_the_gap_once() -> None:
    # New York, 2026-03-08: 02:00 and 02:30 do not exist; they run once, at 03:00 EDT, with 03:00 itself.
    assert runs("every 30 minutes from 01:00 to 03:30", "America/New_York", "2026-03-08T00:00:00-05:00", 5) == [
        "2026-03-08T01:00:00-05:00",
        "2026-03-08T01:30:00-05:00",
        "2026-03-08T03:00:00-04:00",
        "2026-03-08T03:30:00-04:00",
        "2026-03-09T01:00:00-04:00",
    ]


def test_specific_time_in_london_fall_back_runs_once() -> None:
    assert runs("every sunday 01:30", "Europe/London", "2026-10-24T00:00:00+01:00", 2) == [
        "2026-10-25T01:30:00+01:00",
        "2026-11-01T01:30:00+00:00",
    ]


def test_cron_schedules_are_not_english() -> None:
    assert not parse_schedule("0 9 * * *").english
    assert parse_schedule("1 of jan 00:00").english


@pytest.mark.parametrize(
    "schedule",
    [
        "every 5 seconds",
        "every 0 hours",
        "every 5 minutes from 10:00",
        "every 5 minutes from 10:00 to 25:00",
        "every 5 minutes from 10:60 to 11:00",
        "every 2 hours from 10:00 to 14:00 synchronized",
        "every 7 hours synchronized",  # synchronized needs a period that divides the day
        "every 25 hours synchronized",
        "every minutes",
        "every monday",
        "every monday 9",
        "every monday 09:00 and tuesday",
        "every funday 09:00",
        "6th monday of month 09:00",
        "1st monday of 13th month 09:00",
        "1,8 09:00",  # a day-of-month list needs "of"
        "32 of month 09:00",
        "31 of feb 09:00",  # never happens
        "every day of week 09:00",
        "every monday at 09:00",
        "every 5 minutes, every 10 minutes",
    ],
)
def test_invalid_english_schedule_is_refused_with_the_clouds_message(schedule: str) -> None:
    with pytest.raises(EmuError) as caught:
        parse_schedule(schedule)
    assert caught.value.code is Code.INVALID_ARGUMENT
    assert caught.value.message == "Schedule or time zone is invalid."


def test_local_helper_reads_back_an_instant() -> None:
    assert local(us("2026-07-01T12:00:00+02:00"), "Europe/Paris") == "2026-07-01T12:00:00+02:00"
