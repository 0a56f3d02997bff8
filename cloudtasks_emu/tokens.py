"""Bearer tokens for HTTP targets: RS256 OIDC ID tokens signed with a key made on first use, and the
public key in both forms Google serves it: a JWKS (/oauth2/v3/certs) and a map of key ID to x509
certificate (/oauth2/v1/certs, what google.oauth2.id_token.verify_token reads).

Token lifetimes use real time (not the virtual clock) so that standard JWT libraries accept them.
The key, and the JWT and crypto libraries (about 10 MB of RSS), are made and loaded on first use:
most runs never sign a token.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
import uuid
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

ISSUER = "https://accounts.google.com"
DEFAULT_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
LIFETIME_S = 3600
OAUTH_PREFIX = "ya29.cloudtasks-emu."


class TokenMinter:
    def __init__(self) -> None:
        self.key_id = uuid.uuid4().hex
        self._certificate_pem = ""

    @cached_property
    def _key(self) -> RSAPrivateKey:
        from cryptography.hazmat.primitives.asymmetric import rsa

        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def oidc(self, service_account_email: str, audience: str) -> str:
        """A Google-style ID token for the service account, with `aud` = audience."""
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": audience,
            "azp": _subject(service_account_email),
            "sub": _subject(service_account_email),
            "email": service_account_email,
            "email_verified": True,
            "iat": now,
            "exp": now + LIFETIME_S,
        }
        import jwt

        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.key_id})

    @staticmethod
    def oauth(service_account_email: str, scope: str) -> str:
        """An opaque-looking access token that names the account and scope, so a handler can recognise it."""
        data = json.dumps({"email": service_account_email, "scope": scope or DEFAULT_SCOPE}).encode()
        return OAUTH_PREFIX + base64.urlsafe_b64encode(data).decode().rstrip("=")

    def jwks(self) -> dict[str, Any]:
        from jwt.algorithms import RSAAlgorithm

        jwk = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.key_id, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def x509_certs(self) -> dict[str, str]:
        """{key ID: PEM certificate}, the format of https://www.googleapis.com/oauth2/v1/certs."""
        from cryptography.hazmat.primitives import serialization

        if not self._certificate_pem:  # made on first use, so start-up does not pay for it
            self._certificate_pem = _self_signed(self._key).public_bytes(serialization.Encoding.PEM).decode()
        return {self.key_id: self._certificate_pem}

    @staticmethod
    def openid_configuration(base_url: str) -> dict[str, Any]:
        return {
            "issuer": ISSUER,
            "jwks_uri": f"{base_url}/oauth2/v3/certs",
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "claims_supported": ["aud", "email", "email_verified", "exp", "iat", "iss", "sub"],
        }


def _subject(email: str) -> str:
    """A stable numeric ID per service account, like Google's 21-digit subject IDs."""
    return str(int.from_bytes(hashlib.sha256(email.encode()).digest()[:9], "big")).zfill(21)[:21]


def _self_signed(key: RSAPrivateKey) -> x509.Certificate:
    """A self-signed certificate for the signing key, valid from a day ago for a year."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cloudtasks-emu token signer")])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
