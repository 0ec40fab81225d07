"""Each service's own AccessDenied answer: S3's XML, DynamoDB's and KMS's JSON AccessDeniedException,
SQS's JSON error with its query-compatible code, SNS's and SES's query XML."""

from __future__ import annotations

import json
import uuid
from xml.sax.saxutils import escape

from ..s3_presign.errors import S3Error
from ..s3_presign.sigv4 import unknown_access_key

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


INVALID_TOKEN = "The security token included in the request is invalid."
MISSING_TOKEN = "Request is missing Authentication Token"


def unrecognized(service: str, protocol: str, access_key_id: str, *, head: bool = False) -> Response:
    """The answer to a request signed with an access key the account does not know: S3's
    InvalidAccessKeyId, a query API's InvalidClientTokenId, a JSON or REST API's
    UnrecognizedClientException."""
    if service == "s3":
        return unknown_access_key(access_key_id).response(head=head)
    if protocol == "query":
        return _query_xml("https://iam.amazonaws.com/doc/2010-05-08/", "InvalidClientTokenId", INVALID_TOKEN)
    if service == "sqs":  # SQS's JSON protocol keeps its query error code
        extra = [("x-amzn-query-error", "InvalidClientTokenId;Sender")]
        return _json(
            "403 Forbidden", "InvalidClientTokenId", INVALID_TOKEN, "application/x-amz-json-1.0", extra
        )
    status = "400 Bad Request" if protocol == "json" else "403 Forbidden"
    extra = [("x-amzn-ErrorType", "UnrecognizedClientException")]
    return _json(status, "UnrecognizedClientException", INVALID_TOKEN, "application/x-amz-json-1.1", extra)


def unauthenticated(protocol: str) -> Response:
    """The answer to an unsigned request to an API that needs signing."""
    if protocol == "query":
        return _query_xml(
            "https://iam.amazonaws.com/doc/2010-05-08/", "MissingAuthenticationToken", MISSING_TOKEN
        )
    status = "400 Bad Request" if protocol == "json" else "403 Forbidden"
    extra = [("x-amzn-ErrorType", "MissingAuthenticationTokenException")]
    return _json(
        status, "MissingAuthenticationTokenException", MISSING_TOKEN, "application/x-amz-json-1.1", extra
    )
