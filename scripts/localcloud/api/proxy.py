"""The Lambda proxy integration of a REST API: the event (payload format 1.0) a request becomes, and the
HTTP reply a function's result stands for."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from .authorizer import claims_as_strings
from .messages import Reply, Request
from .routes import ApiDefinition, Method

__all__ = ["proxy_event", "proxy_reply"]

_HOP_BY_HOP = frozenset({"connection", "content-length", "transfer-encoding", "keep-alive"})


def _single_and_multi(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """API Gateway's two views of repeated names: the last value, and all of them."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def _body(raw: bytes) -> tuple[str | None, bool]:
    """The event's body and isBase64Encoded: text as is, anything not UTF-8 in base64."""
    if not raw:
        return None, False
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), True


def _identity(request: Request) -> dict[str, Any]:
    return {
        "cognitoIdentityPoolId": None,
        "accountId": None,
        "cognitoIdentityId": None,
        "caller": None,
        "sourceIp": request.client_ip,
        "principalOrgId": None,
        "accessKey": None,
        "cognitoAuthenticationType": None,
        "cognitoAuthenticationProvider": None,
        "userArn": None,
        "userAgent": request.header("User-Agent"),
        "user": None,
    }


def _request_context(
    request: Request, api: ApiDefinition, method: Method, claims: Mapping[str, Any] | None
) -> dict[str, Any]:
    now = datetime.now(UTC)
    request_id = request.request_id or str(uuid.uuid4())
    context: dict[str, Any] = {
        "resourceId": method.resource_id,
        "resourcePath": method.resource_path,
        "httpMethod": request.method,
        "extendedRequestId": request_id[:16],
        "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "path": f"/{api.stage}{unquote(request.path)}",
        "accountId": api.account_id,
        "protocol": "HTTP/1.1",
        "stage": api.stage,
        "domainPrefix": api.api_id,
        "requestTimeEpoch": int(now.timestamp() * 1000),
        "requestId": request_id,
        "identity": _identity(request),
        "domainName": f"{api.api_id}.execute-api.{api.region}.amazonaws.com",
        "apiId": api.api_id,
    }
    if claims is not None:
        context["authorizer"] = {"claims": claims_as_strings(claims)}
    return context


def proxy_event(
    request: Request,
    api: ApiDefinition,
    method: Method,
    path_parameters: Mapping[str, str],
    claims: Mapping[str, Any] | None,
    port: int,
) -> dict[str, Any]:
    """The REST API Lambda proxy event (payload format 1.0); ``port`` is the one the client called."""
    forwarded = [
        ("X-Forwarded-For", request.client_ip),
        ("X-Forwarded-Proto", "http"),
        ("X-Forwarded-Port", str(port)),
    ]
    headers, multi_headers = _single_and_multi([*request.headers, *forwarded])
    query, multi_query = _single_and_multi(request.query)
    body, encoded = _body(request.body)
    return {
        "resource": method.resource_path,
        "path": unquote(request.path),
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(path_parameters) or None,
        "stageVariables": None,
        "requestContext": _request_context(request, api, method, claims),
        "body": body,
        "isBase64Encoded": encoded,
    }


def _reply_headers(payload: Mapping[str, Any]) -> list[tuple[str, str]] | None:
    single, multi = payload.get("headers") or {}, payload.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        return None
    merged: dict[str, list[str]] = {str(k): [str(v)] for k, v in single.items()}
    for name, values in multi.items():  # multiValueHeaders win for the same name
        if not isinstance(values, list):
            return None
        merged[str(name)] = [str(v) for v in values]
    return [(k, v) for k, values in merged.items() if k.lower() not in _HOP_BY_HOP for v in values]


def _reply_body(payload: Mapping[str, Any]) -> bytes | None:
    body = payload.get("body")
    if body is not None and not isinstance(body, str):
        return None
    if not (payload.get("isBase64Encoded") and body):
        return (body or "").encode()
    try:
        return base64.b64decode(body, validate=True)
    except ValueError:
        return None


def proxy_reply(payload: Any) -> Reply | None:
    """The HTTP response a Lambda proxy integration result stands for; None if it is malformed."""
    if not isinstance(payload, dict):
        return None
    status = payload.get("statusCode")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return None
    headers, body = _reply_headers(payload), _reply_body(payload)
    if headers is None or body is None:
        return None
    return Reply(status, headers, body)
