"""Checks an uploaded object against the upload contract, without AWS."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace

from intake import signatures, verdicts
from intake.keys import InvalidKey, UploadKey, parse_upload_key
from intake.metadata import InvalidMetadata, UploadMetadata, decode_metadata
from intake.text import quoted
from intake.verdicts import sniff_content_type

__all__ = ["HEAD_BYTES", "Limits", "ObjectFacts", "ValidationResult", "sniff_content_type", "validate"]

# How much of the object callers should fetch into ObjectFacts.head (the same as the thumbnail stage
# sniffs), and into ObjectFacts.tail when it is longer than that (the end markers of intake.signatures).
HEAD_BYTES = verdicts.HEAD_BYTES
TAIL_BYTES = signatures.TAIL_BYTES
# When an image header runs past HEAD_BYTES, at most this much of the object is read to find it, so
# the validate function's memory stays bounded whatever MaxImageBytes allows.
MAX_HEADER_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    allowed_content_types: frozenset[str]
    max_bytes: int
    max_pixels: int
    max_image_bytes: int = 200 * 1024 * 1024  # MaxImageBytes: an image above it is never decoded


@dataclass(frozen=True)
class ObjectFacts:
    key: str
    content_type: str | None
    size: int
    metadata: dict[str, str]
    head: bytes  # the first (up to) HEAD_BYTES of the object
    # The last (up to) TAIL_BYTES, for a type whose end is checked; unused when `head` is the whole object.
    tail: bytes = b""

    @property
    def end(self) -> bytes:
        """The end of the object, as far as we have it."""
        return self.head if len(self.head) >= self.size else self.tail


@dataclass(frozen=True)
class ValidationResult:
    ok: bool
    reasons: tuple[str, ...]
    metadata: UploadMetadata | None
    width: int | None
    height: int | None
    # The image header could not be read from `head`, which is shorter than the file: its metadata
    # segments may run past HEAD_BYTES. Validate again with the whole object before believing it.
    head_too_short: bool = False


def _check_pixels(
    head: bytes, content_type: str, max_pixels: int
) -> tuple[list[str], int | None, int | None]:
    try:
        width, height = verdicts.header_size(head, content_type)
    except Exception as exc:  # Pillow raises many types on bad headers; never let them escape.
        return [verdicts.unreadable(exc, content_type, max_pixels)], None, None
    if width * height > max_pixels:
        return [verdicts.too_many_pixels(width, height, max_pixels)], width, height
    return [], width, height


def _key_and_metadata(facts: ObjectFacts) -> tuple[list[str], UploadMetadata | None]:
    """The key's layout, the metadata, and that the two agree."""
    reasons: list[str] = []
    key: UploadKey | None = None
    try:
        key = parse_upload_key(facts.key)
    except InvalidKey as exc:
        reasons.append(str(exc))
    meta: UploadMetadata | None = None
    try:
        meta = decode_metadata(facts.metadata)
    except InvalidMetadata as exc:
        reasons.extend(exc.reasons)
    if key is None or meta is None:
        return reasons, meta
    if meta.owner != key.owner:
        reasons.append(
            f"metadata owner {quoted(meta.owner)} does not match the key's owner {quoted(key.owner)}"
        )
    if meta.upload_id != key.upload_id:
        reasons.append(
            f"metadata upload-id {quoted(meta.upload_id)} does not match the key's upload id"
            f" {quoted(key.upload_id)}"
        )
    # NFC on both sides: macOS clients may send the same name decomposed.
    if unicodedata.normalize("NFC", meta.filename) != unicodedata.normalize("NFC", key.filename):
        reasons.append(
            f"metadata filename {quoted(meta.filename)} does not match the key's filename {quoted(key.filename)}"
        )
    return reasons, meta


def validate(
    facts: ObjectFacts, limits: Limits, read_more: Callable[[int], bytes] | None = None
) -> ValidationResult:
    """Check everything we can and report every problem, not just the first.

    `read_more(n)` returns the first `n` bytes of the object: when the image header runs past
    `facts.head` (metadata segments of a few hundred KB), the file is judged again from up to
    MAX_HEADER_BYTES of it, within the image size limit.
    """
    result = _validate(facts, limits)
    if result.head_too_short and read_more is not None and facts.size <= limits.max_image_bytes:
        return _validate(replace(facts, head=read_more(min(facts.size, MAX_HEADER_BYTES))), limits)
    return result


def _content(facts: ObjectFacts, declared: str | None, limits: Limits) -> tuple[list[str], str | None]:
    """The sniffed type and what is wrong with the content as that type (not its pixels)."""
    reasons: list[str] = []
    actual = sniff_content_type(facts.head)
    if actual is None:
        if facts.size > 0:
            # Declared as a document or media type: say what its content should have started with.
            reasons.append(
                signatures.not_this(declared)
                if declared and signatures.is_other(declared)
                else verdicts.NOT_AN_IMAGE
            )
    elif declared is not None and not verdicts.same_type(actual, declared):
        reasons.append(verdicts.declared_otherwise(actual, declared))
    # Said only under MaxUploadBytes: over both, the upload limit is the one reason (as in the thumbnail stage).
    if actual in verdicts.PIL_FORMATS and limits.max_bytes >= facts.size > limits.max_image_bytes:
        reasons.append(verdicts.image_too_large(facts.size, limits.max_image_bytes))
    if actual is not None and signatures.is_other(actual):
        problem = signatures.end_problem(actual, facts.end)
        if problem:
            reasons.append(problem)
    return reasons, actual


def _validate(facts: ObjectFacts, limits: Limits) -> ValidationResult:
    reasons, meta = _key_and_metadata(facts)

    declared = signatures.media_type(facts.content_type)
    if declared is None:
        reasons.append("content type is missing")
    elif declared not in limits.allowed_content_types:
        allowed = ", ".join(sorted(limits.allowed_content_types))
        reasons.append(f"content type {quoted(declared)} is not allowed (allowed: {allowed})")

    problems, actual = _content(facts, declared, limits)
    reasons.extend(problems)

    if facts.size <= 0:
        reasons.append(verdicts.EMPTY)
    elif facts.size > limits.max_bytes:
        reasons.append(verdicts.too_large(facts.size, limits.max_bytes))

    width = height = None
    head_too_short = False
    if actual in verdicts.PIL_FORMATS:
        problems, width, height = _check_pixels(facts.head, actual, limits.max_pixels)
        reasons.extend(problems)
        head_too_short = width is None and len(facts.head) < facts.size
    return ValidationResult(
        ok=not reasons,
        reasons=tuple(reasons),
        metadata=meta,
        width=width,
        height=height,
        head_too_short=head_too_short,
    )
