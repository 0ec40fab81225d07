"""Moving the bytes: presigned uploads (a POST form or a PUT) streamed from disk, and downloads.

A large file never sits in memory; `on_progress` callbacks see every chunk sent or received. Each
request is retried by the client's one policy (:mod:`intake_cli.retry`) while its URL is valid: the
body is sent again from the file's start (the file must be seekable to be retried), and a download
starts its output over.
"""

from __future__ import annotations

import base64
import io
import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import parse_qs, urlsplit

import requests

from intake_cli.config import is_local
from intake_cli.errors import IntakeError
from intake_cli.retry import DEFAULT_POLICY, RetryPolicy, after_tries

# Bytes sent or received since the last call; negative when a retry starts the body over.
Progressed = Callable[[int], None]


def connection_hint(url: str) -> str:
    return " (is the local cloud running? `make up`)" if is_local(url) else ""


class MultipartBody:
    """A multipart/form-data body read lazily: the form fields, then the file, streamed from disk.

    `requests` sends a readable body with a Content-Length (from `__len__`) in 8 KiB reads, so a
    large file never sits in memory and `on_read` sees the progress. Deliberately not an io class:
    with `__iter__` or `tell` requests would fall back to chunked encoding, which S3 refuses (411).
    """

    def __init__(
        self,
        fields: Mapping[str, str],
        filename: str,
        content_type: str,
        file: IO[bytes],
        size: int,
        on_read: Progressed | None = None,
    ) -> None:
        boundary = uuid.uuid4().hex
        head = io.BytesIO()
        for name, value in fields.items():
            head.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
            head.write(f"{value}\r\n".encode())
        safe_name = filename.replace('"', "%22").replace("\r", "").replace("\n", "")
        head.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{safe_name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode()
        )
        tail = f"\r\n--{boundary}--\r\n".encode()
        self.content_type = f"multipart/form-data; boundary={boundary}"
        self._parts: list[IO[bytes]] = [io.BytesIO(head.getvalue()), file, io.BytesIO(tail)]
        self._length = len(head.getvalue()) + size + len(tail)
        self._on_read = on_read
        self._file = file

    def __len__(self) -> int:
        return self._length

    def read(self, size: int | None = -1) -> bytes:
        want = self._length if size is None or size < 0 else size
        chunks = []
        while want > 0 and self._parts:
            chunk = self._parts[0].read(want)
            if not chunk:
                self._parts.pop(0)
                continue
            if self._parts[0] is self._file and self._on_read:
                self._on_read(len(chunk))
            chunks.append(chunk)
            want -= len(chunk)
        return b"".join(chunks)


class ReadCounter:
    """A file that reports how much was read (for presigned PUT progress)."""

    def __init__(self, file: IO[bytes], size: int, on_read: Progressed | None) -> None:
        self._file, self._size, self._on_read = file, size, on_read

    def __len__(self) -> int:
        return self._size

    def read(self, size: int | None = -1) -> bytes:
        chunk = self._file.read(-1 if size is None else size)
        if chunk and self._on_read:
            self._on_read(len(chunk))
        return chunk


def s3_error(response: requests.Response) -> str:
    """S3's XML error as 'Code: Message', or the status line if the body is not S3's."""
    try:
        root = ET.fromstring(response.content)
        code, message = root.findtext("Code"), root.findtext("Message")
    except ET.ParseError:
        code = message = None
    if code:
        return f"{code}: {message}" if message else code
    return f"HTTP {response.status_code} {response.reason}".strip()


def _epoch(iso: str) -> float | None:
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _cloudfront_policy_expiry(policy: str) -> float | None:
    # CloudFront's URL-safe base64: '-' for '+', '_' for '=', '~' for '/'.
    raw = policy.replace("-", "+").replace("_", "=").replace("~", "/")
    statement = json.loads(base64.b64decode(raw))["Statement"][0]
    return float(statement["Condition"]["DateLessThan"]["AWS:EpochTime"])


def url_expiry(url: str) -> float | None:
    """When a presigned URL stops working (epoch seconds), read from the URL itself: SigV4's
    X-Amz-Date + X-Amz-Expires, SigV2's or a CloudFront canned policy's Expires, or a CloudFront
    custom policy's DateLessThan. None when the URL carries no expiry it can read."""
    query = {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}
    try:
        if "X-Amz-Date" in query and "X-Amz-Expires" in query:
            signed = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            return signed.timestamp() + int(query["X-Amz-Expires"])
        if "Expires" in query:
            return float(query["Expires"])
        if "Policy" in query:
            return _cloudfront_policy_expiry(query["Policy"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return None


def upload_expiry(upload: Mapping[str, Any]) -> float | None:
    """When a presigned upload (`upload` of POST /uploads) stops working: its POST policy's
    `expiration`, else its URL's."""
    fields = upload.get("fields") or {}
    policy = fields.get("policy") or fields.get("Policy")
    if policy:
        try:
            expiration = json.loads(base64.b64decode(policy)).get("expiration")
        except (ValueError, AttributeError):
            expiration = None
        if isinstance(expiration, str):
            return _epoch(expiration)
    url = upload.get("url")
    return url_expiry(url) if isinstance(url, str) else None


def _position(stream: IO[bytes]) -> int | None:
    """Where a retry starts the stream over; None when it cannot (a pipe, stdout)."""
    try:
        return stream.tell() if stream.seekable() else None
    except (AttributeError, OSError, ValueError):
        return None


def send_presigned(
    upload: Mapping[str, Any],
    file: IO[bytes],
    size: int,
    content_type: str,
    filename: str,
    *,
    timeout_s: float,
    on_progress: Progressed | None = None,
    retry: RetryPolicy = DEFAULT_POLICY,
) -> None:
    """Upload the bytes with a presigned request (`upload` of POST /uploads: POST form or PUT), from
    the file's current position; retried while the URL is valid, if the file is seekable."""
    url = upload.get("url")
    if not url:
        raise IntakeError("the API gave no upload URL")
    start = _position(file)
    policy = retry if start is not None else retry.with_attempts(1)
    sent = 0

    def count(n: int) -> None:
        nonlocal sent
        sent += n
        if on_progress:
            on_progress(n)

    def send_once() -> requests.Response:
        nonlocal sent
        if start is not None:
            file.seek(start)
        if sent and on_progress:
            on_progress(-sent)  # this try sends the whole body again
        sent = 0
        if upload.get("method", "POST").upper() == "PUT":
            return requests.put(
                url,
                data=ReadCounter(file, size, count),
                headers={"Content-Length": str(size), **upload.get("headers", {})},
                timeout=timeout_s,
            )
        body = MultipartBody(upload.get("fields", {}), filename, content_type, file, size, count)
        return requests.post(url, data=body, headers={"Content-Type": body.content_type}, timeout=timeout_s)

    try:
        response = policy.call(send_once, what="the upload to S3", expires_at=upload_expiry(upload))
    except requests.ConnectionError as exc:
        where = f"{url.split('?')[0]}{connection_hint(url)}"
        raise IntakeError(f"cannot reach S3 at {where}{after_tries(policy, exc)}") from exc
    except requests.RequestException as exc:
        raise IntakeError(f"upload to S3 failed: {exc.__class__.__name__}{after_tries(policy, exc)}") from exc
    if response.status_code >= 300:
        raise IntakeError(f"S3 refused the upload: {s3_error(response)}{after_tries(policy, response)}")


def download(
    url: str,
    target: IO[bytes],
    *,
    timeout_s: float,
    on_progress: Progressed | None = None,
    retry: RetryPolicy = DEFAULT_POLICY,
) -> int:
    """Stream `url` into `target`; the number of bytes written. Retried while the URL is valid; a
    try cut short starts `target` over (from its position at the start), if it can be rewound."""
    start = _position(target)
    written = 0

    def fetch_once() -> requests.Response:
        nonlocal written
        if written:
            if start is None:
                raise IntakeError(
                    f"download interrupted after {written} bytes, into an output that cannot rewind"
                )
            target.seek(start)
            target.truncate()
            if on_progress:
                on_progress(-written)
            written = 0
        with requests.get(url, stream=True, timeout=timeout_s) as response:
            if response.status_code != 200:
                _ = response.content  # read while open: the error text comes from it
                return response
            for chunk in response.iter_content(64 * 1024):
                target.write(chunk)
                written += len(chunk)
                if on_progress:
                    on_progress(len(chunk))
            return response

    try:
        response = retry.call(fetch_once, what="the download", expires_at=url_expiry(url))
    except requests.ConnectionError as exc:
        where = f"{url.split('?')[0]}{connection_hint(url)}"
        raise IntakeError(f"cannot reach S3 at {where}{after_tries(retry, exc)}") from exc
    except requests.RequestException as exc:
        raise IntakeError(f"download failed: {exc.__class__.__name__}{after_tries(retry, exc)}") from exc
    if response.status_code != 200:
        raise IntakeError(f"download refused: {s3_error(response)}{after_tries(retry, response)}")
    return written
