"""Help for a mistyped queue name: the closest known names, in one log line and in the admin API's 404."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable

logger = logging.getLogger(__name__)

SHOWN = 20  # names listed in a message; a suite with thousands of queues gets the closest ones


def closest(name: str, known: Iterable[str], count: int = 3) -> list[str]:
    """Known names that look like `name`, best first: queue IDs under the same parent compared alone
    (full names share a long prefix, so everything would look alike), else a typo in the parent."""
    known = list(known)
    parent, _, queue_id = name.rpartition("/queues/")
    siblings = {k.rpartition("/queues/")[2]: k for k in known if k.rpartition("/queues/")[0] == parent}
    near = difflib.get_close_matches(queue_id, list(siblings), n=count, cutoff=0.6)
    return [siblings[i] for i in near] or difflib.get_close_matches(name, known, n=count, cutoff=0.9)


def unknown_queue(name: str, known: list[str]) -> str:
    """Log one INFO line naming the closest known queues, and return the same text for an answer."""
    near = closest(name, known)
    if near:
        hint = f"did you mean {' or '.join(near)}?"
    elif known:
        listed = ", ".join(sorted(known)[:SHOWN]) + (", ..." if len(known) > SHOWN else "")
        hint = f"known queues: {listed}"
    else:
        hint = "no queues exist"
    message = f"queue {name} does not exist; {hint}"
    logger.info("%s", message)
    return message
