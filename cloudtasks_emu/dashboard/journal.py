"""The one place the dashboard reads dispatch attempts from (the service's bounded per-queue journal),
and its own shape of one attempt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..service import TasksService


@dataclass(slots=True, frozen=True)
class AttemptView:
    queue: str
    task: str
    number: int  # 1 for the first attempt
    method: str  # "" when not recorded
    url: str
    request_headers: list[tuple[str, str]]  # as sent
    status: int | None  # HTTP status; None when no answer came
    error: str  # "timeout" or a connection error
    latency_s: float
    at: float  # epoch seconds (emulator clock) when the attempt finished
    response_excerpt: bytes  # the start of the answer's body


def recent_attempts(
    service: TasksService, limit: int, keep: Callable[[AttemptView], bool] = lambda _: True, queue: str = ""
) -> list[AttemptView]:
    """Up to `limit` kept attempts (of one queue, or of all), newest first."""
    found: list[AttemptView] = []
    for entry in reversed(service.attempts(queue or None)):
        view = AttemptView(
            queue=entry.queue,
            task=entry.task,
            number=entry.attempt,
            method="",  # the journal does not keep it; the task page shows the method of the next attempt
            url=entry.url,
            request_headers=list(entry.request_headers.items()),
            status=entry.status,
            error=entry.error,
            latency_s=entry.latency_s,
            at=entry.at,
            response_excerpt=entry.response_excerpt,
        )
        if keep(view):
            found.append(view)
            if len(found) == limit:
                break
    return found
