"""google.protobuf Duration and Timestamp: seconds in and out, and their documented ranges."""

from __future__ import annotations

import functools

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message

from ..errors import invalid

_MIN_SECONDS, _MAX_SECONDS = -62135596800, 253402300799  # 0001-01-01 to 9999-12-31, as RFC 3339 allows
_MAX_DURATION_S = 315576000000  # 10000 years, the Duration limit
_TIME_TYPES = ("google.protobuf.Timestamp", "google.protobuf.Duration")


def _is_repeated(field: FieldDescriptor) -> bool:
    """protobuf 6.31+ says so directly and deprecates `label`; older runtimes have only the label."""
    repeated = getattr(field, "is_repeated", None)
    if repeated is None:
        return bool(getattr(field, "label") == FieldDescriptor.LABEL_REPEATED)  # noqa: B009 (typed without it)
    return bool(repeated)


@functools.cache  # a field name is camel-cased once, not on every request
def camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)


def duration_s(d: Duration) -> float:
    return d.seconds + d.nanos / 1e9


def set_duration(d: Duration, seconds: float) -> None:
    d.FromNanoseconds(round(seconds * 1e9))


@functools.cache
def _time_fields(descriptor: Descriptor) -> frozenset[str]:
    """The names of the fields of a message type that can hold a Timestamp or Duration."""
    return frozenset(f.name for f in descriptor.fields if f.message_type is not None and _holds_time(f.message_type))


@functools.cache
def _holds_time(descriptor: Descriptor) -> bool:
    """Whether a message type can contain a Timestamp or Duration at any depth (cycles are fine)."""
    seen, stack = {descriptor.full_name}, [descriptor]
    while stack:
        current = stack.pop()
        if current.full_name in _TIME_TYPES:
            return True
        for field in current.fields:
            sub = field.message_type
            if sub is not None and sub.full_name not in seen:
                seen.add(sub.full_name)
                stack.append(sub)
    return False


def check_well_known(message: Message, path: str = "") -> None:
    """Reject Timestamps and Durations outside their documented ranges, anywhere in a request."""
    wanted = _time_fields(message.DESCRIPTOR)
    if not wanted:
        return
    for field, value in message.ListFields():
        if field.name not in wanted or field.message_type is None:
            continue
        label = f"{path}{camel(field.name)}"
        if field.message_type.GetOptions().map_entry:
            items = list(value.values()) if field.message_type.fields_by_name["value"].message_type else []
        else:
            items = list(value) if _is_repeated(field) else [value]
        for item in items:
            kind = item.DESCRIPTOR.full_name
            if kind == "google.protobuf.Timestamp":
                if not (_MIN_SECONDS <= item.seconds <= _MAX_SECONDS and 0 <= item.nanos < 1_000_000_000):
                    raise invalid(f"{label} is not a valid timestamp.")
            elif kind == "google.protobuf.Duration":
                same_sign = item.seconds == 0 or item.nanos == 0 or (item.seconds > 0) == (item.nanos > 0)
                if not (abs(item.seconds) <= _MAX_DURATION_S and abs(item.nanos) < 1_000_000_000 and same_sign):
                    raise invalid(f"{label} is not a valid duration.")
            else:
                check_well_known(item, f"{label}.")
