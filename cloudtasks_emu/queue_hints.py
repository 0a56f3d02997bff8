"""Help for a mistyped queue name: the closest known names, in one log line and in the admin API's 404."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable

logger = logging.getLogger(__name__)

SHOWN = 20  # names listed in a message; a suite with thousands of queues gets the closest ones


def closest(name: str, known: Iterable[str], count: int = 3) -> list[str]:
    """Known names that look like `name`, best first. Full names share a long prefix, so everything
    would look alike: compare queue IDs, under the same parent or one whose project and location
    are each a typo away."""
    parent, _, queue_id = name.rpartition("/queues/")
    scored = []
    for full in known:
        other_parent, _, other_id = full.rpartition("/queues/")
        score = _similar(queue_id, other_id)
        if score >= 0.6 and _near_parent(parent, other_parent):
            scored.append((-score, other_parent != parent, full))
    return [full for *_, full in sorted(scored)[:count]]


def _similar(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def _near_parent(a: str, b: str) -> bool:
    parts_a, parts_b = a.split("/"), b.split("/")
    return len(parts_a) == len(parts_b) and all(_similar(x, y) >= 0.75 for x, y in zip(parts_a, parts_b, strict=True))


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
