"""The uploads API client (`IntakeApi`, also used by `make demo`): signed in with the Cognito ID token,
refreshed when it expires, its routes, the presigned upload of a file, and several files at once.

Every request goes through one retry policy (:mod:`intake_cli.retry`: 429, 502, 503, 504 and network
errors, capped exponential backoff with full jitter; presigned requests only while their URL is
valid). A tool that pushes uploads (a soak, a bench) uses the very same path as the CLI:

    api = IntakeApi(settings, sign_in(settings, email, password), retry=RetryPolicy(...))
    grant = api.upload_stream(io.BytesIO(data), "photo.jpg", len(data))  # POST /uploads + presigned POST

Expected failures raise `IntakeError`, whose message is the one line the user sees.
"""

from __future__ import annotations

import contextlib
import mimetypes
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import requests

from intake.status import FINAL_STATUSES
from intake_cli import transfer
from intake_cli.cognito import refresh, token_expired
from intake_cli.config import Settings, Tokens
from intake_cli.errors import ApiError, IntakeError
from intake_cli.multipart import (
    DEFAULT_PARALLEL,
    MULTIPART,
    FileFacts,
    OpenUpload,
    PartSource,
    StateStore,
    Transfer,
    UploadChanged,
    UploadClosed,
    check_unchanged,
    now_iso,
    plan_parts,
    resumed_note,
)
from intake_cli.retry import DEFAULT_POLICY, RetryPolicy, after_tries
from intake_cli.transfer import Progressed

TIMEOUT_S = 30


@dataclass(frozen=True)
class _Job:
    """One file being uploaded, and who hears about it."""

    path: Path
    facts: FileFacts
    on_start: Callable[[int], None] | None
    on_progress: Progressed | None
    parallel: int
    cancel: threading.Event


class IntakeApi:
    """The uploads API, signed in. Thread-safe: uploads run in a pool and share one instance.

    `retry` is the policy of every request it makes (the API's and the presigned ones). `uploads`
    keeps the open multipart uploads, so that `upload_file(..., resume=True)` continues them (the
    CLI's is in its config dir); without it a large upload cannot be resumed.
    """

    def __init__(
        self,
        settings: Settings,
        tokens: Tokens,
        on_tokens: Callable[[Tokens], None] | None = None,
        timeout_s: float = TIMEOUT_S,
        retry: RetryPolicy = DEFAULT_POLICY,
        uploads: StateStore | None = None,
    ) -> None:
        self.settings = settings
        self.tokens = tokens
        self.on_tokens = on_tokens
        self.timeout_s = timeout_s
        self.retry = retry
        self.uploads = uploads
        self._lock = threading.Lock()

    def _id_token(self, *, force_refresh: bool = False, stale: str | None = None) -> str:
        with self._lock:
            current = self.tokens.id_token
            if force_refresh and stale != current:
                return current  # another thread refreshed meanwhile
            if force_refresh or token_expired(current):
                self.tokens = refresh(self.settings, self.tokens)
                if self.on_tokens:
                    self.on_tokens(self.tokens)
            return self.tokens.id_token

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """`method` `path` on the API, retried by the policy; ApiError for an error answer."""
        url = f"{self.settings.api_url}{path}"
        token = self._id_token()
        for attempt in (1, 2):

            def send(token: str = token) -> requests.Response:
                headers = {"Authorization": f"Bearer {token}"}
                return requests.request(method, url, headers=headers, timeout=self.timeout_s, **kwargs)

            try:
                response = self.retry.call(send, what=f"{method} {path.split('?')[0]}")
            except requests.ConnectionError as exc:
                raise IntakeError(
                    f"cannot reach the API at {url}{transfer.connection_hint(url)}{after_tries(self.retry, exc)}"
                ) from exc
            except requests.RequestException as exc:
                raise IntakeError(
                    f"{method} {url} failed: {exc.__class__.__name__}{after_tries(self.retry, exc)}"
                ) from exc
            if response.status_code == 401 and attempt == 1:
                # The token may have expired since we checked; one refresh and retry.
                token = self._id_token(force_refresh=True, stale=token)
                continue
            break
        if response.status_code >= 400:
            raise self._api_error(response, after_tries(self.retry, response))
        return response

    @staticmethod
    def _api_error(response: requests.Response, retried: str = "") -> ApiError:
        try:
            message = str(response.json().get("message") or "")
        except (ValueError, AttributeError):
            message = ""
        message = message or response.reason or "error"
        if response.status_code == 401:
            return ApiError(401, f"not authorized ({message}): run `intake login`")
        return ApiError(response.status_code, f"{message} (HTTP {response.status_code}){retried}")

    def _json(self, response: requests.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError as exc:
            raise IntakeError(
                f"the API answered {response.status_code} with a body that is not JSON"
            ) from exc
        if not isinstance(data, dict):
            raise IntakeError("the API answered with unexpected JSON")
        return data

    # --- routes -----------------------------------------------------------------------------------

    def create_upload(
        self,
        filename: str,
        content_type: str,
        size: int,
        metadata: Mapping[str, Any] | None = None,
        method: str = "POST",
    ) -> dict[str, Any]:
        body = {
            "filename": filename,
            "content_type": content_type,
            "size": size,
            "metadata": dict(metadata or {}),
        }
        params = {"method": "PUT"} if method == "PUT" else None
        return self._json(self.request("POST", "/uploads", json=body, params=params))

    def list_uploads(
        self, *, limit: int | None = None, cursor: str | None = None, status: str | None = None
    ) -> dict[str, Any]:
        params = {k: v for k, v in {"limit": limit, "cursor": cursor, "status": status}.items() if v}
        return self._json(self.request("GET", "/uploads", params=params))

    def iter_uploads(
        self, *, limit: int | None = None, status: str | None = None
    ) -> Iterator[dict[str, Any]]:
        cursor = None
        while True:
            page = self.list_uploads(limit=limit, cursor=cursor, status=status)
            yield from page.get("items", [])
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def get_upload(self, upload_id: str) -> dict[str, Any]:
        try:
            return self._json(self.request("GET", f"/uploads/{upload_id}"))
        except ApiError as exc:
            if exc.status == 404:
                raise ApiError(404, f"no upload {upload_id!r} (not found, or not yours)") from exc
            raise

    def delete_upload(self, upload_id: str) -> None:
        try:
            self.request("DELETE", f"/uploads/{upload_id}")
        except ApiError as exc:
            if exc.status == 404:
                raise ApiError(404, f"no upload {upload_id!r} (not found, or not yours)") from exc
            raise

    def _open_upload_call(self, method: str, upload_id: str, route: str, **kwargs: Any) -> dict[str, Any]:
        """A route of an open multipart upload; UploadClosed when it is gone (404) or not open (409)."""
        try:
            response = self.request(method, f"/uploads/{upload_id}/{route}", **kwargs)
        except ApiError as exc:
            if exc.status == 404:
                raise UploadClosed(f"upload {upload_id} no longer exists (deleted, or not yours)") from exc
            if exc.status == 409:
                raise UploadClosed(f"upload {upload_id} is no longer open ({exc})") from exc
            raise
        return self._json(response) if response.status_code != 204 else {}

    def part_urls(self, upload_id: str, numbers: Sequence[int]) -> dict[str, Any]:
        """Fresh presigned UploadPart URLs: {"parts": [{part_number, url}], "expires_at"}."""
        return self._open_upload_call("POST", upload_id, "parts", json={"part_numbers": list(numbers)})

    def list_parts(self, upload_id: str) -> dict[str, Any]:
        """What S3 holds of a multipart upload: {part_size, part_count, parts: [{part_number, etag, size}]}."""
        return self._open_upload_call("GET", upload_id, "parts")

    def complete_upload(self, upload_id: str) -> dict[str, Any]:
        """Complete a multipart upload from the parts S3 holds; the upload's record.

        No parts list: the body stays far under WAF's 8 KB limit at any part count, and the API
        checks every part against S3 itself."""
        return self._open_upload_call("POST", upload_id, "complete", json={})

    def abort_upload(self, upload_id: str) -> None:
        self._open_upload_call("POST", upload_id, "abort")

    def get_preferences(self) -> dict[str, Any]:
        """The caller's preferences: {"email": "digest" | "each" | "none"}."""
        return self._json(self.request("GET", "/me/preferences"))

    def put_preferences(self, preferences: Mapping[str, Any]) -> dict[str, Any]:
        return self._json(self.request("PUT", "/me/preferences", json=dict(preferences)))

    # --- bytes ------------------------------------------------------------------------------------

    def send(
        self,
        grant: Mapping[str, Any],
        file: IO[bytes],
        size: int,
        content_type: str,
        filename: str,
        on_progress: Progressed | None = None,
    ) -> None:
        """Upload the bytes with the presigned request of POST /uploads (POST form or PUT)."""
        upload = grant.get("upload") or {}
        transfer.send_presigned(
            upload,
            file,
            size,
            content_type,
            filename,
            timeout_s=self.timeout_s * 10,
            on_progress=on_progress,
            retry=self.retry,
        )

    def download(self, url: str, target: IO[bytes], on_progress: Progressed | None = None) -> int:
        return transfer.download(
            url, target, timeout_s=self.timeout_s, on_progress=on_progress, retry=self.retry
        )

    def upload_stream(
        self,
        file: IO[bytes],
        filename: str,
        size: int,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        method: str = "POST",
        on_start: Callable[[int], None] | None = None,
        on_progress: Progressed | None = None,
    ) -> dict[str, Any]:
        """Upload one file: POST /uploads, then its presigned POST (or PUT); returns the API's grant
        (`upload_id`, `key`, `expires_at`, ...). `size` bytes are read from `file`'s current position;
        a seekable `file` is sent again from there when a try fails. A large file (the API answers
        MULTIPART) goes in parts, one at a time, from a seekable `file` (`upload_file` sends a path's
        parts in parallel, and resumes). Each request is retried by
        `self.retry`; an IntakeError says what failed for good."""
        kind = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        grant = self.create_upload(filename, kind, size, metadata, method=method)
        if on_start:
            on_start(size)
        upload = grant.get("upload") or {}
        if upload.get("method") == MULTIPART:  # a large file: its parts one at a time, not resumable
            parts = plan_parts(size, int(upload.get("part_size") or 0), int(upload.get("part_count") or 0))
            transfer = Transfer(
                self,
                PartSource.stream(file),
                str(grant.get("upload_id")),
                parts,
                timeout_s=self.timeout_s * 10,
                retry=self.retry,
                parallel=1,
                on_progress=on_progress,
            )
            return {**grant, "multipart": transfer.run(upload.get("parts") or []).as_json()}
        self.send(grant, file, size, kind, filename, on_progress)
        return grant

    def upload_file(
        self,
        path: Path,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        on_start: Callable[[int], None] | None = None,
        on_progress: Progressed | None = None,
        resume: bool = False,
        parallel: int = DEFAULT_PARALLEL,
        on_note: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> dict[str, Any]:
        """POST /uploads, then the presigned upload of the file; returns the API's grant. A large file
        goes by multipart (the API decides), `parallel` parts at a time; with `resume` an open multipart
        upload of the same file (see `uploads`) continues where it stopped. `on_note` hears what the
        user should know (a resumed upload); `cancel` stops the parts in flight."""
        facts = FileFacts.of(path)
        kind = content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        job = _Job(path, facts, on_start, on_progress, parallel, cancel or threading.Event())
        earlier = self.uploads.load(facts.path) if self.uploads else None
        if earlier and resume:
            if on_note:
                on_note("resuming")
            return self._resume(earlier, job, on_note)
        if earlier:
            self._drop(earlier)  # a new upload replaces it: S3 need not keep its parts for a day
        grant = self.create_upload(path.name, kind, facts.size, metadata)
        upload = grant.get("upload") or {}
        if upload.get("method") == MULTIPART:
            return self._multipart(grant, kind, job)
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise IntakeError(f"cannot read {path}: {exc.strerror}") from exc
        with handle:
            if on_start:
                on_start(facts.size)
            self.send(grant, handle, facts.size, kind, path.name, on_progress)
        return grant

    def _drop(self, earlier: OpenUpload) -> None:
        assert self.uploads is not None
        self.uploads.forget(earlier.path)
        if earlier.api_url == self.settings.api_url and earlier.email == self.tokens.email:
            # Gone already, or unreachable: the bucket's lifecycle rule aborts it after a day anyway.
            with contextlib.suppress(IntakeError):
                self.abort_upload(earlier.upload_id)

    def _multipart(self, grant: Mapping[str, Any], content_type: str, job: _Job) -> dict[str, Any]:
        upload = grant.get("upload") or {}
        parts = plan_parts(
            job.facts.size, int(upload.get("part_size") or 0), int(upload.get("part_count") or 0)
        )
        state = OpenUpload(
            path=job.facts.path,
            size=job.facts.size,
            mtime_ns=job.facts.mtime_ns,
            upload_id=str(grant.get("upload_id")),
            key=str(grant.get("key")),
            part_size=parts[0].size,
            part_count=len(parts),
            api_url=self.settings.api_url,
            email=self.tokens.email,
            content_type=content_type,
            started_at=now_iso(),
        )
        if self.uploads:
            self.uploads.save(state)  # before the first part: a kill leaves something to resume
        if job.on_start:
            job.on_start(job.facts.size)
        return self._transfer(state, job, upload.get("parts") or [], [], dict(grant))

    def _resume(self, state: OpenUpload, job: _Job, on_note: Callable[[str], None] | None) -> dict[str, Any]:
        check_unchanged(state, job.facts)
        if (state.api_url, state.email) != (self.settings.api_url, self.tokens.email):
            raise IntakeError(
                f"the open upload of {job.path} was started by {state.email} on {state.api_url}: "
                "sign in as them there, or upload without --resume"
            )
        try:
            listing = self.list_parts(state.upload_id)
        except UploadClosed as exc:
            self._forget(state)
            raise UploadClosed(f"{exc}: upload {job.path} again without --resume") from exc
        held = [p for p in listing.get("parts") or [] if isinstance(p, Mapping)]
        size, count = int(listing.get("part_size") or 0), int(listing.get("part_count") or 0)
        if (size, count) != (state.part_size, state.part_count):
            raise IntakeError(
                f"upload {state.upload_id} is planned as {count} parts of {size} bytes, not the "
                f"{state.part_count} of {state.part_size} it started with: upload {job.path} again without --resume"
            )
        if job.on_start:
            job.on_start(job.facts.size)
        grant = {"upload_id": state.upload_id, "key": state.key, "resumed": True}
        return self._transfer(state, job, [], held, grant, on_note)

    def _forget(self, state: OpenUpload) -> None:
        if self.uploads:
            self.uploads.forget(state.path)

    def _transfer(
        self,
        state: OpenUpload,
        job: _Job,
        known_urls: Sequence[Mapping[str, Any]],
        held: Sequence[Mapping[str, Any]],
        grant: dict[str, Any],
        on_note: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        parts = plan_parts(state.size, state.part_size, state.part_count)
        transfer = Transfer(
            self,
            PartSource.file(job.path),
            state.upload_id,
            parts,
            timeout_s=self.timeout_s * 10,
            retry=self.retry,
            parallel=job.parallel,
            on_progress=job.on_progress,
            cancel=job.cancel,
            before_complete=lambda: check_unchanged(state, FileFacts.of(job.path)),
            on_held=(lambda held, count: on_note(resumed_note(held, count))) if on_note else None,
        )
        try:
            summary = transfer.run(known_urls, held)
        except UploadChanged:
            self._drop(state)  # its parts would mix two versions of the file
            raise
        except UploadClosed as exc:
            if not (transfer.completing and self._completed_meanwhile(state.upload_id)):
                self._forget(state)
                raise UploadClosed(f"{exc}: upload {job.path} again without --resume") from exc
            summary = transfer.summary()  # an earlier /complete succeeded; its answer was lost
        except IntakeError as exc:
            refused = transfer.completing and isinstance(exc, ApiError) and exc.status == 400
            if refused and self._refused(state.upload_id):
                self._forget(state)  # the API aborted it: its parts add up to another size
                raise
            raise IntakeError(f"{exc}; `intake upload {job.path} --resume` continues it") from exc
        self._forget(state)
        return {**grant, "multipart": summary.as_json()}

    def _completed_meanwhile(self, upload_id: str) -> bool:
        try:
            record = self.get_upload(upload_id)
        except IntakeError:
            return False
        return record.get("status") not in (None, "expired")

    def _refused(self, upload_id: str) -> bool:
        try:
            return self.get_upload(upload_id).get("status") == "rejected"
        except IntakeError:
            return False  # unknown: keep the state, --resume finds out

    def wait_final(
        self,
        upload_id: str,
        *,
        timeout_s: float = 120,
        interval_s: float = 0.5,
        on_status: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            record = self.get_upload(upload_id)
            if on_status:
                on_status(str(record.get("status")))
            if record.get("status") in FINAL_STATUSES:
                return record
            if time.monotonic() > deadline:
                raise IntakeError(f"upload {upload_id} still {record.get('status')} after {timeout_s:.0f}s")
            time.sleep(interval_s)


# --- record fields (the API's GET /uploads/{id} shape) -------------------------------------------


def original_url(record: Mapping[str, Any]) -> str | None:
    url = record.get("download_url")
    return url if isinstance(url, str) and url else None


def thumbnails_of(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Largest first, each with `size`, `width`, `height` and (from GET /uploads/{id}) `url`."""
    return [dict(t) for t in record.get("thumbnails") or [] if isinstance(t, Mapping)]


def reasons_of(record: Mapping[str, Any]) -> list[str]:
    return [str(r) for r in record.get("status_reasons") or []]


# --- several files at once ------------------------------------------------------------------------


@dataclass
class UploadResult:
    file: str
    upload_id: str | None = None
    status: str | None = None
    error: str | None = None
    reasons: tuple[str, ...] = ()
    multipart: dict[str, Any] | None = None  # part_count, part_size, parts_sent, parts_held

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"file": self.file, "upload_id": self.upload_id, "status": self.status}
        if self.reasons:
            data["status_reasons"] = list(self.reasons)
        if self.multipart:
            data["multipart"] = self.multipart
        if self.error:
            data["error"] = self.error
        return data


class Reporter(Protocol):
    """What an upload of several files tells as it goes (a task is one file)."""

    def add(self, name: str) -> Any: ...
    def started(self, task: Any, size: int) -> None: ...
    def advance(self, task: Any, sent: int) -> None: ...
    def state(self, task: Any, text: str) -> None: ...
    def status(self, task: Any, status: str) -> None: ...
    def failed(self, task: Any) -> None: ...


@dataclass(frozen=True)
class UploadPlan:
    """How to upload each file: its type (None: guessed from the name), metadata, --wait, and for
    large files (multipart) the parts at once and whether to resume an open upload."""

    content_type: str | None = None
    metadata: Mapping[str, Any] | None = None
    wait: bool = False
    wait_timeout_s: float = 120
    resume: bool = False
    parallel: int = DEFAULT_PARALLEL


def _upload_one(
    api: IntakeApi, path: Path, plan: UploadPlan, report: Reporter, task: Any, cancel: threading.Event
) -> UploadResult:
    result = UploadResult(file=str(path))
    try:
        grant = api.upload_file(
            path,
            content_type=plan.content_type,
            metadata=plan.metadata,
            on_start=lambda size: report.started(task, size),
            on_progress=lambda n: report.advance(task, n),
            resume=plan.resume,
            parallel=plan.parallel,
            on_note=lambda text: report.state(task, text),
            cancel=cancel,
        )
        result.upload_id, result.status = grant.get("upload_id"), "pending"
        result.multipart = grant.get("multipart")
        report.state(task, "uploaded")
        if plan.wait and result.upload_id:
            record = api.wait_final(
                result.upload_id, timeout_s=plan.wait_timeout_s, on_status=lambda s: report.status(task, s)
            )
            result.status = record.get("status")
            result.reasons = tuple(reasons_of(record))
    except IntakeError as exc:
        result.error = str(exc)
        report.failed(task)
    return result


def upload_files(
    api: IntakeApi, paths: Sequence[Path], plan: UploadPlan, report: Reporter, *, jobs: int = 4
) -> list[UploadResult]:
    """Upload each file (`jobs` at a time); a failure is its result's `error`, the others go on.
    Ctrl-C stops the parts in flight (an open multipart upload stays, for --resume)."""
    cancel = threading.Event()
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = [
            pool.submit(_upload_one, api, path, plan, report, report.add(path.name), cancel) for path in paths
        ]
        return [future.result() for future in futures]
    except BaseException:
        cancel.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
