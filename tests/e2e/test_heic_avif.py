"""Phone photos on the local cloud: a rotated HEIC and an AVIF with alpha become ready with upright,
opaque JPEG thumbnails (the session's stack allows image/heic, image/heif and image/avif)."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image, ImageChops, ImageStat

from intake.record import UploadRecord
from localcloud.cloud import LocalCloud
from tests.e2e.conftest import Uploader
from tests.support import heif

pytestmark = pytest.mark.e2e


def thumbnails(cloud: LocalCloud, item: UploadRecord) -> dict[int, Image.Image]:
    s3 = cloud.client("s3")
    out: dict[int, Image.Image] = {}
    for thumb in item.thumbnails:
        body = s3.get_object(Bucket=cloud.outputs["ThumbnailBucketName"], Key=thumb.key)["Body"].read()
        image = Image.open(io.BytesIO(body))
        assert image.format == "JPEG" and image.mode == "RGB"
        out[thumb.size] = image
    return out


def mean(image: Image.Image, box: tuple[int, int, int, int]) -> tuple[float, ...]:
    return tuple(ImageStat.Stat(image.crop(box)).mean)


def test_rotated_heic_photo_becomes_ready_upright(cloud: LocalCloud, uploader: Uploader) -> None:
    """Stored 1600x800 with irot 90 and EXIF orientation 6, as an iPhone held upright writes it:
    displayed 800x1600, red on top. Turning it twice would put red at the bottom or on a side."""
    photo = heif.halves(1600, 800)
    photo = ImageChops.add(photo, Image.effect_noise(photo.size, 12).convert("RGB"), offset=-128)  # grain
    exif = Image.Exif()
    exif[0x0112] = 6
    body = heif.encode(photo, "HEIF", exif=exif.tobytes())
    upload_id = uuid.uuid4().hex
    uploader.upload("alice", upload_id, "IMG_0001.HEIC", body, content_type="image/heic")
    item = uploader.final(upload_id)
    assert item.status == "ready", item
    thumbs = thumbnails(cloud, item)
    assert {size: t.size for size, t in thumbs.items()} == {
        1024: (512, 1024),
        512: (256, 512),
        128: (64, 128),
    }
    big = thumbs[1024]
    top, bottom = mean(big, (0, 0, 512, 400)), mean(big, (0, 624, 512, 1024))
    assert top[0] > 180 and top[2] < 80, top  # red on top
    assert bottom[2] > 180 and bottom[0] < 80, bottom  # blue at the bottom


def test_avif_with_alpha_becomes_ready_on_white(cloud: LocalCloud, uploader: Uploader) -> None:
    upload_id = uuid.uuid4().hex
    uploader.upload(
        "alice", upload_id, "logo.avif", heif.with_alpha("AVIF", 600, 400), content_type="image/avif"
    )
    item = uploader.final(upload_id)
    assert item.status == "ready", item
    thumbs = thumbnails(cloud, item)
    assert {size: t.size for size, t in thumbs.items()} == {1024: (600, 400), 512: (512, 341), 128: (128, 85)}
    small = thumbs[128]
    assert min(mean(small, (0, 0, 8, 8))) > 235  # the transparent corner is white, not black
    r, _g, b = mean(small, (54, 36, 74, 48))
    assert b > 180 and r < 80  # the opaque blue middle survives


def test_heic_declared_as_jpeg_is_rejected(cloud: LocalCloud, uploader: Uploader) -> None:
    upload_id = uuid.uuid4().hex
    uploader.upload("alice", upload_id, "photo.jpg", heif.encode(heif.halves(), "HEIF"))
    item = uploader.final(upload_id)
    assert (item.status, tuple(item.status_reasons)) == (
        "rejected",
        ("content is image/heic but was declared image/jpeg",),
    )
