import io
import struct
import zlib
from typing import Any
from unittest import mock

import pytest
from PIL import Image, ImageCms, ImageFile, JpegImagePlugin, PngImagePlugin

from intake import verdicts
from intake.thumbnails import SIZES, ImageRejected, Thumbnail, make_thumbnails
from tests.support import images

MAX_PIXELS = 40_000_000
RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 255, 0)


def encode(img: Image.Image, fmt: str, **save: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **save)
    return buf.getvalue()


def solid(size: tuple[int, int], color: Any = RED, mode: str = "RGB", fmt: str = "PNG", **save: Any) -> bytes:
    return encode(Image.new(mode, size, color), fmt, **save)


def decode(thumb: Thumbnail) -> Image.Image:
    img = Image.open(io.BytesIO(thumb.data))
    assert img.format == "JPEG"
    assert img.mode == "RGB"
    assert img.size == (thumb.width, thumb.height)
    return img


def close_to(pixel: Any, expected: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def png_header(width: int, height: int) -> bytes:
    """A PNG that only declares its size: it needs no memory to create."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(bytes(width * 3 + 1) * 4)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_defaults():
    assert SIZES == (1024, 512, 128)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_landscape_sizes_and_aspect(fmt):
    thumbs = make_thumbnails(solid((3000, 1500), fmt=fmt), MAX_PIXELS)
    assert [(t.size, t.width, t.height) for t in thumbs] == [
        (1024, 1024, 512),
        (512, 512, 256),
        (128, 128, 64),
    ]
    for t in thumbs:
        assert isinstance(t, Thumbnail)
        assert close_to(decode(t).getpixel((t.width // 2, t.height // 2)), RED)


def test_portrait_and_odd_aspect():
    thumbs = make_thumbnails(solid((1000, 3001)), MAX_PIXELS)
    assert [(t.width, t.height) for t in thumbs] == [(341, 1024), (171, 512), (43, 128)]


def test_sizes_are_returned_in_the_requested_order():
    thumbs = make_thumbnails(solid((800, 800)), MAX_PIXELS, sizes=(64, 256))
    assert [(t.size, t.width) for t in thumbs] == [(64, 64), (256, 256)]


def test_never_upscales():
    thumbs = make_thumbnails(solid((300, 200)), MAX_PIXELS)
    assert [(t.size, t.width, t.height) for t in thumbs] == [
        (1024, 300, 200),
        (512, 300, 200),
        (128, 128, 85),
    ]


def test_quality_is_applied():
    noisy = Image.effect_noise((600, 600), 64).convert("RGB")
    data = encode(noisy, "PNG")
    high = make_thumbnails(data, MAX_PIXELS, sizes=(512,), quality=95)[0]
    low = make_thumbnails(data, MAX_PIXELS, sizes=(512,), quality=30)[0]
    assert len(low.data) < len(high.data) * 0.7


def test_smaller_sizes_are_derived_from_the_previous_result():
    real_resize = Image.Image.resize
    with mock.patch.object(Image.Image, "resize", autospec=True, side_effect=real_resize) as spy:
        make_thumbnails(solid((3000, 1500)), MAX_PIXELS)
    sources = [(call.args[0].size, call.args[1]) for call in spy.call_args_list]
    # Pillow may resize internally, so look for our three steps in order.
    assert ((3000, 1500), (1024, 512)) in sources
    assert sources.index(((1024, 512), (512, 256))) < sources.index(((512, 256), (128, 64)))
    assert not any(src == (3000, 1500) and dst in ((512, 256), (128, 64)) for src, dst in sources)


def test_jpeg_draft_uses_an_aspect_correct_box():
    data = solid((4000, 2000), fmt="JPEG")
    real_draft = JpegImagePlugin.JpegImageFile.draft
    real_resize = Image.Image.resize
    with (
        mock.patch.object(
            JpegImagePlugin.JpegImageFile, "draft", autospec=True, side_effect=real_draft
        ) as draft,
        mock.patch.object(Image.Image, "resize", autospec=True, side_effect=real_resize) as resize,
    ):
        thumbs = make_thumbnails(data, MAX_PIXELS)
    draft.assert_called_once()
    assert draft.call_args.args[1:] == ("RGB", (1024, 512))
    # With a square (1024, 1024) box libjpeg could not scale a 4000x2000 image at all;
    # with the real aspect it decodes at 1/2 and the first resize starts from 2000x1000.
    assert resize.call_args_list[0].args[0].size == (2000, 1000)
    assert (thumbs[0].width, thumbs[0].height) == (1024, 512)


def test_draft_box_is_in_stored_orientation_for_rotated_jpeg():
    exif = Image.Exif()
    exif[0x0112] = 6
    data = solid((4000, 2000), fmt="JPEG", exif=exif.tobytes())
    real_draft = JpegImagePlugin.JpegImageFile.draft
    with mock.patch.object(
        JpegImagePlugin.JpegImageFile, "draft", autospec=True, side_effect=real_draft
    ) as draft:
        thumbs = make_thumbnails(data, MAX_PIXELS)
    assert draft.call_args.args[1:] == ("RGB", (1024, 512))
    assert [(t.width, t.height) for t in thumbs] == [(512, 1024), (256, 512), (64, 128)]


def marked(fmt: str = "JPEG", orientation: int | None = None) -> bytes:
    """400x200 blue image with a red 60x60 marker in its stored top-left corner."""
    img = Image.new("RGB", (400, 200), BLUE)
    img.paste(RED, (0, 0, 60, 60))
    save = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        save["exif"] = exif.tobytes()
    return encode(img, fmt, **save)


@pytest.mark.parametrize(
    ("orientation", "size", "marker_corner"),
    [
        (1, (400, 200), "top-left"),
        (3, (400, 200), "bottom-right"),
        (6, (200, 400), "top-right"),  # rotate 90 clockwise to view
        (8, (200, 400), "bottom-left"),  # rotate 90 counter-clockwise to view
        (2, (400, 200), "top-right"),  # mirrored
    ],
)
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_orientation(fmt, orientation, size, marker_corner):
    thumbs = make_thumbnails(marked(fmt, orientation), MAX_PIXELS)
    assert [(t.width, t.height) for t in thumbs][:2] == [size, size]
    small = thumbs[2]
    assert max(small.width, small.height) == 128 and min(small.width, small.height) == 64
    img = decode(thumbs[0])
    w, h = img.size
    corners = {
        "top-left": (10, 10),
        "top-right": (w - 11, 10),
        "bottom-left": (10, h - 11),
        "bottom-right": (w - 11, h - 11),
    }
    for name, xy in corners.items():
        assert close_to(img.getpixel(xy), RED if name == marker_corner else BLUE), name


@pytest.mark.parametrize(
    "make",
    [
        lambda: encode(Image.new("RGBA", (600, 400), (0, 0, 0, 0)), "PNG"),
        lambda: encode(Image.new("LA", (600, 400), (0, 0)), "PNG"),
        lambda: encode(Image.new("RGBA", (600, 400), (0, 0, 0, 0)), "WEBP", lossless=True),
        lambda: encode(Image.new("P", (600, 400), 0), "GIF", transparency=0),
        lambda: encode(Image.new("P", (600, 400), 0), "PNG", transparency=0),
    ],
    ids=["rgba-png", "la-png", "rgba-webp", "gif-transparency", "p-png-transparency"],
)
def test_transparency_is_flattened_onto_white(make):
    transparent = Image.open(io.BytesIO(make()))
    fmt = transparent.format
    assert fmt is not None
    img = transparent.convert("RGBA")
    img.paste((255, 0, 0, 255), (250, 150, 350, 250))  # opaque red square in the middle
    data = encode(img, fmt)
    assert Image.open(io.BytesIO(data)).mode != "RGB"  # still has transparency
    for thumb in make_thumbnails(data, MAX_PIXELS):
        out = decode(thumb)
        assert out.getpixel((0, 0)) == (255, 255, 255) or close_to(out.getpixel((0, 0)), (255, 255, 255), 3)
        assert close_to(out.getpixel((out.width // 2, out.height // 2)), RED)


def test_animated_gif_uses_first_frame():
    frames = [Image.new("RGB", (300, 200), c) for c in (RED, GREEN, BLUE)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    for thumb in make_thumbnails(buf.getvalue(), MAX_PIXELS):
        assert close_to(decode(thumb).getpixel((50, 50)), RED)


def test_animated_webp_uses_first_frame():
    frames = [Image.new("RGB", (300, 200), c) for c in (GREEN, RED, BLUE)]
    buf = io.BytesIO()
    frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:], duration=100)
    assert getattr(Image.open(io.BytesIO(buf.getvalue())), "n_frames", 1) == 3
    assert close_to(decode(make_thumbnails(buf.getvalue(), MAX_PIXELS)[0]).getpixel((50, 50)), GREEN)


@pytest.mark.parametrize(
    ("mode", "color"),
    [("L", 128), ("CMYK", (0, 255, 255, 0)), ("1", 1), ("P", 3)],
)
def test_other_modes_come_out_rgb(mode, color):
    fmt = "JPEG" if mode in ("L", "CMYK") else "PNG"
    thumbs = make_thumbnails(solid((200, 100), color, mode=mode, fmt=fmt), MAX_PIXELS)
    assert decode(thumbs[0]).mode == "RGB"


def test_16_bit_grey_png_is_scaled_not_clipped():
    img = Image.new("I;16", (200, 100), 32768)  # mid grey
    out = decode(make_thumbnails(encode(img, "PNG"), MAX_PIXELS)[0])
    assert close_to(out.getpixel((10, 10)), (128, 128, 128), 3)


def test_rgb_icc_profile_converted_to_srgb_exif_dropped():
    # Thumbnails are converted to sRGB and carry no profile (see intake.thumbnails): an sRGB source
    # keeps its colours and loses its profile.
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    data = solid((500, 400), fmt="JPEG", icc_profile=srgb, exif=exif.tobytes())
    for thumb in make_thumbnails(data, MAX_PIXELS):
        out = decode(thumb)
        assert "icc_profile" not in out.info
        assert "exif" not in out.info
        assert close_to(out.getpixel((10, 10)), RED, 8)


SECRET = "SECRET-7f3a"
# A thumbnail is a plain JFIF: start of image, APP0 (JFIF), quantization and Huffman tables, frame,
# restart interval, scan, end of image. No APP1 (EXIF, XMP), APP2 (ICC), APP13 (IPTC) or COM.
JFIF_MARKERS = frozenset({0xD8, 0xE0, 0xDB, 0xC4, 0xC0, 0xC2, 0xDD, 0xDA})


def jpeg_markers(data: bytes) -> list[int]:
    """The markers of a JPEG up to its first scan (the entropy-coded data follows)."""
    markers, pos = [], 2
    assert data[:2] == b"\xff\xd8"
    while pos < len(data):
        assert data[pos] == 0xFF, f"no marker at {pos}"
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:
            return [0xD8, *markers]
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        pos += 2 + length
    raise AssertionError("no scan")


def exif_with_text(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010E] = f"ImageDescription {SECRET}"
    exif[0x013B] = f"Artist {SECRET}"
    exif[0x8298] = f"Copyright {SECRET}"
    return exif.tobytes()


def png_text() -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", f"tEXt comment {SECRET}")  # Pillow would write this as a JPEG COM
    info.add_text("Author", f"tEXt {SECRET}")
    info.add_text("Title", f"zTXt {SECRET}", zip=True)
    info.add_itxt("Description", f"iTXt {SECRET} é", lang="fr", tkey="Légende")
    info.add_itxt("XML:com.adobe.xmp", f"<x:xmpmeta>{SECRET}</x:xmpmeta>")
    return info


def leaky(fmt: str) -> bytes:
    """A 600x400 image with every text-bearing metadata its format can carry, all holding SECRET."""
    img = Image.new("RGB", (600, 400), (200, 60, 40))
    icc = images.rgb_icc_profile(f"desc {SECRET}", f"cprt {SECRET}")
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/">{SECRET}</x:xmpmeta>'.encode()
    if fmt == "JPEG":
        return encode(img, fmt, comment=f"COM {SECRET}", exif=exif_with_text(), xmp=xmp, icc_profile=icc)
    if fmt == "PNG":
        return encode(img, fmt, pnginfo=png_text(), exif=exif_with_text(), icc_profile=icc)
    if fmt == "WEBP":
        return encode(img, fmt, exif=exif_with_text(), xmp=xmp, icc_profile=icc)
    return encode(img.convert("P"), fmt, comment=f"GIF comment {SECRET}")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_source_metadata_never_reaches_a_thumbnail(fmt):
    data = leaky(fmt)
    assert data.count(SECRET.encode()) >= 1  # the source really carries it
    for thumb in make_thumbnails(data, MAX_PIXELS):
        assert SECRET.encode() not in thumb.data
        assert set(jpeg_markers(thumb.data)) <= JFIF_MARKERS, [hex(m) for m in jpeg_markers(thumb.data)]
        out = decode(thumb)
        assert set(out.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi"}, out.info


def test_png_text_and_jpeg_comment_sources_are_what_pillow_would_copy():
    # Guards the test above: without stripping, Pillow copies a JPEG COM or a PNG "comment" to the output.
    for fmt in ("JPEG", "PNG"):
        assert Image.open(io.BytesIO(leaky(fmt))).info.get("comment")


def test_orientation_is_applied_to_a_source_full_of_metadata():
    img = Image.new("RGB", (400, 200), BLUE)
    img.paste(RED, (0, 0, 60, 60))
    data = encode(img, "JPEG", comment=SECRET, exif=exif_with_text(orientation=6), xmp=SECRET.encode())
    thumbs = make_thumbnails(data, MAX_PIXELS)
    out = decode(thumbs[0])
    assert out.size == (200, 400)
    assert close_to(out.getpixel((out.width - 11, 10)), RED)  # the marker is top-right once upright
    assert close_to(out.getpixel((10, 10)), BLUE)
    assert all(SECRET.encode() not in t.data for t in thumbs)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_wide_gamut_colours_are_converted_to_srgb(fmt):
    p3 = images.rgb_icc_profile("Display P3-like")
    source = (200, 60, 40)
    data = encode(Image.new("RGB", (500, 400), source), fmt, icc_profile=p3)
    converted = ImageCms.profileToProfile(
        Image.new("RGB", (1, 1), source),
        ImageCms.ImageCmsProfile(io.BytesIO(p3)),
        ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")),
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
    )
    assert converted is not None
    expected = converted.getpixel((0, 0))
    assert isinstance(expected, tuple)
    assert not close_to(expected, source, 10)  # the conversion is visible: a wrong one would fail
    for thumb in make_thumbnails(data, MAX_PIXELS):
        out = decode(thumb)
        assert "icc_profile" not in out.info
        assert close_to(out.getpixel((out.width // 2, out.height // 2)), expected, 4)


def test_an_unreadable_rgb_profile_is_ignored():
    broken = bytes(16) + b"RGB " + b"\xff" * 200  # says RGB, is not a profile LittleCMS can read
    data = solid((200, 100), (200, 60, 40), fmt="PNG", icc_profile=broken)
    out = decode(make_thumbnails(data, MAX_PIXELS)[0])
    assert "icc_profile" not in out.info
    assert close_to(out.getpixel((50, 50)), (200, 60, 40), 4)


def test_cmyk_icc_profile_is_not_copied_to_rgb_output():
    fake_cmyk_profile = bytes(16) + b"CMYK" + bytes(108)
    data = solid((200, 100), (0, 0, 0, 0), mode="CMYK", fmt="JPEG", icc_profile=fake_cmyk_profile)
    assert "icc_profile" not in decode(make_thumbnails(data, MAX_PIXELS)[0]).info


def rejected(data: bytes, max_pixels: int = MAX_PIXELS) -> str:
    with pytest.raises(ImageRejected) as info:
        make_thumbnails(data, max_pixels)
    reason = str(info.value)
    assert info.value.reason == reason
    return reason


def test_truncated_jpeg_is_rejected():
    noisy = Image.effect_noise((800, 600), 64).convert("RGB")
    data = encode(noisy, "JPEG")
    assert rejected(data[: len(data) // 2]) == "image data is truncated (incomplete or damaged file)"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_truncated_png_is_rejected():
    noisy = Image.effect_noise((800, 600), 64).convert("RGB")
    data = encode(noisy, "PNG")
    reason = rejected(data[: len(data) // 2])
    assert "truncated" in reason or reason.startswith("cannot decode image")


def test_corrupt_png_data_is_rejected():
    data = bytearray(solid((300, 200)))
    data[60:80] = b"\xff" * 20  # inside the IDAT stream
    assert rejected(bytes(data)) in ("PNG image data is damaged and cannot be decoded", verdicts.TRUNCATED)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", verdicts.EMPTY),
        (b"hello world", verdicts.NOT_AN_IMAGE),
        (
            b"\xff\xd8\xff" + bytes(50),
            "file starts like a JPEG image but is not one (damaged or another kind of file)",
        ),
        (bytes(range(256)) * 10, verdicts.NOT_AN_IMAGE),
    ],
)
def test_garbage_is_rejected(data, reason):
    assert rejected(data) == reason


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "ICO"])
def test_other_formats_are_not_decoded(fmt):
    assert rejected(solid((64, 64), fmt=fmt)) == verdicts.NOT_AN_IMAGE


def test_too_many_pixels_is_rejected_before_decoding():
    with mock.patch.object(ImageFile.ImageFile, "load", side_effect=AssertionError("decoded")):
        assert rejected(png_header(12000, 12000)) == "image is 12000x12000 = 144.0 MP, the limit is 40.0 MP"


def test_real_oversized_png_is_rejected_before_decoding():
    data = solid((7000, 6000), 0, mode="L")  # 42 MP, a small file
    with mock.patch.object(ImageFile.ImageFile, "load", side_effect=AssertionError("decoded")):
        assert rejected(data) == "image is 7000x6000 = 42.0 MP, the limit is 40.0 MP"
    assert len(make_thumbnails(data, 50_000_000)) == 3  # our limit, not Pillow's, decides


def test_decompression_bomb_is_rejected():
    reason = rejected(png_header(20000, 20000))  # 400 MP: Pillow itself refuses to open it
    assert reason.endswith("the limit is 40.0 MP")
    assert Image.MAX_IMAGE_PIXELS == 89478485


def test_bad_arguments():
    with pytest.raises(ValueError):
        make_thumbnails(solid((10, 10)), MAX_PIXELS, sizes=())
    with pytest.raises(ValueError):
        make_thumbnails(solid((10, 10)), 0)
