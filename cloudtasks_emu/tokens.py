"""Bearer tokens for HTTP targets: RS256 OIDC ID tokens signed with a key made at start, and its JWKS.

Token lifetimes use real time (not the virtual clock) so that standard JWT libraries accept them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://accounts.google.com"
DEFAULT_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
LIFETIME_S = 3600
OAUTH_PREFIX = "ya29.cloudtasks-emu."


class TokenMinter:
    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key_id = uuid.uuid4().hex

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
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.key_id})

    @staticmethod
    def oauth(service_account_email: str, scope: str) -> str:
        """An opaque-looking access token that names the account and scope, so a handler can recognise it."""
        data = json.dumps({"email": service_account_email, "scope": scope or DEFAULT_SCOPE}).encode()
        return OAUTH_PREFIX + base64.urlsafe_b64encode(data).decode().rstrip("=")

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.key_id, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

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
