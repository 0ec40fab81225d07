"""Checks an uploaded object against the upload contract, without AWS."""

from __future__ import annotations

import io
import unicodedata
import warnings
from dataclasses import dataclass

from PIL import Image

from intake.keys import InvalidKey, UploadKey, parse_upload_key
from intake.metadata import InvalidMetadata, UploadMetadata, decode_metadata

# How much of the object callers should fetch into ObjectFacts.head.
HEAD_BYTES = 256 * 1024

_MB = 1024 * 1024
# Pillow format names for the content types we sniff; Image.open is limited
# to the sniffed one so no other (possibly risky) decoder ever runs.
_PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}


@dataclass(frozen=True)
class Limits:
    allowed_content_types: frozenset[str]
    max_bytes: int
    max_pixels: int


@dataclass(frozen=True)
class ObjectFacts:
    key: str
    content_type: str | None
    size: int
    metadata: dict[str, str]
    head: bytes  # the first (up to) HEAD_BYTES of the object


@dataclass(frozen=True)
class ValidationResult:
    ok: bool
    reasons: tuple[str, ...]
    metadata: UploadMetadata | None
    width: int | None
    height: int | None


def sniff_content_type(head: bytes) -> str | None:
    """Content type from magic bytes, for the formats we accept; else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _webp_size(head: bytes) -> tuple[int, int]:
    # Pillow's WebP plugin needs the whole file, but the canvas size sits in
    # the first 30 bytes (VP8X, lossy VP8 or lossless VP8L chunk).
    chunk = head[12:16]
    if chunk == b"VP8X" and len(head) >= 30:
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    if chunk == b"VP8 " and len(head) >= 30 and head[23:26] == b"\x9d\x01\x2a":
        w = int.from_bytes(head[26:28], "little") & 0x3FFF
        h = int.from_bytes(head[28:30], "little") & 0x3FFF
        if w and h:
            return w, h
    if chunk == b"VP8L" and len(head) >= 25 and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    raise ValueError("no WebP canvas size in the header")


def _image_size(head: bytes, content_type: str) -> tuple[int, int]:
    """Width and height from the header only; pixels are never decoded."""
    if content_type == "image/webp":
        return _webp_size(head)
    with warnings.catch_warnings():
        # We apply our own (usually lower) pixel limit; the warning is noise.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(head), formats=[_PIL_FORMATS[content_type]]) as im:
            return im.size


def _mp(pixels: int) -> str:
    return f"{pixels / 1_000_000:.1f} MP"


def _check_pixels(
    head: bytes, content_type: str, max_pixels: int
) -> tuple[list[str], int | None, int | None]:
    try:
        width, height = _image_size(head, content_type)
    except Image.DecompressionBombError:
        # Pillow refuses before telling us the size; it only does so above
        # 2 * MAX_IMAGE_PIXELS, which is far beyond any sane limit of ours.
        pillow_limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
        return [f"image has more than {_mp(pillow_limit)}, the limit is {_mp(max_pixels)}"], None, None
    except Exception as exc:  # Pillow raises many types on bad headers; never let them escape.
        return [f"cannot read image dimensions: {str(exc) or type(exc).__name__}"], None, None
    if width * height > max_pixels:
        return (
            [f"image is {width}x{height} = {_mp(width * height)}, the limit is {_mp(max_pixels)}"],
            width,
            height,
        )
    return [], width, height


def validate(facts: ObjectFacts, limits: Limits) -> ValidationResult:
    """Check everything we can and report every problem, not just the first."""
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

    if key is not None and meta is not None:
        if meta.owner != key.owner:
            reasons.append(f"metadata owner {meta.owner!r} does not match the key's owner {key.owner!r}")
        if meta.upload_id != key.upload_id:
            reasons.append(
                f"metadata upload-id {meta.upload_id!r} does not match the key's upload id {key.upload_id!r}"
            )
        # NFC on both sides: macOS clients may send the same name decomposed.
        if unicodedata.normalize("NFC", meta.filename) != unicodedata.normalize("NFC", key.filename):
            reasons.append(
                f"metadata filename {meta.filename!r} does not match the key's filename {key.filename!r}"
            )

    declared = (facts.content_type or "").split(";", 1)[0].strip().lower() or None
    if declared is None:
        reasons.append("content type is missing")
    elif declared not in limits.allowed_content_types:
        allowed = ", ".join(sorted(limits.allowed_content_types))
        reasons.append(f"content type {declared!r} is not allowed (allowed: {allowed})")

    actual = sniff_content_type(facts.head)
    if actual is None:
        if facts.size > 0:
            reasons.append("content is not a JPEG, PNG, GIF or WebP image")
    elif declared is not None and actual != declared:
        reasons.append(f"content is {actual} but was declared {declared}")

    if facts.size <= 0:
        reasons.append("file is empty")
    elif facts.size > limits.max_bytes:
        reasons.append(f"file is {facts.size / _MB:.1f} MB, the limit is {limits.max_bytes / _MB:.1f} MB")

    width = height = None
    if actual is not None:
        problems, width, height = _check_pixels(facts.head, actual, limits.max_pixels)
        reasons.extend(problems)

    return ValidationResult(ok=not reasons, reasons=tuple(reasons), metadata=meta, width=width, height=height)
