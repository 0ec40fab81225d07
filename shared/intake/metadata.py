"""Upload metadata model and its encoding as S3 user metadata.

S3 user metadata must be ASCII, so every value is percent-encoded UTF-8.
"""

from __future__ import annotations

import re
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from typing import Annotated, Any
from urllib.parse import quote, unquote

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator
from pydantic_core import ErrorDetails

from intake.text import quoted

# S3 limits user metadata to 2 KB (UTF-8 bytes of all keys and values).
MAX_S3_METADATA_BYTES = 2048

_Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,128}$")]
_Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]

# Model field name -> S3 metadata key.
_KEYS = {
    "owner": "owner",
    "upload_id": "upload-id",
    "filename": "filename",
    "title": "title",
    "description": "description",
    "tags": "tags",
}
_FIELDS = {v: k for k, v in _KEYS.items()}

# An RFC 2047 encoded word, e.g. =?UTF-8?B?Y2Fmw6k=?=
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=")
_AMZ_PREFIX = "x-amz-meta-"


class InvalidMetadata(ValueError):
    """Metadata is missing or invalid; `reasons` holds one sentence per problem."""

    def __init__(self, reasons: list[str] | tuple[str, ...]) -> None:
        self.reasons: tuple[str, ...] = tuple(reasons)
        super().__init__("; ".join(self.reasons))


class UploadMetadata(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    owner: _Id
    upload_id: _Id
    filename: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    title: Annotated[str, StringConstraints(max_length=200)] | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    tags: list[_Tag] = Field(default_factory=list, max_length=20)

    @field_validator("title", "description", mode="before")
    @classmethod
    def _empty_is_none(cls, v: Any) -> Any:
        # S3 cannot distinguish "" from absent once we omit empty values.
        return None if v == "" else v

    @field_validator("tags")
    @classmethod
    def _no_commas(cls, v: list[str]) -> list[str]:
        # Tags travel comma-separated, so a comma inside a tag would split it.
        for tag in v:
            if "," in tag:
                raise ValueError(f"tag {quoted(tag)} must not contain a comma")
        return v


def encode_metadata(m: UploadMetadata) -> dict[str, str]:
    """Return S3 user metadata (ASCII, lower-case keys) for `m`.

    Raises InvalidMetadata if the encoded result exceeds S3's 2 KB limit,
    which long non-ASCII titles/descriptions can reach.
    """
    raw = {
        "owner": quote(m.owner, safe=""),
        "upload-id": quote(m.upload_id, safe=""),
        "filename": quote(m.filename, safe=""),
    }
    if m.title:
        raw["title"] = quote(m.title, safe="")
    if m.description:
        raw["description"] = quote(m.description, safe="")
    if m.tags:
        raw["tags"] = ",".join(quote(t, safe="") for t in m.tags)
    size = sum(len(k) + len(v) for k, v in raw.items())
    if size > MAX_S3_METADATA_BYTES:
        raise InvalidMetadata(
            [
                f"metadata is {size} bytes once encoded, S3 allows {MAX_S3_METADATA_BYTES}; "
                "shorten the filename, title, description or tags"
            ]
        )
    return raw


def _decode_value(key: str, value: str) -> str:
    if _ENCODED_WORD.search(value):
        # S3 returns non-ASCII values written by other clients as RFC 2047
        # encoded words. Such a value was evidently not percent-encoded (that
        # would have been pure ASCII), so it is taken verbatim.
        try:
            return str(make_header(decode_header(value)))
        except (HeaderParseError, LookupError, UnicodeDecodeError, ValueError) as exc:
            raise InvalidMetadata(
                [f"metadata {quoted(key)} is not readable: its RFC 2047 encoded text is malformed"]
            ) from exc
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError as exc:
        raise InvalidMetadata([f"metadata {quoted(key)} is not valid percent-encoded UTF-8"]) from exc


def _sentence(err: ErrorDetails) -> str:
    """Turn one pydantic error into a plain sentence using S3 key names."""
    loc = err["loc"]
    field = _KEYS.get(str(loc[0]), str(loc[0])) if loc else "metadata"
    index = loc[1] if len(loc) > 1 else None
    what = f"tag {index + 1}" if field == "tags" and isinstance(index, int) else f"metadata {quoted(field)}"
    ctx = err.get("ctx") or {}
    kind = err["type"]
    if kind == "missing":
        return f"missing metadata {quoted(field)}"
    if kind == "string_pattern_mismatch":
        return f"{what} may only contain letters, digits, '-', '_' and '.' (1-128 characters)"
    if kind == "string_too_short":
        return f"{what} must not be empty"
    if kind == "string_too_long":
        return f"{what} is longer than {ctx.get('max_length')} characters"
    if kind == "too_long":
        return f"{what} has more than {ctx.get('max_length')} items"
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    return f"{what}: {err['msg']}"


def decode_metadata(raw: dict[str, str]) -> UploadMetadata:
    """Parse S3 user metadata back into UploadMetadata.

    Accepts keys in any case (with or without the x-amz-meta- prefix) and
    values either percent-encoded or as RFC 2047 encoded words. Unknown keys
    are ignored. Raises InvalidMetadata listing every problem found.
    """
    reasons: list[str] = []
    fields: dict[str, Any] = {}
    undecodable: set[str] = set()
    for key, value in raw.items():
        name = key.lower().removeprefix(_AMZ_PREFIX)
        if name not in _FIELDS:
            continue
        try:
            text = _decode_value(name, value)
        except InvalidMetadata as exc:
            reasons.extend(exc.reasons)
            undecodable.add(_FIELDS[name])
            continue
        if name == "tags":
            fields["tags"] = [t.strip() for t in text.split(",") if t.strip()]
        else:
            fields[_FIELDS[name]] = text
    try:
        meta = UploadMetadata(**fields)
    except ValidationError as exc:
        # A value we could not decode was already reported; don't also call it missing.
        reasons.extend(_sentence(e) for e in exc.errors() if not e["loc"] or e["loc"][0] not in undecodable)
        raise InvalidMetadata(reasons) from None
    if reasons:
        raise InvalidMetadata(reasons)
    return meta
