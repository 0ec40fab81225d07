"""Each service's own transient errors, as botocore parses them: S3's XML <Error>, DynamoDB's JSON
`__type`, SNS's and SES's query ErrorResponse. botocore's standard retry mode retries every one of
them (throttling codes, 500/503)."""

from __future__ import annotations

import json
import random
import uuid
from xml.sax.saxutils import escape

from ..s3_presign.errors import S3Error
from .rates import SERVER_ERROR, THROTTLE

Response = tuple[str, list[tuple[str, str]], bytes]

SERVICES = ("s3", "dynamodb", "sns", "ses")

_DYNAMODB = "com.amazonaws.dynamodb.v20120810#"
# (status, code, message) per service and kind; several choices are picked at random.
_ERRORS: dict[tuple[str, str], tuple[tuple[int, str, str], ...]] = {
    ("s3", THROTTLE): ((503, "SlowDown", "Please reduce your request rate."),),
    ("s3", SERVER_ERROR): (
        (500, "InternalError", "We encountered an internal error. Please try again."),
        (503, "ServiceUnavailable", "Please reduce your request rate."),
    ),
    ("dynamodb", THROTTLE): (
        (
            400,
            _DYNAMODB + "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.",
        ),
        (
            400,
            "com.amazon.coral.availability#ThrottlingException",
            "Rate of requests exceeds the allowed throughput.",
        ),
    ),
    ("dynamodb", SERVER_ERROR): ((500, _DYNAMODB + "InternalServerError", "Internal server error"),),
    ("sns", THROTTLE): ((400, "Throttling", "Rate exceeded"),),
    ("sns", SERVER_ERROR): ((500, "InternalError", "Request could not be processed"),),
    ("ses", THROTTLE): ((400, "Throttling", "Maximum sending rate exceeded."),),
    ("ses", SERVER_ERROR): ((503, "ServiceUnavailable", "Service is unavailable. Please try again."),),
}
_REASONS = {400: "Bad Request", 500: "Internal Server Error", 503: "Service Unavailable"}
_NAMESPACES = {
    "sns": "http://sns.amazonaws.com/doc/2010-03-31/",
    "ses": "http://ses.amazonaws.com/doc/2010-12-01/",
}


def service_of(scope_service: str) -> str | None:
    """The service a SigV4 credential scope names, if it is one we inject into (SES signs as "ses" or
    "email")."""
    service = "ses" if scope_service == "email" else scope_service
    return service if service in SERVICES else None


def error_response(service: str, kind: str, rng: random.Random, *, head: bool = False) -> Response:
    """The (status line, headers, body) `service` answers for a fault of `kind`."""
    status, code, text = rng.choice(_ERRORS[(service, kind)])
    if service == "s3":
        return S3Error(status, code, text).response(head=head)
    request_id = str(uuid.uuid4())
    line = f"{status} {_REASONS[status]}"
    if service == "dynamodb":
        body = json.dumps({"__type": code, "message": text}).encode()
        content_type = "application/x-amz-json-1.0"
    else:
        kind_of_fault = "Sender" if status < 500 else "Receiver"
        body = (
            f'<ErrorResponse xmlns="{_NAMESPACES[service]}"><Error><Type>{kind_of_fault}</Type>'
            f"<Code>{code}</Code><Message>{escape(text)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        content_type = "text/xml"
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", request_id),
    ]
    return line, headers, body
