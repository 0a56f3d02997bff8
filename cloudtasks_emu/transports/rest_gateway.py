"""REST/JSON gateway: the google.api.http rules of the three versions, mapped onto the same API calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from ..app import Emulator


def add_rest_routes(app: web.Application, emulator: Emulator) -> None:
    """Mount every REST route of v2, v2beta3 and v2beta2 (and the Locations/Operations mixins)."""
