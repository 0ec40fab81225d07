"""Small documents and media files for the signature checks (intake.signatures), made here, no tools."""

from __future__ import annotations

import io
import zipfile

# MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, no padding: 144 * 128000 // 44100 = 417 bytes a frame.
MP3_FRAME_HEADER = b"\xff\xfb\x90\x00"
MP3_FRAME_BYTES = 417


def pdf(pages: int = 1) -> bytes:
    body = b"".join(b"%d 0 obj << /Type /Page >> endobj\n" % (n + 2) for n in range(pages))
    return (
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n"
        + body
        + (b"trailer << /Root 1 0 R >>\nstartxref\n0\n%%EOF\n")
    )


def zip_archive(files: dict[str, bytes] | None = None, comment: bytes = b"") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in (files if files is not None else {"readme.txt": b"hello"}).items():
            z.writestr(name, data)
        z.comment = comment
    return out.getvalue()


def box(kind: bytes, payload: bytes) -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


def iso_media(brand: bytes, compatible: tuple[bytes, ...] = (b"isom", b"mp41"), mdat: int = 4096) -> bytes:
    """An ISO base media file: ftyp, a free box and mdat (not playable; the signature is what counts)."""
    ftyp = box(b"ftyp", brand + b"\x00\x00\x02\x00" + b"".join(compatible))
    return ftyp + box(b"free", b"") + box(b"mdat", bytes(range(256)) * (mdat // 256))


def mp4() -> bytes:
    return iso_media(b"isom")


def quicktime() -> bytes:
    return iso_media(b"qt  ", (b"qt  ",))


def mp3_frames(count: int = 4) -> bytes:
    return (MP3_FRAME_HEADER + b"\x00" * (MP3_FRAME_BYTES - 4)) * count


def id3_tag(payload: int = 100) -> bytes:
    size = bytes([(payload >> 21) & 0x7F, (payload >> 14) & 0x7F, (payload >> 7) & 0x7F, payload & 0x7F])
    return b"ID3\x03\x00\x00" + size + b"\x00" * payload


def mp3(tagged: bool = True) -> bytes:
    return (id3_tag() if tagged else b"") + mp3_frames()
