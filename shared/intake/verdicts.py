"""What the content stages (validate, thumbnail) say about a file, so one problem reads the same.

Both stages may judge the same bytes, in either order. A rejected upload's reasons are the stages'
reasons without duplicates (status.derive), so a problem both see must give the same sentence: the
file's type is sniffed the same way, its size is read from its header the same way, and a failure to
read it is turned into a sentence by one function (`unreadable`), never from an exception's text
(Pillow's messages are for programmers and can hold reprs such as `<_io.BytesIO object at 0x...>`).
"""

from __future__ import annotations

import io
import warnings
from typing import IO

from PIL import Image, UnidentifiedImageError

from intake import signatures

MB = 1024 * 1024
# How much of an object both content stages sniff (the same bytes give the same verdict) and validate
# reads its image header from.
HEAD_BYTES = 256 * 1024
# Pillow format names for the content types we sniff; Image.open is limited to the sniffed one so no
# other (possibly risky) decoder ever runs.
PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}
NAMES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WebP"}

EMPTY = "file is empty"
NOT_AN_IMAGE = "content is not a JPEG, PNG, GIF or WebP image"
TRUNCATED = "image data is truncated (incomplete or damaged file)"
METADATA_TOO_LARGE = "image holds compressed metadata that is too large once decompressed"


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
    # Documents and media an operator may allow (intake.signatures; never decoded): after the images.
    return signatures.sniff(head)


def too_large(size: int, limit: int) -> str:
    return f"file is {size / MB:.1f} MB, the limit is {limit / MB:.1f} MB"


def image_too_large(size: int, limit: int) -> str:
    """MaxImageBytes: both content stages say it before the thumbnail stage reads the image."""
    return f"image is {size / MB:.1f} MB, the limit for images is {limit / MB:.1f} MB"


def _mp(pixels: int) -> str:
    return f"{pixels / 1_000_000:.1f} MP"


def too_many_pixels(width: int, height: int, limit: int) -> str:
    return f"image is {width}x{height} = {_mp(width * height)}, the limit is {_mp(limit)}"


def over_pillow_limit(limit: int) -> str:
    # Pillow refuses before telling us the size; it only does so above 2 * MAX_IMAGE_PIXELS.
    return f"image has more than {_mp(2 * (Image.MAX_IMAGE_PIXELS or 0))}, the limit is {_mp(limit)}"


def declared_otherwise(actual: str, declared: str) -> str:
    return f"content is {actual} but was declared {declared}"


def unreadable(error: Exception, content_type: str, max_pixels: int) -> str:
    """The one sentence for a file of `content_type` (sniffed) that Pillow could not read."""
    if isinstance(error, Image.DecompressionBombError):
        return over_pillow_limit(max_pixels)
    text = str(error).lower()
    if isinstance(error, OSError) and "truncated" in text:
        return TRUNCATED
    if isinstance(error, ValueError) and "decompressed data too large" in text:
        return METADATA_TOO_LARGE  # PNG text or ICC chunks: Pillow stops at 1 MB (MAX_TEXT_CHUNK)
    if isinstance(error, UnidentifiedImageError | SyntaxError):
        return (
            f"file starts like a {NAMES[content_type]} image but is not one (damaged or another kind of file)"
        )
    return f"{NAMES[content_type]} image data is damaged and cannot be decoded"


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
    raise SyntaxError("no WebP canvas size in the header")


def header_size(head: bytes | IO[bytes], content_type: str) -> tuple[int, int]:
    """Width and height from the header only; pixels are never decoded. Raises what Pillow raises.

    `head` is the first bytes of the file, or the file itself (seekable; read from where it is, and
    left wherever Pillow stops: the caller seeks back).
    """
    if content_type == "image/webp":
        return _webp_size(head if isinstance(head, bytes) else head.read(30))
    stream = io.BytesIO(head) if isinstance(head, bytes) else head
    with warnings.catch_warnings():
        # Callers apply their own (usually lower) pixel limit; the warning is noise.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(stream, formats=[PIL_FORMATS[content_type]]) as im:
            return im.size
