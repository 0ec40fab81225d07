"""Documents and media (no thumbnails) and MaxImageBytes, through the stage handlers against moto."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from intake import stages, storage
from tests.integration.conftest import THUMBS, UPLOADS, Cloud
from tests.support import documents, images

OWNER = "user-a"
ALLOWED = "image/jpeg,image/png,application/pdf,video/mp4,application/zip"


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every GetObject a stage makes: its Range, or 'whole', or 'streamed' (to a temporary file)."""
    seen: list[str] = []
    real_get = storage._get

    def spy(bucket: str, key: str, **extra: str) -> Any:
        seen.append(extra.get("Range", "whole"))
        return real_get(bucket, key, **extra)

    real_into = storage.read_into

    def spy_into(bucket: str, key: str, out: Any, chunk_bytes: int = 1024 * 1024) -> int:
        seen.append("streamed")
        return real_into(bucket, key, out, chunk_bytes)

    monkeypatch.setattr(storage, "_get", spy)
    monkeypatch.setattr(storage, "read_into", spy_into)
    return seen


@pytest.mark.parametrize("order", list(itertools.permutations(("validate", "thumbnail", "index"))))
def test_an_allowed_pdf_ends_ready_without_thumbnails_in_any_order(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, order: tuple[str, ...]
) -> None:
    monkeypatch.setenv("ALLOWED_CONTENT_TYPES", ALLOWED)
    key = cloud.put(OWNER, "doc", "report.pdf", documents.pdf(), content_type="application/pdf")
    event = cloud.event(key)
    for function in (*order, order[0]):  # and a duplicate delivery
        assert cloud.run(function, event) == {"batchItemFailures": []}
    record = cloud.record("doc")
    assert record is not None and record.status == "ready", record
    assert record.thumbnails == () and record.width is None
    assert record.stage_thumbnail is not None and record.stage_thumbnail.state == "done"
    assert record.stage_thumbnail.details["nothing_to_do"] == "application/pdf has no thumbnails"
    assert "Contents" not in cloud.s3.list_objects_v2(Bucket=THUMBS)
    assert {m["status"] for m in cloud.finished()} == {"ready"}  # announced


def test_the_thumbnail_stage_reads_only_the_first_bytes_of_a_document(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, reads: list[str]
) -> None:
    monkeypatch.setenv("ALLOWED_CONTENT_TYPES", ALLOWED)
    big = documents.iso_media(b"mp42", mdat=2 * 1024 * 1024)
    key = cloud.put(OWNER, "vid", "clip.mp4", big, content_type="video/mp4")
    cloud.run("thumbnail", cloud.event(key))
    assert reads == ["bytes=0-262143"]
    cloud.run("validate", cloud.event(key))
    cloud.run("index", cloud.event(key))
    record = cloud.record("vid")
    assert record is not None and record.status == "ready" and record.thumbnails == ()


def test_validate_reads_the_end_of_a_large_pdf_and_rejects_a_truncated_one(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, reads: list[str]
) -> None:
    monkeypatch.setenv("ALLOWED_CONTENT_TYPES", ALLOWED)
    cut = documents.pdf(pages=20000)[:-100]
    key = cloud.put(OWNER, "cut", "cut.pdf", cut, content_type="application/pdf")
    assert cloud.run("validate", cloud.event(key)) == {"batchItemFailures": []}
    assert reads == ["bytes=0-262143", "bytes=-65557"]
    record = cloud.record("cut")
    assert record is not None and record.status == "rejected"
    assert record.status_reasons == (
        "the PDF document is truncated or has other data after its end (it does not end with %%EOF)",
    )


def test_a_jpeg_declared_as_pdf_is_rejected_and_gets_no_thumbnails(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_CONTENT_TYPES", ALLOWED)
    key = cloud.put(OWNER, "fake", "fake.pdf", images.jpeg(), content_type="application/pdf")
    event = cloud.event(key)
    for function in ("thumbnail", "validate", "index"):
        cloud.run(function, event)
    record = cloud.record("fake")
    assert record is not None and record.status == "rejected"
    assert record.status_reasons == ("content is image/jpeg but was declared application/pdf",)
    assert record.thumbnails == ()
    assert "Contents" not in cloud.s3.list_objects_v2(Bucket=THUMBS)


def padded_jpeg(total: int) -> bytes:
    """A small JPEG and bytes after its end marker (decoders stop at EOI): a large file, a small image."""
    small = images.jpeg(800, 600)
    return small + bytes(total - len(small))


def test_an_image_over_max_image_bytes_is_rejected_before_it_is_read(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, reads: list[str]
) -> None:
    monkeypatch.setenv("MAX_IMAGE_BYTES", str(1024 * 1024))
    key = cloud.put(OWNER, "huge", "huge.jpg", padded_jpeg(2 * 1024 * 1024))
    event = cloud.event(key)
    assert cloud.run("thumbnail", event) == {"batchItemFailures": []}  # a verdict, not a retry
    assert reads == ["bytes=0-262143"]  # the head only: never the image
    assert cloud.run("validate", event) == {"batchItemFailures": []}
    record = cloud.record("huge")
    assert record is not None and record.status == "rejected"
    assert record.status_reasons == ("image is 2.0 MB, the limit for images is 1.0 MB",)  # said once
    assert [o["Key"] for o in cloud.s3.list_objects_v2(Bucket=UPLOADS).get("Contents", [])] == []
    assert {m["status"] for m in cloud.finished()} == {"rejected"}


def test_a_large_image_is_streamed_to_a_temporary_file(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, reads: list[str]
) -> None:
    monkeypatch.setattr(stages, "IN_MEMORY_BYTES", 512 * 1024)
    key = cloud.put(OWNER, "big", "big.jpg", padded_jpeg(1024 * 1024))
    assert cloud.run("thumbnail", cloud.event(key)) == {"batchItemFailures": []}
    assert reads == ["bytes=0-262143", "streamed", "whole"]  # one whole GET, into the file
    record = cloud.record("big")
    assert record is not None and record.stage_thumbnail is not None
    made = {t.size: (t.width, t.height) for t in record.thumbnails}
    assert made == {1024: (800, 600), 512: (512, 384), 128: (128, 96)}
