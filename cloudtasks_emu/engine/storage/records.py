"""Model objects <-> JSON text for backends that keep rows: tagged, by field name, so a field added
later reads back with its default and a field dropped later is ignored."""

from __future__ import annotations

import base64
import dataclasses
import enum
from typing import Any

import orjson

from ... import model

_CLASSES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        model.Queue,
        model.Routing,
        model.Token,
        model.UriOverride,
        model.HttpTarget,
        model.RateLimits,
        model.RetryPolicy,
        model.AppEngineRequest,
        model.HttpRequest,
        model.PullMessage,
        model.Attempt,
        model.Task,
    )
}
_ENUMS: dict[str, type[enum.Enum]] = {"QueueState": model.QueueState}
_FIELDS: dict[type[Any], tuple[str, ...]] = {
    cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in _CLASSES.values()
}


def _enum(value: enum.Enum) -> Any:
    return {"_e": type(value).__name__, "v": value.value}


def _dataclass(value: Any) -> Any:
    out = {name: _plain(getattr(value, name)) for name in _FIELDS[type(value)]}
    out["_t"] = type(value).__name__
    return out


def _scalar(value: Any) -> Any:
    return value


# By exact type: one dict lookup per value instead of a chain of isinstance checks.
_ENCODERS: dict[type[Any], Any] = {
    type(None): _scalar,
    bool: _scalar,
    int: _scalar,
    float: _scalar,
    str: _scalar,
    bytes: lambda value: {"_b": base64.b64encode(value).decode()},
    list: lambda value: [_plain(item) for item in value],
    tuple: lambda value: {"_u": [_plain(item) for item in value]},
    dict: lambda value: {"_d": {key: _plain(item) for key, item in value.items()}},
    **{cls: _enum for cls in _ENUMS.values()},
    **{cls: _dataclass for cls in _CLASSES.values()},
}


def _plain(value: Any) -> Any:
    return _ENCODERS[type(value)](value)


def _rich(value: Any) -> Any:
    if type(value) is list:
        return [_rich(item) for item in value]
    if type(value) is not dict:
        return value
    if "_t" in value:
        cls = _CLASSES[value["_t"]]
        known = _FIELDS[cls]
        return cls(**{name: _rich(item) for name, item in value.items() if name in known})
    if "_b" in value:
        return base64.b64decode(value["_b"])
    if "_u" in value:
        return tuple(_rich(item) for item in value["_u"])
    if "_d" in value:
        return {key: _rich(item) for key, item in value["_d"].items()}
    return _ENUMS[value["_e"]](value["v"])


def dumps(obj: model.Queue | model.Task) -> str:
    return orjson.dumps(_plain(obj)).decode()


def load_queue(text: str) -> model.Queue:
    queue = _rich(orjson.loads(text))
    assert isinstance(queue, model.Queue)
    return queue


def load_task(text: str) -> model.Task:
    task = _rich(orjson.loads(text))
    assert isinstance(task, model.Task)
    return task
