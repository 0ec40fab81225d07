"""Large files by presigned multipart upload, resumable: the part plan, the state file that lets
`intake upload FILE --resume` continue, and the parallel transfer of the parts.

Above the API's threshold (the stack's MultipartThresholdBytes) `POST /uploads` answers
`"method": "MULTIPART"` with a part size, a part count and the first presigned UploadPart URLs
(docs: infra/cloudformation/openapi.yaml). The client PUTs each part from disk (never the whole file
in memory), several at once, then completes the upload (the API completes from the parts S3
holds, so the request stays a few bytes at any part count); the routes
`POST /uploads/{id}/parts` (fresh URLs), `GET /uploads/{id}/parts` (what S3 holds) and
`POST /uploads/{id}/complete` do the rest.

Resuming: the state file of a file (in the CLI's config dir, one per absolute path) names its open
upload with the file's size and modification time when it started. With --resume the client asks
S3 which parts it holds (GET /parts), sends only the others, then completes. A file changed since
its upload started is refused (its parts would mix two versions).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

import requests

from intake_cli.errors import IntakeError
from intake_cli.retry import DEFAULT_POLICY, RetryPolicy, UrlExpired, after_tries
from intake_cli.transfer import Progressed, connection_hint, s3_error, url_expiry

MULTIPART = "MULTIPART"
DEFAULT_PARALLEL = 4  # parts in flight per file: enough to fill a home uplink, gentle on S3
URL_BATCH = 100  # part URLs asked at once (POST /parts takes up to 1000; they expire together)
URL_MARGIN_S = 60.0  # a URL that expires sooner is renewed before its part starts
URL_RENEWALS = 2  # how often one part asks for a fresh URL after S3 said its URL expired
STATE_VERSION = 1


class UploadChanged(IntakeError):
    """The file differs from the one whose upload is open (size or modification time)."""


class UploadClosed(IntakeError):
    """The multipart upload is no longer open (completed, aborted, expired or deleted)."""


class Cancelled(IntakeError):
    """The transfer was stopped (Ctrl-C, or another part failed for good)."""


# --- the plan -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    number: int  # 1-based, as S3 numbers parts
    offset: int  # where it starts in the file
    size: int


def plan_parts(size: int, part_size: int, part_count: int) -> list[Part]:
    """The parts of a `size`-byte file: all `part_size` bytes but the last. Refuses a plan that does
    not cover the file exactly (an API and a client that disagree would corrupt the upload)."""
    if size <= 0 or part_size <= 0 or part_count != math.ceil(size / part_size):
        raise IntakeError(
            f"the API's part plan ({part_count} parts of {part_size} bytes) does not fit the file's {size} bytes"
        )
    return [
        Part(number, (number - 1) * part_size, min(part_size, size - (number - 1) * part_size))
        for number in range(1, part_count + 1)
    ]


def parts_to_send(
    parts: Sequence[Part], held: Iterable[Mapping[str, Any]]
) -> tuple[list[Part], dict[int, str]]:
    """The parts still to send, and the ETags of those S3 already holds (same number, same size).
    A held part of another size is sent again (S3 keeps the last one sent)."""
    sizes = {p.number: p.size for p in parts}
    etags: dict[int, str] = {}
    for item in held:
        number, etag, size = item.get("part_number"), item.get("etag"), item.get("size")
        if isinstance(number, int) and isinstance(etag, str) and etag and sizes.get(number) == size:
            etags[number] = etag
    return [p for p in parts if p.number not in etags], etags


def resumed_note(held: int, count: int) -> str:
    return f"resumed: {held} of {count} parts already uploaded"


# --- the state file -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenUpload:
    """What the state file of a file remembers of its open multipart upload."""

    path: str  # absolute
    size: int
    mtime_ns: int
    upload_id: str
    key: str
    part_size: int
    part_count: int
    api_url: str
    email: str
    content_type: str
    started_at: str  # ISO-8601 UTC
    version: int = STATE_VERSION


@dataclass(frozen=True)
class FileFacts:
    path: str  # absolute
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileFacts:
        try:
            stat = path.stat()
        except OSError as exc:
            raise IntakeError(f"cannot read {path}: {exc.strerror}") from exc
        return cls(str(path.absolute()), stat.st_size, stat.st_mtime_ns)


def check_unchanged(state: OpenUpload, facts: FileFacts) -> None:
    """Refuse to resume with a file that changed since its upload started."""
    if (state.size, state.mtime_ns) != (facts.size, facts.mtime_ns):
        raise UploadChanged(
            f"{facts.path} changed since its upload {state.upload_id} started ({_changes(state, facts)}): "
            "upload it again without --resume"
        )


def _changes(state: OpenUpload, facts: FileFacts) -> str:
    if state.size != facts.size:
        return f"{state.size} bytes then, {facts.size} now"
    return "modified since"


class StateStore:
    """One JSON file a local file (by absolute path) in `directory`, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def file_for(self, path: str) -> Path:
        digest = hashlib.sha256(path.encode()).hexdigest()[:32]
        return self.directory / f"{digest}.json"

    def load(self, path: str) -> OpenUpload | None:
        target = self.file_for(path)
        try:
            data = json.loads(target.read_text())
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise IntakeError(f"cannot read the upload state {target}: {exc.strerror}") from exc
        except ValueError as exc:
            raise IntakeError(f"the upload state {target} is not JSON (delete it to start over)") from exc
        if not isinstance(data, dict):
            raise IntakeError(f"the upload state {target} is not an object (delete it to start over)")
        names = {f.name for f in fields(OpenUpload)}
        try:
            state = OpenUpload(**{k: v for k, v in data.items() if k in names})
        except TypeError as exc:
            raise IntakeError(f"the upload state {target} is incomplete (delete it to start over)") from exc
        return state if state.path == path else None  # a hash collision: not this file's

    def save(self, state: OpenUpload) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.file_for(state.path)
        tmp = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(asdict(state), handle, indent=2)
        tmp.replace(target)

    def forget(self, path: str) -> None:
        self.file_for(path).unlink(missing_ok=True)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- part URLs ----------------------------------------------------------------------------------


class PartUrls:
    """The presigned URL of each part, asked from POST /parts in batches when missing or about to
    expire (`ask(numbers)` answers {"parts": [{part_number, url}], ...}). Thread-safe."""

    def __init__(
        self,
        ask: Callable[[list[int]], Mapping[str, Any]],
        wanted: Sequence[int],
        known: Iterable[Mapping[str, Any]] = (),
        *,
        clock: Callable[[], float] = time.time,
        batch: int = URL_BATCH,
        margin_s: float = URL_MARGIN_S,
    ) -> None:
        self._ask, self._clock, self._batch, self._margin_s = ask, clock, batch, margin_s
        self._wanted = list(wanted)
        self._urls: dict[int, str] = {}
        self._lock = threading.Lock()
        self._add(known)
        self.asked = 0  # POST /parts calls made (for tests and the curious)

    def _add(self, parts: Iterable[Mapping[str, Any]]) -> None:
        for item in parts:
            number, url = item.get("part_number"), item.get("url")
            if isinstance(number, int) and isinstance(url, str) and url:
                self._urls[number] = url

    def _fresh(self, number: int) -> bool:
        url = self._urls.get(number)
        if url is None:
            return False
        expires = url_expiry(url)
        return expires is None or expires - self._margin_s > self._clock()

    def url(self, number: int) -> str:
        with self._lock:
            if not self._fresh(number):
                after = [n for n in self._wanted if n > number and not self._fresh(n)]
                numbers = [number, *after[: self._batch - 1]]
                self.asked += 1
                self._add(self._ask(numbers).get("parts") or [])
            url = self._urls.get(number)
        if url is None:
            raise IntakeError(f"the API gave no URL for part {number}")
        return url

    def expired(self, number: int, url: str) -> None:
        """S3 said `url` expired: the next `url(number)` asks for a fresh one."""
        with self._lock:
            if self._urls.get(number) == url:
                del self._urls[number]


# --- sending the parts --------------------------------------------------------------------------


@dataclass(frozen=True)
class PartSource:
    """Where the parts' bytes are: `open()` gives a file to seek in (a new handle per part for a
    path, so parts go in parallel), `base` is where the upload's first byte is in it."""

    name: str
    open: Callable[[], AbstractContextManager[IO[bytes]]]
    base: int = 0

    @classmethod
    def file(cls, path: Path) -> PartSource:
        return cls(str(path), lambda: path.open("rb"))

    @classmethod
    def stream(cls, stream: IO[bytes]) -> PartSource:
        """An open stream, from its current position; one part at a time only (one handle)."""
        try:
            base = stream.tell()
        except (AttributeError, OSError, ValueError):
            base = -1
        if base < 0 or not stream.seekable():
            raise IntakeError("a large (multipart) upload needs a file it can seek in, not a pipe")
        return cls(getattr(stream, "name", "the stream"), lambda: nullcontext(stream), base)


class PartReader:
    """`size` bytes of a file from its current position, read lazily (requests streams it with a
    Content-Length, as S3 requires), counting progress and stopping when `cancel` is set."""

    def __init__(
        self, file: IO[bytes], size: int, on_read: Progressed | None, cancel: threading.Event
    ) -> None:
        self._file, self._left, self._size = file, size, size
        self._on_read, self._cancel = on_read, cancel

    def __len__(self) -> int:
        return self._size

    def read(self, size: int | None = -1) -> bytes:
        if self._cancel.is_set():
            raise Cancelled("the upload was stopped")
        want = self._left if size is None or size < 0 else min(size, self._left)
        chunk = self._file.read(want) if want else b""
        self._left -= len(chunk)
        if chunk and self._on_read:
            self._on_read(len(chunk))
        return chunk


def _is_expired(response: requests.Response) -> bool:
    return response.status_code == 403 and "expired" in s3_error(response).lower()


@dataclass
class PartSender:
    """Sends parts of one file: each from its own file handle, retried by `retry` while its URL is
    valid, with a fresh URL when S3 says it expired."""

    source: PartSource
    urls: PartUrls
    timeout_s: float
    retry: RetryPolicy = DEFAULT_POLICY
    on_progress: Progressed | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    def send(self, part: Part) -> str:
        """Upload `part`; its ETag."""
        for renewal in range(URL_RENEWALS + 1):
            url = self.urls.url(part.number)
            try:
                response = self._put(url, part)
            except UrlExpired:
                response = None
            if response is not None and not _is_expired(response):
                return self._etag(part, url, response)
            if renewal < URL_RENEWALS:
                self.urls.expired(part.number, url)
        raise IntakeError(
            f"part {part.number}: its presigned URL kept expiring (is this machine's clock right?)"
        )

    def _put(self, url: str, part: Part) -> requests.Response:
        sent = 0

        def count(n: int) -> None:
            nonlocal sent
            sent += n
            if self.on_progress:
                self.on_progress(n)

        def put_once() -> requests.Response:
            nonlocal sent
            if sent and self.on_progress:
                self.on_progress(-sent)  # this try sends the part again, whole
            sent = 0
            with self.source.open() as handle:
                handle.seek(self.source.base + part.offset)
                body = PartReader(handle, part.size, count, self.cancel)
                return requests.put(
                    url, data=body, headers={"Content-Length": str(part.size)}, timeout=self.timeout_s
                )

        what = f"part {part.number}"
        try:
            return self.retry.call(put_once, what=what, expires_at=url_expiry(url))
        except OSError as exc:
            if isinstance(exc, requests.ConnectionError):
                raise IntakeError(
                    f"cannot reach S3 at {url.split('?')[0]}{connection_hint(url)}{after_tries(self.retry, exc)}"
                ) from exc
            if isinstance(exc, requests.RequestException):
                raise IntakeError(
                    f"{what} failed: {exc.__class__.__name__}{after_tries(self.retry, exc)}"
                ) from exc
            raise IntakeError(f"cannot read {self.source.name}: {exc.strerror}") from exc

    def _etag(self, part: Part, url: str, response: requests.Response) -> str:
        if response.status_code == 404 and "NoSuchUpload" in s3_error(response):
            raise UploadClosed("the multipart upload was aborted or completed meanwhile")
        if response.status_code >= 300:
            raise IntakeError(
                f"S3 refused part {part.number}: {s3_error(response)}{after_tries(self.retry, response)}"
            )
        etag = response.headers.get("ETag")
        if not etag:
            raise IntakeError(f"S3 gave no ETag for part {part.number}")
        return etag


def send_parts(sender: PartSender, parts: Sequence[Part], parallel: int) -> dict[int, str]:
    """Send `parts`, `parallel` at a time; their ETags by part number. The first part that fails
    for good stops the others (the state file keeps what S3 got, for --resume)."""
    etags: dict[int, str] = {}
    if not parts:
        return etags
    pool = ThreadPoolExecutor(max_workers=max(1, min(parallel, len(parts))), thread_name_prefix="part")
    futures: dict[Future[str], Part] = {}

    def send_one(part: Part) -> str:
        if sender.cancel.is_set():
            raise Cancelled("the upload was stopped")
        try:
            return sender.send(part)
        except BaseException:
            sender.cancel.set()  # no new part starts; those in flight stop at their next read
            raise

    try:
        futures = {pool.submit(send_one, part): part for part in parts}
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [f for f in done if f.exception() is not None]
        if failed:
            sender.cancel.set()
            raise _first_failure(failed, futures)
        for future, part in futures.items():
            etags[part.number] = future.result()
    except BaseException:
        sender.cancel.set()  # Ctrl-C, or a failure: the parts in flight stop at their next read
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return etags


def _first_failure(failed: Sequence[Future[str]], futures: Mapping[Future[str], Part]) -> BaseException:
    # The lowest part number's failure that is not merely "stopped", for a stable message.
    ordered = sorted(failed, key=lambda f: futures[f].number)
    real = [f for f in ordered if not isinstance(f.exception(), Cancelled)] or ordered
    error = real[0].exception()
    assert error is not None
    return error


# --- the API routes the transfer needs ----------------------------------------------------------


class PartsApi(Protocol):
    """The routes of a multipart upload (IntakeApi has them)."""

    def part_urls(self, upload_id: str, numbers: Sequence[int]) -> dict[str, Any]: ...
    def list_parts(self, upload_id: str) -> dict[str, Any]: ...
    def complete_upload(self, upload_id: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class MultipartSummary:
    """What a multipart upload did: its parts, how many it sent, how many S3 already held."""

    part_count: int
    part_size: int
    parts_sent: int
    parts_held: int  # already in S3 when a --resume started

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Transfer:
    """One multipart upload of one file, from its open upload to /complete."""

    api: PartsApi
    source: PartSource
    upload_id: str
    parts: list[Part]
    timeout_s: float
    retry: RetryPolicy = DEFAULT_POLICY
    parallel: int = DEFAULT_PARALLEL
    on_progress: Progressed | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    before_complete: Callable[[], None] | None = None  # e.g. refuse a file changed meanwhile
    on_held: Callable[[int, int], None] | None = None  # (parts S3 already held, part count)
    completing: bool = False  # the parts are sent; /complete was asked
    sent: int = 0
    held: int = 0

    def run(
        self, known_urls: Iterable[Mapping[str, Any]] = (), held: Iterable[Mapping[str, Any]] = ()
    ) -> MultipartSummary:
        """Send what S3 lacks of `parts` (`held`: GET /parts's list), then complete."""
        missing, etags = parts_to_send(self.parts, held)
        self.held = len(etags)
        if self.on_held:
            self.on_held(self.held, len(self.parts))
        if self.on_progress and etags:
            self.on_progress(sum(p.size for p in self.parts if p.number in etags))
        urls = PartUrls(
            lambda numbers: self.api.part_urls(self.upload_id, numbers),
            [p.number for p in missing],
            known_urls,
            clock=self.retry.clock,
        )
        sender = PartSender(self.source, urls, self.timeout_s, self.retry, self.on_progress, self.cancel)
        etags.update(send_parts(sender, missing, self.parallel))
        self.sent = len(missing)
        if self.before_complete:
            self.before_complete()
        self.completing = True
        self.api.complete_upload(self.upload_id)
        return self.summary()

    def summary(self) -> MultipartSummary:
        return MultipartSummary(len(self.parts), self.parts[0].size, self.sent, self.held)
