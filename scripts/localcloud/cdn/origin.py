"""The origin side: what S3 answers a request the origin access control signed for a distribution.

S3 authorizes such a request as `cloudfront.amazonaws.com` with `aws:SourceArn` = the distribution's
ARN (the OAC's identity has no IAM policy of its own): the local cloud's IAM evaluates it as the service
delivery it is (localcloud.authz.deliveries.cloudfront_may_read: the bucket policy, and for an SSE-KMS
object the key policy's kms:Decrypt). A denied read is S3's AccessDenied XML, which CloudFront passes
on with the 403, logged and counted as every denial. Then the object is read from the emulator's S3,
passing on the query strings the behaviour forwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from localcloud.authz.deliveries import cloudfront_may_read
from localcloud.cfn._cloudfront import DeployedDistribution
from localcloud.s3_presign.errors import S3Error

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


def _s3_error(status: int, code: str, message: str, head: bool) -> OriginReply:
    """S3's error as CloudFront passes it on: its status, XML body and request id headers."""
    _, headers, body = S3Error(status, code, message).response(head=head)
    return OriginReply(status, headers, body)


def read(
    s3: Any, distribution: DeployedDistribution, bucket: str, key: str, query: dict[str, str], head: bool
) -> OriginReply:
    """The origin's answer to GET/HEAD `key` through the origin access control."""
    if not cloudfront_may_read(distribution.arn, distribution.account_id, bucket, key, head=head):
        return _s3_error(403, "AccessDenied", "Access Denied", head)
    params = {OVERRIDES[name]: value for name, value in query.items() if name in OVERRIDES}
    try:
        response = s3.get_object(Bucket=bucket, Key=key, **params)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchKey", "404"):  # the bucket policy allowed s3:ListBucket to CloudFront
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.", head)
        raise
    headers = dict(response["ResponseMetadata"].get("HTTPHeaders", {}))
    passed = [(name, headers[name.lower()]) for name in _PASSED_ON if name.lower() in headers]
    body = b"" if head else response["Body"].read()
    return OriginReply(200, passed, body)
