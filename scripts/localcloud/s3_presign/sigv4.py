"""Signature Version 4 as S3 checks it for query-string (presigned) requests and POST policies.

Follows "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)": the canonical
request of a presigned URL has the URI-encoded path (S3 encodes it once: no double encoding, no
normalisation), the query parameters but X-Amz-Signature sorted and encoded, the signed headers, and
the payload hash UNSIGNED-PAYLOAD. A POST policy is signed as is: the string to sign is the base64
policy itself.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from .errors import S3Error

ALGORITHM = "AWS4-HMAC-SHA256"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_EXPIRES = 604800  # a week: S3's limit for X-Amz-Expires
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
QUERY_AUTH_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)

# Access key id -> secret access key, or None for a key S3 does not know.
Secrets = Callable[[str], str | None]


def hmac_sha256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = hmac_sha256(f"AWS4{secret}".encode(), date)
    for part in (region, service, "aws4_request"):
        key = hmac_sha256(key, part)
    return key


def signature(key: bytes, string_to_sign: str) -> str:
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def same_signature(expected: str, provided: str) -> bool:
    return hmac.compare_digest(expected.encode(), provided.strip().lower().encode())


@dataclass(frozen=True)
class Credential:
    """`<access key id>/<yyyymmdd>/<region>/<service>/aws4_request`"""

    access_key_id: str
    date: str
    region: str
    service: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"

    @classmethod
    def parse(cls, value: str) -> Credential | None:
        parts = value.split("/")
        if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts[:4]):
            return None
        if len(parts[1]) != 8 or not parts[1].isdigit():
            return None
        return cls(*parts[:4])

    def key(self, secret: str) -> bytes:
        return signing_key(secret, self.date, self.region, self.service)


def uri_encode(value: str, *, keep_slash: bool = False) -> str:
    """AWS's UriEncode: everything but A-Z a-z 0-9 - _ . ~ (and '/' in a path) as %XX of its UTF-8."""
    return quote(value, safe="/" if keep_slash else "")


def canonical_query(params: Iterable[tuple[str, str]]) -> str:
    encoded = sorted(
        (uri_encode(name), uri_encode(value)) for name, value in params if name != "X-Amz-Signature"
    )
    return "&".join(f"{name}={value}" for name, value in encoded)


def canonical_request(
    method: str,
    path: str,
    params: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: Sequence[str],
    payload_hash: str = UNSIGNED_PAYLOAD,
) -> str:
    """`path` and `params` are decoded; `headers` have lower-case names."""
    lines = "".join(f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in signed_headers)
    return "\n".join(
        [
            method,
            uri_encode(path, keep_slash=True),
            canonical_query(params),
            lines,
            ";".join(signed_headers),
            payload_hash,
        ]
    )


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def is_query_auth(params: Iterable[tuple[str, str]]) -> bool:
    return any(name in QUERY_AUTH_PARAMS for name, _ in params)


def is_query_auth_v2(params: Iterable[tuple[str, str]]) -> bool:
    names = {name for name, _ in params}
    return "Signature" in names and "AWSAccessKeyId" in names


def v2_refused() -> S3Error:
    # What S3 answers in regions that accept only SigV4; the local cloud's code always signs with s3v4.
    return S3Error(
        400,
        "InvalidRequest",
        "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
    )


def signature_mismatch(access_key_id: str, string_to_sign: str, provided: str, **more: str) -> S3Error:
    return S3Error(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        {"AWSAccessKeyId": access_key_id, "StringToSign": string_to_sign, "SignatureProvided": provided}
        | more,
    )


def unknown_access_key(access_key_id: str) -> S3Error:
    return S3Error(
        403,
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
        {"AWSAccessKeyId": access_key_id},
    )


def parse_amz_date(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _query_error(message: str, **details: str) -> S3Error:
    return S3Error(400, "AuthorizationQueryParametersError", message, details)


@dataclass(frozen=True)
class QueryRequest:
    """A request as the server saw it: decoded path and query, header names in lower case."""

    method: str
    path: str
    params: Sequence[tuple[str, str]]
    headers: Mapping[str, str]


def verify_query_auth(
    request: QueryRequest, secrets: Secrets, now: datetime, bucket_region: str | None = None
) -> None:
    """Raise the S3Error S3 answers a presigned (query-string SigV4) request with, if any.

    The checks run in S3's order: the parameters, the credential, the dates, the key, the expiry,
    the signed headers, then the signature."""
    params = _query_params(request)
    credential = _checked_credential(params["X-Amz-Credential"], bucket_region)
    signed_at, expires = _checked_dates(params, credential)
    secret = secrets(credential.access_key_id)
    if secret is None:
        raise unknown_access_key(credential.access_key_id)
    expires_at = signed_at + timedelta(seconds=expires)
    if now > expires_at:
        raise S3Error(
            403,
            "AccessDenied",
            "Request has expired",
            {"X-Amz-Expires": expires, "Expires": iso(expires_at), "ServerTime": iso(now)},
        )
    signed_headers = _checked_signed_headers(request, params["X-Amz-SignedHeaders"])
    _check_signature(request, params, credential, secret, signed_headers)


def _query_params(request: QueryRequest) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in request.params:
        params.setdefault(name, value)
    if any(name not in params for name in QUERY_AUTH_PARAMS):
        raise _query_error(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
            "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
        )
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise _query_error(f'X-Amz-Algorithm only supports "{ALGORITHM}"')
    return params


def _checked_credential(value: str, bucket_region: str | None) -> Credential:
    credential = Credential.parse(value)
    if credential is None:
        raise _query_error(
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
            'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
        )
    if credential.service != "s3":
        raise _query_error(
            f'Error parsing the X-Amz-Credential parameter; incorrect service "{credential.service}". '
            'This endpoint belongs to "s3".'
        )
    if bucket_region and credential.region != bucket_region:
        raise _query_error(
            f"Error parsing the X-Amz-Credential parameter; the region '{credential.region}' is wrong; "
            f"expecting '{bucket_region}'",
            Region=bucket_region,
        )
    return credential


def _checked_dates(params: Mapping[str, str], credential: Credential) -> tuple[datetime, int]:
    """When the request was signed, and for how many seconds it is valid."""
    signed_at = parse_amz_date(params["X-Amz-Date"])
    if signed_at is None:
        raise _query_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    if credential.date != params["X-Amz-Date"][:8]:
        raise _query_error(
            f'Invalid credential date "{credential.date}". This date is not the same as X-Amz-Date: '
            f'"{params["X-Amz-Date"][:8]}".'
        )
    try:
        expires = int(params["X-Amz-Expires"])
    except ValueError:
        raise _query_error("X-Amz-Expires should be a number") from None
    if expires < 0:
        raise _query_error("X-Amz-Expires must be non-negative")
    if expires > MAX_EXPIRES:
        raise _query_error(f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES}")
    return signed_at, expires


def _checked_signed_headers(request: QueryRequest, listed: str) -> list[str]:
    signed_headers = listed.lower().split(";")
    # Headers S3 acts on must be signed, or a holder of the URL could add metadata, ACLs and so on.
    unsigned = sorted(n for n in request.headers if n.startswith("x-amz-") and n not in signed_headers)
    if unsigned:
        raise S3Error(
            403,
            "AccessDenied",
            "There were headers present in the request which were not signed",
            {"HeadersNotSigned": ", ".join(unsigned)},
        )
    return signed_headers


def _check_signature(
    request: QueryRequest,
    params: Mapping[str, str],
    credential: Credential,
    secret: str,
    signed_headers: list[str],
) -> None:
    canonical = canonical_request(
        request.method, request.path, request.params, request.headers, signed_headers
    )
    to_sign = string_to_sign(params["X-Amz-Date"], credential.scope, canonical)
    if not same_signature(signature(credential.key(secret), to_sign), params["X-Amz-Signature"]):
        raise signature_mismatch(
            credential.access_key_id, to_sign, params["X-Amz-Signature"], CanonicalRequest=canonical
        )
