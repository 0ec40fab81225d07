"""HEIC and AVIF through the validate and thumbnail handlers against moto, when the stack allows them."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Cloud
from tests.support import heif

OWNER = "user-h"


@pytest.fixture(autouse=True)
def allow_heic_and_avif(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_CONTENT_TYPES", "image/jpeg,image/heic,image/heif,image/avif")


@pytest.mark.parametrize(
    ("name", "body", "content_type"),
    [
        ("IMG_0001.HEIC", heif.rotated("HEIF", orientation=6), "image/heic"),
        ("IMG_0001.heif", heif.rotated("HEIF", orientation=6), "image/heif"),  # the same file, labelled HEIF
        ("logo.avif", heif.rotated("AVIF", orientation=6), "image/avif"),
    ],
)
def test_rotated_photo_is_validated_and_thumbnailed_upright(
    cloud: Cloud, name: str, body: bytes, content_type: str
) -> None:
    upload_id = name.replace(".", "-").lower()
    key = cloud.put(OWNER, upload_id, name, body, content_type=content_type)
    assert cloud.run("validate", cloud.event(key)) == {"batchItemFailures": []}
    assert cloud.run("thumbnail", cloud.event(key)) == {"batchItemFailures": []}
    record = cloud.record(upload_id)
    assert record is not None
    assert record.status_reasons == (), record.status_reasons
    assert (record.width, record.height) == (400, 200)  # as stored, as for a JPEG before its EXIF turn
    made = {t.size: (t.width, t.height) for t in record.thumbnails}
    assert made == {1024: (200, 400), 512: (200, 400), 128: (64, 128)}


def test_heic_is_rejected_where_only_jpeg_is_allowed(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_CONTENT_TYPES", "image/jpeg")
    key = cloud.put(
        OWNER, "h-refused", "IMG_0002.HEIC", heif.encode(heif.halves(), "HEIF"), content_type="image/heic"
    )
    cloud.run("validate", cloud.event(key))
    record = cloud.record("h-refused")
    assert record is not None and record.status == "rejected"
    assert record.status_reasons == ("content type 'image/heic' is not allowed (allowed: image/jpeg)",)
