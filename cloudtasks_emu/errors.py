"""The one error type that crosses the edge, and the one table of its codes (rendered for the wire by
transports/status.py, so that importing this module loads no protobuf).

Code                 gRPC  HTTP
INVALID_ARGUMENT       3    400
FAILED_PRECONDITION    9    400
OUT_OF_RANGE          11    400
UNAUTHENTICATED       16    401
PERMISSION_DENIED      7    403
NOT_FOUND              5    404
ALREADY_EXISTS         6    409
ABORTED               10    409
RESOURCE_EXHAUSTED     8    429
CANCELLED              1    499
INTERNAL              13    500
UNIMPLEMENTED         12    501
UNAVAILABLE           14    503
DEADLINE_EXCEEDED      4    504
"""

from __future__ import annotations

import enum
from typing import NamedTuple


class Code(enum.StrEnum):
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    ABORTED = "ABORTED"
    RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"
    CANCELLED = "CANCELLED"
    INTERNAL = "INTERNAL"
    UNIMPLEMENTED = "UNIMPLEMENTED"
    UNAVAILABLE = "UNAVAILABLE"
    DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"

    @property
    def grpc_code(self) -> int:
        return _TABLE[self][0]

    @property
    def http_status(self) -> int:
        return _TABLE[self][1]


_TABLE: dict[Code, tuple[int, int]] = {
    Code.INVALID_ARGUMENT: (3, 400),
    Code.FAILED_PRECONDITION: (9, 400),
    Code.OUT_OF_RANGE: (11, 400),
    Code.UNAUTHENTICATED: (16, 401),
    Code.PERMISSION_DENIED: (7, 403),
    Code.NOT_FOUND: (5, 404),
    Code.ALREADY_EXISTS: (6, 409),
    Code.ABORTED: (10, 409),
    Code.RESOURCE_EXHAUSTED: (8, 429),
    Code.CANCELLED: (1, 499),
    Code.INTERNAL: (13, 500),
    Code.UNIMPLEMENTED: (12, 501),
    Code.UNAVAILABLE: (14, 503),
    Code.DEADLINE_EXCEEDED: (4, 504),
}


class HelpLink(NamedTuple):
    """One link of a google.rpc.Help detail."""

    description: str
    url: str


class EmuError(Exception):
    """An API error with a canonical code and the message the real service would give.

    `help_links` become a google.rpc.Help detail, as the cloud attaches to some INVALID_ARGUMENT errors.
    `http_status` overrides the code's HTTP status where HTTP itself is at fault (415)."""

    def __init__(
        self, code: Code, message: str, help_links: tuple[HelpLink, ...] = (), *, http_status: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.help_links = help_links
        self.http_status = http_status or code.http_status


def invalid(message: str, help_links: tuple[HelpLink, ...] = ()) -> EmuError:
    return EmuError(Code.INVALID_ARGUMENT, message, help_links)


NOT_FOUND_MESSAGE = "Requested entity was not found."


_HTTP_TO_CODE = {
    400: Code.INVALID_ARGUMENT,
    401: Code.UNAUTHENTICATED,
    403: Code.PERMISSION_DENIED,
    404: Code.NOT_FOUND,
    409: Code.ABORTED,
    429: Code.RESOURCE_EXHAUSTED,
    499: Code.CANCELLED,
    501: Code.UNIMPLEMENTED,
    503: Code.UNAVAILABLE,
    504: Code.DEADLINE_EXCEEDED,
}


def code_for_http(status: int) -> Code:
    """The google.rpc code recorded for a handler's HTTP status (the standard mapping)."""
    if status in _HTTP_TO_CODE:
        return _HTTP_TO_CODE[status]
    return Code.INTERNAL if status >= 500 else Code.FAILED_PRECONDITION


# The service's recorded messages (reference section 8).
QUEUE_MISSING = (
    "Queue does not exist. If you just created the queue, wait at least a minute for the queue to initialize."
)
TASK_GONE = (
    "The task no longer exists, though a task with this name existed recently. "
    "The task either successfully completed or was deleted."
)
TASK_TOO_RECENT = (
    "The task cannot be created because a task with this name existed too recently. For more information "
    "about task de-duplication see https://cloud.google.com/tasks/docs/reference/rest/v2/"
    "projects.locations.queues.tasks/create#body.request_body.FIELDS.task."
)
QUEUE_TOO_RECENT = "The queue cannot be created because a queue with this name existed too recently."
