import io
import os
import random
import struct
import warnings
import zlib
from typing import Any

import pytest
from PIL import Image

from intake.metadata import UploadMetadata, encode_metadata
from intake.validation import HEAD_BYTES, Limits, ObjectFacts, sniff_content_type, validate

MB = 1024 * 1024
LIMITS = Limits(
    allowed_content_types=frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"}),
    max_bytes=25 * MB,
    max_pixels=40_000_000,
)


def image_bytes(fmt: str, size: tuple[int, int] = (64, 48), mode: str = "RGB", **save: Any) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, "red").save(buf, fmt, **save)
    return buf.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that only declares its size: no real pixel data, no memory needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(256)))


def facts(data: bytes | None = None, **over: Any) -> ObjectFacts:
    data = image_bytes("PNG") if data is None else data
    fields: dict[str, Any] = {
        "key": "uploads/alice/u-1/cat.png",
        "content_type": "image/png",
        "size": len(data),
        "metadata": encode_metadata(UploadMetadata(owner="alice", upload_id="u-1", filename="cat.png")),
        "head": data[:HEAD_BYTES],
    } | over
    return ObjectFacts(**fields)


def test_valid_png():
    result = validate(facts(), LIMITS)
    assert result.ok
    assert result.reasons == ()
    assert (result.width, result.height) == (64, 48)
    assert result.metadata == UploadMetadata(owner="alice", upload_id="u-1", filename="cat.png")


@pytest.mark.parametrize(
    ("fmt", "content_type", "save"),
    [
        ("JPEG", "image/jpeg", {}),
        ("GIF", "image/gif", {}),
        ("WEBP", "image/webp", {}),  # lossy: VP8 chunk
        ("WEBP", "image/webp", {"lossless": True}),  # VP8L chunk
        ("WEBP", "image/webp", {"exif": Image.Exif().tobytes(), "icc_profile": b"x"}),  # VP8X chunk
    ],
)
def test_valid_formats(fmt, content_type, save):
    data = image_bytes(fmt, (70, 30), **save)
    assert sniff_content_type(data) == content_type
    result = validate(facts(data, content_type=content_type), LIMITS)
    assert result.reasons == ()
    assert (result.width, result.height) == (70, 30)


def test_large_webp_dimensions_from_a_truncated_head():
    # Pillow's WebP decoder needs the whole file; the head is only 256 KiB.
    img = Image.frombytes("RGB", (700, 500), os.urandom(700 * 500 * 3))
    buf = io.BytesIO()
    img.save(buf, "WEBP", quality=100)
    data = buf.getvalue()
    assert len(data) > HEAD_BYTES
    result = validate(facts(data, content_type="image/webp"), LIMITS)
    assert result.reasons == ()
    assert (result.width, result.height) == (700, 500)


def test_content_type_parameters_and_case_are_ignored():
    assert validate(facts(content_type="Image/PNG; charset=binary"), LIMITS).ok


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0rest", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\nrest", "image/png"),
        (b"GIF87a....", "image/gif"),
        (b"GIF89a....", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", None),
        (b"GIF88a", None),
        (b"<html>", None),
        (b"", None),
        (b"\xff\xd8", None),
    ],
)
def test_sniff_content_type(head, expected):
    assert sniff_content_type(head) == expected


def test_bad_key():
    result = validate(facts(key="uploads/alice/cat.png"), LIMITS)
    assert not result.ok
    assert any("uploads/<owner>/<upload_id>/<filename>" in r for r in result.reasons)


def test_missing_metadata():
    result = validate(facts(metadata={"owner": "alice", "filename": "cat.png"}), LIMITS)
    assert result.reasons == ("missing metadata 'upload-id'",)
    assert result.metadata is None


def test_metadata_must_match_key():
    raw = encode_metadata(UploadMetadata(owner="bob", upload_id="u-2", filename="dog.png"))
    result = validate(facts(metadata=raw), LIMITS)
    assert result.reasons == (
        "metadata owner 'bob' does not match the key's owner 'alice'",
        "metadata upload-id 'u-2' does not match the key's upload id 'u-1'",
        "metadata filename 'dog.png' does not match the key's filename 'cat.png'",
    )
    assert result.metadata is not None  # still returned, for the index and the e-mail


def test_non_ascii_filename_matches_after_decoding():
    name = "café ☕ + friends.png"
    nfd = "cafe\u0301 ☕ + friends.png"  # as a macOS client may send it
    raw = encode_metadata(UploadMetadata(owner="alice", upload_id="u-1", filename=nfd))
    result = validate(facts(key=f"uploads/alice/u-1/{name}", metadata=raw), LIMITS)
    assert result.reasons == ()


def test_rfc2047_metadata_filename_matches_key():
    raw = {"owner": "alice", "upload-id": "u-1", "filename": "=?UTF-8?Q?caf=C3=A9.png?="}
    assert validate(facts(key="uploads/alice/u-1/café.png", metadata=raw), LIMITS).ok


def test_content_type_missing():
    assert validate(facts(content_type=None), LIMITS).reasons == ("content type is missing",)


def test_content_type_not_allowed():
    result = validate(facts(content_type="text/html"), LIMITS)
    assert result.reasons[0] == (
        "content type 'text/html' is not allowed (allowed: image/gif, image/jpeg, image/png, image/webp)"
    )
    assert "content is image/png but was declared text/html" in result.reasons


def test_content_does_not_match_declared_type():
    result = validate(facts(content_type="image/jpeg"), LIMITS)
    assert result.reasons == ("content is image/png but was declared image/jpeg",)


def test_content_is_not_an_image():
    result = validate(facts(b"<html>hello</html>"), LIMITS)
    assert result.reasons == ("content is not a JPEG, PNG, GIF, WebP, HEIC/HEIF or AVIF image",)
    assert result.width is None


def test_too_big():
    result = validate(facts(size=int(31.2 * MB)), LIMITS)
    assert result.reasons == ("file is 31.2 MB, the limit is 25.0 MB",)


def test_exactly_at_the_limit_is_fine():
    assert validate(facts(size=25 * MB), LIMITS).ok


def test_empty_file():
    result = validate(facts(b""), LIMITS)
    assert result.reasons == ("file is empty",)


def test_too_many_pixels():
    result = validate(facts(png_header(12000, 12000)), LIMITS)
    assert result.reasons == ("image is 12000x12000 = 144.0 MP, the limit is 40.0 MP",)
    assert (result.width, result.height) == (12000, 12000)


def test_pillow_decompression_bomb_is_a_reason_not_a_crash():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nor a warning
        result = validate(facts(png_header(20000, 20000)), LIMITS)
        between = validate(facts(png_header(10000, 10000)), LIMITS)  # Pillow would only warn
    assert len(result.reasons) == 1 and "the limit is 40.0 MP" in result.reasons[0]
    assert between.reasons == ("image is 10000x10000 = 100.0 MP, the limit is 40.0 MP",)
    assert Image.MAX_IMAGE_PIXELS == 89478485  # global left alone


def test_unreadable_header():
    result = validate(facts(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40), LIMITS)
    assert result.reasons == (
        "file starts like a PNG image but is not one (damaged or another kind of file)",
    )


def test_all_problems_are_reported_together():
    raw = encode_metadata(UploadMetadata(owner="bob", upload_id="u-1", filename="cat.png"))
    result = validate(
        facts(png_header(12000, 12000), content_type="image/jpeg", size=30 * MB, metadata=raw), LIMITS
    )
    assert not result.ok
    assert len(result.reasons) == 4
    assert result.reasons[0].startswith("metadata owner 'bob'")
    assert "content is image/png but was declared image/jpeg" in result.reasons
    assert "file is 30.0 MB, the limit is 25.0 MB" in result.reasons
    assert "image is 12000x12000 = 144.0 MP, the limit is 40.0 MP" in result.reasons


@pytest.mark.parametrize(
    "magic", [b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\0\0\0\0WEBP"]
)
def test_never_raises_on_garbage(magic):
    rng = random.Random(42)
    for length in (0, 1, 5, 30, 100, 2000):
        for _ in range(20):
            head = magic + rng.randbytes(length)
            raw = {rng.choice(["owner", "upload-id", "filename", "tags"]): head[:20].decode("latin-1")}
            result = validate(facts(head, metadata=raw, key=head.decode("latin-1")), LIMITS)
            assert not result.ok
