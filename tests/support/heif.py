"""HEIC (pillow-heif's x265 encoder) and AVIF (Pillow's libavif) test images, generated in code."""

from __future__ import annotations

import functools
import io

from PIL import ExifTags, Image

RED, BLUE = (255, 0, 0), (0, 0, 255)


@functools.cache
def _register() -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()


def encode(image: Image.Image | list[Image.Image], fmt: str, **save: object) -> bytes:
    """`fmt` is "HEIF" (HEVC-coded, brand heic) or "AVIF"; a list is saved as a sequence."""
    if fmt == "HEIF":
        _register()  # AVIF is Pillow's own
    frames = image if isinstance(image, list) else [image]
    buffer = io.BytesIO()
    if len(frames) > 1:
        save = {"save_all": True, "append_images": frames[1:], **save}
    frames[0].save(buffer, fmt, quality=90, **save)
    return buffer.getvalue()


def halves(width: int = 400, height: int = 200, mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: a 90-degree turn puts red on top (clockwise) or at the bottom."""
    image = Image.new(mode, (width, height), RED)
    image.paste(BLUE, (width // 2, 0, width, height))
    return image


def rotated(fmt: str, orientation: int = 6, width: int = 400, height: int = 200) -> bytes:
    """Stored landscape, displayed turned as EXIF `orientation` says. The encoders write it as the
    file's own transform (irot/imir); pillow-heif also keeps the EXIF tag, as an iPhone does."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    return encode(halves(width, height), fmt, exif=exif.tobytes())


def without_irot(data: bytes) -> bytes:
    """The same file with its `irot` angle set to 0: only a (stale) EXIF orientation is left."""
    at = data.index(b"irot") + 4
    return data[:at] + bytes([data[at] & 0xFC]) + data[at + 1 :]


def with_alpha(fmt: str, width: int = 300, height: int = 200) -> bytes:
    """Transparent, with an opaque blue square in the middle."""
    image = Image.new("RGBA", (width, height), (255, 0, 0, 0))
    image.paste((0, 0, 255, 255), (width // 3, height // 4, 2 * width // 3, 3 * height // 4))
    return encode(image, fmt)


def sequence(fmt: str, width: int = 120, height: int = 80) -> bytes:
    """Three frames: red, green, blue."""
    return encode([Image.new("RGB", (width, height), c) for c in (RED, (0, 255, 0), BLUE)], fmt)


def declaring(data: bytes, width: int, height: int) -> bytes:
    """`data` with every image extent (ispe) rewritten to width x height: a header-only bomb."""
    out = bytearray(data)
    at = out.find(b"ispe")
    while at >= 0:
        out[at + 8 : at + 16] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
        at = out.find(b"ispe", at + 4)
    return bytes(out)


def ftyp(major: bytes, *compatible: bytes, size: int | None = None) -> bytes:
    """A bare ftyp box (for sniffing): `size` overrides the box's declared size."""
    body = major + bytes(4) + b"".join(compatible)
    return (size if size is not None else 8 + len(body)).to_bytes(4, "big") + b"ftyp" + body
