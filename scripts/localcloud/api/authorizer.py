"""The COGNITO_USER_POOLS authorizer: Cognito ID tokens checked against the pool's JWKS.

The `Authorization` header holds the ID token, raw or as `Bearer <token>`. The JWT must be RS256-signed
by a key of the pool's JWKS (moto serves it at `{endpoint}/{pool_id}/.well-known/jwks.json`), with
`iss` = `https://cognito-idp.<region>.amazonaws.com/<pool_id>` (moto's tokens carry the AWS form),
`token_use` = `id`, unexpired, and `aud` one of the stack's app clients (stricter than API Gateway, which
takes any client of the pool). Otherwise `401 {"message": "Unauthorized"}`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import jwt
import requests

from .messages import Reject

__all__ = ["CognitoVerifier", "claims_as_strings"]


def _unauthorized() -> Reject:
    return Reject(401, "Unauthorized")


def _bare_token(header_value: str | None) -> str:
    token = (header_value or "").strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    if not token:
        raise _unauthorized()
    return token


class CognitoVerifier:
    """Checks Cognito ID tokens against the pool's JWKS, as a COGNITO_USER_POOLS authorizer does."""

    def __init__(self, endpoint: str, region: str, audiences: frozenset[str]) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.region = region
        self.audiences = audiences
        self._keys: dict[str, dict[str, Any]] = {}  # pool id -> kid -> key
        self._lock = threading.Lock()

    def issuer(self, pool_id: str) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{pool_id}"

    def _key(self, pool_id: str, kid: str) -> Any:
        with self._lock:
            keys = self._keys.get(pool_id)
            if keys is None or kid not in keys:  # fetch once, and again for a new (rotated) key id
                url = f"{self.endpoint}/{pool_id}/.well-known/jwks.json"
                jwks = requests.get(url, timeout=10).json()
                keys = {k["kid"]: jwt.PyJWK(k).key for k in jwks.get("keys", []) if "kid" in k}
                self._keys[pool_id] = keys
        return keys.get(kid)

    def verify(self, header_value: str | None, pool_ids: tuple[str, ...]) -> dict[str, Any]:
        """The token's claims; Reject(401) for a missing or invalid token."""
        token = _bare_token(header_value)
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _unauthorized() from None
        issuer = unverified.get("iss")
        pool_id = next((p for p in pool_ids if issuer == self.issuer(p)), None)
        if pool_id is None or header.get("alg") != "RS256":
            raise _unauthorized()
        key = self._key(pool_id, str(header.get("kid", "")))
        if key is None:
            raise _unauthorized()
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                issuer=issuer,
                options={"require": ["exp", "iss", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.PyJWTError:
            raise _unauthorized() from None
        if claims.get("token_use") != "id" or claims.get("aud") not in self.audiences:
            raise _unauthorized()
        return claims


def claims_as_strings(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims as API Gateway hands them to a REST proxy integration: every value a string."""
    out = {}
    for name, value in claims.items():
        if name in ("exp", "iat") and isinstance(value, int | float):
            out[name] = datetime.fromtimestamp(value, UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, list):
            out[name] = "[" + " ".join(str(v) for v in value) + "]"
        else:
            out[name] = str(value)
    return out
