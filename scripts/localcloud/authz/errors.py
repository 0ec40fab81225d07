"""Each service's own AccessDenied answer: S3's XML, DynamoDB's and KMS's JSON AccessDeniedException,
SQS's JSON error with its query-compatible code, SNS's and SES's query XML."""

from __future__ import annotations

import json
import uuid
from xml.sax.saxutils import escape

from ..s3_presign.errors import S3Error

Response = tuple[str, list[tuple[str, str]], bytes]


def message(principal: str, action: str, resource: str, reason: str) -> str:
    if principal == "anonymous":
        return "Access Denied"
    return (
        f"User: {principal} is not authorized to perform: {action} on resource: {resource} because {reason}"
    )


def _json(status: str, type_: str, text: str, content_type: str, extra: list[tuple[str, str]]) -> Response:
    body = json.dumps({"__type": type_, "message": text, "Message": text}).encode()
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", str(uuid.uuid4())),
        *extra,
    ]
    return status, headers, body


def _query_xml(namespace: str, code: str, text: str) -> Response:
    request_id = str(uuid.uuid4())
    body = (
        f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{escape(text)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()
    headers = [
        ("Content-Type", "text/xml"),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", request_id),
    ]
    return "403 Forbidden", headers, body


def denied(service: str, text: str, *, head: bool = False) -> Response:
    """The response ``service`` gives when it denies a request."""
    if service == "s3":
        return S3Error(403, "AccessDenied", text).response(head=head)
    if service == "dynamodb":
        return _json(
            "400 Bad Request",
            "com.amazonaws.dynamodb.v20120810#AccessDeniedException",
            text,
            "application/x-amz-json-1.0",
            [],
        )
    if service == "sqs":
        query_error = [("x-amzn-query-error", "AccessDenied;Sender")]
        return _json(
            "403 Forbidden",
            "com.amazon.coral.service#AccessDeniedException",
            text,
            "application/x-amz-json-1.0",
            query_error,
        )
    if service == "sns":
        return _query_xml("http://sns.amazonaws.com/doc/2010-03-31/", "AuthorizationError", text)
    if service in ("ses", "email"):
        return _query_xml("http://ses.amazonaws.com/doc/2010-12-01/", "AccessDenied", text)
    if service == "kms":
        return _json("400 Bad Request", "AccessDeniedException", text, "application/x-amz-json-1.1", [])
    return _json("400 Bad Request", "AccessDeniedException", text, "application/x-amz-json-1.1", [])
