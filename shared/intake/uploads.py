"""The uploads API's rules, pure: request parsing, the presigned-request terms, the public record view.

Every bad input raises BadRequest with one sentence that names the problem; the handler turns it into
`400 {"message"}`. Nothing here touches AWS.
"""

from __future__ import annotations

import hashlib
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
from intake.status import StageResult, Status
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


# --- multipart uploads: the part plan and the completion checks -----------------------------------

MIB = 1024 * 1024
MULTIPART_MIN_PART_BYTES = 16 * MIB  # the contract's smallest part size (the template may lower it for tests)
S3_MIN_PART_BYTES = 5 * MIB  # S3 refuses smaller parts at completion, except the last
S3_MAX_PARTS = 10_000
FIRST_PART_URLS = 100  # POST /uploads hands out URLs for parts 1..100; POST /parts for the rest
MAX_PART_NUMBERS = 1000  # part numbers one POST /uploads/{id}/parts may ask for


@dataclass(frozen=True)
class PartPlan:
    """How a multipart upload of `size` bytes is cut: every part but the last is `part_size` bytes."""

    size: int
    part_size: int
    part_count: int

    def size_of(self, part_number: int) -> int:
        """The bytes part `part_number` (1..part_count) must hold."""
        if part_number < self.part_count:
            return self.part_size
        return self.size - self.part_size * (self.part_count - 1)

    @property
    def first_urls(self) -> list[int]:
        return list(range(1, min(self.part_count, FIRST_PART_URLS) + 1))


def part_plan(size: int, min_part_bytes: int = MULTIPART_MIN_PART_BYTES) -> PartPlan:
    """The smallest of min_part_bytes, twice that, four times... that cuts `size` into at most 10,000
    parts (S3's limit)."""
    if size < 1:
        raise ValueError("a multipart upload holds at least one byte")
    part_size = max(min_part_bytes, S3_MIN_PART_BYTES)
    while -(-size // part_size) > S3_MAX_PARTS:
        part_size *= 2
    return PartPlan(size=size, part_size=part_size, part_count=-(-size // part_size))


def size_words(size: int, *, exact: bool = False) -> str:
    """A size for people: "150 MiB", "1.5 GiB", "512 bytes". A rounded one, or any with `exact`,
    carries its bytes too: "1.5 MiB (1572864 bytes)"."""
    for unit, scale in (("GiB", 1024 * MIB), ("MiB", MIB), ("KiB", 1024)):
        if size >= scale:
            short = f"{size // scale} {unit}" if size % scale == 0 else f"{size / scale:.1f} {unit}"
            return f"{short} ({size} bytes)" if exact or size % scale else short
    return f"{size} byte" if size == 1 else f"{size} bytes"


class _PartNumbersBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    part_numbers: Annotated[list[StrictInt], Field(min_length=1, max_length=MAX_PART_NUMBERS)]


class _CompletedPartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    part_number: StrictInt
    etag: Annotated[StrictStr, Field(min_length=1, max_length=1024)]


class _CompleteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parts: Annotated[list[_CompletedPartBody], Field(min_length=1, max_length=S3_MAX_PARTS)] | None = None


def _json_object(body: str | None, what: str) -> dict[str, Any]:
    if not body:
        raise BadRequest(f"the body must be a JSON object with {what}")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadRequest("the body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise BadRequest(f"the body must be a JSON object with {what}")
    return data


def _list_sentence(err: ErrorDetails, most: int) -> str:
    if err["type"] == "too_short":
        return f"{_where(err)} must not be empty"
    if err["type"] == "too_long":
        return f"{_where(err)} may hold at most {most} items"
    return _sentence(err)


def parse_part_numbers(body: str | None, plan: PartPlan) -> list[int]:
    """The body of POST /uploads/{id}/parts: 1..1000 part numbers, each one of the plan's, once."""
    data = _json_object(body, "part_numbers")
    try:
        numbers = _PartNumbersBody.model_validate(data).part_numbers
    except ValidationError as exc:
        raise BadRequest(_list_sentence(exc.errors()[0], MAX_PART_NUMBERS)) from None
    for number in numbers:
        if not 1 <= number <= plan.part_count:
            raise BadRequest(f"part number {number} is not one of this upload's parts 1 to {plan.part_count}")
    return sorted(set(numbers))


@dataclass(frozen=True)
class CompletedPart:
    """One entry of POST /uploads/{id}/complete: the part and the ETag its upload answered (no quotes)."""

    part_number: int
    etag: str


def bare_etag(etag: str) -> str:
    """An ETag without its quotes: S3 answers "\\"abc\\"", clients may send abc."""
    return etag.strip().strip('"')


def parse_completion(body: str | None) -> list[CompletedPart] | None:
    """The body of POST /uploads/{id}/complete, parsed; `completion_problem` checks it against S3.

    None (no body, or `{}`): complete from the parts S3 holds. A body stays far under WAF's 8 KB body
    limit that way at any part count; a parts list (older clients) is still checked part by part.
    """
    if body is None or not body.strip():
        return None
    data = _json_object(body, "parts, or an empty object")
    try:
        parts = _CompleteBody.model_validate(data).parts
    except ValidationError as exc:
        raise BadRequest(_list_sentence(exc.errors()[0], S3_MAX_PARTS)) from None
    if parts is None:
        return None
    return [CompletedPart(p.part_number, bare_etag(p.etag)) for p in parts]


@dataclass(frozen=True)
class HeldPart:
    """A part S3 holds for an open multipart upload (ListParts)."""

    part_number: int
    etag: str  # without quotes
    size: int


def completion_problem(
    plan: PartPlan, listed: list[CompletedPart] | None, held: Mapping[int, HeldPart]
) -> str | None:
    """Why the parts cannot complete the upload (the first problem, one sentence), or None.

    S3 must hold every part 1..part_count; a list (`listed`), when given, must name each once, with
    the ETag S3 holds for it. Such a problem leaves the upload open: the client can upload what is
    missing and complete again.
    """
    if listed is None:
        for number in range(1, plan.part_count + 1):
            if number not in held:
                return f"part {number} has not been uploaded yet: upload it, then complete again"
        return None
    seen: set[int] = set()
    for part in listed:
        if not 1 <= part.part_number <= plan.part_count:
            return f"part {part.part_number} is not one of this upload's parts 1 to {plan.part_count}"
        if part.part_number in seen:
            return f"part {part.part_number} is listed more than once"
        seen.add(part.part_number)
    etags = {part.part_number: part.etag for part in listed}
    for number in range(1, plan.part_count + 1):
        if number not in etags:
            return f"part {number} is missing from the list: list every part from 1 to {plan.part_count}"
        stored = held.get(number)
        if stored is None:
            return f"part {number} has not been uploaded yet: upload it, then complete again"
        if etags[number] != stored.etag:
            return (
                f"part {number}'s ETag {quoted(etags[number])} is not the one S3 holds for it"
                f" ({quoted(stored.etag)}): send the ETag its upload answered, or upload it again"
            )
    return None


def size_problem(plan: PartPlan, held: Mapping[int, HeldPart]) -> str | None:
    """Why the parts S3 holds are not the declared upload (a sentence for the record), or None.

    The total must be the declared size exactly; the upload is then refused for good (aborted and
    rejected), since no re-sent part changes what the client declared.
    """
    total = sum(held[n].size for n in range(1, plan.part_count + 1) if n in held)
    if total == plan.size:
        return None
    more_or_less = "more" if total > plan.size else "less"
    return f"the parts add up to {size_words(total, exact=True)}, {more_or_less} than the {size_words(plan.size)} declared"


# A refusal's version sorts below every object version (stages: "s" + S3's sequencer, or "t" + the event
# time): an object that ever arrived at the key would be newer, and its own results would decide.
REFUSAL_VERSION_PREFIX = "m"


def refusal_version(s3_upload_id: str) -> str:
    """The version of a refused multipart upload's outcome: one per S3 upload, whoever computes it
    (a publish retried, or redone by hand, is the same announcement to notify), and the S3 upload id
    itself stays private (it is never shown, and the version goes into messages and the record)."""
    return REFUSAL_VERSION_PREFIX + hashlib.sha256(s3_upload_id.encode()).hexdigest()[:32]


def refusal(s3_upload_id: str, reason: str, at: str) -> StageResult:
    """A refused multipart upload's verdict, recorded as the validate stage's result (rejected, for
    `refusal_version`): no object was made, so no stage ever writes the record, and this result makes
    its outcome (status.derive) rejected with `reason`, as notify reads it to announce the upload."""
    return StageResult(
        stage="validate",
        state="rejected",
        version=refusal_version(s3_upload_id),
        at=at,
        reasons=(reason,),
        details={"refused": "complete"},  # by POST /uploads/{id}/complete, not by the validate stage
    )


def part_size_problem(plan: PartPlan, held: Mapping[int, HeldPart]) -> str | None:
    """A part whose size is not the plan's (the total being right): the client re-sends that part."""
    for number in range(1, plan.part_count + 1):
        part = held.get(number)
        if part is not None and part.size != plan.size_of(number):
            return (
                f"part {number} holds {size_words(part.size)}, not the {size_words(plan.size_of(number))}"
                f" of the upload's plan (parts of {size_words(plan.part_size)}, the last one smaller):"
                " upload it again"
            )
    return None
