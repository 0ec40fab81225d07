"""Two paths off the happy one, each ending with a clear verdict, not a dead letter:

- SES refuses a notify's email once (its sender is not verified for a moment): powertools idempotency
  deletes its in-progress record when the send raises, so the retry sends, and the owner gets one email;
- an upload deleted before its stages process its event: each stage finds the object gone (a 404,
  which S3 answers only because the stage role may s3:ListBucket the upload prefix; 403 otherwise),
  logs it and drops the message; nothing is recorded again, nothing reaches a DLQ.
"""

from __future__ import annotations

import functools
import json
import uuid
from typing import Any

import pytest
import requests

from localcloud.authz.grants import ALLOWED
from localcloud.cloud import LocalCloud
from tests.e2e.conftest import Uploader, wait_for
from tests.e2e.test_api import final, new_user, post_file, presign
from tests.e2e.test_function_logs import logged
from tests.support import images

pytestmark = pytest.mark.e2e
STAGES = ("Validate", "Thumbnail", "Index")


def _function(cloud: LocalCloud, logical_id: str) -> str:
    """The function name of a consumer stack's function (e.g. "Notify")."""
    assert cloud.deployment is not None
    return next(name for name in cloud.deployment.code_dirs if name.endswith(f"-{logical_id.lower()}"))


def _rejects(cloud: LocalCloud) -> int:
    return int(cloud.client("ses").get_send_statistics()["SendDataPoints"][0]["Rejects"])


def _deleted_idempotency_records(cloud: LocalCloud) -> list[str]:
    """What the notify role deleted from the idempotency table (the allowed requests' record)."""
    notify = _function(cloud, "Notify")
    role = cloud.client("lambda").get_function_configuration(FunctionName=notify)["Role"]
    table = cloud.client("lambda").get_function_configuration(FunctionName=notify)["Environment"][
        "Variables"
    ]["IDEMPOTENCY_TABLE"]
    return [
        e.request.resource
        for e in ALLOWED.entries()
        if e.role == role and e.request.action == "dynamodb:DeleteItem" and e.request.resource.endswith(table)
    ]


def test_an_email_ses_refuses_once_is_sent_on_the_retry(cloud: LocalCloud, uploader: Uploader) -> None:
    ses = cloud.client("ses")
    notify = _function(cloud, "Notify")
    sender = cloud.client("lambda").get_function_configuration(FunctionName=notify)["Environment"][
        "Variables"
    ]["SENDER_EMAIL"]
    upload_id, email = uuid.uuid4().hex, f"{uuid.uuid4().hex}@example.com"
    rejects = _rejects(cloud)
    ses.delete_identity(Identity=sender)  # SES now rejects the sender: MessageRejected
    try:
        uploader.upload("frank", upload_id, "retried.jpg", images.jpeg(), email=email)
        wait_for(lambda: _rejects(cloud) > rejects, 60, "SES to reject the first attempt")
    finally:
        ses.verify_email_identity(EmailAddress=sender)
    # The retry comes after the queue's visibility timeout; it sends, as the record was deleted.
    item = uploader.final(upload_id, timeout_s=120)
    assert item.status == "ready" and item.notified and item.notified.status == "ready", item
    assert len(uploader.emails_to(email)) == 1
    assert _deleted_idempotency_records(cloud), "the failed send's idempotency record was not deleted"
    assert uploader.queue_depth("NotifyDLQUrl") == 0


def _drained(uploader: Uploader, queue_output: str) -> bool:
    return uploader.queue_depth(queue_output) == 0


def _object_created(bucket: str, key: str, item: dict[str, Any], etag: str) -> dict[str, Any]:
    """S3's ObjectCreated event for the object (keys URL-encoded with '+' for spaces, as S3 sends)."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": item["created_at"],
                "eventName": "ObjectCreated:Post",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": key.replace(" ", "+"), "size": item["size"], "eTag": etag},
                },
            }
        ]
    }


def test_an_upload_deleted_before_its_stages_run_ends_without_a_dead_letter(
    cloud: LocalCloud, uploader: Uploader
) -> None:
    user, body = new_user(cloud), images.jpeg(320, 240)
    created = presign(cloud.api_url, user, body, "gone.jpg")
    assert post_file(created, body).status_code == 204
    item = final(cloud.api_url, user, created["upload_id"])
    assert item["status"] == "ready", item
    bucket = cloud.outputs["UploadBucketName"]
    etag = cloud.client("s3").head_object(Bucket=bucket, Key=created["key"])["ETag"].strip('"')
    url = f"{cloud.api_url}/uploads/{created['upload_id']}"
    assert requests.delete(url, headers=user.auth, timeout=30).status_code == 204
    # S3 delivers at least once: a late copy of the upload's event reaches the stages after the delete,
    # so they process an upload that is gone (the same as a delete before the first delivery).
    event = _object_created(bucket, created["key"], item, etag)
    cloud.client("sns").publish(TopicArn=cloud.outputs["UploadEventsTopicArn"], Message=json.dumps(event))
    for stage in STAGES:
        gone = functools.partial(
            logged, cloud, _function(cloud, stage), "object deleted before processing", created["key"]
        )
        wait_for(gone, 30, f"{stage} to find the upload gone")
        wait_for(functools.partial(_drained, uploader, f"{stage}QueueUrl"), 30, f"{stage} to drain")
        assert uploader.queue_depth(f"{stage}DLQUrl") == 0
    assert requests.get(url, headers=user.auth, timeout=30).status_code == 404  # not recorded again
    assert uploader.records.get(created["upload_id"]) is None
