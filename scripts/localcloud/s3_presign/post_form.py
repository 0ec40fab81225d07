"""Reads a POST upload's multipart/form-data body once, as it streams in.

The raw bytes go into one spooled file (memory, then disk) that is handed on to the emulator
unchanged, so a body is held once however large it is. The fields before the file are parsed so the
policy can be checked before the file is read; the file's bytes are only counted, and spooling stops
as soon as they exceed the policy's limit.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from typing import IO

from werkzeug.sansio.multipart import Data, Epilogue, Event, Field, File, MultipartDecoder, NeedData

from .errors import S3Error

CHUNK = 64 * 1024
SPOOL_IN_MEMORY = 1024 * 1024
MAX_FIELDS_BYTES = 20 * 1024  # S3 refuses more than 20 KB of form fields before the file


def malformed() -> S3Error:
    return S3Error(
        400, "MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data."
    )


def one_file(count: int) -> S3Error:
    return S3Error(
        400,
        "InvalidArgument",
        "POST requires exactly one file upload per request.",
        {"ArgumentName": "file", "ArgumentValue": count},
    )


class PostForm:
    """`fields()`, then `file_size()`, then `body()`; `discard()` instead after a refusal."""

    def __init__(self, stream: IO[bytes], boundary: bytes) -> None:
        self._stream = stream
        self._decoder = MultipartDecoder(boundary)
        self._spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        self._keep = True  # spool what is read; off once the body is refused
        self._events = self._read_events()
        self.length = 0
        self.filename: str | None = None
        self.md5 = hashlib.md5(usedforsecurity=False)  # the file's, S3's ETag of a one-part upload

    def _read_events(self) -> Iterator[Event]:
        while True:
            try:
                event = self._decoder.next_event()
            except ValueError:
                raise malformed() from None
            if isinstance(event, NeedData):
                chunk = self._stream.read(CHUNK)
                self.length += len(chunk)
                if self._keep:
                    self._spool.write(chunk)
                self._decoder.receive_data(chunk or None)
                continue
            yield event
            if isinstance(event, Epilogue):
                return

    def fields(self) -> dict[str, str]:
        """The fields before the file, names in lower case (the first of a repeated name counts)."""
        fields: dict[str, str] = {}
        name, value, total = "", bytearray(), 0
        for event in self._events:
            if isinstance(event, File) or (isinstance(event, Field) and event.name.lower() == "file"):
                if event.name.lower() != "file":
                    raise one_file(2)
                self.filename = event.filename if isinstance(event, File) else None
                return fields
            if isinstance(event, Field):
                name, value = event.name.lower(), bytearray()
                total += len(name)
            elif isinstance(event, Data):
                value += event.data
                total += len(event.data)
                if total > MAX_FIELDS_BYTES:
                    raise S3Error(
                        400,
                        "MaxPostPreDataLengthExceeded",
                        "Your POST request fields preceeding the upload file was too large.",
                    )
                if not event.more_data:
                    try:
                        fields.setdefault(name, value.decode())
                    except UnicodeDecodeError:
                        raise malformed() from None
        raise one_file(0)

    def file_size(self, limit: int | None = None) -> int:
        """The file's size; past `limit` the rest is counted but no longer kept."""
        size = 0
        for event in self._events:
            if isinstance(event, Data):
                size += len(event.data)
                if limit is not None and size > limit:
                    self._keep = False
                if self._keep:
                    self.md5.update(event.data)
                if not event.more_data:
                    return size
        raise malformed()

    def body(self) -> IO[bytes]:
        """The whole body as received, rewound. S3 ignores fields after the file; they are refused
        here rather than passed to the emulator, which would read them."""
        for event in self._events:
            if isinstance(event, Field | File):
                raise S3Error(
                    400,
                    "InvalidArgument",
                    f"The file must be the last field of the form; '{event.name}' comes after it.",
                    {"ArgumentName": event.name, "ArgumentValue": ""},
                )
        self._spool.seek(0)
        return self._spool

    def discard(self) -> None:
        """Read what is left of the body without keeping it, so the client gets the answer."""
        self._keep = False
        while self._stream.read(CHUNK):
            pass
        self.close()

    def close(self) -> None:
        self._spool.close()
