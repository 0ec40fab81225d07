"""Operations on the local cloud, one poison cycle end to end, as ops people live it.

A real fault (the thumbnail function pointed at a bucket that does not exist) sends one upload to the
thumbnail DLQ; the DLQ alarm goes to ALARM and the ops topic's email goes out; `intake ops` shows it
and finds the failed upload; once the fault is fixed, a redrive brings the message back, the upload
becomes ready and the alarm returns to OK. The alarm loop runs at the session's time scale (a 60 s
period is 2 s), and a poison message needs about 90 s (5 receives, 18 s visibility) to reach the DLQ.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests
from typer.testing import CliRunner

from intake.records import Records
from intake_cli.app import app
from localcloud.cloud import LocalCloud
from tests.e2e.conftest import Uploader, wait_for
from tests.support import images

pytestmark = pytest.mark.e2e


def ops(cloud: LocalCloud, *args: str) -> Any:
    """`intake ops ...` against this cloud; the parsed --json output."""
    result = CliRunner().invoke(app, ["ops", *args, "--json", "--endpoint", cloud.endpoint])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def alarm_state(cloud: LocalCloud, name: str) -> str:
    (alarm,) = cloud.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return str(alarm["StateValue"])


def emails(cloud: LocalCloud, to: str, subject_start: str) -> list[dict[str, Any]]:
    messages = requests.get(f"{cloud.endpoint}/moto-api/data.json", timeout=10).json()["ses"]["Message"]
    return [
        m
        for m in messages
        if to in m["destinations"]["ToAddresses"] and m["subject"].startswith(subject_start)
    ]


def ops_mailbox(cloud: LocalCloud) -> str:
    """The stack's OpsEmail: where the alarms' notifications go."""
    assert cloud.deployment
    parameters = cloud.client("cloudformation").describe_stacks(StackName=cloud.deployment.stack_name)[
        "Stacks"
    ][0]["Parameters"]
    return next(
        (p["ParameterValue"] for p in parameters if p["ParameterKey"] == "OpsEmail"), "ops@example.com"
    )


def point_thumbnails_at(cloud: LocalCloud, bucket: str) -> None:
    """Change the thumbnail function's THUMBNAIL_BUCKET and wait until its poller runs with it."""
    lambda_ = cloud.client("lambda")
    function = cloud.deployment.resources["ThumbnailFunction"] if cloud.deployment else ""
    environment = lambda_.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
    lambda_.update_function_configuration(
        FunctionName=function, Environment={"Variables": {**environment, "THUMBNAIL_BUCKET": bucket}}
    )
    (poller,) = [p for p in cloud.pollers if p.name == function]
    wait_for(lambda: poller.spec.environment["THUMBNAIL_BUCKET"] == bucket, 10, "the new configuration")


def metric_rows(dashboard_body: str) -> set[tuple[str, ...]]:
    """The [namespace, name, dimension, value] metrics a dashboard plots."""
    rows: set[tuple[str, ...]] = set()
    for widget in json.loads(dashboard_body)["widgets"]:
        for row in widget.get("properties", {}).get("metrics", []):
            plain = tuple(part for part in row if isinstance(part, str))
            if len(plain) == 4:
                rows.add(plain)
    return rows


def test_a_poison_message_alarms_and_is_redriven_once_the_fault_is_fixed(
    cloud: LocalCloud, uploader: Uploader, records: Records
) -> None:
    assert cloud.deployment
    resources, outputs = cloud.deployment.resources, cloud.outputs
    dlq_alarm = resources["ThumbnailDLQDepthAlarm"]
    thumbnail_bucket = outputs["ThumbnailBucketName"]
    ops_email = ops_mailbox(cloud)

    # Alarms are session-wide and another test may have used the thumbnail DLQ: start from quiet.
    wait_for(lambda: uploader.queue_depth("ThumbnailDLQUrl") == 0, 30, "an empty thumbnail DLQ")
    wait_for(lambda: alarm_state(cloud, dlq_alarm) == "OK", 30, "the DLQ alarm to be OK")
    alarm_emails_before = len(emails(cloud, ops_email, f'ALARM: "{dlq_alarm}"'))
    ok_emails_before = len(emails(cloud, ops_email, f'OK: "{dlq_alarm}"'))

    upload_id, owner_email = uuid.uuid4().hex, f"{uuid.uuid4().hex}@example.com"
    point_thumbnails_at(cloud, "no-such-bucket")  # a real fault, not a test hook
    try:
        uploader.upload("erin", upload_id, "poison.jpg", images.jpeg(), email=owner_email)
        wait_for(
            lambda: getattr(records.get(upload_id), "status", None) == "failed",
            200,
            "the upload to be failed",
        )
        # Failed on the 5th receive, the message reaches the DLQ only after one more 18 s visibility
        # timeout: 30 s left little for a loaded machine.
        wait_for(lambda: uploader.queue_depth("ThumbnailDLQUrl") == 1, 90, "the message in the DLQ")

        # The DLQ alarm fires, and CloudWatch's notification reaches the ops mailbox through SNS.
        wait_for(lambda: alarm_state(cloud, dlq_alarm) == "ALARM", 30, "the DLQ alarm to fire")
        wait_for(
            lambda: len(emails(cloud, ops_email, f'ALARM: "{dlq_alarm}"')) > alarm_emails_before,
            10,
            "the ALARM email to ops",
        )
        email = emails(cloud, ops_email, f'ALARM: "{dlq_alarm}"')[-1]
        assert "has entered the ALARM state" in email["body"] and "OK -> ALARM" in email["body"]
        assert "unsubscribe" in email["body"] and email["source"].endswith("<no-reply@sns.amazonaws.com>")

        status = ops(cloud, "status")
        (thumbnail,) = [q for q in status["queues"] if q["queue"] == "thumbnail"]
        assert thumbnail["dlq_visible"] == 1
        (shown,) = [a for a in status["alarms"] if a["name"] == dlq_alarm]
        assert shown["state"] == "ALARM" and shown["logical_id"] == "ThumbnailDLQDepthAlarm"
        assert shown["reason"].startswith("Threshold Crossed: 1 out of the last 1 datapoints [1.0")

        failed = ops(cloud, "uploads", "--status", "failed", "--since", "15m")["uploads"]
        assert upload_id in [u["upload_id"] for u in failed]

        (dead,) = ops(cloud, "dlq", "peek", "thumbnail")["dead_letters"]
        assert (dead["upload_id"], dead["owner"], dead["status"]) == (upload_id, "erin", "failed")
        assert dead["key"] == f"uploads/erin/{upload_id}/poison.jpg"
        assert dead["receive_count"] >= 5 and dead["first_failure_at"]
        assert uploader.queue_depth("ThumbnailDLQUrl") == 1  # peeking took nothing away
    except BaseException:
        point_thumbnails_at(cloud, thumbnail_bucket)
        cloud.client("sqs").purge_queue(QueueUrl=outputs["ThumbnailDLQUrl"])  # leave a quiet DLQ
        raise

    point_thumbnails_at(cloud, thumbnail_bucket)  # the fix
    report = ops(cloud, "dlq", "redrive", "thumbnail")
    assert report["moved"] == 1 and report["method"] == "copy"  # moto has no StartMessageMoveTask

    def ready() -> bool:
        item = records.get(upload_id)
        return (
            item is not None and item.status == "ready" and getattr(item.notified, "status", None) == "ready"
        )

    wait_for(ready, 60, "the upload to be ready and announced")
    record = records.get(upload_id)
    assert record is not None and sorted(t.size for t in record.thumbnails) == [128, 512, 1024]
    wait_for(lambda: alarm_state(cloud, dlq_alarm) == "OK", 30, "the DLQ alarm to return to OK")
    wait_for(
        lambda: len(emails(cloud, ops_email, f'OK: "{dlq_alarm}"')) > ok_emails_before, 10, "the OK email"
    )
    assert uploader.queue_depth("ThumbnailDLQUrl") == 0

    # What the dashboard plots is what the local cloud publishes (AWS metrics and the consumers' EMF).
    cloudwatch = cloud.client("cloudwatch")
    dashboard = cloudwatch.get_dashboard(DashboardName=outputs["OpsDashboardName"])["DashboardBody"]
    plotted = metric_rows(dashboard)
    published = {
        (m["Namespace"], m["MetricName"], d["Name"], d["Value"])
        for page in cloudwatch.get_paginator("list_metrics").paginate()
        for m in page["Metrics"]
        for d in m.get("Dimensions", [])
    }
    dlq_name = outputs["ThumbnailDLQUrl"].rsplit("/", 1)[-1]
    thumbnail_function = resources["ThumbnailFunction"]
    for metric in [
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", dlq_name),
        ("AWS/Lambda", "Errors", "FunctionName", thumbnail_function),
        ("AWS/Lambda", "Duration", "FunctionName", thumbnail_function),
        ("Intake", "UploadsFailed", "service", "thumbnail"),
        ("Intake", "UploadsReady", "service", "thumbnail"),
        ("Intake", "ThumbnailsMade", "service", "thumbnail"),
        ("Intake", "EmailsSent", "service", "notify"),
    ]:
        assert metric in plotted, metric
        assert metric in published, metric


def test_ops_lists_abandoned_uploads_as_expired(cloud: LocalCloud) -> None:
    """Across the status index's shards: the records land on several of them, and all are listed."""
    from intake.keys import UploadKey
    from intake.status_shards import status_shard

    records = Records(cloud.outputs["IndexTableName"], client=cloud.client("dynamodb"))
    gone = [f"abandoned-{uuid.uuid4().hex[:8]}" for _ in range(6)]
    waiting = [f"abandoned-{uuid.uuid4().hex[:8]}" for _ in range(6)]
    for upload_id in gone + waiting:  # long past / far ahead
        records.create_pending(
            UploadKey("erin", upload_id, "never.jpg"),
            owner_email=None,
            content_type="image/jpeg",
            size=1,
            expires_at_epoch=1_000 if upload_id in gone else 4_000_000_000,
        )
    assert len({status_shard(u) for u in gone}) > 1 and len({status_shard(u) for u in waiting}) > 1
    expired = ops(cloud, "uploads", "--status", "expired", "--since", "15m", "--limit", "10000")["uploads"]
    pending = ops(cloud, "uploads", "--status", "pending", "--since", "15m", "--limit", "10000")["uploads"]
    listed_expired, listed_pending = [u["upload_id"] for u in expired], [u["upload_id"] for u in pending]
    assert set(gone) <= set(listed_expired) and not set(waiting) & set(listed_expired)
    assert all(u["status"] == "expired" for u in expired)
    assert set(waiting) <= set(listed_pending) and not set(gone) & set(listed_pending)
    assert len(listed_pending) == len(set(listed_pending))  # each once
    updated = [u["updated_at"] for u in pending]
    assert updated == sorted(updated, reverse=True)  # newest first, merged across shards


def test_ops_status_shows_the_local_clouds_permission_denials(cloud: LocalCloud) -> None:
    before = ops(cloud, "status")["denials"]
    assert before["enforcing"] is True
    # An anonymous write into the private upload bucket: denied, and counted.
    response = requests.put(
        f"{cloud.endpoint}/{cloud.outputs['UploadBucketName']}/uploads/x/y/z.jpg", data=b"x", timeout=30
    )
    assert response.status_code == 403
    after = ops(cloud, "status")["denials"]
    assert after["count"] == before["count"] + 1
    assert after["recent"][-1]["action"] == "s3:PutObject"
