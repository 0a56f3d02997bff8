"""IAM, CMEK, Locations, health, reflection and the process itself."""

from __future__ import annotations

import json
import signal
import urllib.request
import uuid
from typing import Any

import grpc
import pytest
from google.cloud.location import locations_pb2
from google.iam.v1 import policy_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from cloudtasks_emu.testing import EmulatorProcess

from .conftest import PARENT, VERSIONS, make_client, raises, unique_queue_name

BOTH = pytest.mark.transports("grpc", "rest")


@BOTH
def test_iam_policy_round_trip_with_etag(client: Any, queue_name: str) -> None:
    empty = client.get_iam_policy(resource=queue_name)
    assert list(empty.bindings) == []
    assert empty.etag
    binding = policy_pb2.Binding(role="roles/cloudtasks.enqueuer", members=["user:a@example.com"])
    stored = client.set_iam_policy(request={"resource": queue_name, "policy": policy_pb2.Policy(bindings=[binding])})
    assert list(stored.bindings) == [binding]
    assert stored.etag != empty.etag
    assert client.get_iam_policy(resource=queue_name) == stored
    stale = policy_pb2.Policy(bindings=[], etag=empty.etag)
    with raises("ABORTED", match="concurrent policy changes"):
        client.set_iam_policy(request={"resource": queue_name, "policy": stale})
    with raises("NOT_FOUND"):
        client.get_iam_policy(resource=unique_queue_name())


@BOTH
def test_test_iam_permissions(client: Any, queue_name: str) -> None:
    asked = ["cloudtasks.tasks.create", "cloudtasks.queues.get"]
    granted = client.test_iam_permissions(resource=queue_name, permissions=asked)
    assert list(granted.permissions) == asked
    missing = client.test_iam_permissions(resource=unique_queue_name(), permissions=asked)
    assert list(missing.permissions) == []


@BOTH
@pytest.mark.parametrize("version", ["v2", "v2beta3"])
def test_cmek_config_is_kept(client: Any, tasks: Any, version: str) -> None:
    project = f"cmek-{uuid.uuid4().hex[:12]}"  # one no earlier test configured
    name = f"projects/{project}/locations/us-central1/cmekConfig"
    assert client.get_cmek_config(name=name).kms_key == ""
    key = f"projects/{project}/locations/us-central1/keyRings/r/cryptoKeys/k"
    updated = client.update_cmek_config(cmek_config=tasks.CmekConfig(name=name, kms_key=key))
    assert updated.kms_key == key
    assert client.get_cmek_config(name=name).kms_key == key
    with raises("INVALID_ARGUMENT", match="kmsKey"):
        client.update_cmek_config(cmek_config=tasks.CmekConfig(name=name, kms_key="not-a-key"))


@pytest.mark.parametrize("version", ["v2", "v2beta3"])
def test_get_cmek_config_bad_name_is_invalid(client: Any, version: str) -> None:
    # gRPC only: over REST the name is a URL path, and the client refuses this one unsent.
    with raises("INVALID_ARGUMENT", match="cmekConfig"):
        client.get_cmek_config(name="projects/p/locations/us-central1")


@BOTH
def test_locations_report_those_in_use(client: Any, version: str) -> None:
    project = f"loc-{uuid.uuid4().hex[:12]}"  # one with no queues yet
    client.create_queue(
        parent=f"projects/{project}/locations/europe-west1",
        queue=VERSIONS[version].Queue(
            name=f"projects/{project}/locations/europe-west1/queues/q",
            **({"app_engine_http_target": {}} if version == "v2beta2" else {}),
        ),
    )
    listed = client.list_locations(request=locations_pb2.ListLocationsRequest(name=f"projects/{project}"))
    # The configured location first: gcloud takes the first one's region label as its default.
    assert [loc.location_id for loc in listed.locations] == ["us-central1", "europe-west1"]
    assert listed.locations[1].labels == {"cloud.googleapis.com/region": "europe-west1"}
    got = client.get_location(request=locations_pb2.GetLocationRequest(name=f"{PARENT}"))
    assert got.name == PARENT
    assert got.location_id == "us-central1"
    with raises("NOT_FOUND"):
        client.get_location(request=locations_pb2.GetLocationRequest(name="projects/p/locations/mars-north1"))


def test_health_and_reflection(server: EmulatorProcess, channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "google.cloud.tasks.v2.CloudTasks", "google.cloud.tasks.v2beta2.CloudTasks"):
        response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert response.status == health_pb2.HealthCheckResponse.SERVING
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    (answer,) = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
    listed = {s.name for s in answer.list_services_response.service}
    assert {f"google.cloud.tasks.{v}.CloudTasks" for v in VERSIONS} <= listed
    assert "google.cloud.location.Locations" in listed
    with urllib.request.urlopen(f"{server.http}/healthz", timeout=5) as response:
        assert json.load(response)["status"] == "SERVING"


def test_start_declares_queues_and_stops_cleanly_on_sigterm() -> None:
    queue = "projects/cli-project/locations/us-east1/queues/declared"
    srv = EmulatorProcess("--queue", queue, "--location", "us-east1")
    try:
        with grpc.insecure_channel(srv.grpc) as channel:
            client = make_client(VERSIONS["v2"], channel)
            assert client.get_queue(name=queue).state.name == "RUNNING"
            listed = client.list_locations(request=locations_pb2.ListLocationsRequest(name="projects/other"))
            assert [loc.location_id for loc in listed.locations] == ["us-east1"]
    finally:
        srv.process.send_signal(signal.SIGTERM)
        assert srv.process.wait(timeout=10) == 0
        srv.stop()


def test_start_rejects_a_bad_queue_name() -> None:
    with pytest.raises(RuntimeError, match="did not start"):
        EmulatorProcess("--queue", "projects/p/queues/q", timeout_s=20)
