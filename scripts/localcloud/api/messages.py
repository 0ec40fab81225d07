"""What passes between the HTTP server and the gateway: a request, a reply, a gateway-made error."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Reject", "Reply", "Request"]


class Reject(Exception):
    """A gateway-made error response (the integration is never reached)."""

    def __init__(self, status: int, message: str, response_type: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        #: The gateway response type when it is not DEFAULT_4XX/5XX (e.g. WAF_FILTERED).
        self.response_type = response_type


@dataclass(frozen=True)
class Request:
    """One HTTP request as the client sent it: the raw (still percent-encoded) path, the headers in
    their order and spelling, repeated ones repeated. `request_id` is API Gateway's $context.requestId
    (the x-amzn-RequestId header); `context` holds the $context variables the gateway learns on the way
    (claims, latencies, WAF result), for the access log."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: bytes
    client_ip: str
    request_id: str = ""
    raw_query: str = ""  # the query string as sent (still percent-encoded), for WAF's size rules
    context: dict[str, Any] = field(default_factory=dict, compare=False)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in reversed(self.headers) if k.lower() == wanted), None)


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
