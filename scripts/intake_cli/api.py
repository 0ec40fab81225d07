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
from intake_cli.retry import DEFAULT_POLICY, RetryPolicy, after_tries
from intake_cli.transfer import Progressed

TIMEOUT_S = 30


class IntakeApi:
    """The uploads API, signed in. Thread-safe: uploads run in a pool and share one instance.

    `retry` is the policy of every request it makes (the API's and the presigned ones).
    """

    def __init__(
        self,
        settings: Settings,
        tokens: Tokens,
        on_tokens: Callable[[Tokens], None] | None = None,
        timeout_s: float = TIMEOUT_S,
        retry: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self.settings = settings
        self.tokens = tokens
        self.on_tokens = on_tokens
        self.timeout_s = timeout_s
        self.retry = retry
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
        a seekable `file` is sent again from there when a try fails. Each request is retried by
        `self.retry`; an IntakeError says what failed for good."""
        kind = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        grant = self.create_upload(filename, kind, size, metadata, method=method)
        if on_start:
            on_start(size)
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
    ) -> dict[str, Any]:
        """POST /uploads, then the presigned upload of the file; returns the API's grant."""
        try:
            size = path.stat().st_size
            handle = path.open("rb")
        except OSError as exc:
            raise IntakeError(f"cannot read {path}: {exc.strerror}") from exc
        with handle:
            return self.upload_stream(
                handle,
                path.name,
                size,
                content_type=content_type,
                metadata=metadata,
                on_start=on_start,
                on_progress=on_progress,
            )

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

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"file": self.file, "upload_id": self.upload_id, "status": self.status}
        if self.reasons:
            data["status_reasons"] = list(self.reasons)
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
    """How to upload each file: its type (None: guessed from the name), metadata, and --wait."""

    content_type: str | None = None
    metadata: Mapping[str, Any] | None = None
    wait: bool = False
    wait_timeout_s: float = 120


def _upload_one(api: IntakeApi, path: Path, plan: UploadPlan, report: Reporter, task: Any) -> UploadResult:
    result = UploadResult(file=str(path))
    try:
        grant = api.upload_file(
            path,
            content_type=plan.content_type,
            metadata=plan.metadata,
            on_start=lambda size: report.started(task, size),
            on_progress=lambda n: report.advance(task, n),
        )
        result.upload_id, result.status = grant.get("upload_id"), "pending"
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
    """Upload each file (`jobs` at a time); a failure is its result's `error`, the others go on."""
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_upload_one, api, path, plan, report, report.add(path.name)) for path in paths]
        return [future.result() for future in futures]
