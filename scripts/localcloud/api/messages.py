"""What passes between the HTTP server and the gateway: a request, a reply, a gateway-made error."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Reject", "Reply", "Request"]


class Reject(Exception):
    """A gateway-made error response (the integration is never reached)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Request:
    """One HTTP request as the client sent it: the raw (still percent-encoded) path, the headers in
    their order and spelling, repeated ones repeated."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: bytes
    client_ip: str

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in reversed(self.headers) if k.lower() == wanted), None)


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
