"""Moving the bytes: presigned uploads (a POST form or a PUT) streamed from disk, and downloads.

A large file never sits in memory; `on_progress` callbacks see every chunk sent or received.
"""

from __future__ import annotations

import io
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import IO, Any

import requests

from intake_cli.config import is_local
from intake_cli.errors import IntakeError

Progressed = Callable[[int], None]  # bytes sent or received since the last call


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


def send_presigned(
    upload: Mapping[str, Any],
    file: IO[bytes],
    size: int,
    content_type: str,
    filename: str,
    *,
    timeout_s: float,
    on_progress: Progressed | None = None,
) -> None:
    """Upload the bytes with a presigned request (`upload` of POST /uploads: POST form or PUT)."""
    url = upload.get("url")
    if not url:
        raise IntakeError("the API gave no upload URL")
    try:
        if upload.get("method", "POST").upper() == "PUT":
            response = requests.put(
                url,
                data=ReadCounter(file, size, on_progress),
                headers={"Content-Length": str(size), **upload.get("headers", {})},
                timeout=timeout_s,
            )
        else:
            body = MultipartBody(upload.get("fields", {}), filename, content_type, file, size, on_progress)
            response = requests.post(
                url, data=body, headers={"Content-Type": body.content_type}, timeout=timeout_s
            )
    except requests.ConnectionError as exc:
        raise IntakeError(f"cannot reach S3 at {url.split('?')[0]}{connection_hint(url)}") from exc
    except requests.RequestException as exc:
        raise IntakeError(f"upload to S3 failed: {exc.__class__.__name__}") from exc
    if response.status_code >= 300:
        raise IntakeError(f"S3 refused the upload: {s3_error(response)}")


def download(url: str, target: IO[bytes], *, timeout_s: float, on_progress: Progressed | None = None) -> int:
    """Stream `url` into `target`; the number of bytes written."""
    try:
        with requests.get(url, stream=True, timeout=timeout_s) as response:
            if response.status_code != 200:
                raise IntakeError(f"download refused: {s3_error(response)}")
            total = 0
            for chunk in response.iter_content(64 * 1024):
                target.write(chunk)
                total += len(chunk)
                if on_progress:
                    on_progress(len(chunk))
            return total
    except requests.ConnectionError as exc:
        raise IntakeError(f"cannot reach S3 at {url.split('?')[0]}{connection_hint(url)}") from exc
    except requests.RequestException as exc:
        raise IntakeError(f"download failed: {exc.__class__.__name__}") from exc
