"""CORS as S3 answers it from a bucket's CORS configuration, and as the JSON services answer it.

S3 ("Using cross-origin resource sharing (CORS)" / "How does Amazon S3 evaluate the CORS
configuration on a bucket?"): the first rule whose AllowedOrigin matches the Origin, whose
AllowedMethod has the method (for a preflight, Access-Control-Request-Method) and, for a preflight,
whose AllowedHeader patterns match every header of Access-Control-Request-Headers, answers. One `*`
is a wildcard in origins and headers; header names are not case-sensitive. No rule: the preflight is
refused with 403 and actual responses carry no CORS headers, so the browser hides them.

The JSON services a browser page calls (Cognito's InitiateAuth, ...) answer any origin.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from .errors import S3Error

Headers = list[tuple[str, str]]

VARY = ("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
SERVICE_EXPOSE = "x-amzn-RequestId, x-amzn-ErrorType, x-amzn-ErrorMessage, Date"
PREFLIGHT_MAX_AGE = "86400"


@dataclass(frozen=True)
class CorsRule:
    allowed_origins: tuple[str, ...]
    allowed_methods: tuple[str, ...]
    allowed_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age_seconds: int | None = None


@lru_cache(maxsize=256)
def _pattern(wildcard: str, ignore_case: bool) -> re.Pattern[str]:
    regex = ".*".join(re.escape(part) for part in wildcard.split("*"))
    return re.compile(regex, re.IGNORECASE if ignore_case else 0)


def matches(wildcard: str, value: str, *, ignore_case: bool = False) -> bool:
    return _pattern(wildcard, ignore_case).fullmatch(value) is not None


def _rule_for(
    rules: Sequence[CorsRule], origin: str, method: str, request_headers: Sequence[str] = ()
) -> CorsRule | None:
    for rule in rules:
        if not any(matches(o, origin) for o in rule.allowed_origins):
            continue
        if method not in rule.allowed_methods:
            continue
        if all(any(matches(p, h, ignore_case=True) for p in rule.allowed_headers) for h in request_headers):
            return rule
    return None


def _common(rule: CorsRule, origin: str) -> Headers:
    wildcard = "*" in rule.allowed_origins
    headers = [
        ("Access-Control-Allow-Origin", "*" if wildcard else origin),
        ("Access-Control-Allow-Methods", ", ".join(rule.allowed_methods)),
    ]
    if not wildcard:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    if rule.expose_headers:
        headers.append(("Access-Control-Expose-Headers", ", ".join(rule.expose_headers)))
    if rule.max_age_seconds is not None:
        headers.append(("Access-Control-Max-Age", str(rule.max_age_seconds)))
    return headers


def requested_headers(value: str) -> list[str]:
    return [h.strip().lower() for h in value.split(",") if h.strip()]


def _forbidden(message: str, method: str, resource_type: str) -> S3Error:
    return S3Error(403, "AccessForbidden", message, {"Method": method, "ResourceType": resource_type})


def preflight(
    rules: Sequence[CorsRule] | None,
    origin: str,
    method: str,
    request_headers: Sequence[str],
    resource_type: str = "OBJECT",
) -> Headers:
    """The headers of S3's 200 answer to a preflight, or the S3Error it refuses it with.

    `rules` is None for a bucket that does not exist and empty for one without CORS.
    """
    if rules is None:
        raise _forbidden("CORSResponse: Bucket not found", method, resource_type)
    if not rules:
        raise _forbidden("CORSResponse: CORS is not enabled for this bucket.", method, resource_type)
    rule = _rule_for(rules, origin, method, request_headers)
    if rule is None:
        raise _forbidden(
            "CORSResponse: This CORS request is not allowed. This is usually because the evalution of "
            "Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers "
            "are not whitelisted by the resource's CORS spec.",
            method,
            resource_type,
        )
    headers = _common(rule, origin)
    if request_headers:
        headers.append(("Access-Control-Allow-Headers", ", ".join(request_headers)))
    return [*headers, VARY]


def actual(rules: Sequence[CorsRule] | None, origin: str, method: str) -> Headers:
    """CORS headers S3 adds to an actual (non-preflight) response; none if no rule matches."""
    if not rules:
        return []
    rule = _rule_for(rules, origin, method)
    return [*_common(rule, origin), VARY] if rule else [VARY]


def service_preflight(method: str, request_headers: Sequence[str]) -> Headers:
    """A JSON service's answer to a preflight: any origin, the method and headers asked for."""
    headers = [
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Methods", method or "POST"),
        ("Access-Control-Max-Age", PREFLIGHT_MAX_AGE),
    ]
    if request_headers:
        headers.append(("Access-Control-Allow-Headers", ", ".join(request_headers)))
    return headers


def service_actual() -> Headers:
    return [("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", SERVICE_EXPOSE)]


def without_cors(headers: Sequence[tuple[str, str]]) -> Headers:
    """Drop CORS headers the emulator added (moto answers every origin), so only ours are sent."""
    return [
        (name, value)
        for name, value in headers
        if not name.lower().startswith("access-control-") and name.lower() != "vary"
    ]
