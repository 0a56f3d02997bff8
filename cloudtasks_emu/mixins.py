"""The mixin services the three versions share: Locations, and Operations for the Batch RPCs."""

from __future__ import annotations

import uuid

from google.cloud.location import locations_pb2
from google.longrunning import operations_pb2

from . import names
from .errors import NOT_FOUND_MESSAGE, Code, EmuError
from .service import TasksService


class Operations:
    """Long-running operations of the Batch RPCs; they are done when returned, stored for GetOperation."""

    def __init__(self, service: TasksService) -> None:
        self.service = service

    def new(self, location: str, request_id: str) -> tuple[operations_pb2.Operation, bool]:
        """(operation, created); an operation already made for `request_id` is returned again."""
        stored = self.service.operation_for_request(request_id)
        if stored is not None:
            return operations_pb2.Operation.FromString(stored), False
        return operations_pb2.Operation(name=f"{location}/operations/{uuid.uuid4().hex}", done=True), True

    def save(self, op: operations_pb2.Operation, request_id: str) -> None:
        self.service.save_operation(op.name, request_id, op.SerializeToString())

    def get_operation(self, request: operations_pb2.GetOperationRequest) -> operations_pb2.Operation:
        stored = self.service.operation(request.name)
        if stored is None:
            raise EmuError(Code.NOT_FOUND, NOT_FOUND_MESSAGE)
        return operations_pb2.Operation.FromString(stored)


class LocationsApi:
    """google.cloud.location.Locations, shared by the three versions."""

    def __init__(self, service: TasksService) -> None:
        self.service = service

    def _location(self, project: str, location_id: str) -> locations_pb2.Location:
        return locations_pb2.Location(
            name=f"projects/{project}/locations/{location_id}",
            location_id=location_id,
            display_name=location_id,
            labels={"cloud.googleapis.com/region": location_id},
        )

    def list_locations(self, request: locations_pb2.ListLocationsRequest) -> locations_pb2.ListLocationsResponse:
        project = names.parse_project(request.name)
        # The configured location first: gcloud takes the first one's region label as the default.
        configured = self.service.settings.location
        found = sorted(self.service.locations(project), key=lambda location: location != configured)
        return locations_pb2.ListLocationsResponse(locations=[self._location(project, loc) for loc in found])

    def get_location(self, request: locations_pb2.GetLocationRequest) -> locations_pb2.Location:
        project, location_id = names.parse_location(request.name)
        if location_id not in self.service.locations(project):
            raise EmuError(Code.NOT_FOUND, NOT_FOUND_MESSAGE)
        return self._location(project, location_id)
