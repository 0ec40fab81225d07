"""The client commands of `intake`: login, upload, ls, show, get, rm (and logout).

`IntakeApi` is the API client they share (also used by `make demo`): Cognito sign-in and refresh,
the uploads API with the ID token, presigned uploads streamed from disk, downloads.
Expected failures raise `IntakeError`, whose message is the one line the user sees.
"""

from __future__ import annotations

import base64
import io
import json
import mimetypes
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated, Any, NoReturn

import requests
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from intake.status import FINAL_STATUSES
from intake_cli import config
from intake_cli.config import ConfigError, Settings, Tokens

STATUS_STYLE = {"ready": "green", "rejected": "yellow", "failed": "red", "processing": "cyan"}
TIMEOUT_S = 30
# Refresh a little before the ID token expires, so it does not expire in flight.
EXPIRY_LEEWAY_S = 60

Progressed = Callable[[int], None]  # bytes sent or received since the last call


class IntakeError(Exception):
    """An expected failure; str(exc) is a complete one-line message."""


class ApiError(IntakeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# --- Cognito ----------------------------------------------------------------------------------------


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified: the CLI only needs `exp` and `email`, the API verifies."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as exc:
        raise IntakeError("the saved ID token is malformed: run `intake login`") from exc
    return claims if isinstance(claims, dict) else {}


def token_expired(token: str, now: float | None = None) -> bool:
    exp = jwt_claims(token).get("exp")
    return not isinstance(exp, int | float) or exp - EXPIRY_LEEWAY_S <= (now or time.time())


def _cognito(settings: Settings) -> Any:
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    # InitiateAuth and friends are unauthenticated: unsigned, so no AWS credentials are needed.
    return boto3.Session(region_name=settings.region).client(
        "cognito-idp",
        endpoint_url=settings.cognito_endpoint,
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 2}),
    )


def _cognito_call(settings: Settings, operation: str, **kwargs: Any) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

    try:
        return dict(getattr(_cognito(settings), operation)(**kwargs))
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Error"), error.get("Message", "")
        if code in ("NotAuthorizedException", "UserNotFoundException"):
            raise IntakeError(f"sign-in refused: {message or 'wrong email or password'}") from exc
        raise IntakeError(f"sign-in failed ({code}): {message}") from exc
    except EndpointConnectionError as exc:
        raise IntakeError(f"cannot reach Cognito at {settings.cognito_endpoint}") from exc
    except BotoCoreError as exc:
        raise IntakeError(f"sign-in failed: {exc}") from exc


def _tokens(email: str, result: Mapping[str, Any], refresh_token: str | None = None) -> Tokens:
    return Tokens(
        email=email,
        id_token=result["IdToken"],
        access_token=result["AccessToken"],
        refresh_token=result.get("RefreshToken") or refresh_token,
    )


def sign_in(
    settings: Settings, email: str, password: str, new_password: Callable[[], str] | None = None
) -> Tokens:
    """USER_PASSWORD_AUTH; a NEW_PASSWORD_REQUIRED challenge asks `new_password` for the new one."""
    response = _cognito_call(
        settings,
        "initiate_auth",
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=settings.client_id,
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    challenge = response.get("ChallengeName")
    if challenge == "NEW_PASSWORD_REQUIRED":
        if new_password is None:
            raise IntakeError("this account must set a new password: pass --new-password")
        response = _cognito_call(
            settings,
            "respond_to_auth_challenge",
            ClientId=settings.client_id,
            ChallengeName=challenge,
            Session=response["Session"],
            ChallengeResponses={
                # With email as username, Cognito names the user by its internal username here.
                "USERNAME": response.get("ChallengeParameters", {}).get("USERNAME", email),
                "NEW_PASSWORD": new_password(),
            },
        )
        challenge = response.get("ChallengeName")
    if challenge or "AuthenticationResult" not in response:
        raise IntakeError(f"sign-in needs the {challenge} challenge, which the CLI does not support")
    return _tokens(email, response["AuthenticationResult"])


def refresh(settings: Settings, tokens: Tokens) -> Tokens:
    if not tokens.refresh_token:
        raise IntakeError("your session expired: run `intake login`")
    try:
        response = _cognito_call(
            settings,
            "initiate_auth",
            AuthFlow="REFRESH_TOKEN_AUTH",
            ClientId=settings.client_id,
            AuthParameters={"REFRESH_TOKEN": tokens.refresh_token},
        )
    except IntakeError as exc:
        raise IntakeError(
            f"your session expired and could not be renewed ({exc}): run `intake login`"
        ) from exc
    return _tokens(tokens.email, response["AuthenticationResult"], tokens.refresh_token)


# --- presigned uploads -------------------------------------------------------------------------------


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


# --- the API -------------------------------------------------------------------------------------


def _connection_hint(url: str) -> str:
    return " (is the local cloud running? `make up`)" if config.is_local(url) else ""


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


class IntakeApi:
    """The uploads API, signed in. Thread-safe: uploads run in a pool and share one session."""

    def __init__(
        self,
        settings: Settings,
        tokens: Tokens,
        on_tokens: Callable[[Tokens], None] | None = None,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.settings = settings
        self.tokens = tokens
        self.on_tokens = on_tokens
        self.timeout_s = timeout_s
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
        url = f"{self.settings.api_url}{path}"
        token = self._id_token()
        for attempt in (1, 2):
            try:
                response = requests.request(
                    method,
                    url,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=self.timeout_s,
                    **kwargs,
                )
            except requests.ConnectionError as exc:
                raise IntakeError(f"cannot reach the API at {url}{_connection_hint(url)}") from exc
            except requests.RequestException as exc:
                raise IntakeError(f"{method} {url} failed: {exc.__class__.__name__}") from exc
            if response.status_code == 401 and attempt == 1:
                # The token may have expired since we checked; one refresh and retry.
                token = self._id_token(force_refresh=True, stale=token)
                continue
            break
        if response.status_code >= 400:
            raise self._api_error(response)
        return response

    @staticmethod
    def _api_error(response: requests.Response) -> ApiError:
        try:
            message = str(response.json().get("message") or "")
        except (ValueError, AttributeError):
            message = ""
        message = message or response.reason or "error"
        if response.status_code == 401:
            return ApiError(401, f"not authorized ({message}): run `intake login`")
        return ApiError(response.status_code, f"{message} (HTTP {response.status_code})")

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
        url = upload.get("url")
        if not url:
            raise IntakeError("the API gave no upload URL")
        try:
            if upload.get("method", "POST").upper() == "PUT":
                response = requests.put(
                    url,
                    data=_ReadCounter(file, size, on_progress),
                    headers={"Content-Length": str(size), **upload.get("headers", {})},
                    timeout=self.timeout_s * 10,
                )
            else:
                body = MultipartBody(
                    upload.get("fields", {}), filename, content_type, file, size, on_progress
                )
                response = requests.post(
                    url, data=body, headers={"Content-Type": body.content_type}, timeout=self.timeout_s * 10
                )
        except requests.ConnectionError as exc:
            raise IntakeError(f"cannot reach S3 at {url.split('?')[0]}{_connection_hint(url)}") from exc
        except requests.RequestException as exc:
            raise IntakeError(f"upload to S3 failed: {exc.__class__.__name__}") from exc
        if response.status_code >= 300:
            raise IntakeError(f"S3 refused the upload: {s3_error(response)}")

    def download(self, url: str, target: IO[bytes], on_progress: Progressed | None = None) -> int:
        try:
            with requests.get(url, stream=True, timeout=self.timeout_s) as response:
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
            raise IntakeError(f"cannot reach S3 at {url.split('?')[0]}{_connection_hint(url)}") from exc
        except requests.RequestException as exc:
            raise IntakeError(f"download failed: {exc.__class__.__name__}") from exc

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
            kind = content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            grant = self.create_upload(path.name, kind, size, metadata)
            if on_start:
                on_start(size)
            self.send(grant, handle, size, kind, path.name, on_progress)
        return grant

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


class _ReadCounter:
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


# --- record fields (the API's GET /uploads/{id} shape) -------------------------------------------


def original_url(record: Mapping[str, Any]) -> str | None:
    url = record.get("download_url")
    return url if isinstance(url, str) and url else None


def thumbnails_of(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Largest first, each with `size`, `width`, `height` and (from GET /uploads/{id}) `url`."""
    return [dict(t) for t in record.get("thumbnails") or [] if isinstance(t, Mapping)]


def reasons_of(record: Mapping[str, Any]) -> list[str]:
    return [str(r) for r in record.get("status_reasons") or []]


# --- the commands --------------------------------------------------------------------------------

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def connect() -> IntakeApi:
    """The signed-in API from the saved settings and tokens."""
    try:
        settings, tokens = config.load_settings(), config.load_tokens()
    except ConfigError as exc:
        fail(str(exc))
    if not settings or not tokens:
        fail("not signed in: run `intake login`")
    return IntakeApi(settings, tokens, on_tokens=config.save_tokens)


def _run(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except (IntakeError, ConfigError) as exc:
        fail(str(exc))


def login(
    email: Annotated[str | None, typer.Option(help="your email (asked if missing)")] = None,
    password: Annotated[str | None, typer.Option(help="your password (asked if missing)")] = None,
    new_password: Annotated[
        str | None, typer.Option(help="the new password, when the account must set one")
    ] = None,
    api_url: Annotated[
        str | None, typer.Option(help=f"the API (default: the saved one, else {config.LOCAL_API_URL})")
    ] = None,
    profile: Annotated[str | None, typer.Option(help="AWS profile, to read the stack outputs")] = None,
    region: Annotated[str | None, typer.Option(help="AWS region of the user pool")] = None,
    stack: Annotated[
        str, typer.Option(help="the CloudFormation stack to read ids from")
    ] = config.DEFAULT_STACK,
    user_pool_id: Annotated[str | None, typer.Option(help="Cognito user pool id")] = None,
    client_id: Annotated[str | None, typer.Option(help="Cognito app client id")] = None,
    cognito_endpoint: Annotated[str | None, typer.Option(help="Cognito endpoint URL")] = None,
) -> None:
    """Sign in with Cognito and remember the API and the tokens."""
    try:
        saved = config.load_settings()
    except ConfigError:
        saved = None
    target = (api_url or (saved.api_url if saved else config.LOCAL_API_URL)).rstrip("/")
    # Reuse the saved ids for the same API on AWS; the local cloud gets new ids on every start.
    overrides = (profile, region, user_pool_id, client_id, cognito_endpoint)
    if saved and saved.api_url == target and not config.is_local(target) and not any(overrides):
        settings = saved
    else:
        settings = _run(
            lambda: config.discover(
                api_url=api_url or (saved.api_url if saved and not any(overrides) else None),
                region=region,
                profile=profile,
                user_pool_id=user_pool_id,
                client_id=client_id,
                cognito_endpoint=cognito_endpoint,
                stack=stack,
            )
        )
    email = email or typer.prompt("Email")
    password = password or typer.prompt("Password", hide_input=True)

    def ask_new_password() -> str:
        if new_password:
            return new_password
        if not sys.stdin.isatty():
            raise IntakeError("this account must set a new password: pass --new-password")
        return str(typer.prompt("New password", hide_input=True, confirmation_prompt=True))

    tokens = _run(lambda: sign_in(settings, email, password, ask_new_password))

    def save() -> None:
        config.save_settings(settings)
        config.save_tokens(tokens)

    _run(save)
    out.print(f"signed in as [bold]{email}[/] to {settings.api_url}", highlight=False)


def logout() -> None:
    """Forget the saved tokens."""
    _run(config.clear_tokens)
    out.print("signed out")


def _human(size: Any) -> str:
    if not isinstance(size, int | float):
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""


def _when(iso: Any) -> str:
    """'2026-05-01T10:20:30.123Z' -> '2026-05-01 10:20:30' (UTC, as stored)."""
    return str(iso or "").replace("T", " ").split(".")[0].removesuffix("Z")


def _size_of(record: Mapping[str, Any]) -> Any:
    return record.get("size", record.get("declared_size"))


def _status(record: Mapping[str, Any]) -> str:
    status = str(record.get("status", ""))
    return f"[{STATUS_STYLE.get(status, 'default')}]{status}[/]"


def upload(
    files: Annotated[list[Path], typer.Argument(help="files to upload", show_default=False)],
    wait: Annotated[
        bool, typer.Option("--wait", help="wait until each upload is ready, rejected or failed")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="print the results as JSON")] = False,
    jobs: Annotated[int, typer.Option(min=1, max=32, help="uploads at the same time")] = 4,
    content_type: Annotated[
        str | None, typer.Option(help="the type (default: guessed from the name)")
    ] = None,
    title: Annotated[str | None, typer.Option(help="a title for every file")] = None,
    description: Annotated[str | None, typer.Option(help="a description for every file")] = None,
    tags: Annotated[str | None, typer.Option(help="comma-separated tags for every file")] = None,
    timeout: Annotated[float, typer.Option(help="seconds --wait waits for each upload")] = 120,
) -> None:
    """Upload files through presigned POSTs, several at once, with progress bars."""
    api = connect()
    metadata: dict[str, Any] = {"title": title, "description": description}
    if tags:
        metadata["tags"] = [t.strip() for t in tags.split(",") if t.strip()]
    metadata = {k: v for k, v in metadata.items() if v}
    progress = Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[state]}"),
        console=err,
        transient=json_out,
        disable=json_out or not err.is_terminal,
    )

    def one(path: Path, task: TaskID) -> UploadResult:
        result = UploadResult(file=str(path))

        def state(text: str) -> None:
            progress.update(task, state=text)

        try:
            grant = api.upload_file(
                path,
                content_type=content_type,
                metadata=metadata,
                on_start=lambda size: progress.update(task, total=size, state="uploading"),
                on_progress=lambda n: progress.advance(task, n),
            )
            result.upload_id, result.status = grant.get("upload_id"), "pending"
            state("uploaded")
            if wait and result.upload_id:
                record = api.wait_final(
                    result.upload_id, timeout_s=timeout, on_status=lambda s: state(_status({"status": s}))
                )
                result.status, result.reasons = record.get("status"), tuple(reasons_of(record))
        except IntakeError as exc:
            result.error = str(exc)
            state("[red]error[/]")
        return result

    with progress, ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [
            pool.submit(one, path, progress.add_task(path.name, total=None, state="")) for path in files
        ]
        results = [future.result() for future in futures]
    if json_out:
        out.print_json(json.dumps([r.as_json() for r in results]))
    else:
        for r in results:
            if r.error:
                err.print(f"[red]error:[/] {r.file}: {r.error}", highlight=False, soft_wrap=True)
            else:
                why = f" ({'; '.join(r.reasons)})" if r.reasons else ""
                out.print(f"{r.file} -> {r.upload_id} {_status({'status': r.status})}{why}", highlight=False)
    bad = [r for r in results if r.error or (wait and r.status != "ready")]
    if bad:
        raise typer.Exit(1)


def ls(
    status: Annotated[str | None, typer.Option(help="only uploads with this status")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="uploads per page")] = None,
    all_pages: Annotated[bool, typer.Option("--all", help="follow next_cursor to the end")] = False,
    cursor: Annotated[str | None, typer.Option(help="continue from a previous page's next_cursor")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON: {items, next_cursor}")] = False,
) -> None:
    """List your uploads, newest first."""
    api = connect()
    if all_pages:
        items = _run(lambda: list(api.iter_uploads(limit=limit, status=status)))
        page: dict[str, Any] = {"items": items, "next_cursor": None}
    else:
        page = _run(lambda: api.list_uploads(limit=limit, cursor=cursor, status=status))
    if json_out:
        out.print_json(json.dumps(page))
        return
    table = Table(title=f"{len(page.get('items', []))} uploads", title_justify="left")
    for column in ("upload id", "file", "status", "size", "created (UTC)", "reasons"):
        table.add_column(column, no_wrap=column in ("upload id", "created (UTC)"), overflow="fold")
    for item in page.get("items", []):
        table.add_row(
            str(item.get("upload_id", "")),
            str(item.get("filename", "")),
            _status(item),
            _human(_size_of(item)),
            _when(item.get("created_at")),
            "; ".join(reasons_of(item)),
        )
    out.print(table)
    if page.get("next_cursor"):
        out.print(f"more: intake ls --cursor {page['next_cursor']}   (or --all)", highlight=False)


def show(
    upload_id: Annotated[str, typer.Argument(help="the upload id")],
    json_out: Annotated[bool, typer.Option("--json", help="print the record as JSON")] = False,
) -> None:
    """Show one upload: status, reasons, details and links."""
    api = connect()
    record = _run(lambda: api.get_upload(upload_id))
    if json_out:
        out.print_json(json.dumps(record))
        return
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    pixels = f"{record['width']}x{record['height']}" if record.get("width") else ""
    rows = [
        ("upload id", record.get("upload_id")),
        ("file", record.get("filename")),
        ("status", _status(record)),
        ("reasons", "; ".join(reasons_of(record))),
        ("type", record.get("content_type") or record.get("declared_content_type")),
        ("size", _human(_size_of(record))),
        ("pixels", pixels),
        ("title", record.get("title")),
        ("description", record.get("description")),
        ("tags", ", ".join(record.get("tags") or [])),
        ("created (UTC)", _when(record.get("created_at"))),
        ("updated (UTC)", _when(record.get("updated_at"))),
        ("original", original_url(record)),
    ]
    for thumb in thumbnails_of(record):
        rows.append((f"thumbnail {thumb.get('size', '')}", thumb.get("url") or thumb.get("key")))
    for name, value in rows:
        if value:
            table.add_row(name, str(value))
    out.print(table)


def get(
    upload_id: Annotated[str, typer.Argument(help="the upload id")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="where to save it ('-' for stdout; default: its name)"),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing file")] = False,
) -> None:
    """Download the original file."""
    api = connect()
    record = _run(lambda: api.get_upload(upload_id))
    url = original_url(record)
    if not url:
        fail(f"upload {upload_id} has no downloadable original (status {record.get('status')})")
    if output is not None and str(output) == "-":
        _run(lambda: api.download(url, sys.stdout.buffer))
        sys.stdout.buffer.flush()
        return
    target = output or Path(Path(str(record.get("filename") or upload_id)).name)
    if target.is_dir():
        target = target / Path(str(record.get("filename") or upload_id)).name
    if target.exists() and not force:
        fail(f"{target} exists: pass --force to overwrite, or -o to choose another path")
    partial = target.with_name(f".{target.name}.part")
    try:
        with partial.open("wb") as handle:
            size = _run(lambda: api.download(url, handle))
        partial.replace(target)
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror}")
    finally:
        partial.unlink(missing_ok=True)
    out.print(f"saved {target} ({_human(size)})", highlight=False)


def rm(
    upload_id: Annotated[str, typer.Argument(help="the upload id")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Delete an upload: the file, its thumbnails and its record."""
    api = connect()
    if not yes:
        if not sys.stdin.isatty():
            fail("refusing to delete without confirmation: pass --yes")
        if not typer.confirm(f"Delete upload {upload_id} and its thumbnails?"):
            fail("not deleted")
    _run(lambda: api.delete_upload(upload_id))
    out.print(f"deleted {upload_id}", highlight=False)


def register(app: typer.Typer) -> None:
    for command in (login, logout, upload, ls, show, get, rm):
        app.command()(command)
