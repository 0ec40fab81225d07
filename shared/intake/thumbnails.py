"""Thumbnail engine: JPEG thumbnails from JPEG/PNG/GIF/WebP/AVIF with stock Pillow, and HEIC/HEIF
through pillow-heif (libheif + libde265), imported and registered when the first HEIF arrives so a
consumer that never sees one does not pay for it at cold start.

HEIF/AVIF orientation: libheif applies `irot`/`imir` to the pixels and pillow-heif then sets the EXIF
orientation to 1; Pillow's AVIF plugin does not rotate but writes `irot`/`imir` as the EXIF orientation
(ignoring a stale EXIF tag, as the HEIF spec says). Either way the EXIF orientation read below is
the one rotation still to apply, so nothing is rotated twice. A sequence (HEIF burst, AVIF `avis`)
gives its primary image / first frame only.

Thumbnails carry pixels and nothing else from the source. Every metadata channel an uploader controls
is dropped: JPEG COM markers, EXIF, XMP, IPTC/Photoshop APP segments, PNG tEXt/iTXt/zTXt/eXIf
chunks, GIF comments, WebP EXIF/XMP, and the ICC profile. Pillow copies `info` through resize,
convert and transpose, and its JPEG encoder writes `info["comment"]` as a COM marker, so the working
image's `info` is emptied before encoding and the encoder is given only quality (and never exif,
xmp, comment or icc_profile). The output is a plain JFIF: SOI, APP0, quantization and Huffman
tables, frame, scan.

Colour: the pixels are converted to sRGB and no profile is embedded (an untagged image is sRGB to
every browser). Keeping the source's ICC profile would keep colours too, but the profile is bytes the
uploader chose: its `desc`, `cprt` and other tags hold free text (up to megabytes), so it is a
metadata channel like the others, and a profile is 0.5-4 KB on every thumbnail. A wide-gamut source
(e.g. Display P3 from phones) loses only the colours outside sRGB, which a thumbnail does not need.
The conversion runs on the largest thumbnail (~1 MP), not the original, and a profile that
LittleCMS cannot read is ignored (the pixels are then shown as sRGB, as a browser would).
"""

from __future__ import annotations

import functools
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

from PIL import ExifTags, Image, ImageCms, JpegImagePlugin

from intake import verdicts

SIZES = (1024, 512, 128)  # longest side in px
QUALITY = 85
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
# BICUBIC, as Pillow's own Image.thumbnail: after draft()/reduce() only a
# < 2x (JPEG) or >= 1.5x step is left, where it matches LANCZOS against a
# full-resolution LANCZOS reference (45.40 vs 45.45 dB PSNR on a 12 MP
# photo, 46.05 vs 45.82 on 24 MP) and is 14 % faster per job (make bench).
_RESAMPLE = Image.Resampling.BICUBIC
# reduce() (a box filter) by an integer factor first, then the filter for
# the last >= 1.5x. JPEGs get the same split from draft()'s DCT scaling
# (which leaves less than 2x); this gives PNG/WebP/GIF the same speed-up
# (12 MP -> 1024 reduces 2x first: 50.5 dB PSNR against a full-resolution
# LANCZOS, visually identical). See docs/scaling.md.
_REDUCING_GAP = 1.5

# Same table as ImageOps.exif_transpose. We apply it ourselves to the already
# small image: rotating ~1 MP instead of the full frame, and no EXIF rewrite
# (which can fail on broken EXIF, and we drop EXIF from thumbnails anyway).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_AXES = frozenset({5, 6, 7, 8})


@dataclass(frozen=True)
class Thumbnail:
    size: int  # the requested longest side
    width: int
    height: int
    data: bytes  # JPEG


class ImageRejected(Exception):
    """The image itself is unacceptable; retrying can never help."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def fit(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """Scale `size` so its longest side is `longest`, keeping aspect; never upscale."""
    w, h = size
    if max(w, h) <= longest:
        return w, h
    if w >= h:
        return longest, max(1, round(h * longest / w))
    return max(1, round(w * longest / h)), longest


def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # broken EXIF must not cost the user their upload
        return 1
    return value if isinstance(value, int) else 1


def _working_mode(im: Image.Image) -> Image.Image:
    """Convert to RGB, RGBA or L, modes that resample well."""
    if im.mode.startswith("I"):
        # 16/32-bit grey: convert("L") would clip at 255, so scale first.
        return im.convert("I").point(lambda v: v / 256).convert("L")
    if im.mode in _ALPHA_MODES or "transparency" in im.info:
        return im if im.mode == "RGBA" else im.convert("RGBA")
    if im.mode in ("RGB", "L"):
        return im
    return im.convert("RGB")  # P, 1, CMYK, YCbCr, ...


def _flatten(im: Image.Image) -> Image.Image:
    """RGB on white, as JPEG has no alpha."""
    if im.mode == "RGBA":
        background = Image.new("RGB", im.size, (255, 255, 255))
        background.paste(im, mask=im)
        return background
    return im if im.mode == "RGB" else im.convert("RGB")


def _rgb_icc_profile(im: Image.Image) -> bytes | None:
    # An RGB ICC profile (e.g. Display P3 from phones) says what the pixels mean;
    # a CMYK/grey profile does not describe our RGB working image.
    icc = im.info.get("icc_profile")
    if isinstance(icc, bytes) and icc[16:20] == b"RGB ":
        return icc
    return None


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """`im` (RGB, described by `icc`) in sRGB; unchanged without a profile or with one LittleCMS rejects."""
    if icc is None:
        return im
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(
            im, source, _SRGB, renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC, outputMode="RGB"
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return im
    return converted if converted is not None else im


def _pixels_only(im: Image.Image) -> Image.Image:
    """Drop everything Pillow carried over from the source (comment, exif, xmp, icc_profile, text...)."""
    im.info = {}
    return im


@functools.cache
def _register_heif() -> None:
    """pillow-heif's opener, on first use (its import loads libheif, libde265 and x265)."""
    from pillow_heif import register_heif_opener

    # Only the primary image: no thumbnail, depth or auxiliary (gain map) images are read.
    register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)


def _decode_largest(
    data: IO[bytes], content_type: str, longest: int, max_pixels: int
) -> tuple[Image.Image, tuple[int, int]]:
    """Decode the first frame straight to the largest thumbnail.

    Returns it (RGB, sRGB, upright, no metadata) and the original's upright
    size. All full-size pixel data is dropped when this returns.
    """
    pil_format = verdicts.PIL_FORMATS[content_type]
    if pil_format == "HEIF":
        _register_heif()
    data.seek(0)
    # Only the sniffed format's decoder may run on user data (no EPS/PSD/TIFF surprises).
    with Image.open(data, formats=[pil_format]) as im:
        width, height = im.size
        if width * height > max_pixels:  # the decoder's own view of the size, before any pixel
            raise ImageRejected(verdicts.too_many_pixels(width, height, max_pixels))
        # Work in stored (pre-rotation) coordinates: the box has the image's
        # real aspect ratio, so draft() can pick the biggest DCT scale that
        # still covers it. A 90-degree EXIF rotation only swaps w and h, and
        # we rotate after resizing, so the box never needs swapping.
        target = fit((width, height), longest)
        if isinstance(im, JpegImagePlugin.JpegImageFile):
            im.draft("RGB", target)
        im.load()  # first frame only for GIF/WebP
        orientation = _orientation(im)  # after load: PNG eXIf may follow IDAT
        icc = _rgb_icc_profile(im)
        work = _working_mode(im)
        if work.mode == "RGBA":
            # Flatten first: resampling is linear, so the result equals
            # resizing premultiplied RGBA and flattening after, but 3
            # channels resample faster than 4 and skip the premultiply pass.
            work = _flatten(work)
        if work.size != target:
            work = work.resize(target, _RESAMPLE, reducing_gap=_REDUCING_GAP)
    small = _to_srgb(_flatten(work), icc)
    if orientation in _TRANSPOSE:
        small = small.transpose(_TRANSPOSE[orientation])
    upright = (height, width) if orientation in _SWAPS_AXES else (width, height)
    return _pixels_only(small), upright


def _encode(im: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    # Pixels only (see the module docstring): EXIF may hold GPS and orientation is already applied.
    _pixels_only(im).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _check(data: IO[bytes], max_pixels: int) -> str:
    """The sniffed content type of an image we may decode; ImageRejected, with the sentence the
    validate stage gives for the same problem (intake.verdicts), for one we will not."""
    size = data.seek(0, io.SEEK_END)
    if not size:
        raise ImageRejected(verdicts.EMPTY)
    data.seek(0)
    head = data.read(verdicts.HEAD_BYTES)
    content_type = verdicts.sniff_content_type(head)
    if content_type not in verdicts.PIL_FORMATS:  # None, or a document (the stage never sends one)
        raise ImageRejected(verdicts.NOT_AN_IMAGE)
    try:
        data.seek(0)
        width, height = verdicts.header_size(data, content_type)
    except Exception as exc:  # Pillow raises many types on bad headers
        raise ImageRejected(verdicts.unreadable(exc, content_type, max_pixels)) from exc
    if width * height > max_pixels:  # checked before any pixel is decoded
        raise ImageRejected(verdicts.too_many_pixels(width, height, max_pixels))
    if content_type == "image/webp" and int.from_bytes(head[4:8], "little") + 8 > size:
        raise ImageRejected(verdicts.TRUNCATED)  # shorter than its RIFF header says; libwebp won't say
    if content_type in ("image/heic", "image/heif", "image/avif") and verdicts.bmff_truncated(data, size):
        raise ImageRejected(verdicts.TRUNCATED)  # shorter than its boxes say
    return content_type


def make_thumbnails(
    data: bytes | IO[bytes], max_pixels: int, sizes: Sequence[int] = SIZES, quality: int = QUALITY
) -> list[Thumbnail]:
    """Return one JPEG thumbnail per entry of `sizes`, in that order.

    `data` is the image, or a seekable file holding it (a large image streamed to /tmp: Pillow reads
    what it needs from the file, never the whole of it into memory).
    Each fits in a `size` x `size` box (longest side), keeps the aspect ratio
    and is never upscaled. Raises ImageRejected for any image we cannot or
    will not process.
    """
    if not sizes or min(sizes) < 1 or max_pixels < 1:
        raise ValueError("sizes and max_pixels must be positive")
    if isinstance(data, bytes):
        data = io.BytesIO(data)
    content_type = _check(data, max_pixels)
    descending = sorted(set(sizes), reverse=True)
    try:
        with warnings.catch_warnings():
            # Our max_pixels is the limit that counts; Pillow's warning is noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            current, upright = _decode_largest(data, content_type, descending[0], max_pixels)
        made: dict[int, Thumbnail] = {}
        for size in descending:
            # Target from the original's size so rounding does not compound.
            target = fit(upright, size)
            if current.size != target:
                # Each size from the previous (larger) result, not the original.
                current = current.resize(target, _RESAMPLE, reducing_gap=_REDUCING_GAP)
            made[size] = Thumbnail(size, current.width, current.height, _encode(current, quality))
    except (MemoryError, ImageRejected):
        raise  # MemoryError: our sizing problem, not the user's: let it be retried/alarmed
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error... on bad data
        raise ImageRejected(verdicts.unreadable(exc, content_type, max_pixels)) from exc
    return [made[size] for size in sizes]
