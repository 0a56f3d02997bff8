"""The one edge every API call crosses, whichever face it came in by.

`invoke` validates the request, applies any fault in force, calls and awaits the operation, and
turns anything but an `EmuError` into INTERNAL; gRPC aborts with the error's code, REST and the
admin API render it with `error_response`, Google's JSON error body.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from google.protobuf.message import Message

from ..codec import check_well_known
from ..errors import Code, EmuError
from ..faults import Faults, queue_of
from .status import rest_error_body

if TYPE_CHECKING:
    from ..mixins import LocationsApi, Operations
    from ..proto_api import CloudTasksApi

logger = logging.getLogger(__name__)

Call = Callable[[Any], Any]  # request proto -> response proto, or an awaitable of one


@dataclass(frozen=True, slots=True)
class Apis:
    """What the faces call: the proto-level API of each version, and the two mixins."""

    versions: dict[str, CloudTasksApi]
    locations: LocationsApi
    operations: Operations


async def invoke(rpc: str, call: Call | None, request: Message, faults: Faults) -> Any:
    """The answer of `call` to `request`; raises EmuError (only)."""
    if call is None:
        raise EmuError(Code.UNIMPLEMENTED, f"{rpc} is not implemented by cloudtasks-emu.")
    fault = faults.for_call(rpc, queue_of(request)) if faults.active else None
    if fault is not None:
        if fault.delay_s:
            await asyncio.sleep(fault.delay_s)  # real time: it is the client's deadline that is tested
        if fault.code is not None:
            raise EmuError(fault.code, fault.message)
    try:
        check_well_known(request)
        result = call(request)
        # Every API today answers a message; an awaitable is kept for any that may not. A message never
        # has __await__, and asking is cheaper than inspect.isawaitable's ABC check.
        return await result if hasattr(result, "__await__") else result
    except EmuError:
        raise
    except Exception as error:
        logger.exception("%s failed", rpc)
        raise EmuError(Code.INTERNAL, "Internal error.") from error


def error_response(error: EmuError) -> web.Response:
    return web.json_response(rest_error_body(error), status=error.http_status)
