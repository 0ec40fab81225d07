"""CloudFront's signed URL check, as CloudFront documents it for a behaviour with trusted key groups.

A signed URL carries `Key-Pair-Id` (a public key id of the behaviour's key groups), `Signature` and
either `Expires` (canned policy) or `Policy` (custom policy; CloudFront's URL-safe base64). The
signature is RSA-SHA1 (PKCS #1 v1.5) over the policy: for a canned one, the policy CloudFront rebuilds
from the requested URL without those query parameters and `Expires`. A custom policy's `Resource` may
hold `*` and `?` wildcards; its `DateLessThan` is required, `DateGreaterThan` and `IpAddress` optional.
Anything else is denied with the code and message CloudFront answers (all 403).
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import ipaddress
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SIGNED_URL_PARAMETERS = ("Expires", "Policy", "Signature", "Key-Pair-Id", "Hash-Algorithm")


@dataclass(frozen=True)
class Denied(Exception):
    """Why CloudFront refuses the request: its error code and message (HTTP 403)."""

    code: str
    message: str


_MISSING_KEY = Denied("MissingKey", "Missing Key-Pair-Id query parameter or cookie value")
_UNKNOWN_KEY = Denied("InvalidKey", "Unknown Key")
_DENIED = Denied("AccessDenied", "Access denied")
_MALFORMED_POLICY = Denied("MalformedPolicy", "Malformed Policy")


def cloudfront_b64decode(text: str) -> bytes:
    """CloudFront's URL-safe base64 ('-' for '+', '_' for '=', '~' for '/')."""
    standard = text.replace("-", "+").replace("_", "=").replace("~", "/")
    return base64.b64decode(standard, validate=True)


def canned_policy(resource: str, expires: int) -> bytes:
    """The policy a canned signature signs (no whitespace, as CloudFront builds it)."""
    statement = {"Resource": resource, "Condition": {"DateLessThan": {"AWS:EpochTime": expires}}}
    return json.dumps({"Statement": [statement]}, separators=(",", ":")).encode()


def resource_url(scheme: str, host: str, raw_path: str, raw_query: str) -> str:
    """The URL the signature covers: the request URL as sent, without the signed URL parameters."""
    kept = [p for p in raw_query.split("&") if p and p.split("=", 1)[0] not in SIGNED_URL_PARAMETERS]
    return f"{scheme}://{host}{raw_path}" + ("?" + "&".join(kept) if kept else "")


def _signature_holds(public_pem: str, signature: str, policy: bytes) -> bool:
    key = serialization.load_pem_public_key(public_pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(cloudfront_b64decode(signature), policy, padding.PKCS1v15(), hashes.SHA1())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def _epoch(condition: Mapping[str, Any], operator: str) -> int | None:
    value = (condition.get(operator) or {}).get("AWS:EpochTime")
    return None if value is None else int(value)


def _check_custom_policy(policy: bytes, resource: str, now: float, client_ip: str) -> None:
    try:
        statements = json.loads(policy)["Statement"]
        statement = statements[0]
        condition = statement["Condition"]
        not_after = _epoch(condition, "DateLessThan")
        not_before = _epoch(condition, "DateGreaterThan")
    except (ValueError, KeyError, IndexError, TypeError):
        raise _MALFORMED_POLICY from None
    if len(statements) != 1 or not_after is None:
        raise _MALFORMED_POLICY
    pattern = str(statement.get("Resource", "http*://*"))
    if not fnmatch.fnmatchcase(resource, pattern.replace("[", "[[]")):
        raise _DENIED
    if now >= not_after or (not_before is not None and now <= not_before):
        raise _DENIED
    source = (condition.get("IpAddress") or {}).get("AWS:SourceIp")
    if source and ipaddress.ip_address(client_ip) not in ipaddress.ip_network(str(source), strict=False):
        raise _DENIED


def verify(
    resource: str,
    query: Sequence[tuple[str, str]],
    trusted_keys: Mapping[str, str],
    *,
    now: float,
    client_ip: str = "127.0.0.1",
) -> None:
    """Raise Denied unless `query` signs `resource` with one of `trusted_keys` (key pair id -> PEM)."""
    params = {name: value for name, value in query if name in SIGNED_URL_PARAMETERS}
    key_pair_id = params.get("Key-Pair-Id")
    if not key_pair_id:
        raise _MISSING_KEY
    if key_pair_id not in trusted_keys:
        raise _UNKNOWN_KEY
    signature = params.get("Signature")
    if not signature:
        raise _DENIED
    if "Policy" in params:
        try:
            policy = cloudfront_b64decode(params["Policy"])
        except (binascii.Error, ValueError):
            raise _MALFORMED_POLICY from None
        if not _signature_holds(trusted_keys[key_pair_id], signature, policy):
            raise _DENIED
        _check_custom_policy(policy, resource, now, client_ip)
        return
    expires = params.get("Expires", "")
    if not expires.isdigit():
        raise _DENIED
    if not _signature_holds(trusted_keys[key_pair_id], signature, canned_policy(resource, int(expires))):
        raise _DENIED
    if now >= int(expires):
        raise _DENIED


def error_body(denied: Denied) -> bytes:
    """CloudFront's XML error document."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Error>'
        f"<Code>{denied.code}</Code><Message>{denied.message}</Message></Error>"
    ).encode()
