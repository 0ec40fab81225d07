"""The uploads API's rules, pure: request parsing, the presigned-request terms, the public record view.

Every bad input raises BadRequest with one sentence that names the problem; the handler turns it into
`400 {"message"}`. Nothing here touches AWS.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError
from pydantic_core import ErrorDetails

from intake import signatures
from intake.keys import MAX_DISPLAY_NAME_CHARS, UploadKey, display_name, sanitize_filename
from intake.metadata import InvalidMetadata, UploadMetadata, encode_metadata
from intake.record import UploadRecord
from intake.status import Status
from intake.text import quoted

UPLOAD_URL_TTL_S = 300  # presigned POST/PUT: S3 refuses them after 5 minutes
DOWNLOAD_URL_TTL_S = 300  # the signed CloudFront URLs in GET /uploads/{id}
DEFAULT_LIMIT, MAX_LIMIT = 20, 100
MAX_RAW_FILENAME_CHARS = 1024
MAX_CURSOR_CHARS = 1024
UPLOAD_METHODS = ("POST", "PUT")
_UPLOAD_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")  # the ids we hand out are uuid4 hex
_META_PREFIX = "x-amz-meta-"


class BadRequest(ValueError):
    """The request is malformed or breaks a rule; the message says which, in one sentence."""


class _Metadata(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: StrictStr | None = None
    description: StrictStr | None = None
    tags: list[StrictStr] = Field(default_factory=list)


class _CreateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: Annotated[StrictStr, Field(min_length=1, max_length=MAX_RAW_FILENAME_CHARS)]
    content_type: Annotated[StrictStr, Field(min_length=1, max_length=255)]
    size: StrictInt
    metadata: _Metadata = Field(default_factory=_Metadata)


@dataclass(frozen=True)
class NewUpload:
    """A valid POST /uploads request: the name as the user gave it (`keys.display_name`), the declared
    type and size, and the descriptive metadata. The key holds a safe form of the name (`upload_terms`)."""

    filename: str
    content_type: str
    size: int
    title: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class UploadTerms:
    """What the presigned request pins: the key, type, size and metadata of one new upload."""

    key: UploadKey
    content_type: str
    size: int
    metadata: Mapping[str, str] = field(default_factory=dict)  # S3 user metadata, encoded, no prefix

    def post_fields(self) -> dict[str, str]:
        """Form fields besides the signature ones that boto3 adds (key, policy, x-amz-*)."""
        return {"Content-Type": self.content_type} | {_META_PREFIX + k: v for k, v in self.metadata.items()}

    def post_conditions(self) -> list[Any]:
        """POST policy conditions: every field exactly, and 1 byte up to the declared size.

        boto3 adds the bucket, the exact key and the signature fields itself.
        """
        exact: list[Any] = [{name: value} for name, value in self.post_fields().items()]
        return [*exact, ["content-length-range", 1, self.size]]

    def put_headers(self) -> dict[str, str]:
        """Headers a presigned PUT client must send (signed; the body must be exactly `size` bytes)."""
        return {"Content-Type": self.content_type} | {_META_PREFIX + k: v for k, v in self.metadata.items()}


# pydantic refuses strings with unpaired surrogates, which JSON can carry ("\\ud800").
_NOT_UNICODE = "{} is not valid Unicode text (it has an unpaired surrogate)"


def _where(err: ErrorDetails) -> str:
    return ".".join(str(part) for part in err["loc"]) or "body"


def _sentence(err: ErrorDetails) -> str:
    where, kind, ctx = _where(err), err["type"], err.get("ctx") or {}
    if kind == "missing":
        return f"{where} is required"
    if kind == "extra_forbidden":
        return f"{where} is not a known field"
    if kind in ("string_type", "int_type", "list_type", "model_type", "dict_type"):
        expected = {
            "string_type": "a string",
            "int_type": "an integer",
            "list_type": "a list",
            "model_type": "an object",
            "dict_type": "an object",
        }[kind]
        return f"{where} must be {expected}"
    if kind == "string_unicode":
        return _NOT_UNICODE.format(where)
    if kind == "string_too_short":
        return f"{where} must not be empty"
    if kind == "string_too_long":
        return f"{where} is longer than {ctx.get('max_length')} characters"
    return f"{where}: {err['msg']}"


def _filename(raw: str) -> str:
    """The name to keep and show: the user's, without directory part, control or bidi characters."""
    name = display_name(raw)
    if name in ("", ".", ".."):
        raise BadRequest("filename must name a file, not only a folder, dots or control characters")
    if len(name) > MAX_DISPLAY_NAME_CHARS:
        raise BadRequest(f"filename is longer than {MAX_DISPLAY_NAME_CHARS} characters")
    return name


def parse_new_upload(body: str | None, *, allowed_content_types: frozenset[str], max_bytes: int) -> NewUpload:
    """Parse and check the JSON body of POST /uploads."""
    if not body:
        raise BadRequest("the body must be a JSON object with filename, content_type and size")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadRequest("the body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object with filename, content_type and size")
    try:
        parsed = _CreateBody.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(_sentence(exc.errors()[0])) from None
    content_type = parsed.content_type.strip().lower()
    if content_type not in allowed_content_types:
        allowed = ", ".join(sorted(allowed_content_types))
        why = ""
        if content_type not in signatures.KNOWN_TYPES:  # never allowable: its content cannot be checked
            why = f" (Intake accepts only types whose content it can check, and has no file signature for {content_type})"
        raise BadRequest(
            f"content_type {quoted(parsed.content_type)} is not allowed; allowed: {allowed}{why}"
        )
    if parsed.size < 1:
        raise BadRequest("size must be at least 1 byte")
    if parsed.size > max_bytes:
        raise BadRequest(f"size {parsed.size} is over the {max_bytes} byte limit")
    meta = parsed.metadata
    return NewUpload(
        filename=_filename(parsed.filename),
        content_type=content_type,
        size=parsed.size,
        title=meta.title or None,
        description=meta.description or None,
        tags=tuple(meta.tags),
    )


def new_upload_id() -> str:
    return uuid.uuid4().hex


def upload_terms(owner: str, upload_id: str, upload: NewUpload) -> UploadTerms:
    """The key and the S3 metadata for `upload`; BadRequest if the metadata breaks its limits.

    The key and the object's `filename` metadata hold the name's safe form; the index keeps the name.
    """
    key_name = sanitize_filename(upload.filename)
    try:
        meta = UploadMetadata(
            owner=owner,
            upload_id=upload_id,
            filename=key_name,
            title=upload.title,
            description=upload.description,
            tags=list(upload.tags),
        )
    except ValidationError as exc:
        raise BadRequest(_metadata_sentence(exc.errors()[0])) from None
    try:
        encoded = encode_metadata(meta)
    except InvalidMetadata as exc:
        raise BadRequest(str(exc)) from None
    key = UploadKey(owner=owner, upload_id=upload_id, filename=key_name)
    return UploadTerms(key=key, content_type=upload.content_type, size=upload.size, metadata=encoded)


def _metadata_sentence(err: ErrorDetails) -> str:
    loc = err["loc"]
    name = str(loc[0]) if loc else "metadata"
    if name in ("owner", "upload_id"):  # from the token, not the body: our fault, not the caller's
        raise ValueError(f"unexpected {name}: {err['msg']}")
    where = f"metadata.tags[{loc[1]}]" if name == "tags" and len(loc) > 1 else f"metadata.{name}"
    ctx = err.get("ctx") or {}
    if err["type"] == "string_too_long":
        return f"{where} is longer than {ctx.get('max_length')} characters"
    if err["type"] == "too_long":
        return f"{where} has more than {ctx.get('max_length')} items"
    if err["type"] == "string_too_short":
        return f"{where} must not be empty"
    if err["type"] == "string_unicode":
        return _NOT_UNICODE.format(where)
    if err["type"] == "value_error" and "error" in ctx:
        return str(ctx["error"])
    return f"{where}: {err['msg']}"


def upload_method(value: str | None) -> Literal["POST", "PUT"]:
    method = (value or "POST").upper()
    if method == "POST":
        return "POST"
    if method == "PUT":
        return "PUT"
    raise BadRequest(f"method must be POST or PUT, not {quoted(value or '')}")


@dataclass(frozen=True)
class ListQuery:
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    status: Status | None = None


def parse_list_query(params: Mapping[str, str] | None) -> ListQuery:
    """`limit`, `cursor` and `status` of GET /uploads."""
    params = params or {}
    raw_limit = params.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        if not re.fullmatch(r"[0-9]{1,4}", raw_limit) or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise BadRequest(f"limit must be an integer from 1 to {MAX_LIMIT}")
        limit = int(raw_limit)
    cursor = params.get("cursor") or None
    if cursor is not None and len(cursor) > MAX_CURSOR_CHARS:
        raise BadRequest("cursor is invalid")
    raw_status = params.get("status") or None
    status = next((s for s in Status if s == raw_status), None)
    if raw_status is not None and status is None:
        raise BadRequest(f"status must be one of {', '.join(Status)}")
    return ListQuery(limit=limit, cursor=cursor, status=status)


class EmailNotVerified(PermissionError):
    """The caller's token does not say their email address is verified."""

    message = (
        "your email address is not verified: verify it (or ask an administrator to) before using Intake,"
        " which only sends email to verified addresses"
    )


def email_verified(claims: Mapping[str, Any]) -> bool:
    """Whether the ID token's `email_verified` claim is true.

    API Gateway passes claims as strings ("true"); the token itself has a JSON boolean. Anything else
    (missing, "false", "True ") is not verified. A Cognito user who changes their `email` attribute
    gets `email_verified` false until they confirm the new address, so refusing such callers stops
    Intake from mailing an address nobody proved they own.
    """
    value = claims.get("email_verified")
    return value is True or value == "true"


def valid_upload_id(upload_id: str) -> bool:
    """Anything else cannot be one of ours: answer 404 without asking DynamoDB."""
    return bool(_UPLOAD_ID.fullmatch(upload_id))


def abandoned_after(now: datetime, seconds: int) -> int:
    """The TTL (epoch seconds) of a pending record: when its upload counts as abandoned."""
    return int(now.timestamp()) + seconds


def expiry(now: datetime, seconds: int) -> str:
    return (now + timedelta(seconds=seconds)).isoformat(timespec="seconds").replace("+00:00", "Z")


# Nothing to download: a rejected upload's bytes are deleted (intake.stages), an expired one never came.
NOT_DOWNLOADABLE = frozenset({Status.REJECTED, Status.EXPIRED})


def downloadable(record: UploadRecord) -> bool:
    """Whether GET /uploads/{id} hands out download and thumbnail URLs for the record."""
    return record.status not in NOT_DOWNLOADABLE


def without_downloads(view: dict[str, Any]) -> dict[str, Any]:
    """The detail view of a record that is not downloadable: no URLs at all."""
    return view | {"download_url": None, "thumbnails": [], "urls_expire_at": None}


def public_view(record: UploadRecord) -> dict[str, Any]:
    """What a caller may see of their record: no internal bookkeeping (stage results, revisions)."""
    made = record.thumbnails if downloadable(record) else ()  # a rejected upload's thumbnails are gone
    thumbnails = [{"size": t.size, "width": t.width, "height": t.height} for t in made]
    return {
        "upload_id": record.upload_id,
        "filename": record.filename,
        "status": record.status.value,
        "status_reasons": list(record.status_reasons),
        "size": record.declared_size if record.size is None else record.size,
        "content_type": record.content_type or record.declared_content_type,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "title": record.title,
        "description": record.description,
        "tags": list(record.tags),
        "width": record.width,
        "height": record.height,
        "thumbnails": sorted(thumbnails, key=lambda t: -t["size"]),
    }
