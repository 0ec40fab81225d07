"""S3 key layout for uploads and thumbnails, and filename sanitising."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

UPLOAD_PREFIX = "uploads/"
THUMBNAIL_PREFIX = "thumbnails/"

MAX_FILENAME_CHARS = 200
# Longer "extensions" are almost certainly part of the name, not a file type.
_MAX_EXTENSION_CHARS = 16
_SAFE_PUNCTUATION = frozenset(" +-_.()")


class InvalidKey(ValueError):
    """The object key does not follow uploads/<owner>/<upload_id>/<filename>."""


@dataclass(frozen=True)
class UploadKey:
    owner: str
    upload_id: str
    filename: str

    @property
    def key(self) -> str:
        return f"{UPLOAD_PREFIX}{self.owner}/{self.upload_id}/{self.filename}"


def parse_upload_key(key: str) -> UploadKey:
    """Split an (already URL-decoded) upload key into its parts.

    S3 event notifications URL-encode keys ('+' for spaces); the caller must
    decode them with urllib.parse.unquote_plus before calling this.
    """
    expected = "uploads/<owner>/<upload_id>/<filename>"
    if not key.startswith(UPLOAD_PREFIX):
        raise InvalidKey(f"key {key!r} is not under {UPLOAD_PREFIX!r}, expected {expected}")
    parts = key.split("/")
    if len(parts) != 4:
        raise InvalidKey(f"key {key!r} has {len(parts)} path segments, expected 4: {expected}")
    _, owner, upload_id, filename = parts
    for label, value in (("owner", owner), ("upload_id", upload_id), ("filename", filename)):
        if not value:
            raise InvalidKey(f"key {key!r} has an empty {label}, expected {expected}")
    return UploadKey(owner=owner, upload_id=upload_id, filename=filename)


def thumbnail_key(owner: str, upload_id: str, size: int) -> str:
    return f"{THUMBNAIL_PREFIX}{owner}/{upload_id}/{size}.jpg"


def _is_safe_char(c: str) -> bool:
    # Letters, digits and combining marks of any script; marks are needed for
    # scripts such as Devanagari that have no precomposed forms.
    return c in _SAFE_PUNCTUATION or unicodedata.category(c)[0] in "LNM"


def sanitize_filename(name: str) -> str:
    """Make a user-supplied filename safe to use as the last segment of a key.

    Drops any directory part (both '/' and '\\'), control characters and
    anything that is unsafe in keys or HTTP headers; keeps unicode letters,
    digits, spaces and + - _ . ( ). Never returns an empty string.
    """
    # NFC so that the same name typed on macOS (NFD) and elsewhere gives one key.
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    chars = []
    for c in name:
        if c.isspace() and unicodedata.category(c) == "Zs":
            chars.append(" ")  # NBSP and friends become plain spaces
        elif _is_safe_char(c):
            chars.append(c)
    # Collapse runs of spaces; strip leading dots so nothing is hidden or "..".
    cleaned = " ".join("".join(chars).split()).strip(" .")
    if not cleaned:
        return "file"
    if len(cleaned) <= MAX_FILENAME_CHARS:
        return cleaned
    stem, dot, ext = cleaned.rpartition(".")
    if not dot or not stem or len(ext) > _MAX_EXTENSION_CHARS:
        return cleaned[:MAX_FILENAME_CHARS].rstrip(" .") or "file"
    stem = stem[: MAX_FILENAME_CHARS - len(ext) - 1].rstrip(" .") or "file"
    return f"{stem}.{ext}"
