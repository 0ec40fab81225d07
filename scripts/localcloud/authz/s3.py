"""S3 REST requests (path style) as checks: the action, the bucket or object ARN, s3:prefix, the
bucket policy, and the KMS key an SSE-KMS read or write uses."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qsl

from . import resources
from .checks import Caller, Check, base_context, kms_checks

Environ = dict[str, Any]
# The presign checks (in front of this middleware) parse a POST form upload and leave its key here.
FORM_KEY = "localcloud.s3_presign.form_key"

_BUCKET_SUBRESOURCES = {
    ("GET", "location"): "s3:GetBucketLocation",
    ("GET", "cors"): "s3:GetBucketCORS",
    ("GET", "policy"): "s3:GetBucketPolicy",
    ("GET", "encryption"): "s3:GetEncryptionConfiguration",
    ("GET", "uploads"): "s3:ListBucketMultipartUploads",
    ("GET", "versions"): "s3:ListBucketVersions",
    ("GET", "notification"): "s3:GetBucketNotification",
    ("GET", "acl"): "s3:GetBucketAcl",
}
_OBJECT_SUBRESOURCES = {
    ("GET", "tagging"): "s3:GetObjectTagging",
    ("PUT", "tagging"): "s3:PutObjectTagging",
    ("GET", "acl"): "s3:GetObjectAcl",
    ("PUT", "acl"): "s3:PutObjectAcl",
    ("DELETE", "uploadId"): "s3:AbortMultipartUpload",
    ("GET", "uploadId"): "s3:ListMultipartUploadParts",
}
_OBJECT_METHODS = {
    "GET": "s3:GetObject",
    "HEAD": "s3:GetObject",
    "PUT": "s3:PutObject",
    "DELETE": "s3:DeleteObject",
}


def _bucket_and_key(environ: Environ) -> tuple[str, str]:
    path = str(environ.get("PATH_INFO", "")).encode("latin-1").decode("utf-8", "replace")
    bucket, _, key = path.lstrip("/").partition("/")
    return bucket, key


def _object_action(method: str, query: dict[str, str], environ: Environ) -> str:
    for (verb, name), action in _OBJECT_SUBRESOURCES.items():
        if verb == method and name in query:
            return action
    if method == "POST":  # CreateMultipartUpload (?uploads), CompleteMultipartUpload (?uploadId)
        return "s3:PutObject"
    return _OBJECT_METHODS.get(method, f"s3:{method.title()}Object")


def _deleted_keys(environ: Environ) -> list[str]:
    """The keys of a DeleteObjects request (POST ?delete): S3 checks s3:DeleteObject on each."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else environ["wsgi.input"].read()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return []
    return [el.text or "" for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "Key"]


def _bucket_action(method: str, query: dict[str, str]) -> str:
    for (verb, name), action in _BUCKET_SUBRESOURCES.items():
        if verb == method and name in query:
            return action
    if method in ("GET", "HEAD"):
        return "s3:ListBucket"
    return f"s3:{method.title()}Bucket"


def checks(environ: Environ, caller: Caller) -> list[Check]:
    method = str(environ.get("REQUEST_METHOD", "GET"))
    bucket, key = _bucket_and_key(environ)
    query = dict(parse_qsl(str(environ.get("QUERY_STRING", "")), keep_blank_values=True))
    context = base_context(caller)
    policy = resources.bucket_policy(caller.account, bucket)
    bucket_arn = f"arn:aws:s3:::{bucket}"
    form_key = environ.get(FORM_KEY)
    if form_key is not None:
        key, method = str(form_key), "PUT"
    if method == "POST" and "delete" in query and not key:
        keys = _deleted_keys(environ)
        return [Check("s3:DeleteObject", f"{bucket_arn}/{k}", context, policy) for k in keys]
    if not key:
        action = _bucket_action(method, query)
        if action == "s3:ListBucket":
            context["s3:prefix"] = query.get("prefix", "")
            context["s3:delimiter"] = query.get("delimiter", "")
        return [Check(action, bucket_arn, context, policy)]
    action = _object_action(method, query, environ)
    found = [Check(action, f"{bucket_arn}/{key}", context, policy)]
    if action == "s3:GetObject" and not resources.object_exists(caller.account, bucket, key):
        # S3 answers 404 for a missing key only to a caller allowed s3:ListBucket, 403 otherwise. The
        # key stands as s3:prefix (AWS does not document the context of this implicit check).
        found.append(Check("s3:ListBucket", bucket_arn, {**context, "s3:prefix": key}, policy))
    return found + _object_kms(environ, caller, bucket, key, action, query)


def _object_kms(
    environ: Environ, caller: Caller, bucket: str, key: str, action: str, query: dict[str, str]
) -> list[Check]:
    if action == "s3:PutObject" and "uploadId" in query:
        # UploadPart and CompleteMultipartUpload of an SSE-KMS upload: S3 decrypts the data key its
        # CreateMultipartUpload made (kms:GenerateDataKey, below) to encrypt and assemble the parts.
        key_id = resources.multipart_key(caller.account, bucket, query["uploadId"])
        return kms_checks(caller, key_id, ("kms:Decrypt",), "s3")
    if action == "s3:PutObject" and "HTTP_X_AMZ_COPY_SOURCE" not in environ:
        asked = environ.get("HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION")
        key_id = environ.get("HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION_AWS_KMS_KEY_ID")
        if asked == "aws:kms":
            key_id = key_id or "alias/aws/s3"
        elif asked is None:
            key_id = resources.bucket_default_key(caller.account, bucket)
        return kms_checks(caller, key_id, ("kms:GenerateDataKey",), "s3")
    if action == "s3:GetObject" and environ.get("REQUEST_METHOD") == "GET":
        return kms_checks(caller, resources.object_key(caller.account, bucket, key), ("kms:Decrypt",), "s3")
    return []
