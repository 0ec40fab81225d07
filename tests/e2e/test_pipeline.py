"""Real uploads through the real template on the local cloud: S3 -> SNS -> SQS -> pollers -> functions."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from PIL import Image

from intake.record import UploadRecord
from localcloud.cloud import LocalCloud
from tests.e2e.conftest import Uploader, wait_for
from tests.support import images

pytestmark = pytest.mark.e2e
CONSUMERS = ("Validate", "Thumbnail", "Index", "Notify")


def drained(uploader: Uploader, queue_output: str) -> None:
    wait_for(lambda: uploader.queue_depth(queue_output) == 0, 30, f"{queue_output} to drain")


def new_id() -> str:
    return uuid.uuid4().hex


def thumbnail(cloud: LocalCloud, item: UploadRecord, size: int) -> Image.Image:
    (thumb,) = [t for t in item.thumbnails if t.size == size]
    body = cloud.client("s3").get_object(Bucket=cloud.outputs["ThumbnailBucketName"], Key=thumb.key)["Body"]
    return Image.open(io.BytesIO(body.read()))


def test_awkward_key_flows_to_ready_with_one_email(cloud: LocalCloud, uploader: Uploader) -> None:
    upload_id, email = new_id(), f"{new_id()}@example.com"
    uploader.upload("alice", upload_id, "my holiday +1 café ☕.jpg", images.jpeg(1600, 1200), email=email)
    item = uploader.final(upload_id)
    assert item.status == "ready", item
    assert item.filename == "my holiday +1 café ☕.jpg"
    assert sorted(t.size for t in item.thumbnails) == [128, 512, 1024]
    assert thumbnail(cloud, item, 1024).size == (1024, 768)
    (message,) = uploader.emails_to(email)
    assert "my holiday +1 café ☕.jpg" in message["subject"] and "ready" in message["subject"]


def test_png_alpha_is_flattened_onto_white(cloud: LocalCloud, uploader: Uploader) -> None:
    upload_id = new_id()
    uploader.upload(
        "alice", upload_id, "alpha.png", images.png_with_alpha(600, 400), content_type="image/png"
    )
    item = uploader.final(upload_id)
    assert item.status == "ready", item
    small = thumbnail(cloud, item, 128).convert("RGB")
    corner, middle = small.getpixel((0, 0)), small.getpixel((64, 42))
    assert isinstance(corner, tuple) and isinstance(middle, tuple)
    assert min(corner) >= 225  # the transparent corner is white (JPEG-ish), not black
    r, _g, b = middle
    assert b > 180 and r < 80  # the opaque blue middle survives


def test_exif_rotated_jpeg_comes_out_upright(cloud: LocalCloud, uploader: Uploader) -> None:
    upload_id = new_id()
    uploader.upload("alice", upload_id, "sideways.jpg", images.exif_rotated_jpeg(400, 200))
    item = uploader.final(upload_id)
    assert item.status == "ready", item
    assert thumbnail(cloud, item, 1024).size == (200, 400)


@pytest.mark.parametrize(
    ("filename", "body", "content_type", "reason"),
    [
        ("half.jpg", images.truncated_jpeg(), "image/jpeg", "truncated"),
        ("bomb.png", images.decompression_bomb_png(), "image/png", "MP"),
    ],
)
def test_bad_images_are_rejected_not_dead_lettered(
    cloud: LocalCloud, uploader: Uploader, filename: str, body: bytes, content_type: str, reason: str
) -> None:
    upload_id, email = new_id(), f"{new_id()}@example.com"
    uploader.upload("bob", upload_id, filename, body, content_type=content_type, email=email)
    item = uploader.final(upload_id)
    assert item.status == "rejected", item
    assert any(reason in r for r in item.status_reasons), item.status_reasons
    (message,) = uploader.emails_to(email)
    assert "rejected" in message["subject"]
    for name in CONSUMERS:
        assert uploader.queue_depth(f"{name}DLQUrl") == 0


def test_duplicate_delivery_sends_no_second_email(cloud: LocalCloud, uploader: Uploader) -> None:
    upload_id, email = new_id(), f"{new_id()}@example.com"
    key = uploader.upload("carol", upload_id, "dup.jpg", images.jpeg(), email=email)
    item = uploader.final(upload_id)
    # Deliver the very same S3 event again through the topic, as S3's at-least-once delivery may.
    event = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": item.event_time,
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": cloud.outputs["UploadBucketName"]},
                    "object": {"key": key.key.replace(" ", "+"), "size": item.size, "eTag": item.etag},
                },
            }
        ]
    }
    cloud.client("sns").publish(TopicArn=cloud.outputs["UploadEventsTopicArn"], Message=json.dumps(event))
    # the redelivery is processed (the record's rev moves on) ...
    wait_for(lambda: getattr(uploader.records.get(upload_id), "rev", 0) >= item.rev + 3, 30, "redelivery")
    for name in CONSUMERS:
        drained(uploader, f"{name}QueueUrl")
    # ... and still exactly one email went out
    assert len(uploader.emails_to(email)) == 1
    record = uploader.records.get(upload_id)
    assert record is not None and record.status == "ready"


def test_s3_test_event_is_ignored(cloud: LocalCloud, uploader: Uploader) -> None:
    test_event = {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2026-11-21T10:00:00.000Z",
        "Bucket": cloud.outputs["UploadBucketName"],
    }
    cloud.client("sns").publish(
        TopicArn=cloud.outputs["UploadEventsTopicArn"], Message=json.dumps(test_event)
    )
    for name in ("Validate", "Thumbnail", "Index"):
        drained(uploader, f"{name}QueueUrl")
        assert uploader.queue_depth(f"{name}DLQUrl") == 0


def test_a_message_that_keeps_failing_lands_in_the_dlq_and_the_upload_is_failed(
    cloud: LocalCloud, uploader: Uploader
) -> None:
    lambda_ = cloud.client("lambda")
    function = cloud.deployment.resources["ThumbnailFunction"] if cloud.deployment else ""
    environment = lambda_.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
    # A real fault, not a test hook: the function is misconfigured to write to a bucket that does not exist.
    lambda_.update_function_configuration(
        FunctionName=function,
        Environment={"Variables": {**environment, "THUMBNAIL_BUCKET": "no-such-bucket"}},
    )
    # Like waiting for LastUpdateStatus=Successful on AWS: the environments run the new configuration.
    (poller,) = [p for p in cloud.pollers if p.name == function]
    wait_for(
        lambda: poller.spec.environment["THUMBNAIL_BUCKET"] == "no-such-bucket", 10, "the new configuration"
    )
    try:
        upload_id, email = new_id(), f"{new_id()}@example.com"
        uploader.upload("dave", upload_id, "poison.jpg", images.jpeg(), email=email)
        item = uploader.final(upload_id, timeout_s=200)
        assert item.status == "failed", item
        assert "thumbnail did not complete after 5 attempts" in item.status_reasons[0]
        # One more 18 s visibility timeout after the failure is recorded: 30 s left little for a loaded machine.
        wait_for(lambda: uploader.queue_depth("ThumbnailDLQUrl") == 1, 90, "the message in the thumbnail DLQ")
        (message,) = uploader.emails_to(email)
        assert "could not be processed" in message["subject"]
        for name in ("Validate", "Index", "Notify"):
            assert uploader.queue_depth(f"{name}DLQUrl") == 0
    finally:
        lambda_.update_function_configuration(FunctionName=function, Environment={"Variables": environment})
        sqs = cloud.client("sqs")
        sqs.purge_queue(QueueUrl=cloud.outputs["ThumbnailDLQUrl"])
