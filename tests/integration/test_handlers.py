"""Each consumer against moto (mock_aws): real boto3 calls, the real table schema from the template."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from tests.integration.conftest import THUMBS, UPLOADS, Cloud
from tests.support import images
from tests.support.aws import sqs_event

OWNER = "user-a"


def test_validate_accepts_a_good_upload_with_non_ascii_metadata(cloud: Cloud) -> None:
    key = cloud.put(OWNER, "u1", "mon café ☕+1.jpg", images.jpeg(), title="日本の写真", tags=["été", "x"])
    assert cloud.run("validate", cloud.event(key)) == {"batchItemFailures": []}
    record = cloud.record("u1")
    assert record is not None
    assert record.stage_validate is not None and record.stage_validate.state == "done"
    assert record.title == "日本の写真" and record.tags == ("été", "x")
    assert record.filename == "mon café ☕+1.jpg"
    assert (record.width, record.height) == (640, 480)
    assert record.status == "processing"


def test_validate_rejects_with_every_reason(cloud: Cloud) -> None:
    key = cloud.put(OWNER, "u2", "fake.jpg", images.png_with_alpha(), content_type="application/pdf")
    cloud.run("validate", cloud.event(key))
    record = cloud.record("u2")
    assert record is not None and record.status == "rejected"
    reasons = " ".join(record.status_reasons)
    assert "application/pdf" in reasons
    assert cloud.finished() == [
        {
            "type": "upload.finished",
            "upload_id": "u2",
            "status": "rejected",
            "version": record.status_version,
        }
    ]


def test_thumbnail_flattens_alpha_and_writes_only_to_the_thumbnail_bucket(
    cloud: Cloud, capsys: pytest.CaptureFixture[str]
) -> None:
    key = cloud.put(OWNER, "u3", "alpha.png", images.png_with_alpha(300, 200), content_type="image/png")
    assert cloud.run("thumbnail", cloud.event(key)) == {"batchItemFailures": []}
    record = cloud.record("u3")
    assert record is not None
    assert '"ThumbnailsMade"' in capsys.readouterr().out  # the EMF line powertools Metrics prints
    made = {t.size: t for t in record.thumbnails}
    assert set(made) == {1024, 512, 128}
    assert (made[1024].width, made[1024].height) == (300, 200)  # never upscaled
    assert (made[128].width, made[128].height) == (128, 85)
    stored = cloud.s3.list_objects_v2(Bucket=THUMBS)["Contents"]
    assert sorted(o["Key"] for o in stored) == [f"thumbnails/{OWNER}/u3/{s}.jpg" for s in (1024, 128, 512)]
    # nothing new under the uploads bucket: thumbnails cannot re-enter the pipeline
    assert [o["Key"] for o in cloud.s3.list_objects_v2(Bucket=UPLOADS)["Contents"]] == [key]


def test_exif_rotation_is_applied(cloud: Cloud) -> None:
    key = cloud.put(OWNER, "u4", "rotated.jpg", images.exif_rotated_jpeg(400, 200))
    cloud.run("thumbnail", cloud.event(key))
    record = cloud.record("u4")
    assert record is not None
    big = next(t for t in record.thumbnails if t.size == 1024)
    assert (big.width, big.height) == (200, 400)


def test_bad_images_are_rejected_not_retried(cloud: Cloud) -> None:
    truncated = cloud.put(OWNER, "u5", "half.jpg", images.truncated_jpeg())
    bomb = cloud.put(OWNER, "u6", "bomb.png", images.decompression_bomb_png(), content_type="image/png")
    for key in (truncated, bomb):
        assert cloud.run("thumbnail", cloud.event(key)) == {"batchItemFailures": []}
    for upload_id in ("u5", "u6"):
        record = cloud.record(upload_id)
        assert record is not None and record.status == "rejected", record
        assert record.status_reasons


def test_index_records_the_object_and_an_older_event_does_not_win(cloud: Cloud) -> None:
    key = cloud.put(OWNER, "u7", "v2.jpg", images.jpeg(100, 100))
    cloud.run("index", cloud.event(key, time="2026-11-21T10:00:02.000Z"))
    cloud.run("index", cloud.event(key, time="2026-11-21T10:00:01.000Z"))  # the older PUT, delivered late
    record = cloud.record("u7")
    assert record is not None
    assert record.stage_index is not None and record.stage_index.version == "t2026-11-21T10:00:02.000Z"
    assert record.size == len(images.jpeg(100, 100)) and record.content_type == "image/jpeg"
    assert record.owner == OWNER and record.created_at


def test_s3_test_event_is_ignored(cloud: Cloud) -> None:
    body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": UPLOADS})
    for function in ("validate", "thumbnail", "index"):
        assert cloud.run(function, sqs_event(body)) == {"batchItemFailures": []}


def test_whole_flow_in_any_order_sends_exactly_one_email(cloud: Cloud) -> None:
    from intake.keys import parse_upload_key
    from intake.records import Records

    key = cloud.put(OWNER, "u8", "a b+c é.jpg", images.jpeg())
    Records("intake-index").create_pending(
        parse_upload_key(key),
        owner_email="a@example.com",
        content_type="image/jpeg",
        size=1,
    )
    event = cloud.event(key)
    for function in ("index", "thumbnail", "validate", "index"):  # duplicate index delivery
        cloud.run(function, event)
    record = cloud.record("u8")
    assert record is not None and record.status == "ready"
    # A duplicate delivery that finds the record final but unannounced publishes again (at least once);
    # the notify side absorbs every duplicate.
    finished = cloud.finished()
    assert {m["status"] for m in finished} == {"ready"} and len({json.dumps(m) for m in finished}) == 1
    for message in [*finished, finished[0]]:
        assert cloud.run("notify", sqs_event(json.dumps(message))) == {"batchItemFailures": []}
    emails = cloud.sent_emails()
    assert len(emails) == 1
    assert emails[0].destinations["ToAddresses"] == ["a@example.com"]
    assert "a b+c é.jpg" in emails[0].subject and "ready" in emails[0].subject
    record = cloud.record("u8")
    assert record is not None and record.notified is not None and record.notified.status == "ready"


def test_transient_errors_retry_and_the_last_attempt_records_failed(cloud: Cloud, monkeypatch) -> None:
    monkeypatch.setenv("THUMBNAIL_BUCKET", "no-such-bucket")  # read when the handler is imported (cloud.run)
    key = cloud.put(OWNER, "u9", "ok.jpg", images.jpeg())
    # The whole batch failed, so powertools raises: Lambda reports an error and SQS redelivers.
    with pytest.raises(BatchProcessingError):
        cloud.run("thumbnail", cloud.event(key, receive_count=1))
    record = cloud.record("u9")
    assert record is None or record.stage_thumbnail is None
    with pytest.raises(BatchProcessingError):  # still raised: the message goes on to the DLQ
        cloud.run("thumbnail", cloud.event(key, receive_count=5))
    record = cloud.record("u9")
    assert record is not None and record.status == "failed"
    assert "thumbnail did not complete after 5 attempts" in record.status_reasons[0]
    assert [m["status"] for m in cloud.finished()] == ["failed"]


def test_a_poison_body_fails_only_its_own_record(cloud: Cloud) -> None:
    key = cloud.put(OWNER, "u10", "ok.jpg", images.jpeg())
    good = cloud.event(key)["Records"][0]
    bad = sqs_event("this is not an S3 event")["Records"][0]
    response = cloud.run("index", {"Records": [good, bad]})
    assert response == {"batchItemFailures": [{"itemIdentifier": bad["messageId"]}]}
    assert cloud.record("u10") is not None


def test_notify_never_recreates_a_deleted_record(cloud: Cloud) -> None:
    from intake.records import Records
    from intake.status import Status

    repo = Records("intake-index")
    repo.mark_notified("gone", version="t1", status=Status.READY, detail="sent x")
    repo.mark_notify_failed("gone", "email for ready not sent")
    assert repo.get("gone") is None


def test_notify_records_an_unsent_email_on_the_last_attempt_only(cloud: Cloud, monkeypatch) -> None:
    from intake.keys import parse_upload_key
    from intake.records import Records

    key = cloud.put(OWNER, "u11", "ok.jpg", images.jpeg())
    Records("intake-index").create_pending(
        parse_upload_key(key), owner_email="a@example.com", content_type="image/jpeg", size=1
    )
    for function in ("validate", "thumbnail", "index"):
        cloud.run(function, cloud.event(key))
    (finished,) = cloud.finished()
    monkeypatch.setenv("SENDER_EMAIL", "unverified@example.com")  # SES refuses to send from it
    with pytest.raises(BatchProcessingError):
        cloud.run("notify", sqs_event(json.dumps(finished), receive_count=4))
    record = cloud.record("u11")
    assert record is not None and record.notify_error is None and record.notified is None
    with pytest.raises(BatchProcessingError):  # still raised: the message goes on to the DLQ
        cloud.run("notify", sqs_event(json.dumps(finished), receive_count=5))
    record = cloud.record("u11")
    assert record is not None and record.status == "ready" and record.notified is None
    assert record.notify_error is not None
    assert record.notify_error.detail == "email for ready not sent: MessageRejected"
    assert cloud.sent_emails() == []


# --- rejected uploads are discarded: the record keeps the verdict, the bytes go ----------------------


def thumbnail_keys(upload_id: str) -> list[str]:
    return [f"thumbnails/{OWNER}/{upload_id}/{size}.jpg" for size in (1024, 512, 128)]


def stored_keys(cloud: Cloud, bucket: str) -> list[str]:
    return [o["Key"] for o in cloud.s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_a_rejected_upload_is_deleted_with_its_thumbnails_and_keeps_its_verdict(cloud: Cloud) -> None:
    key = cloud.put(OWNER, "r1", "broken.jpg", images.truncated_jpeg())
    event = cloud.event(key)
    cloud.run("thumbnail", event)  # thumbnail rejects a truncated image
    record = cloud.record("r1")
    assert record is not None and record.status == "rejected" and record.status_reasons
    assert stored_keys(cloud, UPLOADS) == [] and stored_keys(cloud, THUMBS) == []
    # Later and duplicate deliveries find the object gone: nothing is resurrected, nothing fails.
    for function in ("validate", "index", "thumbnail"):
        assert cloud.run(function, event) == {"batchItemFailures": []}
    again = cloud.record("r1")
    assert again is not None and again.status == "rejected"
    assert again.status_reasons == record.status_reasons
    assert stored_keys(cloud, UPLOADS) == [] and stored_keys(cloud, THUMBS) == []
    assert [m["status"] for m in cloud.finished()] == ["rejected"]


def test_thumbnails_made_before_the_rejection_are_deleted(cloud: Cloud) -> None:
    key = cloud.put(OWNER, "r2", "fake.jpg", images.jpeg(), content_type="application/pdf")
    event = cloud.event(key)
    cloud.run("thumbnail", event)  # the image itself is fine: thumbnails are made
    assert sorted(stored_keys(cloud, THUMBS)) == sorted(thumbnail_keys("r2"))
    cloud.run("validate", event)  # the declared type is not allowed: rejected
    record = cloud.record("r2")
    assert record is not None and record.status == "rejected"
    assert stored_keys(cloud, UPLOADS) == [] and stored_keys(cloud, THUMBS) == []


def test_a_stage_that_read_the_object_before_it_went_cleans_up_after_itself(cloud: Cloud) -> None:
    key = cloud.put(OWNER, "r3", "fake.jpg", images.jpeg(), content_type="application/pdf")
    event = cloud.event(key)
    cloud.run("validate", event)  # rejected and deleted
    # The thumbnail stage read the same bytes just before the delete and writes its thumbnails after.
    cloud.put(OWNER, "r3", "fake.jpg", images.jpeg(), content_type="application/pdf")  # same bytes, same ETag
    cloud.run("thumbnail", event)
    record = cloud.record("r3")
    assert record is not None and record.status == "rejected"
    assert stored_keys(cloud, UPLOADS) == [] and stored_keys(cloud, THUMBS) == []


def test_a_newer_upload_to_the_same_key_is_not_deleted(cloud: Cloud) -> None:
    from intake import stages
    from intake.events import object_created_events
    from intake.keys import parse_upload_key

    key = cloud.put(OWNER, "r4", "photo.jpg", images.truncated_jpeg())
    old = object_created_events(cloud.event(key)["Records"][0]["body"])[0]
    cloud.put(OWNER, "r4", "photo.jpg", images.jpeg())  # replaced before the rejection's delete ran
    stages.discard_object(parse_upload_key(key), old)
    assert stored_keys(cloud, UPLOADS) == [key]


def test_a_ready_upload_keeps_its_object_and_thumbnails(cloud: Cloud) -> None:
    key = cloud.put(OWNER, "r5", "ok.jpg", images.jpeg())
    event = cloud.event(key)
    for function in ("validate", "thumbnail", "index"):
        cloud.run(function, event)
    record = cloud.record("r5")
    assert record is not None and record.status == "ready"
    assert stored_keys(cloud, UPLOADS) == [key]
    assert sorted(stored_keys(cloud, THUMBS)) == sorted(thumbnail_keys("r5"))


# --- abandoned uploads: a TTL on the pending record, expired on read -------------------------------


def test_the_first_stage_write_removes_the_ttl(cloud: Cloud) -> None:
    from intake.keys import parse_upload_key
    from intake.records import Records

    key = cloud.put(OWNER, "t1", "late.jpg", images.jpeg())
    records = Records("intake-index", clock=lambda: 2_000_000_000.0)
    records.create_pending(
        parse_upload_key(key), owner_email=None, content_type="image/jpeg", size=1, expires_at_epoch=1_000
    )
    assert records.get("t1").status == "expired"  # type: ignore[union-attr]
    raw = cloud.dynamodb.get_item(TableName="intake-index", Key={"upload_id": {"S": "t1"}})["Item"]
    assert raw["status"] == {"S": "pending"} and raw["expires_at_epoch"] == {
        "N": "1000"
    }  # derived, not stored
    cloud.run("index", cloud.event(key))  # the object arrived after all
    raw = cloud.dynamodb.get_item(TableName="intake-index", Key={"upload_id": {"S": "t1"}})["Item"]
    assert "expires_at_epoch" not in raw
    assert records.get("t1").status == "processing"  # type: ignore[union-attr]


def test_expired_is_listed_by_status_and_by_owner_and_pending_leaves_it_out(cloud: Cloud) -> None:
    from intake.keys import UploadKey
    from intake.records import Records

    now = 2_000_000_000.0
    records = Records("intake-index", clock=lambda: now)
    for i, ttl in enumerate((int(now) - 10, int(now) + 10, None, int(now) - 1, int(now))):
        records.create_pending(
            UploadKey(OWNER, f"p{i}", "a.jpg"),
            owner_email=None,
            content_type="image/jpeg",
            size=1,
            expires_at_epoch=ttl,
        )
    expired, pending = {"p0", "p3", "p4"}, {"p1", "p2"}
    for limit in (1, 2, 50):  # filtered pages are full and never skip an item
        for status, wanted in (("expired", expired), ("pending", pending)):
            seen: list[str] = []
            cursor = None
            while True:
                page = records.list_by_status(status, limit=limit, cursor=cursor)
                assert all(r.status == status for r in page.items)
                seen += [r.upload_id for r in page.items]
                cursor = page.next_cursor
                if not cursor:
                    break
            assert sorted(seen) == sorted(wanted), (status, limit)
            by_owner = records.list_by_owner(OWNER, status=status, limit=50)
            assert {r.upload_id for r in by_owner.items} == wanted
    assert {r.upload_id: r.status for r in records.list_by_owner(OWNER).items} == {
        **dict.fromkeys(expired, "expired"),
        **dict.fromkeys(pending, "pending"),
    }
