import json

import pytest

from intake.events import object_created_events
from intake.finished_record import FinishedRecord


def s3_event(key, *, name="ObjectCreated:Put", sequencer=None):
    obj = {"key": key, "size": 12, "eTag": "abc"}
    if sequencer:
        obj["sequencer"] = sequencer
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": "us-east-1",
                    "eventTime": "2026-11-21T10:00:00.000Z",
                    "eventName": name,
                    "s3": {"bucket": {"name": "uploads", "arn": "arn:aws:s3:::uploads"}, "object": obj},
                }
            ]
        }
    )


def test_keys_are_url_decoded():
    # S3 encodes keys with quote_plus: spaces become '+', a real '+' becomes %2B
    (event,) = object_created_events(s3_event("uploads%2Fo%2Fu%2Fmy+caf%C3%A9%2B1.png"))
    assert event.key == "uploads/o/u/my café+1.png"
    assert (event.bucket, event.size, event.etag) == ("uploads", 12, "abc")


def test_test_event_is_ignored():
    body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "uploads"})
    assert object_created_events(body) == []


def test_other_event_names_are_skipped():
    assert object_created_events(s3_event("k", name="ObjectRemoved:Delete")) == []


def test_version_uses_sequencer_when_present_and_orders_by_it():
    (a,) = object_created_events(s3_event("k", sequencer="0A"))
    (b,) = object_created_events(s3_event("k", sequencer="0B00"))
    assert a.version < b.version
    (c,) = object_created_events(s3_event("k"))
    assert c.version == "t2026-11-21T10:00:00.000Z"


@pytest.mark.parametrize("body", ["not json", "[]", '{"hello": 1}'])
def test_garbage_raises(body):
    with pytest.raises(ValueError):
        object_created_events(body)


def test_finished_record_parses_its_body():
    record = {
        "messageId": "m1",
        "receiptHandle": "r",
        "body": json.dumps(
            {"type": "upload.finished", "upload_id": "u1", "status": "ready", "version": "t1"}
        ),
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1700000000000",
            "SenderId": "x",
            "ApproximateFirstReceiveTimestamp": "1700000000000",
        },
        "messageAttributes": {},
        "md5OfBody": "x",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
        "awsRegion": "us-east-1",
    }
    parsed = FinishedRecord.model_validate(record)
    assert parsed.body.upload_id == "u1" and parsed.body.status == "ready"


def test_only_a_final_status_is_finished():
    from pydantic import ValidationError

    from intake.events import UploadFinished

    def finished(status):
        return UploadFinished.model_validate({"upload_id": "u1", "status": status, "version": "t1"})

    assert finished("failed").status == "failed"
    for status in ("pending", "processing", "expired"):
        with pytest.raises(ValidationError):
            finished(status)
