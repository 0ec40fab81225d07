"""The thumbnail engine reads a large image from a file (the stage streams it to /tmp) as from memory."""

from __future__ import annotations

import tempfile

import pytest

from intake.thumbnails import ImageRejected, make_thumbnails
from tests.support import images


@pytest.mark.parametrize(
    "body",
    [
        images.jpeg(1600, 1200),
        images.jpeg(1600, 1200) + bytes(3 * 1024 * 1024),  # padded after its end marker
        images.png_with_alpha(300, 200),
        images.webp(),
        images.exif_rotated_jpeg(400, 200),
    ],
    ids=["jpeg", "padded jpeg", "rgba png", "webp", "rotated jpeg"],
)
def test_a_file_gives_the_same_thumbnails_as_bytes(body: bytes) -> None:
    with tempfile.TemporaryFile() as spooled:
        spooled.write(body)
        spooled.seek(0)
        from_file = make_thumbnails(spooled, 40_000_000)
    assert from_file == make_thumbnails(body, 40_000_000)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (images.truncated_jpeg(), "image data is truncated (incomplete or damaged file)"),
        (b"", "file is empty"),
        (b"%PDF-1.7\n%%EOF\n", "content is not a JPEG, PNG, GIF, WebP, HEIC/HEIF or AVIF image"),
    ],
)
def test_a_bad_file_gets_the_same_sentence(body: bytes, reason: str) -> None:
    with tempfile.TemporaryFile() as spooled:
        spooled.write(body)
        spooled.seek(0)
        with pytest.raises(ImageRejected) as raised:
            make_thumbnails(spooled, 40_000_000)
    assert raised.value.reason == reason
