"""The English-like App Engine cron ("groc") schedules, translated into what schedule.py evaluates.

Specific times become a cron expression for cronsim (an ordinal weekday is cronsim's `DOW#N`), so one
library evaluates every wall-clock schedule; intervals become a daily window or a plain period. This is a
translator of the few documented forms, not a cron parser: it returns None for anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_DAY_TAILS = ("day", "day", "sday", "nesday", "rsday", "day", "urday")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_TAILS = ("uary", "ruary", "ch", "il", "", "e", "y", "ust", "tember", "ober", "ember", "ember")
_ORDINALS = {"1st": 1, "first": 1, "2nd": 2, "second": 2, "3rd": 3, "third": 3}
_ORDINALS |= {"4th": 4, "fourth": 4, "5th": 5, "fifth": 5}
_QUARTER_MONTHS = (1, 4, 7, 10)
_ALL_ORDINALS = frozenset(range(1, 6))
_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_NUMBER = re.compile(r"\d{1,5}")
_TOKEN = re.compile(r"[a-z0-9:]+|\S")
MINUTES_PER_DAY = 24 * 60


def _names(short: tuple[str, ...], tails: tuple[str, ...]) -> dict[str, int]:
    table = {name: i for i, name in enumerate(short)}
    table |= {name + tail: i for i, (name, tail) in enumerate(zip(short, tails, strict=True)) if tail}
    return table


_DAY_NAMES = _names(_DAYS, _DAY_TAILS)
_MONTH_NAMES = {name: i + 1 for name, i in _names(_MONTHS, _MONTH_TAILS).items()}


@dataclass(frozen=True, slots=True)
class Groc:
    """One translated schedule: exactly one of the three is set.

    cron: five fields for cronsim, evaluated in the job's wall-clock time.
    window: (first, last, step) minutes of the local day: runs at first, first + step, ... up to last
        (a last before first wraps past midnight).
    every_s: a period of real time between runs, counted from the previous run.
    """

    cron: str | None = None
    window: tuple[int, int, int] | None = None
    every_s: int | None = None


class _Tokens:
    def __init__(self, text: str) -> None:
        self.items = _TOKEN.findall(text.lower())
        self.pos = 0

    def peek(self) -> str:
        return self.items[self.pos] if self.pos < len(self.items) else ""

    def take(self) -> str:
        token = self.peek()
        self.pos += 1
        return token

    def list_of(self, table: dict[str, int]) -> set[int] | None:
        """A comma list of words from `table` (at least one), or None."""
        values: set[int] = set()
        while True:
            word = self.take()
            if word not in table:
                return None
            values.add(table[word])
            if self.peek() != ",":
                return values
            self.take()


def translate(text: str) -> Groc | None:
    """The schedule an English-like string names, or None when it is not one of the documented forms."""
    tokens = _Tokens(text)
    if not tokens.items:
        return None
    if tokens.items[0] == "every" and len(tokens.items) > 1 and _NUMBER.fullmatch(tokens.items[1]):
        return _interval(tokens)
    return _specific(tokens)


def _minutes(word: str) -> int | None:
    match = _TIME.fullmatch(word)
    return int(match[1]) * 60 + int(match[2]) if match else None


def _interval(tokens: _Tokens) -> Groc | None:
    tokens.take()  # every
    count = int(tokens.take())
    unit = tokens.take()
    if unit == "hours":
        step = count * 60
    elif unit in ("mins", "minutes"):
        step = count
    else:
        return None
    if step == 0:
        return None
    extra = tokens.take()
    if extra == "":
        return Groc(every_s=step * 60)
    if extra == "synchronized":
        # Aligned to midnight: only a period that divides the day keeps the same times every day.
        window = (0, MINUTES_PER_DAY - 1, step) if MINUTES_PER_DAY % step == 0 else None
    elif extra == "from":
        first = _minutes(tokens.take())
        last = _minutes(tokens.take()) if tokens.take() == "to" else None
        window = (first, last, step) if first is not None and last is not None else None
    else:
        return None
    return Groc(window=window) if window and tokens.take() == "" else None


def _specific(tokens: _Tokens) -> Groc | None:
    days_of_month: set[int] | None = None
    ordinals: frozenset[int] = _ALL_ORDINALS
    weekdays: set[int] | None = None
    if _NUMBER.fullmatch(tokens.peek()):
        days_of_month = tokens.list_of({str(n): n for n in range(1, 32)} | {f"0{n}": n for n in range(1, 10)})
        if days_of_month is None or tokens.peek() != "of":
            return None
    else:
        if tokens.peek() == "every":
            tokens.take()
        else:
            chosen = tokens.list_of(_ORDINALS)
            if chosen is None:
                return None
            ordinals = frozenset(chosen)
        if tokens.peek() == "day":
            tokens.take()
            # "<ordinal> day" is that day of the month; "every day" is every day.
            days_of_month = None if ordinals == _ALL_ORDINALS else set(ordinals)
            weekdays = None if days_of_month else set(range(7))
        else:
            weekdays = tokens.list_of(_DAY_NAMES)
            if weekdays is None:
                return None
    months = set(range(1, 13))
    if tokens.peek() == "of":
        tokens.take()
        chosen_months = _month_spec(tokens)
        if chosen_months is None:
            return None
        months = chosen_months
    at = _minutes(tokens.take())
    if at is None or tokens.take() != "":
        return None
    return Groc(cron=_cron(at, days_of_month, ordinals, weekdays, months))


def _month_spec(tokens: _Tokens) -> set[int] | None:
    word = tokens.peek()
    if word == "month":
        tokens.take()
        return set(range(1, 13))
    if word == "quarter":
        tokens.take()
        return set(_QUARTER_MONTHS)
    if word in _MONTH_NAMES:
        return tokens.list_of(_MONTH_NAMES)
    offsets = tokens.list_of({"1st": 0, "first": 0, "2nd": 1, "second": 1, "3rd": 2, "third": 2})
    if offsets is None or [tokens.take(), tokens.take(), tokens.take()] != ["month", "of", "quarter"]:
        return None
    return {start + offset for start in _QUARTER_MONTHS for offset in offsets}


def _cron(
    at: int, days_of_month: set[int] | None, ordinals: frozenset[int], weekdays: set[int] | None, months: set[int]
) -> str:
    def join(values: set[int] | list[str]) -> str:
        return ",".join(str(v) for v in sorted(values))

    month_field = "*" if len(months) == 12 else join(months)
    if days_of_month is not None:
        day_field, weekday_field = join(days_of_month), "*"
    elif weekdays is None or (len(weekdays) == 7 and ordinals == _ALL_ORDINALS):
        day_field, weekday_field = "*", "*"
    elif ordinals == _ALL_ORDINALS:
        day_field, weekday_field = "*", join(weekdays)
    else:
        day_field = "*"
        weekday_field = ",".join(f"{day}#{nth}" for day in sorted(weekdays) for nth in sorted(ordinals))
    return f"{at % 60} {at // 60} {day_field} {month_field} {weekday_field}"
