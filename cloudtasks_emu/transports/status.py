"""EmuError on the wire: its google.rpc.Status, gRPC's trailing details, Google's JSON error body.

Here at the transport edge, so that errors.py (which the engine and service import) loads no protobuf.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from ..errors import EmuError

_HELP_TYPE = f"type.googleapis.com/{error_details_pb2.Help.DESCRIPTOR.full_name}"
GRPC_DETAILS_KEY = "grpc-status-details-bin"


def status_of(error: EmuError) -> status_pb2.Status:
    """The google.rpc.Status of an error, its details included."""
    status = status_pb2.Status(code=error.code.grpc_code, message=error.message)
    if error.help_links:
        detail = any_pb2.Any()
        detail.Pack(
            error_details_pb2.Help(links=[error_details_pb2.Help.Link(**link._asdict()) for link in error.help_links])
        )
        status.details.append(detail)
    return status


def grpc_trailers(error: EmuError) -> tuple[tuple[str, bytes], ...]:
    """Trailing metadata carrying the details, which the official clients read as `exc.details`."""
    if not error.help_links:
        return ()
    return ((GRPC_DETAILS_KEY, status_of(error).SerializeToString()),)


def rest_error_body(error: EmuError) -> dict[str, Any]:
    """Google's JSON error body, for REST and the admin API alike: code, message, status and details
    (each with its `@type`)."""
    details = []
    if error.help_links:
        details.append({"@type": _HELP_TYPE, "links": [link._asdict() for link in error.help_links]})
    return {
        "error": {
            "code": error.http_status,
            "message": error.message,
            "status": error.code.name,
            "details": details,
        }
    }
