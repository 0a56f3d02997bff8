"""OIDC tokens verified the way production code does it, with google-auth and nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from google.auth import exceptions as auth_exceptions
from google.auth.transport import requests as auth_requests
from google.cloud import tasks_v2
from google.oauth2 import id_token

from cloudtasks_emu.testing import EmulatorProcess, RecordingHandler

from .conftest import PARENT, http_call, make_client, unique_queue_name


def test_verify_token_against_the_x509_cert_map(
    channel: Any, server: EmulatorProcess, handler: RecordingHandler
) -> None:
    client = make_client(tasks_v2, channel)
    # Given a push queue and an HTTP task with an OIDC token
    queue = unique_queue_name("oidc")
    client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=queue))
    email = "runner@test-project.iam.gserviceaccount.com"
    url = f"{handler.url}/verify-me"
    oidc = tasks_v2.OidcToken(service_account_email=email, audience="https://my-service.example")
    client.create_task(parent=queue, task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=url, oidc_token=oidc)))
    server.drain(queue)
    (got,) = handler.requests_to("/verify-me")
    token = got.headers["Authorization"].removeprefix("Bearer ")
    # When the handler verifies it as in production, with the emulator's cert map as certs_url
    certs_url = f"{server.http}/oauth2/v1/certs"
    request = auth_requests.Request()
    claims = id_token.verify_token(token, request, audience="https://my-service.example", certs_url=certs_url)
    # Then the claims are the service account's
    assert claims["email"] == email
    assert claims["iss"] == "https://accounts.google.com"
    # and a wrong audience or a tampered token is refused
    with pytest.raises(ValueError, match="audience"):
        id_token.verify_token(token, request, audience="https://someone-else.example", certs_url=certs_url)
    head, body, signature = token.split(".")
    tampered = f"{head}.{body}.{signature[:-4]}AAAA"
    with pytest.raises((ValueError, auth_exceptions.GoogleAuthError)):
        id_token.verify_token(tampered, request, audience="https://my-service.example", certs_url=certs_url)


def test_cert_map_has_googles_format(server: EmulatorProcess) -> None:
    certs = http_call(server.http, "GET", "/oauth2/v1/certs").json()
    jwks = http_call(server.http, "GET", "/oauth2/v3/certs").json()
    # {kid: PEM certificate}, with the same key IDs as the JWKS
    assert set(certs) == {key["kid"] for key in jwks["keys"]}
    for pem in certs.values():
        assert pem.startswith("-----BEGIN CERTIFICATE-----\n")
        assert pem.rstrip().endswith("-----END CERTIFICATE-----")
