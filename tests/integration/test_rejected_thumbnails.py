"""A rejected upload ends with no thumbnails listed and none stored, whatever order the stages run in.

The case that found it: a PNG declared as JPEG. validate rejects it; the image itself is fine, so the
thumbnail stage makes three thumbnails. Here every stage reads the object before any of them deletes
it (the widest race: a stage that reads after the delete finds nothing and records nothing), then the
stages write in every order, against moto.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from intake import storage
from intake.records import Records
from tests.integration.conftest import THUMBS, UPLOADS, Cloud
from tests.support import images

OWNER = "user-a"


def stored(cloud: Cloud, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in cloud.s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def read_before_any_delete(cloud: Cloud, key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every stage sees the object as it was before the rejection deleted it."""
    head = storage.head(UPLOADS, key)
    body: bytes = cloud.s3.get_object(Bucket=UPLOADS, Key=key)["Body"].read()

    def read(bucket: str, key: str, *, first_bytes: int | None = None) -> bytes:
        return body[:first_bytes] if first_bytes else body

    monkeypatch.setattr(storage, "head", lambda bucket, key: head)
    monkeypatch.setattr(storage, "read", read)


ORDERS = list(itertools.permutations(("validate", "thumbnail", "index", "thumbnail")))


@pytest.mark.parametrize("order", sorted(set(ORDERS)), ids="-".join)
def test_a_png_declared_as_jpeg_ends_rejected_with_no_thumbnails_in_any_order(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, order: tuple[str, ...]
) -> None:
    key = cloud.put(OWNER, "p1", "photo.jpg", images.png(640, 480), content_type="image/jpeg")
    event = cloud.event(key)
    read_before_any_delete(cloud, key, monkeypatch)
    for function in order:  # the second thumbnail is a duplicate delivery
        assert cloud.run(function, event) == {"batchItemFailures": []}
    record = cloud.record("p1")
    assert record is not None and record.status == "rejected", record
    assert record.status_reasons == ("content is image/png but was declared image/jpeg",)
    assert record.thumbnails == ()
    assert stored(cloud, THUMBS) == [] and stored(cloud, UPLOADS) == []


def test_a_thumbnail_stage_that_died_after_storing_cleans_up_on_its_retry(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = cloud.put(OWNER, "p2", "photo.jpg", images.png(640, 480), content_type="image/jpeg")
    event = cloud.event(key)
    real_head, real_read = storage.head, storage.read
    read_before_any_delete(cloud, key, monkeypatch)
    cloud.run("validate", event)  # rejected: the object is deleted
    assert stored(cloud, UPLOADS) == []

    def died(*args: Any, **kwargs: Any) -> None:
        raise ConnectionResetError("the function's environment died here")

    with monkeypatch.context() as dying:  # it read the object before the delete, stored, then died
        dying.setattr(Records, "record_stage", died)
        with pytest.raises(BatchProcessingError):
            cloud.run("thumbnail", event)
    assert len(stored(cloud, THUMBS)) == 3
    monkeypatch.setattr(storage, "head", real_head)
    monkeypatch.setattr(storage, "read", real_read)
    assert cloud.run("thumbnail", event) == {"batchItemFailures": []}  # the retry
    assert stored(cloud, THUMBS) == []
    record = cloud.record("p2")
    assert record is not None and record.status == "rejected" and record.thumbnails == ()


def test_a_ready_upload_lists_the_thumbnails_of_its_current_version(cloud: Cloud) -> None:
    key = cloud.put(OWNER, "p3", "photo.png", images.png(640, 480), content_type="image/png")
    event = cloud.event(key)
    for function in ("thumbnail", "index", "validate"):
        cloud.run(function, event)
    record = cloud.record("p3")
    assert record is not None and record.status == "ready"
    assert sorted(t.size for t in record.thumbnails) == [128, 512, 1024]
    assert len(stored(cloud, THUMBS)) == 3


def test_late_thumbnails_of_an_older_upload_to_the_key_go_when_the_newer_is_rejected(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same form posted twice: the newer upload is rejected; the older one's thumbnail event comes
    last, having read the bytes before they were deleted."""
    key = cloud.put(OWNER, "p4", "photo.jpg", images.png(640, 480), content_type="image/jpeg")
    older = cloud.event(key, time="2026-11-21T10:00:01.000Z")
    newer = cloud.event(key, time="2026-11-21T10:00:02.000Z")
    read_before_any_delete(cloud, key, monkeypatch)
    for function, event in (
        ("validate", newer),
        ("thumbnail", newer),
        ("index", newer),
        ("thumbnail", older),
    ):
        assert cloud.run(function, event) == {"batchItemFailures": []}
    record = cloud.record("p4")
    assert record is not None and record.status == "rejected" and record.thumbnails == ()
    assert stored(cloud, THUMBS) == [] and stored(cloud, UPLOADS) == []
