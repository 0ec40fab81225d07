"""Test images, generated (no binary fixtures in the repo)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def jpeg(
    width: int = 640, height: int = 480, colour: tuple[int, int, int] = (200, 30, 30), **save: object
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "JPEG", quality=90, **save)
    return buffer.getvalue()


def png_with_alpha(width: int = 300, height: int = 200) -> bytes:
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    image.paste((20, 120, 220, 255), (50, 50, width - 50, height - 50))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def exif_rotated_jpeg(width: int = 400, height: int = 200, orientation: int = 6) -> bytes:
    image = Image.new("RGB", (width, height), (255, 255, 255))
    image.paste((255, 0, 0), (0, 0, 40, 40))  # a marker in the top-left corner
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def truncated_jpeg() -> bytes:
    data = jpeg(800, 600)
    return data[: len(data) // 2]


def decompression_bomb_png(side: int = 30_000) -> bytes:
    """A tiny PNG whose header declares side x side pixels (the pixel data is never reached)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale
    pixels = zlib.compress(b"\x00" * (side + 1) * 4)  # a few rows; a decoder would run out
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
