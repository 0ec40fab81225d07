"""HEIC/HEIF and AVIF input: sniffing the ftyp brands, the header size, validation and the engine."""

from __future__ import annotations

import io
import subprocess
import sys
from typing import Any
from unittest import mock

import pytest
from PIL import Image

from intake import verdicts
from intake.metadata import UploadMetadata, encode_metadata
from intake.thumbnails import ImageRejected, Thumbnail, make_thumbnails
from intake.validation import Limits, ObjectFacts, sniff_content_type, validate
from tests.support import heif, images

MAX_PIXELS = 40_000_000
FORMATS = {"image/heic": "HEIF", "image/avif": "AVIF"}
LIMITS = Limits(
    allowed_content_types=frozenset({"image/jpeg", "image/heic", "image/heif", "image/avif"}),
    max_bytes=25 * 1024 * 1024,
    max_pixels=MAX_PIXELS,
)


def facts(data: bytes, content_type: str, head: int | None = None) -> ObjectFacts:
    key = "uploads/alice/0f8fad5b-d9cb-469f-a165-70867728950e/photo.heic"
    meta = UploadMetadata(
        owner="alice", upload_id="0f8fad5b-d9cb-469f-a165-70867728950e", filename="photo.heic"
    )
    return ObjectFacts(key, content_type, len(data), encode_metadata(meta), data[:head] if head else data)


def first(data: bytes) -> Image.Image:
    thumb: Thumbnail = make_thumbnails(data, MAX_PIXELS)[0]
    image = Image.open(io.BytesIO(thumb.data))
    assert image.format == "JPEG" and image.mode == "RGB" and image.size == (thumb.width, thumb.height)
    return image


def close_to(pixel: Any, expected: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


# --- sniffing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("brands", "expected"),
    [
        *[((b, b"mif1"), "image/heic") for b in (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis")],
        ((b"mif1", b"mif1", b"heic"), "image/heic"),  # the codec named by a compatible brand
        ((b"mif1", b"mif1"), "image/heif"),  # the container only
        ((b"msf1", b"msf1", b"iso8"), "image/heif"),
        ((b"avif", b"mif1", b"miaf"), "image/avif"),
        ((b"avis", b"msf1", b"avif"), "image/avif"),
        ((b"mif1", b"mif1", b"miaf", b"avif"), "image/avif"),  # AVIF lists mif1 too: avif wins
        ((b"isom", b"isom", b"mp42"), "video/mp4"),  # not an image: intake.signatures' MP4
        ((b"qt  ",), "video/quicktime"),
        ((b"crx ", b"isom"), None),  # Canon raw
    ],
)
def test_brands(brands: tuple[bytes, ...], expected: str | None) -> None:
    assert sniff_content_type(heif.ftyp(*brands) + bytes(32)) == expected


@pytest.mark.parametrize(
    "head",
    [
        heif.ftyp(b"heic", b"mif1", size=64),  # the box says 64 bytes, 24 are there: truncated
        heif.ftyp(b"heic", b"mif1")[:14],  # cut inside the major brand's minor version
        heif.ftyp(b"heic", size=12) + bytes(8),  # smaller than a major brand and version
        heif.ftyp(b"heic", b"mif1", size=18) + bytes(8),  # not a whole number of brands
        b"\x00\x00\x00\x18ftyp",  # nothing after the type
    ],
    ids=["longer-than-file", "cut", "too-small", "odd-size", "empty"],
)
def test_malformed_ftyp_is_not_sniffed(head: bytes) -> None:
    assert sniff_content_type(head) is None


def test_real_files_are_sniffed() -> None:
    assert sniff_content_type(heif.encode(heif.halves(), "HEIF")) == "image/heic"
    assert sniff_content_type(heif.encode(heif.halves(), "AVIF")) == "image/avif"
    assert sniff_content_type(heif.sequence("AVIF")) == "image/avif"  # avis


@pytest.mark.parametrize("content_type", ["image/heic", "image/avif"])
def test_header_size_reads_ispe_without_decoding(content_type: str) -> None:
    data = heif.encode(heif.halves(640, 480), FORMATS[content_type])
    assert verdicts.header_size(data, content_type) == (640, 480)
    # Stored (pre-irot) size, as for a JPEG before its EXIF rotation.
    assert verdicts.header_size(heif.rotated(FORMATS[content_type]), content_type) == (400, 200)


def test_header_size_of_a_header_with_no_meta_box() -> None:
    with pytest.raises(SyntaxError):
        verdicts.header_size(heif.ftyp(b"heic", b"mif1") + b"\x00\x00\x00\x08mdat", "image/heic")


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "declared"), [("image/heic", "image/heic"), ("image/avif", "image/avif")]
)
def test_valid_upload(content_type: str, declared: str) -> None:
    result = validate(facts(heif.encode(heif.halves(640, 480), FORMATS[content_type]), declared), LIMITS)
    assert result.ok, result.reasons
    assert (result.width, result.height) == (640, 480)


def test_heic_declared_as_heif_is_the_same_type() -> None:
    assert validate(facts(heif.encode(heif.halves(), "HEIF"), "image/heif"), LIMITS).ok


@pytest.mark.parametrize(
    ("data", "declared", "reason"),
    [
        (images.jpeg(), "image/heic", "content is image/jpeg but was declared image/heic"),
        (
            heif.encode(heif.halves(), "AVIF"),
            "image/heic",
            "content is image/avif but was declared image/heic",
        ),
        (
            heif.encode(heif.halves(), "HEIF"),
            "image/avif",
            "content is image/heic but was declared image/avif",
        ),
        (
            heif.encode(heif.halves(), "HEIF"),
            "image/jpeg",
            "content is image/heic but was declared image/jpeg",
        ),
    ],
    ids=["jpeg-as-heic", "avif-as-heic", "heic-as-avif", "heic-as-jpeg"],
)
def test_content_must_match_the_declared_type(data: bytes, declared: str, reason: str) -> None:
    assert validate(facts(data, declared), LIMITS).reasons == (reason,)


def test_heic_is_refused_when_not_allowed() -> None:
    limits = Limits(frozenset({"image/jpeg"}), LIMITS.max_bytes, MAX_PIXELS)
    result = validate(facts(heif.encode(heif.halves(), "HEIF"), "image/heic"), limits)
    assert result.reasons == ("content type 'image/heic' is not allowed (allowed: image/jpeg)",)


@pytest.mark.parametrize("content_type", ["image/heic", "image/avif"])
def test_pixel_limit_from_the_header(content_type: str) -> None:
    bomb = heif.declaring(heif.encode(heif.halves(), FORMATS[content_type]), 20_000, 20_000)
    result = validate(facts(bomb, content_type), LIMITS)
    assert result.reasons == ("image is 20000x20000 = 400.0 MP, the limit is 40.0 MP",)


def test_meta_box_past_the_head_is_read_from_more_of_the_file() -> None:
    data = heif.encode(heif.halves(), "HEIF")
    meta = data.index(b"meta") - 4
    # ftyp, then a 300 KB free box, then the rest: the meta box starts after the 256 KB head.
    padded = data[:meta] + (300_000).to_bytes(4, "big") + b"free" + bytes(300_000 - 8) + data[meta:]
    short = facts(padded, "image/heic", head=256 * 1024)
    assert validate(short, LIMITS).head_too_short
    result = validate(short, LIMITS, read_more=lambda n: padded[:n])
    assert result.ok and (result.width, result.height) == (400, 200)


def test_damaged_header_gives_a_sentence() -> None:
    data = heif.encode(heif.halves(), "HEIF")
    cut = data[: data.index(b"ispe") - 40]  # inside the meta box
    result = validate(facts(cut, "image/heic"), LIMITS)
    assert result.reasons == (
        "file starts like a HEIC image but is not one (damaged or another kind of file)",
    )


# --- the engine -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_sizes(fmt: str) -> None:
    thumbs = make_thumbnails(heif.encode(heif.halves(3000, 1500), fmt), MAX_PIXELS)
    assert [(t.size, t.width, t.height) for t in thumbs] == [
        (1024, 1024, 512),
        (512, 512, 256),
        (128, 128, 64),
    ]


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_rotation_by_the_files_own_transform(fmt: str) -> None:
    """irot 90 (+ the same EXIF orientation, as iPhones write both): turned once, clockwise."""
    thumb = first(heif.rotated(fmt, orientation=6))
    assert thumb.size == (200, 400)
    assert close_to(thumb.getpixel((100, 20)), heif.RED) and close_to(thumb.getpixel((100, 380)), heif.BLUE)


def test_rotation_the_other_way() -> None:
    thumb = first(heif.rotated("HEIF", orientation=8))
    assert thumb.size == (200, 400)
    assert close_to(thumb.getpixel((100, 20)), heif.BLUE) and close_to(thumb.getpixel((100, 380)), heif.RED)


def test_a_stale_exif_orientation_is_not_applied_to_heic() -> None:
    """HEIF's transforms are authoritative (ISO/IEC 23008-12; browsers agree): with irot 0, the EXIF
    orientation 6 the file still carries is not applied on top."""
    data = heif.without_irot(heif.rotated("HEIF", orientation=6))
    assert b"Exif" in data
    thumb = first(data)
    assert thumb.size == (400, 200)
    assert close_to(thumb.getpixel((20, 100)), heif.RED) and close_to(thumb.getpixel((380, 100)), heif.BLUE)


def test_exif_orientation_of_a_jpeg_still_applies() -> None:
    assert first(images.exif_rotated_jpeg(400, 200, orientation=6)).size == (200, 400)


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_alpha_is_flattened_on_white(fmt: str) -> None:
    thumb = first(heif.with_alpha(fmt))
    assert close_to(thumb.getpixel((5, 5)), (255, 255, 255)) and close_to(
        thumb.getpixel((150, 100)), heif.BLUE
    )


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_sequence_gives_its_first_image(fmt: str) -> None:
    assert close_to(first(heif.sequence(fmt)).getpixel((60, 40)), heif.RED)


@pytest.mark.parametrize("content_type", ["image/heic", "image/avif"])
def test_pixel_limit_before_decode(content_type: str) -> None:
    bomb = heif.declaring(heif.encode(heif.halves(), FORMATS[content_type]), 20_000, 20_000)
    with pytest.raises(ImageRejected) as caught:
        make_thumbnails(bomb, MAX_PIXELS)
    assert caught.value.reason == "image is 20000x20000 = 400.0 MP, the limit is 40.0 MP"


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_the_decoders_own_size_is_checked_too(fmt: str) -> None:
    """Should the header parse ever under-report, the decoder's size is checked before it decodes."""
    data = heif.encode(heif.halves(400, 200), fmt)
    with (
        mock.patch.object(verdicts, "header_size", return_value=(10, 10)),
        pytest.raises(ImageRejected) as caught,
    ):
        make_thumbnails(data, 50_000)
    assert caught.value.reason == "image is 400x200 = 0.1 MP, the limit is 0.1 MP"


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_truncated_file_is_rejected_with_a_sentence(fmt: str) -> None:
    data = heif.encode(Image.effect_noise((256, 256), 64).convert("RGB"), fmt)
    with pytest.raises(ImageRejected) as caught:
        make_thumbnails(data[: len(data) * 2 // 3], MAX_PIXELS)
    assert caught.value.reason == verdicts.TRUNCATED


def test_damaged_avif_reads_an_avif() -> None:
    data = heif.encode(heif.halves(), "AVIF")
    mdat = data.index(b"mdat") + 4
    damaged = data[:mdat] + bytes(len(data) - mdat)  # the coded pixels zeroed
    with pytest.raises(ImageRejected) as caught:
        make_thumbnails(damaged, MAX_PIXELS)
    assert caught.value.reason.startswith(("an AVIF", "AVIF image data", "file starts like an AVIF"))


def test_jpeg_claiming_heic_brands_is_not_decoded_as_heic() -> None:
    with pytest.raises(ImageRejected) as caught:
        make_thumbnails(heif.ftyp(b"heic", b"mif1") + images.jpeg(), MAX_PIXELS)
    assert (
        caught.value.reason
        == "file starts like a HEIC image but is not one (damaged or another kind of file)"
    )


def test_pillow_heif_is_imported_only_when_a_heif_arrives() -> None:
    """Cold start: the engine and the validate stage never import pillow-heif for other formats."""
    code = (
        "import sys\n"
        "from intake import thumbnails, validation\n"
        "from tests.support import images\n"
        "thumbnails.make_thumbnails(images.jpeg(), 10**6)\n"
        "assert 'pillow_heif' not in sys.modules, 'imported early'\n"
        "from tests.support import heif\n"
        "data = heif.encode(heif.halves(), 'AVIF')\n"
        "thumbnails.make_thumbnails(data, 10**6)\n"
        "assert 'pillow_heif' not in sys.modules, 'imported for AVIF'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=".", env={"PYTHONPATH": "shared:."})
