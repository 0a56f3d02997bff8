"""Faults on demand, so users can test their own retry and error handling.

A call fault makes API calls (gRPC and REST alike: the edge asks `for_call` before each one) that
match an RPC name and/or a queue fail with a code and message, or answer after a delay. A dispatch
fault makes push delivery to a URL prefix behave as a refused connection, a timeout or an HTTP
status, without reaching the handler. Each fault acts `times` times, or until cleared.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import names
from .errors import Code, EmuError, invalid

if TYPE_CHECKING:
    from .engine.scheduler import Outcome

_QUEUE = re.compile(r"projects/[^/]+/locations/[^/]+/queues/[^/:]+")
_CODES_BY_NUMBER = {code.grpc_code: code for code in Code}
DISPATCH_ACTIONS = ("refuse", "timeout")


@dataclass(slots=True)
class Fault:
    id: str
    times: int | None  # how many more times it acts; None: until cleared
    # call faults
    rpc: str = ""  # e.g. "CreateTask"; "" for every RPC
    queue: str = ""  # a queue's full name or ID; "" for every queue
    code: Code | None = None
    message: str = ""
    delay_s: float = 0.0
    # dispatch faults
    url_prefix: str = ""
    dispatch: str | int = ""  # "refuse", "timeout" or an HTTP status

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "times": self.times}
        if self.url_prefix:
            return {**out, "url_prefix": self.url_prefix, "dispatch": self.dispatch}
        out.update(rpc=self.rpc, queue=self.queue, delay=self.delay_s)
        if self.code is not None:
            out.update(code=self.code.name, message=self.message)
        return out

    def matches_call(self, rpc: str, queue: str) -> bool:
        if self.url_prefix or (self.rpc and self.rpc != rpc):
            return False
        return not self.queue or self.queue in (queue, names.short_id(queue))


def _code(value: Any) -> Code:
    if isinstance(value, int) and not isinstance(value, bool) and value in _CODES_BY_NUMBER:
        return _CODES_BY_NUMBER[value]
    if isinstance(value, str) and value.upper() in Code.__members__:
        return Code[value.upper()]
    raise invalid(f"unknown gRPC code {value!r}: give a name such as UNAVAILABLE or a number such as 14")


def parse_fault(data: dict[str, Any], fault_id: str) -> Fault:
    """A fault from its admin API JSON; INVALID_ARGUMENT for anything unclear."""
    known = {"rpc", "queue", "code", "message", "delay", "times", "url_prefix", "dispatch"}
    if unknown := sorted(set(data) - known):
        raise invalid(f"unknown fault fields: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    times = data.get("times")
    if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
        raise invalid("times must be a whole number of at least 1 (leave it out for every call)")
    if "url_prefix" in data or "dispatch" in data:
        action = data.get("dispatch")
        valid = action in DISPATCH_ACTIONS or (isinstance(action, int) and 100 <= action <= 599)
        if not isinstance(data.get("url_prefix"), str) or not data["url_prefix"] or not valid:
            raise invalid('a dispatch fault needs "url_prefix" and "dispatch": "refuse", "timeout" or a status')
        return Fault(fault_id, times, url_prefix=data["url_prefix"], dispatch=action or "")
    delay = data.get("delay", 0)
    if not isinstance(delay, int | float) or isinstance(delay, bool) or not 0 <= delay <= 600:
        raise invalid("delay must be a number of seconds from 0 to 600")
    code = _code(data["code"]) if data.get("code") is not None else None
    if code is None and not delay:
        raise invalid('a call fault needs "code" (to fail) or "delay" (to answer late), or both')
    message = str(data.get("message") or f"Fault injected by cloudtasks-emu ({code.name if code else ''}).")
    return Fault(
        fault_id,
        times,
        rpc=str(data.get("rpc", "")),
        queue=str(data.get("queue", "")),
        code=code,
        message=message,
        delay_s=float(delay),
    )


def queue_of(request: Any) -> str:
    """The queue a request addresses (from its parent, name or queue field), or ""."""
    for field in ("parent", "name", "queue"):
        value = getattr(request, field, "")
        if isinstance(value, str) and (match := _QUEUE.match(value)):
            return match.group(0)
    return ""


class Faults:
    """The faults in force, in the order they were added; the first that matches acts."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, data: dict[str, Any]) -> Fault:
        fault = parse_fault(data, str(next(self._ids)))
        self._faults.append(fault)
        return fault

    def list(self) -> list[Fault]:
        return list(self._faults)

    def clear(self, fault_id: str = "") -> None:
        if not fault_id:
            self._faults.clear()
            return
        if all(f.id != fault_id for f in self._faults):
            raise EmuError(Code.NOT_FOUND, f"no fault {fault_id}")
        self._faults = [f for f in self._faults if f.id != fault_id]

    def _take(self, fault: Fault) -> Fault:
        if fault.times is not None:
            fault.times -= 1
            if fault.times == 0:
                self._faults.remove(fault)
        return fault

    @property
    def active(self) -> bool:
        """Whether any fault is in force (callers skip working out what to match when none is)."""
        return bool(self._faults)

    def for_call(self, rpc: str, queue: str) -> Fault | None:
        if not self._faults:  # the common case: one check per call
            return None
        fault = next((f for f in self._faults if f.matches_call(rpc, queue)), None)
        return None if fault is None else self._take(fault)

    def for_dispatch(self, url: str) -> Fault | None:
        if not self._faults:
            return None
        fault = next((f for f in self._faults if f.url_prefix and url.startswith(f.url_prefix)), None)
        return None if fault is None else self._take(fault)


def act_out(fault: Fault, outcome: Outcome) -> None:
    """What a dispatch fault makes of an attempt, the handler never reached."""
    if fault.dispatch == "timeout":
        # Counted as a missed dispatch deadline at once, so that tests need not move the clock past it.
        outcome.error = "timeout"
    elif fault.dispatch == "refuse":
        outcome.error = "ClientConnectorError: Connection refused (a fault injected through /_emu/faults)"
    else:
        outcome.status = int(fault.dispatch)
