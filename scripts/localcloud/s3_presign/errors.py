"""S3's error responses: the XML body, the status and the request-id headers S3 sends with them."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from xml.sax.saxutils import escape

_REASONS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 411: "Length Required"}


class S3Error(Exception):
    """An error S3 would answer with; `details` become extra elements of <Error>, in order."""

    def __init__(
        self, status: int, code: str, message: str, details: Mapping[str, str | int] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.details = {name: str(value) for name, value in (details or {}).items()}

    def xml(self, request_id: str, host_id: str) -> bytes:
        elements = {"Code": self.code, "Message": self.message, **self.details}
        elements |= {"RequestId": request_id, "HostId": host_id}
        inner = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in elements.items())
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{inner}</Error>'.encode()

    def response(self, *, head: bool = False) -> tuple[str, list[tuple[str, str]], bytes]:
        """(status line, headers, body) as S3 sends it; a HEAD answer carries no body."""
        request_id = secrets.token_hex(8).upper()
        host_id = base64.b64encode(secrets.token_bytes(48)).decode()
        body = b"" if head else self.xml(request_id, host_id)
        headers = [
            ("Content-Type", "application/xml"),
            ("Content-Length", str(len(body))),
            ("x-amz-request-id", request_id),
            ("x-amz-id-2", host_id),
        ]
        return f"{self.status} {_REASONS.get(self.status, 'Error')}", headers, body
