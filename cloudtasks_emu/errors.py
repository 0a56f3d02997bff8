"""The one error type that crosses the edge, and the one table of its codes.

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
from typing import Any


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


class EmuError(Exception):
    """An API error with a canonical code and the message the real service would give.

    `http_status` overrides the code's HTTP status where HTTP itself is at fault (415)."""

    def __init__(self, code: Code, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status or code.http_status


def rest_error_body(error: EmuError) -> dict[str, Any]:
    """Google's JSON error body, for REST and the admin API alike."""
    return {"error": {"code": error.http_status, "message": error.message, "status": error.code.name, "details": []}}


def invalid(message: str) -> EmuError:
    return EmuError(Code.INVALID_ARGUMENT, message)


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
