"""Unix-cron schedules and time zones as Cloud Scheduler accepts them, and their next runs (DST included)."""

from __future__ import annotations

import pytest

from cloudtasks_emu.errors import Code, EmuError
from cloudtasks_emu.scheduler.schedule import INVALID_SCHEDULE, parse_schedule
from tests.unit.scheduler.wallclock import local, runs, us


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        # The field table: minute, hour, day of month, month, day of week.
        ("* * * * *", "2026-01-01T00:00:00+00:00", ["00:01", "00:02", "00:03"]),
        ("*/15 * * * *", "2026-01-01T00:00:00+00:00", ["00:15", "00:30", "00:45"]),
        ("5,35 * * * *", "2026-01-01T00:00:00+00:00", ["00:05", "00:35", "01:05"]),
        ("0 9-11 * * *", "2026-01-01T00:00:00+00:00", ["09:00", "10:00", "11:00"]),
        # `0-23/2` and `*/2` in the hour field both mean every two hours.
        ("0 0-23/2 * * *", "2026-01-01T00:00:00+00:00", ["02:00", "04:00", "06:00"]),
        ("0 */2 * * *", "2026-01-01T00:00:00+00:00", ["02:00", "04:00", "06:00"]),
        ("0 8-17/4 * * *", "2026-01-01T00:00:00+00:00", ["08:00", "12:00", "16:00"]),
    ],
)
def test_times_of_day(schedule: str, after: str, expected: list[str]) -> None:
    assert [run[11:16] for run in runs(schedule, "", after, 3)] == expected


@pytest.mark.parametrize(
    ("schedule", "expected_days"),
    [
        # Both day fields restricted: a day matches when either does (the 1st, and every Saturday).
        ("0 9 1 * SAT", ["2026-01-01", "2026-01-03", "2026-01-10", "2026-01-17", "2026-01-24", "2026-01-31"]),
        # Day of week `*`: only the day of month counts, and the other way round.
        ("0 9 1 * *", ["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01", "2026-06-01"]),
        ("0 9 * * SAT", ["2026-01-03", "2026-01-10", "2026-01-17", "2026-01-24", "2026-01-31", "2026-02-07"]),
        # Names, ranges of names, 0 and 7 for Sunday, and names in lower case.
        ("0 9 * * MON-FRI", ["2026-01-01", "2026-01-02", "2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08"]),
        ("0 9 * * 0", ["2026-01-04", "2026-01-11", "2026-01-18", "2026-01-25", "2026-02-01", "2026-02-08"]),
        ("0 9 * * 7", ["2026-01-04", "2026-01-11", "2026-01-18", "2026-01-25", "2026-02-01", "2026-02-08"]),
        ("0 9 * * sun", ["2026-01-04", "2026-01-11", "2026-01-18", "2026-01-25", "2026-02-01", "2026-02-08"]),
        ("0 9 1 JAN,JUL *", ["2026-01-01", "2026-07-01", "2027-01-01", "2027-07-01", "2028-01-01", "2028-07-01"]),
        ("0 9 1 jan-mar/2 *", ["2026-01-01", "2026-03-01", "2027-01-01", "2027-03-01", "2028-01-01", "2028-03-01"]),
        ("0 9 29 2 *", ["2028-02-29", "2032-02-29", "2036-02-29", "2040-02-29", "2044-02-29", "2048-02-29"]),
        # crontab(5)'s macros.
        ("@monthly", ["2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01", "2026-06-01", "2026-07-01"]),
        ("@weekly", ["2026-01-04", "2026-01-11", "2026-01-18", "2026-01-25", "2026-02-01", "2026-02-08"]),
    ],
)
def test_days(schedule: str, expected_days: list[str]) -> None:
    assert [run[:10] for run in runs(schedule, "", "2026-01-01T00:00:00+00:00", 6)] == expected_days


def test_hourly_job_runs_24_times_a_day_in_order() -> None:
    schedule = parse_schedule("0 * * * *", "America/New_York")
    day = schedule.next_runs(us("2026-06-01T00:00:00-04:00"), 24)
    assert day == sorted(day)
    assert [local(run, "America/New_York")[11:16] for run in day] == [f"{h:02d}:00" for h in range(1, 24)] + ["00:00"]


def test_next_after_is_strictly_after() -> None:
    schedule = parse_schedule("30 12 * * *")
    assert local(schedule.next_after(us("2026-05-05T12:30:00+00:00")), "UTC") == "2026-05-06T12:30:00+00:00"
    assert local(schedule.next_after(us("2026-05-05T12:29:59+00:00")), "UTC") == "2026-05-05T12:30:00+00:00"
    # An instant within a second keeps its microseconds out of the run times.
    assert local(schedule.next_after(us("2026-05-05T12:00:00+00:00") + 1), "UTC") == "2026-05-05T12:30:00+00:00"


@pytest.mark.parametrize(
    ("time_zone", "expected"),
    [
        ("", "2026-01-01T09:00:00+00:00"),  # empty means UTC
        ("utc", "2026-01-01T09:00:00+00:00"),  # documented spelling
        ("UTC", "2026-01-01T09:00:00+00:00"),
        ("Etc/UTC", "2026-01-01T09:00:00+00:00"),  # what gcloud and Terraform send
        ("America/New_York", "2026-01-01T14:00:00+00:00"),
        ("Europe/Paris", "2026-01-01T08:00:00+00:00"),
        ("Asia/Kolkata", "2026-01-01T03:30:00+00:00"),
        ("America/Los_Angeles", "2026-01-01T17:00:00+00:00"),  # Firebase's 1st-gen default
    ],
)
def test_time_zone_is_the_wall_clock_of_the_schedule(time_zone: str, expected: str) -> None:
    schedule = parse_schedule("0 9 * * *", time_zone)
    assert schedule.time_zone == time_zone  # echoed verbatim
    assert local(schedule.next_after(us("2025-12-31T23:59:00+00:00")), "UTC") == expected


# --- DST: every wall-clock time runs once; a skipped one at the end of the gap, a repeated one first ---


@pytest.mark.parametrize(
    ("zone", "schedule", "after", "expected"),
    [
        # New York springs forward on 2026-03-08: 02:00 EST becomes 03:00 EDT.
        (
            "America/New_York",
            "30 2 * * *",
            "2026-03-07T12:00:00-05:00",
            ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"],
        ),
        (
            "America/New_York",
            "*/30 * * * *",
            "2026-03-08T01:00:00-05:00",
            ["2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00"],
        ),
        (
            "America/New_York",
            "0 * * * *",
            "2026-03-08T00:30:00-05:00",
            ["2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"],
        ),
        # London springs forward on 2026-03-29: 01:00 GMT becomes 02:00 BST.
        (
            "Europe/London",
            "15 1 * * *",
            "2026-03-28T12:00:00+00:00",
            ["2026-03-29T02:00:00+01:00", "2026-03-30T01:15:00+01:00"],
        ),
        (
            "Europe/London",
            "0 0-3 * * *",
            "2026-03-28T23:30:00+00:00",
            ["2026-03-29T00:00:00+00:00", "2026-03-29T02:00:00+01:00", "2026-03-29T03:00:00+01:00"],
        ),
    ],
)
def test_spring_forward_runs_a_skipped_time_once_at_the_end_of_the_gap(
    zone: str, schedule: str, after: str, expected: list[str]
) -> None:
    assert runs(schedule, zone, after, len(expected)) == expected


@pytest.mark.parametrize(
    ("zone", "schedule", "after", "expected"),
    [
        # New York falls back on 2026-11-01: 02:00 EDT becomes 01:00 EST, so 01:00-01:59 happens twice.
        (
            "America/New_York",
            "30 1 * * *",
            "2026-10-31T12:00:00-04:00",
            ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"],
        ),
        (
            "America/New_York",
            "0 * * * *",
            "2026-11-01T00:30:00-04:00",
            ["2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-01T03:00:00-05:00"],
        ),
        (
            "America/New_York",
            "*/20 * * * *",
            "2026-11-01T01:30:00-04:00",
            ["2026-11-01T01:40:00-04:00", "2026-11-01T02:00:00-05:00"],
        ),
        # London falls back on 2026-10-25: 02:00 BST becomes 01:00 GMT.
        (
            "Europe/London",
            "45 1 * * *",
            "2026-10-24T12:00:00+01:00",
            ["2026-10-25T01:45:00+01:00", "2026-10-26T01:45:00+00:00"],
        ),
    ],
)
def test_fall_back_runs_a_repeated_time_once_at_its_first_occurrence(
    zone: str, schedule: str, after: str, expected: list[str]
) -> None:
    assert runs(schedule, zone, after, len(expected)) == expected


def test_from_inside_the_repeated_hour_the_next_run_is_after_it() -> None:
    # 01:10 EST is the second 01:10 of the day: the runs of 01:20 and 01:40 already happened (EDT).
    assert runs("*/20 * * * *", "America/New_York", "2026-11-01T01:10:00-05:00", 2) == [
        "2026-11-01T02:00:00-05:00",
        "2026-11-01T02:20:00-05:00",
    ]


# --- what the cloud refuses ---


@pytest.mark.parametrize(
    "schedule",
    [
        "",  # a missing schedule on create
        "   ",
        "* * * *",  # four fields
        "0 0 * * * *",  # a seconds field: the finest granularity is one minute
        "0 0 * * * 2026",  # a year field
        "60 * * * *",
        "* 24 * * *",
        "* * 0 * *",
        "* * 32 * *",
        "* * * 13 *",
        "* * * * 8",
        "0 0 L * *",  # L is documented as not supported
        "0 0 * * 5L",
        "0 0 1W * *",
        "0 0 ? * MON",
        "0 0 * * MON#2",
        "5/15 * * * *",  # a step after a single number: crontab(5) only steps through `*` or a range
        "*/0 * * * *",
        "10-5 * * * *",
        "0 0 * JANUARY *",
        "0 0 * * MONDAY",
        "0 0 31 2 *",  # never happens
        "0 0 31 4,6,9,11 *",
        "@reboot",
        "@every 5m",
        "every",
        "hourly",
    ],
)
def test_invalid_schedule_is_refused_with_the_clouds_message(schedule: str) -> None:
    with pytest.raises(EmuError) as caught:
        parse_schedule(schedule)
    assert caught.value.code is Code.INVALID_ARGUMENT
    assert caught.value.message == INVALID_SCHEDULE == "Schedule or time zone is invalid."


@pytest.mark.parametrize("time_zone", ["Asia/Munbai", "America", "Mars/Olympus", "../etc/passwd", "/etc/localtime"])
def test_unknown_time_zone_is_refused_with_the_clouds_message(time_zone: str) -> None:
    with pytest.raises(EmuError) as caught:
        parse_schedule("0 9 * * *", time_zone)
    assert caught.value.code is Code.INVALID_ARGUMENT
    assert caught.value.message == "Schedule or time zone is invalid."


def test_describe_puts_a_cron_schedule_in_words() -> None:
    words = parse_schedule("0 9 * * MON-FRI").describe()
    assert "09:00" in words
    assert "Monday" in words
    assert parse_schedule("every 5 minutes").describe() == "every 5 minutes"
