"""S3 key layout for uploads and thumbnails, and the two forms of a filename.

An upload has the name its user gave (`display_name`: what the index, the page, the emails and the
download show) and a safe form of it for the key (`sanitize_filename`: letters, digits, spaces and
a little punctuation, extension kept). Downloads carry the display name in Content-Disposition
(`content_disposition`, RFC 6266 with the RFC 5987 `filename*` form, so any character survives).

Both go into the CDN's signed URLs, which WAF's managed rules refuse past 1,024 bytes of URI path
(SizeRestrictions_URIPATH) and 2,048 bytes of query string (SizeRestrictions_QUERYSTRING). So each is
bounded by its bytes as the URL carries it, not by characters (a CJK character is 9 bytes there, an
emoji 12, and 15 and 20 once more encoded as a query value): the key's name part within
MAX_FILENAME_URL_BYTES, the download name within MAX_DOWNLOAD_NAME_URL_BYTES. Names over them lose
the end of their stem; the extension stays, and the index keeps and shows the whole name.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

from intake.text import quoted, without_controls

UPLOAD_PREFIX = "uploads/"
THUMBNAIL_PREFIX = "thumbnails/"

MAX_FILENAME_CHARS = 200  # the key's safe form
# The key's name part, percent-encoded as in a URL path. The rest of a download's path is at most
# "/uploads/" + a Cognito sub (36) + "/" + an upload id (32) + "/" = 79 bytes: 847 of WAF's 1,024.
MAX_FILENAME_URL_BYTES = 768
# The download name as the signed URL's query carries it: percent-encoded in filename*, then again
# as the response-content-disposition value. The rest of the query is at most 487 bytes (the
# parameter's name and "attachment; filename*=UTF-8''", Expires, a 2048-bit RSA signature of 344
# characters, a Key-Pair-Id of up to 32): 1,687 of WAF's 2,048.
MAX_DOWNLOAD_NAME_URL_BYTES = 1200
MAX_DISPLAY_NAME_CHARS = 255  # the longest name common file systems allow
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
        raise InvalidKey(f"key {quoted(key)} is not under {quoted(UPLOAD_PREFIX)}, expected {expected}")
    parts = key.split("/")
    if len(parts) != 4:
        raise InvalidKey(f"key {quoted(key)} has {len(parts)} path segments, expected 4: {expected}")
    _, owner, upload_id, filename = parts
    for label, value in (("owner", owner), ("upload_id", upload_id), ("filename", filename)):
        if not value:
            raise InvalidKey(f"key {quoted(key)} has an empty {label}, expected {expected}")
    return UploadKey(owner=owner, upload_id=upload_id, filename=filename)


def thumbnail_key(owner: str, upload_id: str, size: int) -> str:
    return f"{THUMBNAIL_PREFIX}{owner}/{upload_id}/{size}.jpg"


def _is_safe_char(c: str) -> bool:
    # Letters, digits and combining marks of any script; marks are needed for
    # scripts such as Devanagari that have no precomposed forms.
    return c in _SAFE_PUNCTUATION or unicodedata.category(c)[0] in "LNM"


def _basename(name: str) -> str:
    """The last path segment: a client may send a path ('C:\\fakepath\\x.jpg', '../x.jpg')."""
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def display_name(name: str) -> str:
    """The name a user gave, as the index keeps and shows it: its last path segment, NFC, without
    control and bidi control characters. Nothing else changes ('100%', emoji and quotes stay).

    May be empty (a name of only such characters), '.' or '..': the API refuses those.
    """
    # NFC: the same name typed on macOS (NFD) and elsewhere is one name, and looks the same.
    return _basename(without_controls(unicodedata.normalize("NFC", name)))


def _safe_chars(text: str) -> str:
    chars = []
    for c in text:
        if c.isspace() and unicodedata.category(c) == "Zs":
            chars.append(" ")  # NBSP and friends become plain spaces
        elif _is_safe_char(c):
            chars.append(c)
    return " ".join("".join(chars).split())  # collapse runs of spaces


def _split_extension(name: str) -> tuple[str, str]:
    """(stem, extension); a leading-dot name ('.hidden') or an absurdly long 'extension' has none."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem.strip(".") or len(ext) > _MAX_EXTENSION_CHARS:
        return name, ""
    return stem, _safe_chars(ext).replace(" ", "")


def sanitize_filename(name: str) -> str:
    """Make a user-supplied filename safe to use as the last segment of a key.

    Drops any directory part (both '/' and '\\'), control characters and anything that is unsafe in
    keys or HTTP headers; keeps unicode letters, digits, spaces and + - _ . ( ), and the extension
    even when nothing of the stem is left ('🎉.jpg' -> 'file.jpg'). Never returns an empty string.
    """
    stem, ext = _split_extension(_basename(unicodedata.normalize("NFC", name)))
    # Strip leading dots so nothing is hidden or "..", and trailing ones that Windows drops.
    stem = _safe_chars(stem).strip(" .") or ("file" if ext else "")
    if not stem:
        return "file"
    ext = f".{ext}" if ext else ""
    if len(stem) + len(ext) > MAX_FILENAME_CHARS:
        stem = stem[: MAX_FILENAME_CHARS - len(ext)].rstrip(" .") or "file"
    stem = _fit(stem, MAX_FILENAME_URL_BYTES - _path_bytes(ext), _path_bytes).rstrip(" .") or "file"
    return stem + ext


def _path_bytes(text: str) -> int:
    """Bytes of `text` in a URL path, as the signer encodes a key."""
    return len(quote(text, safe="/"))


def _query_bytes(text: str) -> int:
    """Bytes of `text` in filename*, carried as a query value (percent-encoded twice)."""
    return len(quote_plus(quote(text, safe="")))


def _joins(c: str) -> bool:
    """A character that belongs to the one before it (combining mark, joiner, variation selector)."""
    return (
        unicodedata.category(c) in ("Mn", "Mc", "Me")
        or c in "\u200d\ufe0e\ufe0f"
        or 0xE0100 <= ord(c) <= 0xE01EF
    )


def _fit(stem: str, budget: int, size: Callable[[str], int]) -> str:
    """The longest start of `stem` within `budget` bytes (by `size`), cut between whole characters
    as people see them: never between a letter and its accent, or inside a joined emoji."""
    used, end = 0, 0
    for c in stem:
        cost = size(c)
        if used + cost > budget:
            break
        used, end = used + cost, end + 1
    if end == len(stem):
        return stem
    while end > 0 and (_joins(stem[end]) or stem[end - 1] == "\u200d"):
        end -= 1
    return stem[:end]


def download_name(name: str) -> str:
    """`name` within MAX_DOWNLOAD_NAME_URL_BYTES as a signed URL carries it, its extension kept."""
    if _query_bytes(name) <= MAX_DOWNLOAD_NAME_URL_BYTES:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > _MAX_EXTENSION_CHARS:
        stem, ext = name, ""
    ext = f".{ext}" if ext else ""
    return _fit(stem, MAX_DOWNLOAD_NAME_URL_BYTES - _query_bytes(ext), _query_bytes).rstrip(" ") + ext


def content_disposition(name: str) -> str:
    """Content-Disposition for a download under `name` (RFC 6266, `filename*` in RFC 5987's UTF-8 form:
    every byte outside letters, digits and -._~ is percent-encoded, so quotes, ';' and CR/LF cannot
    break the header and any character survives), the name bounded by `download_name`."""
    return f"attachment; filename*=UTF-8''{quote(download_name(name), safe='')}"
