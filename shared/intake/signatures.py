"""The content types Intake can accept, and how each one is recognised from its bytes (no Pillow).

An operator may allow a type only if Intake can check that an upload's bytes are of that type
(settings refuse the rest at cold start, the template at deploy, the API at presign): otherwise a
declared type would be taken on trust. Two kinds:

- the image types (`IMAGE_TYPES`), sniffed and decoded by `intake.verdicts` / `intake.thumbnails`;
- documents and media (`SIGNATURES`, the table below), recognised by their magic bytes and, where the
  format has one, by the marker at their end. Intake never decodes them: they are validated, indexed
  and announced, and the thumbnail stage records that it has nothing to do.

Which formats are here, and why only these: each has a signature at offset 0 that no image type and no
other entry shares. text/plain (and CSV, JSON, ...) has none: any bytes are text, so it cannot be
allowed. What each check proves, and what not:

- PDF: `%PDF-1.x`/`%PDF-2.x` first, and `%%EOF` last (only whitespace or NUL padding after it), so a
  cut-off PDF, or one with another file appended (a PDF+ZIP polyglot), is refused.
- ZIP: a local file header `PK\\x03\\x04` first (or `PK\\x05\\x06`, an empty archive), and the end of
  central directory record whose comment runs exactly to the end of the file (it is where every unzip
  tool starts), so a truncated archive or one with data appended is refused.
- MP4 and QuickTime (ISO base media): a complete `ftyp` box first whose major brand is a video brand
  (`isom`, `mp41`, `mp42`, `avc1`, `M4V `..., or `qt  `). HEIF/AVIF brands are images, not matched
  here. The box chain after it is not walked: a truncated video is accepted (nothing decodes it).
- MP3 (audio/mpeg): an ID3v2 tag with a valid header, then (when it ends inside the head) an MPEG audio
  frame; or, without a tag, two consecutive valid MPEG audio frame headers (a lone sync word is a
  coincidence in any binary file). Not walked to the end: a truncated MP3 is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# Sniffed and decoded by intake.verdicts (its PIL_FORMATS has exactly these keys; a test checks it).
IMAGE_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif", "image/avif"}
)


@dataclass(frozen=True)
class Signature:
    """How one non-image type is recognised."""

    content_type: str
    name: str  # for sentences: "a PDF document"
    label: str  # short, for lists and icons: "PDF"
    hint: str  # what its content starts with, for the sentence when it does not
    starts: Callable[[bytes], bool]  # the head (the first bytes) is of this type
    # How many bytes of the end `ends` needs (0: the format has no end marker we check).
    tail_bytes: int = 0
    ends: Callable[[bytes], bool] | None = None
    truncated: str = ""  # the sentence when `ends` is false


# --- PDF --------------------------------------------------------------------------------------------

_PDF_HEAD = re.compile(rb"%PDF-[12]\.[0-9]")
_PDF_TAIL_BYTES = 1024  # readers find %%EOF within the last 1024 bytes (Acrobat's tolerance)


def _pdf_starts(head: bytes) -> bool:
    return _PDF_HEAD.match(head) is not None


def _pdf_ends(tail: bytes) -> bool:
    # %%EOF is the last line; only line ends, spaces and NUL padding may follow it.
    return tail[-_PDF_TAIL_BYTES:].rstrip(b" \t\r\n\x00\x0c").endswith(b"%%EOF")


# --- ZIP --------------------------------------------------------------------------------------------

_ZIP_EOCD = b"PK\x05\x06"
_ZIP_EOCD_BYTES = 22
_ZIP_TAIL_BYTES = _ZIP_EOCD_BYTES + 0xFFFF  # the record and the longest comment


def _zip_starts(head: bytes) -> bool:
    if head.startswith(b"PK\x03\x04"):
        return len(head) >= 30  # a whole local file header
    return head.startswith(_ZIP_EOCD) and len(head) >= _ZIP_EOCD_BYTES  # an empty archive


def _zip_ends(tail: bytes) -> bool:
    """The end of central directory record, its comment ending exactly at the end of the file."""
    at = tail.rfind(_ZIP_EOCD, max(0, len(tail) - _ZIP_TAIL_BYTES))
    while at >= 0:
        if len(tail) - at >= _ZIP_EOCD_BYTES:
            comment = int.from_bytes(tail[at + 20 : at + 22], "little")
            if at + _ZIP_EOCD_BYTES + comment == len(tail):
                return True
        at = tail.rfind(_ZIP_EOCD, max(0, len(tail) - _ZIP_TAIL_BYTES), at)
    return False


# --- MP4 / QuickTime (ISO base media file format) ---------------------------------------------------

# Major brands of video files (ISO/IEC 14496-12/-14, Apple, Adobe, DASH). Image brands (heic, heix,
# mif1, msf1, avif, avis) are deliberately absent: those are images.
_MP4_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"M4VH", b"M4VP"}
    | {b"f4v ", b"dash", b"mmp4", b"MSNV"}
)
_QUICKTIME_BRANDS = frozenset({b"qt  "})


def _ftyp_brand(head: bytes) -> bytes | None:
    """The major brand of a complete leading `ftyp` box (size, 'ftyp', brand, version, brands*4)."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return None
    size = int.from_bytes(head[0:4], "big")
    if size < 16 or size > len(head) or size % 4 or size > 4096:
        return None
    return head[8:12]


def _mp4_starts(head: bytes) -> bool:
    return _ftyp_brand(head) in _MP4_BRANDS


def _quicktime_starts(head: bytes) -> bool:
    return _ftyp_brand(head) in _QUICKTIME_BRANDS


# --- MP3 (MPEG-1/2/2.5 audio) -----------------------------------------------------------------------

# Bitrates in kbit/s by [MPEG-1?][layer 1..3][index 1..14].
_BITRATES = {
    (True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _frame_length(header: bytes) -> int | None:
    """The length of the MPEG audio frame starting with `header` (4 bytes), None if it is not one."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version, layer_bits = (header[1] >> 3) & 3, (header[1] >> 1) & 3
    bitrate_index, rate_index = header[2] >> 4, (header[2] >> 2) & 3
    if version == 1 or layer_bits == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return None  # reserved values (free-format bitrate 0 is not accepted either)
    layer = 4 - layer_bits
    mpeg1 = version == 3
    bitrate = _BITRATES[(mpeg1, layer)][bitrate_index - 1] * 1000
    rate = _SAMPLE_RATES[version][rate_index]
    padding = (header[2] >> 1) & 1
    if layer == 1:
        return (12 * bitrate // rate + padding) * 4
    per_frame = 144 if layer == 2 or mpeg1 else 72
    return per_frame * bitrate // rate + padding


def _two_frames(data: bytes, at: int) -> bool:
    length = _frame_length(data[at : at + 4])
    return length is not None and _frame_length(data[at + length : at + length + 4]) is not None


def _id3_end(head: bytes) -> int | None:
    """Where a valid ID3v2 tag at the start ends, None if there is none."""
    if len(head) < 10 or head[:3] != b"ID3" or head[3] not in (2, 3, 4) or head[4] == 0xFF:
        return None
    if any(b & 0x80 for b in head[6:10]):  # a synchsafe size: 7 bits per byte
        return None
    size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
    footer = 10 if head[5] & 0x10 else 0
    return 10 + size + footer


def _mp3_starts(head: bytes) -> bool:
    end = _id3_end(head)
    if end is None:
        return _two_frames(head, 0)
    if end + 4 > len(head):
        return True  # the tag (cover art) runs past the head: its valid header is what we can see
    return _frame_length(head[end : end + 4]) is not None


# --- the table --------------------------------------------------------------------------------------

SIGNATURES: tuple[Signature, ...] = (
    Signature(
        "application/pdf",
        "a PDF document",
        "PDF",
        "a PDF starts with %PDF-",
        _pdf_starts,
        _PDF_TAIL_BYTES,
        _pdf_ends,
        "the PDF document is truncated or has other data after its end (it does not end with %%EOF)",
    ),
    Signature(
        "application/zip",
        "a ZIP archive",
        "ZIP",
        "a ZIP archive starts with PK",
        _zip_starts,
        _ZIP_TAIL_BYTES,
        _zip_ends,
        "the ZIP archive is truncated or has other data after its end (no end of central directory record)",
    ),
    Signature(
        "video/mp4",
        "an MP4 video",
        "MP4",
        "an MP4 video starts with an ftyp box of a video brand",
        _mp4_starts,
    ),
    Signature(
        "video/quicktime",
        "a QuickTime video",
        "MOV",
        "a QuickTime video starts with an ftyp box of brand qt",
        _quicktime_starts,
    ),
    Signature(
        "audio/mpeg",
        "an MP3 audio file",
        "MP3",
        "an MP3 file starts with an ID3 tag or MPEG audio frames",
        _mp3_starts,
    ),
)
BY_TYPE: dict[str, Signature] = {s.content_type: s for s in SIGNATURES}
OTHER_TYPES = frozenset(BY_TYPE)
KNOWN_TYPES = IMAGE_TYPES | OTHER_TYPES
# The longest end any check needs: what validate reads from the end of a larger object.
TAIL_BYTES = max(s.tail_bytes for s in SIGNATURES)


def media_type(content_type: str | None) -> str | None:
    """A Content-Type header's media type, lower case, without parameters; None if there is none."""
    return (content_type or "").split(";", 1)[0].strip().lower() or None


def sniff(head: bytes) -> str | None:
    """The non-image type whose signature `head` starts with; None if none does."""
    return next((s.content_type for s in SIGNATURES if s.starts(head)), None)


def is_other(content_type: str | None) -> bool:
    """A known type that is not an image: Intake checks its signature and makes no thumbnails."""
    return content_type in OTHER_TYPES


def not_this(content_type: str) -> str:
    """The sentence for content declared as `content_type` (a non-image type) that has no signature."""
    sig = BY_TYPE[content_type]
    return f"content is not {sig.name} ({sig.hint})"


def end_checked(content_type: str | None) -> bool:
    """Whether a file of this type is checked at its end too (validate then reads its last bytes)."""
    sig = BY_TYPE.get(content_type or "")
    return sig is not None and sig.ends is not None


def end_problem(content_type: str, tail: bytes) -> str | None:
    """The sentence if the end of a file sniffed as `content_type` is not as its format ends."""
    sig = BY_TYPE.get(content_type)
    if sig is None or sig.ends is None or sig.ends(tail):
        return None
    return sig.truncated


def unknown_types(content_types: frozenset[str]) -> list[str]:
    """Those of `content_types` Intake has no signature for, sorted."""
    return sorted(content_types - KNOWN_TYPES)


def refusal(content_types: frozenset[str]) -> str:
    """Why an allowlist with types Intake cannot check is refused (settings; the template says the same)."""
    unknown = ", ".join(unknown_types(content_types))
    known = ", ".join(sorted(KNOWN_TYPES))
    return (
        f"{unknown} cannot be allowed: Intake has no file signature to check such content against"
        f" (types it can check: {known})"
    )
