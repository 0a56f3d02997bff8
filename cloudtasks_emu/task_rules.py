"""The checks a new task passes before it is stored: payload against queue, schedule time, room left."""

from __future__ import annotations

from .clock import US, pacific_iso
from .config import MAX_SCHEDULE_AHEAD_S, Settings
from .engine.storage import Usage
from .errors import Code, EmuError, invalid
from .model import HttpRequest, PullMessage, Queue, Task


def check_payload_matches(queue: Queue, task: Task) -> None:
    """A pull task only in a pull queue; an HTTP task only in an HTTP target queue, App Engine likewise."""
    if queue.pull != isinstance(task.payload, PullMessage):
        kind = "a pull queue" if queue.pull else "a push queue"
        raise invalid(f"The task's payload type is not compatible with {kind}.")
    if not queue.pull and (queue.http_target is not None) != isinstance(task.payload, HttpRequest):
        kind = "an HTTP target queue" if queue.http_target is not None else "an App Engine queue"
        raise invalid(f"The task's payload type is not compatible with {kind}.")


def check_schedule(task: Task, now_us: int) -> None:
    """No schedule time past the service's horizon (quoted in US Pacific time, as the cloud does)."""
    if task.schedule_us > now_us + MAX_SCHEDULE_AHEAD_S * US:
        raise invalid(
            f"The Task.scheduleTime, {pacific_iso(task.schedule_us)}, is too far in the future. "
            f"Schedule time must be no more than {MAX_SCHEDULE_AHEAD_S // 3600}h in the future."
        )


def check_room(usage: Usage, settings: Settings, size: int) -> None:
    """RESOURCE_EXHAUSTED past --max-tasks or --max-task-bytes."""
    if usage.tasks >= settings.max_tasks:
        raise EmuError(
            Code.RESOURCE_EXHAUSTED,
            f"Quota exceeded: the emulator already holds {usage.tasks} tasks (--max-tasks).",
        )
    if usage.task_bytes + size > settings.max_task_bytes:
        raise EmuError(
            Code.RESOURCE_EXHAUSTED,
            f"Quota exceeded: stored tasks would pass {settings.max_task_bytes} bytes (--max-task-bytes).",
        )
