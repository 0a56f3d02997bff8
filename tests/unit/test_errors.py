"""errors.py and transports/status.py: every Code through both renderers, and the Help detail in each."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from cloudtasks_emu import errors
from cloudtasks_emu.errors import Code, EmuError, HelpLink
from cloudtasks_emu.transports.status import GRPC_DETAILS_KEY, grpc_trailers, rest_error_body, status_of

LINK = HelpLink("Definition of queue name", "https://cloud.google.com/tasks/docs/x#Queue.FIELDS.name")


def _docstring_table() -> dict[str, tuple[int, int]]:
    rows = [line.split() for line in (errors.__doc__ or "").splitlines()]
    return {row[0]: (int(row[1]), int(row[2])) for row in rows if len(row) == 3 and row[0].isupper()}


@pytest.mark.parametrize("code", list(Code))
def test_every_code(code: Code) -> None:
    """The one every-code test: gRPC's own number for the name, the table the module docstring repeats,
    and both renderers."""
    assert grpc.StatusCode[code.name].value[0] == code.grpc_code
    assert _docstring_table()[code.name] == (code.grpc_code, code.http_status)
    error = EmuError(code, "why")
    assert rest_error_body(error) == {
        "error": {"code": code.http_status, "message": "why", "status": code.name, "details": []}
    }
    assert status_of(error) == status_pb2.Status(code=code.grpc_code, message="why")
    assert grpc_trailers(error) == ()


def test_the_docstring_table_has_every_code_once() -> None:
    assert sorted(_docstring_table()) == sorted(code.name for code in Code)


def test_an_http_status_can_override_the_codes() -> None:
    assert rest_error_body(EmuError(Code.INVALID_ARGUMENT, "x", http_status=415))["error"]["code"] == 415


def test_help_links_become_one_help_detail_in_both() -> None:
    error = EmuError(Code.INVALID_ARGUMENT, "bad name", (LINK,))
    [(key, raw)] = grpc_trailers(error)
    assert key == GRPC_DETAILS_KEY
    status = status_pb2.Status.FromString(raw)
    assert (status.code, status.message) == (3, "bad name")
    help_detail = error_details_pb2.Help()
    assert status.details[0].Unpack(help_detail)
    assert [(link.description, link.url) for link in help_detail.links] == [tuple(LINK)]
    assert rest_error_body(error)["error"]["details"] == [
        {"@type": "type.googleapis.com/google.rpc.Help", "links": [{"description": LINK.description, "url": LINK.url}]}
    ]
