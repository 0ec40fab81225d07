"""The origin side: what S3 answers a request the origin access control signed for a distribution.

S3 authorizes such a request as `cloudfront.amazonaws.com` with `aws:SourceArn` = the distribution's
ARN, so the bucket policy must allow it (the OAC's identity has no IAM policy of its own). The front
evaluates the bucket policy that way (an explicit Deny wins; an Allow for the service principal on
s3:GetObject and the object's ARN is needed), then reads the object from the emulator's S3, which
decrypts SSE-KMS objects through KMS, passing on the query strings the behaviour forwards.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from moto.s3.models import s3_backends

from localcloud.cfn._cloudfront import DeployedDistribution
from localcloud.cfn.s3_bucket_policy import condition_holds

SERVICE = "cloudfront.amazonaws.com"
# S3 GetObject's response-* overrides, by query string name -> boto3 parameter.
OVERRIDES = {
    "response-content-disposition": "ResponseContentDisposition",
    "response-content-type": "ResponseContentType",
    "response-cache-control": "ResponseCacheControl",
    "response-content-language": "ResponseContentLanguage",
    "response-expires": "ResponseExpires",
    "response-content-encoding": "ResponseContentEncoding",
}
_PASSED_ON = (
    "Content-Type",
    "Content-Length",
    "ETag",
    "Last-Modified",
    "Cache-Control",
    "Content-Disposition",
)


@dataclass(frozen=True)
class OriginReply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _s3_error(status: int, code: str, message: str) -> OriginReply:
    body = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return OriginReply(status, [("Content-Type", "application/xml")], body.encode())


def _applies(statement: dict[str, Any], action: str, arn: str, context: dict[str, str]) -> bool:
    principal = statement.get("Principal")
    services = principal.get("Service", []) if isinstance(principal, dict) else []
    if principal not in ("*", {"AWS": "*"}) and SERVICE not in (
        services if isinstance(services, list) else [services]
    ):
        return False
    actions = statement.get("Action", [])
    resources = statement.get("Resource", [])
    actions = actions if isinstance(actions, list) else [actions]
    resources = resources if isinstance(resources, list) else [resources]
    return (
        any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions)
        and any(fnmatch.fnmatchcase(arn, r) for r in resources)
        and condition_holds(statement.get("Condition") or {}, context)
    )


def oac_may_read(distribution: DeployedDistribution, bucket: str, key: str) -> bool:
    """Whether the bucket policy lets this distribution's origin access control GetObject `key`."""
    found = s3_backends[distribution.account_id]["aws"].buckets.get(bucket)
    if found is None or not found.policy:
        return False
    statements = json.loads(found.policy.decode()).get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    context = {
        "aws:SourceArn": distribution.arn,
        "aws:SourceAccount": distribution.account_id,
        "aws:SecureTransport": "true",
    }
    arn = f"arn:aws:s3:::{bucket}/{key}"
    relevant = [s for s in statements if _applies(s, "s3:GetObject", arn, context)]
    return not any(s.get("Effect") == "Deny" for s in relevant) and any(
        s.get("Effect") == "Allow" for s in relevant
    )


def read(
    s3: Any, distribution: DeployedDistribution, bucket: str, key: str, query: dict[str, str], head: bool
) -> OriginReply:
    """The origin's answer to GET/HEAD `key` through the origin access control."""
    if not oac_may_read(distribution, bucket, key):
        return _s3_error(403, "AccessDenied", "Access Denied")
    params = {OVERRIDES[name]: value for name, value in query.items() if name in OVERRIDES}
    try:
        response = s3.get_object(Bucket=bucket, Key=key, **params)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchKey", "404"):  # without s3:ListBucket, S3 answers 403 for a missing key
            return _s3_error(403, "AccessDenied", "Access Denied")
        raise
    headers = dict(response["ResponseMetadata"].get("HTTPHeaders", {}))
    passed = [(name, headers[name.lower()]) for name in _PASSED_ON if name.lower() in headers]
    body = b"" if head else response["Body"].read()
    return OriginReply(200, passed, body)
