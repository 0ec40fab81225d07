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
from collections.abc import Iterator
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
# HEIC/HEIF (pillow-heif, registered by the thumbnail engine when it first meets one) and AVIF (Pillow).
PIL_FORMATS |= {"image/heic": "HEIF", "image/heif": "HEIF", "image/avif": "AVIF"}
NAMES |= {"image/heic": "HEIC", "image/heif": "HEIF", "image/avif": "AVIF"}

EMPTY = "file is empty"
# Every image type Intake decodes, whether or not a stack allows it: true of the content either way.
NOT_AN_IMAGE = "content is not a JPEG, PNG, GIF, WebP, HEIC/HEIF or AVIF image"
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
    if head[4:8] == b"ftyp" and (image := _iso_bmff_type(head)):
        return image  # HEIF/AVIF; other ISO-BMFF files (MP4, QuickTime) are not images
    # Documents and media an operator may allow (intake.signatures; never decoded): after the images.
    return signatures.sniff(head)


# ISO-BMFF (HEIF, ISO/IEC 23008-12; AVIF) brands in the leading `ftyp` box, by the type they mean.
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"})  # HEVC-coded
_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})  # the HEIF container, codec not named
# Equivalent declarations: an HEIC is a HEIF, and clients label the same photo either way.
_SAME_TYPE = {"image/heif": "image/heic"}


def _iso_bmff_type(head: bytes) -> str | None:
    """image/avif, image/heic or image/heif from the `ftyp` box's major and compatible brands.

    The box must be whole and well formed (size >= 16, a multiple of 4, within `head`). The major brand
    decides when it names a type; otherwise the first compatible brand that does (AVIF files also list
    mif1, so AVIF and HEVC brands win over the bare container brands)."""
    size = int.from_bytes(head[:4], "big")
    if size < 16 or size % 4 or size > len(head):
        return None
    brands = [head[8:12]] + [head[i : i + 4] for i in range(16, size, 4)]
    for brand in brands:
        if brand in _AVIF_BRANDS:
            return "image/avif"
        if brand in _HEIC_BRANDS:
            return "image/heic"
    return "image/heif" if any(b in _HEIF_BRANDS for b in brands) else None


def same_type(actual: str, declared: str) -> bool:
    """The sniffed type is the declared one (image/heif and image/heic name the same files)."""
    return _SAME_TYPE.get(actual, actual) == _SAME_TYPE.get(declared, declared)


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
    if isinstance(error, ValueError) and "unexpected end of file" in text:
        return TRUNCATED  # libheif (pillow-heif)
    if isinstance(error, ValueError) and "decompressed data too large" in text:
        return METADATA_TOO_LARGE  # PNG text or ICC chunks: Pillow stops at 1 MB (MAX_TEXT_CHUNK)
    if isinstance(error, UnidentifiedImageError | SyntaxError):
        name = NAMES[content_type]
        article = "an" if name[0] in "AEIOU" else "a"  # an AVIF
        return f"file starts like {article} {name} image but is not one (damaged or another kind of file)"
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


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of the ISO-BMFF boxes in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        size, kind, header = int.from_bytes(data[pos : pos + 4], "big"), data[pos + 4 : pos + 8], 8
        if size == 1:  # a 64-bit size follows the type
            size, header = int.from_bytes(data[pos + 8 : pos + 16], "big"), 16
        elif size == 0:  # the box runs to the end
            size = end - pos
        if size < header:
            raise SyntaxError("ISO-BMFF box smaller than its header")
        yield kind, pos + header, pos + size
        pos += size


def _child(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int]:
    for found, payload, box_end in _boxes(data, start, end):
        if found == kind:
            if box_end > end:
                raise SyntaxError(f"{kind.decode()} box is truncated")
            return payload, box_end
    raise SyntaxError(f"no {kind.decode()} box in the header")


def _heif_size(head: bytes) -> tuple[int, int]:
    """The largest image extent (`ispe`) a HEIF/AVIF file declares, read from meta/iprp/ipco.

    The largest, not only the primary item's: the pixel limit then bounds any image the file holds (the
    primary is the largest in every real file: thumbnails, depth and gain maps are smaller). Stored
    (pre-`irot`) size, as Pillow reports a JPEG's before EXIF rotation."""
    meta = _child(head, 0, len(head), b"meta")
    iprp = _child(head, meta[0] + 4, meta[1], b"iprp")  # meta is a FullBox: version and flags first
    ipco = _child(head, *iprp, b"ipco")
    sizes = [
        (int.from_bytes(head[p + 4 : p + 8], "big"), int.from_bytes(head[p + 8 : p + 12], "big"))
        for kind, p, box_end in _boxes(head, *ipco)
        if kind == b"ispe" and box_end >= p + 12
    ]
    if not sizes or min(min(s) for s in sizes) < 1:
        raise SyntaxError("no image size (ispe) in the header")
    return max(sizes, key=lambda s: s[0] * s[1])


def bmff_truncated(data: IO[bytes], size: int) -> bool:
    """An ISO-BMFF file whose top-level boxes run past its end (libavif only says it can't read it).

    Walks the top-level box headers only, seeking over their payloads (the file may be on disk)."""
    pos = 0
    while pos + 8 <= size:
        data.seek(pos)
        header = data.read(16)
        box, header_len = int.from_bytes(header[:4], "big"), 8
        if box == 1:  # a 64-bit size follows the type
            box, header_len = int.from_bytes(header[8:16], "big"), 16
        elif box == 0:  # the box runs to the end
            return False
        if box < header_len:
            return False  # malformed, not short: the decoder says so
        if pos + box > size:
            return True
        pos += box
    return False


def header_size(head: bytes | IO[bytes], content_type: str) -> tuple[int, int]:
    """Width and height from the header only; pixels are never decoded. Raises what Pillow raises.

    `head` is the first bytes of the file, or the file itself (seekable; read from where it is, and
    left wherever Pillow stops: the caller seeks back).
    """
    if content_type == "image/webp":
        return _webp_size(head if isinstance(head, bytes) else head.read(30))
    if content_type in ("image/heic", "image/heif", "image/avif"):
        # No decoder library needed (validate never imports pillow-heif).
        return _heif_size(head if isinstance(head, bytes) else head.read(HEAD_BYTES))
    stream = io.BytesIO(head) if isinstance(head, bytes) else head
    with warnings.catch_warnings():
        # Callers apply their own (usually lower) pixel limit; the warning is noise.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(stream, formats=[PIL_FORMATS[content_type]]) as im:
            return im.size
