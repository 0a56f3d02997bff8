"""What the dashboard's pages show, as JSON-ready dicts built from model objects (times in epoch seconds)."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

from .. import names
from ..clock import US
from ..engine.retry import give_up_rule, gives_up
from ..model import AppEngineRequest, Attempt, HttpRequest, Payload, PullMessage, Queue, QueueStats, RetryPolicy, Task
from ..tokens import OAUTH_PREFIX
from .journal import AttemptView

HEX_LIMIT = 4096  # bytes of a body shown as hex
TASK_STATES = ("scheduled", "in_flight", "retrying", "leased")


def _seconds(at_us: int | None) -> float | None:
    return None if at_us is None else at_us / US


def _queue_target(queue: Queue) -> str:
    """What the queue imposes on its push tasks' targets, if anything."""
    if queue.http_target is not None:
        return "HTTP target override"
    return "App Engine routing override" if queue.app_engine_routing_override is not None else ""


def queue_row(queue: Queue, stats: QueueStats, in_flight: int, recent: list[AttemptView], now: float) -> dict[str, Any]:
    """A line of the queues page; `recent` is the queue's attempts of the last minute."""
    oldest = stats.oldest_schedule_us
    return {
        "name": queue.name,
        "project": names.project_of(queue.name),
        "location": names.location_id_of(queue.name),
        "id": names.short_id(queue.name),
        "type": "pull" if queue.pull else "push",
        "target": _queue_target(queue),
        "state": queue.state.value,
        "rate": {
            "max_dispatches_per_second": queue.rate.max_dispatches_per_second,
            "max_burst_size": queue.rate.max_burst_size,
            "max_concurrent_dispatches": queue.rate.max_concurrent_dispatches,
            "effective_rate": stats.effective_rate,
        },
        "retry": {
            "max_attempts": queue.retry.max_attempts,
            "max_retry_duration_s": queue.retry.max_retry_duration_s,
            "min_backoff_s": queue.retry.min_backoff_s,
            "max_backoff_s": queue.retry.max_backoff_s,
            "max_doublings": queue.retry.max_doublings,
        },
        "tasks": stats.tasks_count,
        "in_flight": in_flight,
        # None when nothing is due: a task due later has not waited (it is not "0 ms old").
        "oldest_age_s": None if oldest is None or oldest / US > now else now - oldest / US,
        "attempts_last_minute": len(recent),
        "failures_last_minute": sum(1 for record in recent if not _succeeded(record)),
    }


def task_state(task: Task, in_flight: set[str], now_us: int) -> str:
    """scheduled (never tried), in_flight, retrying (tried, waiting again), or leased (pull)."""
    if task.name in in_flight:
        return "in_flight"
    if task.lease_until_us is not None and task.lease_until_us > now_us:
        return "leased"
    if task.dispatch_count and not isinstance(task.payload, PullMessage):
        return "retrying"
    return "scheduled"


def _payload_kind(payload: Payload) -> str:
    if isinstance(payload, PullMessage):
        return "pull"
    return "http" if isinstance(payload, HttpRequest) else "app_engine"


def _target_summary(task: Task) -> str:
    payload = task.payload
    if isinstance(payload, HttpRequest):
        return f"{payload.http_method} {payload.url}"
    if isinstance(payload, AppEngineRequest):
        return f"{payload.http_method} {payload.relative_uri} (App Engine)"
    return f"pull, tag {payload.tag!r}" if payload.tag else "pull"


def _attempt(attempt: Attempt | None) -> dict[str, Any] | None:
    if attempt is None:
        return None
    return {
        "schedule_time": _seconds(attempt.schedule_us),
        "dispatch_time": _seconds(attempt.dispatch_us),
        "response_time": _seconds(attempt.response_us),
        "response_code": attempt.response_code,
        "response_message": attempt.response_message,
    }


def task_row(task: Task, state: str) -> dict[str, Any]:
    """A line of a queue's task list."""
    pull = task.payload if isinstance(task.payload, PullMessage) else None
    last = task.last_attempt
    return {
        "name": task.name,
        "id": names.short_id(task.name),
        "state": state,
        "target": _target_summary(task),
        "schedule_time": _seconds(task.schedule_us),
        "create_time": _seconds(task.create_us),
        "dispatch_count": task.dispatch_count,
        "response_count": task.response_count,
        "last_response": None if last is None else last.response_message or ("OK" if last.response_code == 0 else ""),
        "tag": None if pull is None else pull.tag,
        "lease_expiry": _seconds(task.lease_until_us) if pull is not None else None,
    }


def body_views(body: bytes) -> dict[str, Any]:
    """The body as text (if UTF-8), pretty JSON (if it parses) and hex (the first HEX_LIMIT bytes)."""
    try:
        text: str | None = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    pretty = None
    if text:
        try:
            pretty = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            pretty = None
    head = body[:HEX_LIMIT]
    rows = [
        f"{i:08x}  {head[i : i + 16].hex(' '):<47}  {_printable(head[i : i + 16])}" for i in range(0, len(head), 16)
    ]
    return {
        "size": len(body),
        "text": text,
        "json": pretty,
        "hex": "\n".join(rows),
        "hex_truncated": len(body) > HEX_LIMIT,
    }


def _printable(chunk: bytes) -> str:
    return "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)


def decode_bearer(authorization: str) -> dict[str, Any] | None:
    """What a dispatched Authorization header carries: an OIDC JWT's header and claims, or our OAuth token's."""
    if not authorization.lower().startswith("bearer "):
        return None
    token = authorization[7:].strip()
    if token.startswith(OAUTH_PREFIX):
        raw = token[len(OAUTH_PREFIX) :]
        try:
            claims = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        except ValueError:
            return None
        return {"kind": "oauth", "claims": claims}
    import jwt  # here, not at start: PyJWT and cryptography cost ~10 MB of idle RSS

    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return {"kind": "oidc", "header": header, "claims": claims}


def _succeeded(record: AttemptView) -> bool:
    return record.status is not None and 200 <= record.status < 300


def attempt_outcome(record: AttemptView) -> str:
    """ok (2xx), failed (another status), or error (no response: refused, reset, timeout)."""
    if record.status is None:
        return "error"
    return "ok" if _succeeded(record) else "failed"


def ending(attempts: list[AttemptView], policy: RetryPolicy | None) -> dict[str, Any]:
    """How a task that no longer exists ended, from its attempts (newest first) and its queue's retry
    policy (a task's own policy is gone with it): succeeded, gave_up, or deleted."""
    last = attempts[0]
    tries = f"{last.number} attempt{'' if last.number == 1 else 's'}"
    if _succeeded(last):
        return {"outcome": "succeeded", "attempts": last.number, "summary": f"succeeded on attempt {last.number}"}
    first = next((a for a in attempts if a.number == 1), None)
    age_s = math.inf if first is None else last.at - (first.at - first.latency_s)
    if policy is not None and gives_up(last.number, age_s, policy):
        rule = give_up_rule(policy)
        summary = f"gave up after {tries}: {rule} reached"
        return {"outcome": "gave_up", "attempts": last.number, "rule": rule, "summary": summary}
    return {"outcome": "deleted", "attempts": last.number, "summary": f"deleted after {tries}"}


def attempt_key(record: AttemptView) -> str:
    """Names one attempt: a task's attempts differ in number, and a name reused later differs in time."""
    return f"{record.task}#{record.number}@{record.at}"


def attempt_row(record: AttemptView) -> dict[str, Any]:
    """One attempt with the request as sent and the start of the response."""
    authorization = next((v for k, v in record.request_headers if k.lower() == "authorization"), "")
    excerpt = record.response_excerpt
    return {
        "key": attempt_key(record),
        "queue": record.queue,
        "task": record.task,
        "attempt": record.number,
        "method": record.method,
        "url": record.url,
        "request_headers": [list(pair) for pair in record.request_headers],
        "token": decode_bearer(authorization),
        "status": record.status,
        "outcome": attempt_outcome(record),
        "error": record.error,
        "latency_ms": round(record.latency_s * 1000, 3),
        "time": record.at,
        "response_excerpt": excerpt.decode("utf-8", errors="replace"),
        "response_size_shown": len(excerpt),
    }


def task_detail(task: Task, state: str, dispatch: dict[str, Any] | None) -> dict[str, Any]:
    """The task page: the row, its payload, and the request as the next attempt will send it."""
    payload = task.payload
    detail = task_row(task, state)
    token = payload.token if isinstance(payload, HttpRequest) else None
    body = payload.payload if isinstance(payload, PullMessage) else payload.body
    detail.update(
        {
            "kind": _payload_kind(payload),
            "headers": {} if isinstance(payload, PullMessage) else dict(payload.headers),
            "body": body_views(body),
            "dispatch_deadline_s": None if task.dispatch_deadline_ms is None else task.dispatch_deadline_ms / 1000,
            "first_attempt": _attempt(task.first_attempt),
            "last_attempt": _attempt(task.last_attempt),
            "token_config": None
            if token is None
            else {
                "kind": token.kind,
                "service_account_email": token.service_account_email,
                "scope_or_audience": token.scope_or_audience,
            },
            "dispatch": dispatch,
        }
    )
    if isinstance(payload, AppEngineRequest) and payload.routing is not None:
        detail["routing"] = {
            "service": payload.routing.service,
            "version": payload.routing.version,
            "instance": payload.routing.instance,
        }
    return detail
