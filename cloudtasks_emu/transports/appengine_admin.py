"""A minimal App Engine Admin API: `GET /v1/apps/{id}`, so that gcloud finds a queue's location by itself.

gcloud's `tasks` commands, when `--location` is left out, call Cloud Tasks ListLocations and then App
Engine Admin apps.get, and take the region only if the app exists. Every project has an app here,
located where the emulator's --location says. `gcloud app deploy queue.yaml` also asks Service Usage
whether Cloud Tasks is enabled (`GET /v1/projects/{p}/services/cloudtasks.googleapis.com`): it is.
"""

from __future__ import annotations

from aiohttp import web

from .. import names
from ..errors import Code, EmuError
from .edge import error_response

# App Engine names two regions without their trailing "1"; every other one as Cloud Tasks does.
_APP_ENGINE_LOCATIONS = {"us-central1": "us-central", "europe-west1": "europe-west"}


def app_engine_location(location: str) -> str:
    """The App Engine locationId of a Cloud Tasks location."""
    return _APP_ENGINE_LOCATIONS.get(location, location)


def add_appengine_admin_routes(app: web.Application, location: str) -> None:
    """Mount `GET /v1/apps/{id}` (apps.get), the app located at `location`, and the Service Usage check."""

    async def get_app(request: web.Request) -> web.Response:
        app_id = request.match_info["app_id"]
        if not names.is_project_id(app_id):
            error = EmuError(
                Code.INVALID_ARGUMENT, f'Invalid resource field value in the request: name "apps/{app_id}".'
            )
            return error_response(error)
        return web.json_response(
            {
                "name": f"apps/{app_id}",
                "id": app_id,
                "locationId": app_engine_location(location),
                "servingStatus": "SERVING",
                # A healthy app has its buckets; without codeBucket `gcloud app deploy` calls apps.repair.
                "codeBucket": f"staging.{app_id}.appspot.com",
                "defaultBucket": f"{app_id}.appspot.com",
            }
        )

    async def get_service(request: web.Request) -> web.Response:
        project, service = request.match_info["project"], request.match_info["service"]
        return web.json_response({"name": f"projects/{project}/services/{service}", "state": "ENABLED"})

    app.router.add_get("/v1/apps/{app_id}", get_app)
    app.router.add_get("/v1/projects/{project}/services/{service:cloudtasks\\.googleapis\\.com}", get_service)
