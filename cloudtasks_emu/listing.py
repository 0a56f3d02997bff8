"""Listing helpers of the service: page sizes, opaque page tokens that encode a position, ListQueues' filter."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from .errors import invalid
from .model import Queue, QueueState

T = TypeVar("T")


@dataclass(slots=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str


def clamp_page_size(page_size: int, max_page: int) -> int:
    if page_size < 0:
        raise invalid("page_size must not be negative.")
    return min(page_size or max_page, max_page)


def _filter_digest(filter_: str) -> str:
    return hashlib.sha256(filter_.encode()).hexdigest()[:12]


def encode_page_token(after: str, filter_: str) -> str:
    raw = json.dumps({"after": after, "filter": _filter_digest(filter_)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str, filter_: str) -> str:
    """The name to continue after; INVALID_ARGUMENT for a foreign token or a changed filter."""
    if not token:
        return ""
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        after, digest = data["after"], data["filter"]
    except (ValueError, binascii.Error, KeyError, TypeError, RecursionError) as exc:
        raise invalid("Invalid page token.") from exc
    if not isinstance(after, str) or digest != _filter_digest(filter_):
        raise invalid("Invalid page token: the filter changed between pages.")
    return after


def page(items: Iterator[T], size: int, key: Callable[[T], str], filter_: str) -> Page[T]:
    page: list[T] = []
    for item in items:
        if len(page) == size:
            return Page(page, encode_page_token(key(page[-1]), filter_))
        page.append(item)
    return Page(page, "")


_FILTER_TERM = re.compile(r"\s*([A-Za-z_.]+)\s*(?::|=)\s*(\"[^\"]*\"|[^\s\"]+)\s*")
_TARGET_FIELDS: dict[str, Callable[[Queue], bool]] = {
    "app_engine_http_target": lambda q: not q.pull and q.http_target is None,
    "app_engine_http_queue": lambda q: not q.pull and q.http_target is None,
    "app_engine_routing_override": lambda q: q.app_engine_routing_override is not None,
    "http_target": lambda q: q.http_target is not None,
    "pull_target": lambda q: q.pull,
}


def queue_filter(filter_: str) -> Callable[[Queue], bool]:
    """A predicate for ListQueues' filter: `state: PAUSED`, `http_target: *`, joined by AND."""
    checks: list[Callable[[Queue], bool]] = []
    for term in re.split(r"\s+AND\s+", filter_.strip()) if filter_.strip() else []:
        match = _FILTER_TERM.fullmatch(term)
        if not match:
            raise invalid(f"Invalid filter: {filter_!r}.")
        field, value = match.group(1), match.group(2).strip('"')
        snake = re.sub(r"(?<!^)([A-Z])", r"_\1", field).lower()
        if snake == "state":
            if value not in QueueState.__members__:
                raise invalid(f"Invalid filter: unknown queue state {value!r}.")
            checks.append(lambda q, state=value: q.state == state)  # type: ignore[misc]
        elif snake in _TARGET_FIELDS and value == "*":
            checks.append(_TARGET_FIELDS[snake])
        else:
            raise invalid(f"Invalid filter: unsupported term {term.strip()!r}.")
    return lambda q: all(check(q) for check in checks)
