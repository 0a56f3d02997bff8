"""One bounded wait for the tests: poll a condition in real time until it holds or the time is up.

For what the emulator does on its own time (a log line, a queue taken by a process, a server up), never
for a backoff: those move with `--virtual-clock` and `/_emu/drain`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    check: Callable[[], T], what: str | Callable[[], str], timeout_s: float = 10.0, every_s: float = 0.05
) -> T:
    """The first truthy value of `check()`, polled every `every_s`; AssertionError naming `what` (or
    what it returns, for a message that shows the last state) after `timeout_s`."""
    end = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= end:
            said = what() if callable(what) else what
            raise AssertionError(f"{said} (waited {timeout_s:g} s)")
        time.sleep(every_s)
