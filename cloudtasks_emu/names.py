"""Parse and validate resource names: projects/*/locations/*/queues/*/tasks/*."""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

from .errors import Code, EmuError, HelpLink, invalid

_PROJECT = r"[A-Za-z0-9\-:.]+"  # a project ID (an App Engine app ID is one too)
_LOCATION = r"[A-Za-z0-9\-]+"
_PROJECT_ID_RE = re.compile(_PROJECT)
_PROJECT_RE = re.compile(rf"projects/({_PROJECT})")
_LOCATION_RE = re.compile(rf"projects/({_PROJECT})/locations/({_LOCATION})")
_QUEUE_RE = re.compile(rf"(projects/{_PROJECT}/locations/{_LOCATION})/queues/([^/]*)")
_TASK_RE = re.compile(rf"(projects/{_PROJECT}/locations/{_LOCATION}/queues/[^/]*)/tasks/([^/]*)")
_QUEUE_ID_RE = re.compile(r"[A-Za-z0-9\-]{1,100}")
_TASK_ID_RE = re.compile(r"[A-Za-z0-9_\-]{1,500}")

QUEUE_FORMAT_MESSAGE = (
    'Queue name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>/queues/<QUEUE_ID>".'
)
# The google.rpc.Help links the cloud attaches to a malformed queue name or task ID.
_REFERENCE = "https://cloud.google.com/tasks/docs/reference/rest/v2"
QUEUE_NAME_HELP = (HelpLink("Definition of queue name", f"{_REFERENCE}/projects.locations.queues#Queue.FIELDS.name"),)
TASK_ID_HELP = (HelpLink("Definition of task ID", f"{_REFERENCE}/projects.locations.queues.tasks#Task.FIELDS.name"),)


class QueueName(NamedTuple):
    parent: str  # projects/P/locations/L
    queue_id: str

    @property
    def full(self) -> str:
        return f"{self.parent}/queues/{self.queue_id}"


class TaskName(NamedTuple):
    queue: str
    task_id: str

    @property
    def full(self) -> str:
        return f"{self.queue}/tasks/{self.task_id}"


def is_project_id(text: str) -> bool:
    return _PROJECT_ID_RE.fullmatch(text) is not None


def parse_project(name: str) -> str:
    match = _PROJECT_RE.fullmatch(name)
    if not match:
        raise invalid(f'Invalid resource field value in the request: name "{name}".')
    return match.group(1)


@functools.lru_cache(maxsize=4096)  # the same few names come with every call
def parse_location(name: str) -> tuple[str, str]:
    """Return (project, location) of a location name; the cloud checks IAM first, hence the code."""
    match = _LOCATION_RE.fullmatch(name)
    if not match:
        raise EmuError(Code.PERMISSION_DENIED, f"Permission denied on resource project {name}.")
    return match.group(1), match.group(2)


@functools.lru_cache(maxsize=4096)
def parse_queue(name: str) -> QueueName:
    match = _QUEUE_RE.fullmatch(name)
    if not match or not _QUEUE_ID_RE.fullmatch(match.group(2)):
        raise invalid(QUEUE_FORMAT_MESSAGE, QUEUE_NAME_HELP)
    return QueueName(match.group(1), match.group(2))


def parse_task(name: str) -> TaskName:
    match = _TASK_RE.fullmatch(name)
    if not match:
        raise invalid(
            'Task name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>/queues/'
            '<QUEUE_ID>/tasks/<TASK_ID>".'
        )
    parse_queue(match.group(1))
    task_id = match.group(2)
    if not _TASK_ID_RE.fullmatch(task_id):
        raise invalid(
            f'Task ID "{task_id}" can contain only letters ([A-Za-z]), numbers ([0-9]), hyphens (-), '
            "or underscores (_). Task ID must between 1 and 500 characters.",
            TASK_ID_HELP,
        )
    return TaskName(match.group(1), task_id)


# The parts of a name already known to be valid (stored, or parsed above): no check, no error.


def location_of(queue_name: str) -> str:
    """projects/P/locations/L of a valid queue name."""
    return queue_name.rsplit("/queues/", 1)[0]


def queue_of(task_name: str) -> str:
    """The queue's full name of a valid task name."""
    return task_name.rsplit("/tasks/", 1)[0]


def project_of(name: str) -> str:
    """The project ID of a valid location, queue or task name."""
    return name.split("/", 2)[1]


def location_id_of(name: str) -> str:
    """The location ID of a valid queue or task name."""
    return name.split("/", 4)[3]


def short_id(name: str) -> str:
    """The queue ID of a valid queue name, the task ID of a valid task name."""
    return name.rsplit("/", 1)[-1]
