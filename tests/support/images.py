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


# Display P3's primaries, adapted to the D50 profile connection space (as in Apple's profile).
DISPLAY_P3_COLORANTS = ((0.5151, 0.2412, -0.0011), (0.2920, 0.6922, 0.0419), (0.1571, 0.0666, 0.7841))


def rgb_icc_profile(
    description: str = "Wide RGB", copyright_text: str = "", colorants: tuple[tuple[float, ...], ...] = ()
) -> bytes:
    """A small ICC v2 matrix/TRC display profile (gamma 2.2); Display P3's primaries by default.

    Its `desc` and `cprt` tags hold any text: the uploader chooses a profile's bytes.
    """

    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(values: tuple[float, ...]) -> bytes:
        return b"XYZ " + bytes(4) + b"".join(s15(v) for v in values)

    ascii_desc = description.encode("ascii", "replace") + b"\0"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(ascii_desc)) + ascii_desc + bytes(4 + 4 + 2 + 1 + 67)
    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, 0x0233) + bytes(2)  # gamma 2.2 (u8Fixed8)
    red, green, blue = colorants or DISPLAY_P3_COLORANTS
    tags = [
        (b"desc", desc),
        (b"cprt", b"text" + bytes(4) + copyright_text.encode("ascii", "replace") + b"\0"),
        (b"wtpt", xyz((0.9642, 1.0, 0.8249))),
        (b"rXYZ", xyz(red)),
        (b"gXYZ", xyz(green)),
        (b"bXYZ", xyz(blue)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        body += bytes(-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + bytes(4)
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + bytes(12)
        + b"acsp"
        + bytes(24)
        + bytes(4)  # perceptual intent
        + s15(0.9642)
        + s15(1.0)
        + s15(0.8249)
        + bytes(48)
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


# --- bad and odd inputs (tests/unit/test_bad_inputs.py, tests/e2e/test_bad_inputs.py) ------------------


def _encode(image: Image.Image, fmt: str, **save: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, depth: int, colour_type: int, rows: bytes, *extra: bytes) -> bytes:
    """A PNG from raw, already filtered scanlines (each row starts with its filter byte)."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + b"".join(extra)
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )


def png(
    width: int = 64,
    height: int = 48,
    colour: float | tuple[float, ...] = (20, 120, 220),
    mode: str = "RGB",
    **save: object,
) -> bytes:
    return _encode(Image.new(mode, (width, height), colour), "PNG", **save)


def gif(
    width: int = 64, height: int = 48, colour: tuple[int, int, int] = (20, 120, 220), **save: object
) -> bytes:
    return _encode(Image.new("RGB", (width, height), colour), "GIF", **save)


def webp(
    width: int = 64, height: int = 48, colour: tuple[int, int, int] = (20, 120, 220), **save: object
) -> bytes:
    return _encode(Image.new("RGB", (width, height), colour), "WEBP", **save)


def noisy_jpeg(width: int = 800, height: int = 600) -> bytes:
    """A JPEG whose scan data is large, so a cut lands inside it."""
    return _encode(Image.effect_noise((width, height), 64).convert("RGB"), "JPEG", quality=90)


def noisy_png(width: int = 400, height: int = 300) -> bytes:
    return _encode(Image.effect_noise((width, height), 64).convert("RGB"), "PNG")


def noisy_gif(width: int = 300, height: int = 200) -> bytes:
    return _encode(Image.effect_noise((width, height), 64).convert("RGB"), "GIF")


def png_with_alpha_as(fmt: str, **save: object) -> bytes:
    """png_with_alpha's picture in another format that keeps alpha (WEBP)."""
    return _encode(Image.open(io.BytesIO(png_with_alpha())), fmt, **save)


def cut(data: bytes, keep: float = 0.5) -> bytes:
    return data[: int(len(data) * keep)]


def cmyk_jpeg(width: int = 300, height: int = 200) -> bytes:
    return _encode(Image.new("CMYK", (width, height), (0, 255, 255, 0)), "JPEG")


def grey_jpeg(width: int = 300, height: int = 200) -> bytes:
    return _encode(Image.new("L", (width, height), 90), "JPEG")


def progressive_jpeg(width: int = 640, height: int = 480) -> bytes:
    return jpeg(width, height, progressive=True, optimize=True)


def png_16bit_rgb(width: int = 120, height: int = 80) -> bytes:
    """16 bits per channel RGB (Pillow cannot write it, so the scanlines are made here)."""
    row = b"\x00" + struct.pack(">HHH", 0xFFFF, 0x8000, 0x0000) * width
    return _png(width, height, 16, 2, row * height)


def png_16bit_grey(width: int = 120, height: int = 80) -> bytes:
    return _encode(Image.new("I;16", (width, height), 32768), "PNG")


def palette_png_with_transparency(width: int = 120, height: int = 80) -> bytes:
    image = Image.new("P", (width, height), 0)
    image.putpalette([255, 255, 255, 200, 30, 30] + [0, 0, 0] * 254)
    image.paste(1, (20, 20, width - 20, height - 20))
    return _encode(image, "PNG", transparency=0)


def animated_gif(width: int = 120, height: int = 80, frames: int = 3) -> bytes:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    images = [Image.new("RGB", (width, height), colours[i % 3]) for i in range(frames)]
    return _encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)


def animated_webp(width: int = 120, height: int = 80, frames: int = 3) -> bytes:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    images = [Image.new("RGB", (width, height), colours[i % 3]) for i in range(frames)]
    return _encode(images[0], "WEBP", save_all=True, append_images=images[1:], duration=100)


def interlaced_png(width: int = 120, height: int = 80) -> bytes:
    """Adam7 interlaced (Pillow reads but does not write it, so the passes are made here)."""
    passes = (
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    )
    rows = b""
    for x0, y0, dx, dy in passes:
        xs = range(x0, width, dx)
        for _ in range(y0, height, dy):
            if len(xs):
                rows += b"\x00" + bytes((200, 30, 30)) * len(xs)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )


def jpeg_with_large_metadata(width: int = 320, height: int = 240, segments: int = 6) -> bytes:
    """A JPEG with ~390 KB of APP segments before its frame header (cameras and editors write such)."""
    data = jpeg(width, height)
    payload = b"http://ns.adobe.com/xmp/extension/\x00" + b"x" * 65000
    app = b"".join(b"\xff\xeb" + struct.pack(">H", len(payload) + 2) + payload for _ in range(segments))
    return data[:2] + app + data[2:]


def with_jpeg_comment(text: bytes, width: int = 200, height: int = 100) -> bytes:
    return jpeg(width, height, comment=text)


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF0) claims width x height."""
    data = bytearray(jpeg(16, 16))
    at = data.index(b"\xff\xc0")
    data[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def gif_declaring(width: int, height: int) -> bytes:
    """A GIF whose screen and first image claim width x height, with a few bytes of pixel data."""
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + bytes(6)  # 2-colour table
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return screen + image + b"\x3b"


def webp_declaring(width: int, height: int) -> bytes:
    """An extended (VP8X) WebP whose canvas is width x height, followed by a tiny real image."""
    small = webp(16, 16)
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes(4) + (width - 1).to_bytes(3, "little")
    vp8x += (height - 1).to_bytes(3, "little")
    body = b"WEBP" + vp8x + small[12:]
    return b"RIFF" + struct.pack("<I", len(body)) + body


def png_text_bomb(megabytes: int = 64) -> bytes:
    """A 1x1 PNG with a compressed text chunk (zTXt) that inflates to `megabytes` MB."""
    text = b"Comment\x00\x00" + zlib.compress(b"\x00" * megabytes * 1024 * 1024, 9)
    return _png(1, 1, 8, 0, b"\x00\x00", _png_chunk(b"zTXt", text))


def png_pixel_flood(width: int = 6000, height: int = 6000) -> bytes:
    """A real greyscale PNG whose zero pixels compress to almost nothing (~1000:1)."""
    return _png(width, height, 8, 0, (b"\x00" * (width + 1)) * height)


def png_header_only() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 48, 8, 2, 0, 0, 0))


def gif_then_html() -> bytes:
    """A GIF signature, then a web page: a browser sniffing it might run the script."""
    return b"GIF89a<html><body><script>alert(document.domain)</script></body></html>"


def jpeg_then_zip(width: int = 200, height: int = 100) -> bytes:
    """A valid JPEG with a ZIP archive appended after its end marker (a JPEG/ZIP polyglot)."""
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("payload.html", "<script>alert(1)</script>")
    return jpeg(width, height) + archive.getvalue()


def png_then_html(width: int = 64, height: int = 48) -> bytes:
    return png(width, height) + b"<html><script>alert(1)</script></html>"


def svg() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>'


def html() -> bytes:
    return b"<!doctype html><html><body><script>alert(1)</script></body></html>"


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def bmp(width: int = 32, height: int = 32) -> bytes:
    return _encode(Image.new("RGB", (width, height), (1, 2, 3)), "BMP")


def tiff(width: int = 32, height: int = 32) -> bytes:
    return _encode(Image.new("RGB", (width, height), (1, 2, 3)), "TIFF")
