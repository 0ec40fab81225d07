"""Multipart uploads through the API function on moto's mock_aws: the plan POST /uploads
answers above the threshold, part URLs, the parts S3 holds, completion with its checks (a wrong ETag or
a missing part leaves the upload open; parts that do not add up to the declared size abort it and
reject the record), abort and DELETE, and another user's upload looking like no upload at all.

Parts go to S3 with the SDK here (mock_aws has no HTTP server for the presigned URLs); the local cloud's
end-to-end tests send them to the URLs (tests/e2e/test_multipart_api.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from moto import mock_aws

from intake import aws, parameters
from intake.records import Records
from intake.status import derive
from intake.uploads import refusal_version
from tests.integration.test_api_handler import (
    ALICE,
    BOB,
    PARAMETER,
    SETTINGS_TABLE,
    TABLE,
    THUMBS,
    UPLOADS,
    Api,
    api_environment,
)
from tests.support import signing
from tests.support.aws import REGION, load_handler, table_definition

MIB = 1024 * 1024
SIZE = 11 * MIB  # three parts of the tests' 5 MiB: 5, 5 and 1 MiB
FINISHED_SPY = "finished-spy"


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    multipart = {"MULTIPART_THRESHOLD_BYTES": str(8 * MIB), "MULTIPART_MIN_PART_BYTES": str(5 * MIB)}
    for name, value in api_environment(**multipart, WEB_ORIGIN=None, MAX_UPLOAD_BYTES=None).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("MAX_UPLOAD_BYTES", raising=False)  # the default: 5 GiB
    with mock_aws():
        aws._client.cache_clear()
        parameters.secure_string.cache_clear()
        monkeypatch.setenv("FINISHED_TOPIC_ARN", finished_topic())
        s3 = boto3.client("s3", region_name=REGION)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for bucket in (UPLOADS, THUMBS):
            s3.create_bucket(Bucket=bucket)
        dynamodb.create_table(TableName=TABLE, **table_definition("IndexTable"))
        dynamodb.create_table(TableName=SETTINGS_TABLE, **table_definition("UserSettingsTable"))
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name=PARAMETER, Value=signing.private_pem(), Type="SecureString"
        )
        yield Api(load_handler("api"), s3, dynamodb)
        aws._client.cache_clear()
        parameters.secure_string.cache_clear()


def finished_topic() -> str:
    """The FinishedTopic, with a queue (raw delivery, as NotifyQueue's) that keeps what is published."""
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="finished")["TopicArn"]
    queue = sqs.create_queue(QueueName=FINISHED_SPY)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    return str(topic)


def published() -> list[dict[str, Any]]:
    """The upload.finished messages published so far (received and deleted)."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName=FINISHED_SPY)["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    for m in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return [json.loads(m["Body"]) for m in messages]


def s3_upload_id(api: Api, upload_id: str) -> str:
    item = api.dynamodb.get_item(TableName=TABLE, Key={"upload_id": {"S": upload_id}})["Item"]
    return str(item["multipart"]["M"]["s3_upload_id"]["S"])


def send_parts(api: Api, created: dict[str, Any], sizes: list[int]) -> list[dict[str, Any]]:
    """Upload parts of these sizes (SDK calls, as the URLs would) and return the completion list."""
    key, mpu = created["key"], s3_upload_id(api, created["upload_id"])
    parts = []
    for number, size in enumerate(sizes, start=1):
        answer = api.s3.upload_part(
            Bucket=UPLOADS, Key=key, UploadId=mpu, PartNumber=number, Body=bytes([number]) * size
        )
        parts.append({"part_number": number, "etag": answer["ETag"]})
    return parts


def open_uploads(api: Api) -> list[str]:
    return [u["UploadId"] for u in api.s3.list_multipart_uploads(Bucket=UPLOADS).get("Uploads", [])]


# --- POST /uploads above the threshold -------------------------------------------------------------


@pytest.mark.parametrize("method", [None, "POST", "PUT"])
def test_above_the_threshold_the_answer_is_a_multipart_plan_whatever_the_method(
    api: Api, method: str | None
) -> None:
    before = time.time()
    status, created, _ = api.call(
        "POST",
        "/uploads",
        body={
            "filename": "big cat.jpg",
            "content_type": "image/jpeg",
            "size": SIZE,
            "metadata": {"title": "T"},
        },
        query={"method": method} if method else None,
    )
    assert status == 201, created
    upload_id, key = created["upload_id"], created["key"]
    assert key == f"uploads/{ALICE}/{upload_id}/big cat.jpg"
    plan = created["upload"]
    assert (plan["method"], plan["part_size"], plan["part_count"]) == ("MULTIPART", 5 * MIB, 3)
    assert [(p["part_number"], p["size"]) for p in plan["parts"]] == [(1, 5 * MIB), (2, 5 * MIB), (3, MIB)]
    mpu = s3_upload_id(api, upload_id)
    assert open_uploads(api) == [mpu]
    for part in plan["parts"]:
        url = urlsplit(part["url"])
        query = parse_qs(url.query)
        assert url.path.endswith("/big%20cat.jpg") and UPLOADS in part["url"]
        assert query["partNumber"] == [str(part["part_number"])] and query["uploadId"] == [mpu]
        assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == ["300"]
        assert query["X-Amz-SignedHeaders"] == ["content-length;host"]  # the part's size is signed
    assert created["expires_at"].endswith("Z")
    # The record is pending, says nothing of S3's upload id to its owner, and expires as any upload.
    status, shown, _ = api.call("GET", f"/uploads/{upload_id}")
    assert (status, shown["status"], shown["size"]) == (200, "pending", SIZE)
    assert "multipart" not in shown and mpu not in str(shown)
    item = api.dynamodb.get_item(TableName=TABLE, Key={"upload_id": {"S": upload_id}})["Item"]
    assert int(item["expires_at_epoch"]["N"]) >= before + 300


def test_at_the_threshold_the_answer_is_still_a_single_request(api: Api) -> None:
    created = api.create(size=8 * MIB)
    assert created["upload"]["method"] == "POST" and open_uploads(api) == []


def test_the_first_answer_holds_urls_for_100_parts_and_parts_gives_the_rest(api: Api) -> None:
    created = api.create(size=5 * MIB * 120)
    plan = created["upload"]
    assert plan["part_count"] == 120 and len(plan["parts"]) == 100
    status, more, _ = api.call(
        "POST", f"/uploads/{created['upload_id']}/parts", body={"part_numbers": [120, 101, 101]}
    )
    assert status == 200, more
    assert [(p["part_number"], p["size"]) for p in more["parts"]] == [(101, 5 * MIB), (120, 5 * MIB)]
    assert parse_qs(urlsplit(more["parts"][1]["url"]).query)["partNumber"] == ["120"]
    assert more["expires_at"].endswith("Z")


def test_part_urls_push_the_pending_records_ttl_back(api: Api) -> None:
    created = api.create(size=SIZE)
    key = {"upload_id": {"S": created["upload_id"]}}
    api.dynamodb.update_item(
        TableName=TABLE,
        Key=key,
        UpdateExpression="SET expires_at_epoch = :t",
        ExpressionAttributeValues={":t": {"N": "1"}},
    )
    assert api.call("GET", f"/uploads/{created['upload_id']}")[1]["status"] == "expired"
    status, _, _ = api.call("POST", f"/uploads/{created['upload_id']}/parts", body={"part_numbers": [2]})
    assert status == 200
    assert api.call("GET", f"/uploads/{created['upload_id']}")[1]["status"] == "pending"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"part_numbers": [4]}, "part number 4 is not one of this upload's parts 1 to 3"),
        ({"part_numbers": []}, "part_numbers must not be empty"),
        ({"part_numbers": ["1"]}, "part_numbers.0 must be an integer"),
        ({}, "part_numbers is required"),
    ],
)
def test_bad_part_number_requests_are_400_with_a_sentence(api: Api, body: Any, message: str) -> None:
    created = api.create(size=SIZE)
    assert api.call("POST", f"/uploads/{created['upload_id']}/parts", body=body)[:2] == (
        400,
        {"message": message},
    )


# --- resume, complete ------------------------------------------------------------------------------


def test_parts_lists_what_s3_holds_and_complete_makes_the_object(api: Api) -> None:
    created = api.create(size=SIZE, filename="big.jpg", metadata={"tags": ["a"]})
    upload_id = created["upload_id"]
    parts = send_parts(api, created, [5 * MIB, 5 * MIB])
    status, held, _ = api.call("GET", f"/uploads/{upload_id}/parts")
    assert status == 200
    assert (held["part_size"], held["part_count"]) == (5 * MIB, 3)
    assert held["parts"] == [
        {"part_number": 1, "etag": parts[0]["etag"], "size": 5 * MIB},
        {"part_number": 2, "etag": parts[1]["etag"], "size": 5 * MIB},
    ]
    assert held["parts"][0]["etag"].startswith('"')
    parts += send_parts(api, created, [5 * MIB, 5 * MIB, MIB])[2:]
    # ETags without their quotes, in any order
    listed = [{"part_number": p["part_number"], "etag": p["etag"].strip('"')} for p in reversed(parts)]
    status, done, _ = api.call("POST", f"/uploads/{upload_id}/complete", body={"parts": listed})
    assert status == 200, done
    assert done["upload_id"] == upload_id and done["status"] == "pending" and done["download_url"]
    head = api.s3.head_object(Bucket=UPLOADS, Key=created["key"])
    assert head["ContentLength"] == SIZE and head["ContentType"] == "image/jpeg"
    assert head["Metadata"]["owner"] == ALICE and head["Metadata"]["upload-id"] == upload_id
    assert head["Metadata"]["tags"] == "a"
    assert open_uploads(api) == []
    # No longer an open multipart upload.
    conflict = api.call("POST", f"/uploads/{upload_id}/complete", body={"parts": listed})
    assert conflict[0] == 409 and "not an open multipart upload" in conflict[1]["message"]
    for method, path, body in [
        ("GET", "parts", None),
        ("POST", "parts", {"part_numbers": [1]}),
        ("POST", "abort", None),
    ]:
        assert api.call(method, f"/uploads/{upload_id}/{path}", body=body)[0] == 409, (method, path)


def test_a_missing_part_or_a_wrong_etag_leaves_the_upload_open(api: Api) -> None:
    created = api.create(size=SIZE)
    upload_id = created["upload_id"]
    parts = send_parts(api, created, [5 * MIB, 5 * MIB])
    parts.append({"part_number": 3, "etag": '"0123"'})
    status, body, _ = api.call("POST", f"/uploads/{upload_id}/complete", body={"parts": parts})
    assert (status, body) == (
        400,
        {"message": "part 3 has not been uploaded yet: upload it, then complete again"},
    )
    status, body, _ = api.call("POST", f"/uploads/{upload_id}/complete", body={"parts": parts[:2]})
    assert (status, body["message"]) == (400, "part 3 is missing from the list: list every part from 1 to 3")
    parts[2] = send_parts(api, created, [5 * MIB, 5 * MIB, MIB])[2]
    stale = [parts[0], {"part_number": 2, "etag": '"ffff"'}, parts[2]]
    status, body, _ = api.call("POST", f"/uploads/{upload_id}/complete", body={"parts": stale})
    assert status == 400 and body["message"].startswith("part 2's ETag 'ffff' is not the one S3 holds")
    assert api.call("GET", f"/uploads/{upload_id}")[1]["status"] == "pending"
    assert api.call("POST", f"/uploads/{upload_id}/complete", body={"parts": parts})[0] == 200


def test_complete_without_a_list_completes_from_the_parts_s3_holds(api: Api) -> None:
    created = api.create(size=SIZE)
    upload_id = created["upload_id"]
    send_parts(api, created, [5 * MIB, 5 * MIB])
    status, body, _ = api.call("POST", f"/uploads/{upload_id}/complete")
    assert (status, body) == (
        400,
        {"message": "part 3 has not been uploaded yet: upload it, then complete again"},
    )
    send_parts(api, created, [5 * MIB, 5 * MIB, MIB])
    status, done, _ = api.call("POST", f"/uploads/{upload_id}/complete", body={})
    assert status == 200, done
    assert api.s3.head_object(Bucket=UPLOADS, Key=created["key"])["ContentLength"] == SIZE
    assert open_uploads(api) == []


def emf_metrics(output: str) -> list[dict[str, Any]]:
    """The embedded-metric-format documents powertools Metrics printed."""
    return [doc for line in output.splitlines() if '"_aws"' in line for doc in [json.loads(line)]]


def test_parts_adding_up_to_more_than_declared_abort_the_upload_and_reject_the_record(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    created = api.create(size=SIZE)
    upload_id = created["upload_id"]
    mpu = s3_upload_id(api, upload_id)
    parts = send_parts(api, created, [5 * MIB, 5 * MIB, 2 * MIB])
    status, body, _ = api.call("POST", f"/uploads/{upload_id}/complete", body={"parts": parts})
    reason = "the parts add up to 12 MiB (12582912 bytes), more than the 11 MiB declared"
    assert (status, body) == (400, {"message": reason})
    assert open_uploads(api) == []  # aborted: S3 keeps none of its parts
    assert api.s3.list_objects_v2(Bucket=UPLOADS).get("KeyCount") == 0
    status, shown, _ = api.call("GET", f"/uploads/{upload_id}")
    assert (status, shown["status"], shown["status_reasons"]) == (200, "rejected", [reason])
    assert shown["download_url"] is None
    item = api.dynamodb.get_item(TableName=TABLE, Key={"upload_id": {"S": upload_id}})["Item"]
    assert "multipart" not in item and "expires_at_epoch" not in item
    assert item["status_key"]["S"].startswith("rejected#")
    assert api.call("POST", f"/uploads/{upload_id}/complete", body={"parts": parts})[0] == 409
    # Announced as any rejection: notify finds this outcome (version, status) on the record.
    version = refusal_version(mpu)
    assert published() == [
        {"type": "upload.finished", "upload_id": upload_id, "status": "rejected", "version": version}
    ]
    record = Records(TABLE).get(upload_id)
    assert record is not None and record.status_version == version and record.rev == 1
    outcome = derive(record.results)
    assert (outcome.status, outcome.version, outcome.reasons) == ("rejected", version, (reason,))
    assert not record.announced(outcome)
    assert not [doc for doc in emf_metrics(capsys.readouterr().out) if "RefusalsNotAnnounced" in doc]


def test_a_refusal_whose_announcement_fails_still_answers_400_and_stays_recorded(
    api: Api, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    created = api.create(size=SIZE)
    upload_id = created["upload_id"]
    mpu = s3_upload_id(api, upload_id)
    parts = send_parts(api, created, [5 * MIB, 5 * MIB, MIB - 1])
    boto3.client("sns", region_name=REGION).delete_topic(TopicArn=api.handler.settings.finished_topic_arn)
    status, body, _ = api.call("POST", f"/uploads/{upload_id}/complete", body={"parts": parts})
    reason = "the parts add up to 11.0 MiB (11534335 bytes), less than the 11 MiB declared"
    assert (status, body) == (400, {"message": reason})
    assert published() == []
    record = Records(TABLE).get(upload_id)
    assert record is not None and (record.status, record.status_reasons) == ("rejected", (reason,))
    assert open_uploads(api) == []
    # The log line holds the message to publish again (docs/runbook.md).
    (logged,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert json.loads(getattr(logged, "finished_message")) == {  # noqa: B009  (an `extra` field)
        "type": "upload.finished",
        "upload_id": upload_id,
        "status": "rejected",
        "version": refusal_version(mpu),
    }
    # ... and the count RefusalsNotAnnouncedAlarm watches (namespace Intake, service api).
    (counted,) = [doc for doc in emf_metrics(capsys.readouterr().out) if "RefusalsNotAnnounced" in doc]
    assert counted["RefusalsNotAnnounced"] == [1.0] and counted["service"] == "api"
    assert counted["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Intake"


def test_a_part_of_the_wrong_size_with_the_right_total_is_sent_again(api: Api) -> None:
    created = api.create(size=SIZE)
    parts = send_parts(api, created, [5 * MIB, 5 * MIB + 1, MIB - 1])
    status, body, _ = api.call("POST", f"/uploads/{created['upload_id']}/complete", body={"parts": parts})
    assert status == 400 and body["message"].startswith("part 2 holds 5.0 MiB (5242881 bytes), not the 5 MiB")
    assert len(open_uploads(api)) == 1


# --- abort, delete ---------------------------------------------------------------------------------


def test_abort_frees_the_parts_and_removes_the_upload(api: Api) -> None:
    created = api.create(size=SIZE)
    upload_id = created["upload_id"]
    send_parts(api, created, [5 * MIB])
    assert api.call("POST", f"/uploads/{upload_id}/abort")[:2] == (204, None)
    assert open_uploads(api) == [] and api.items() == []
    assert api.call("GET", f"/uploads/{upload_id}")[0] == 404
    assert api.call("POST", f"/uploads/{upload_id}/abort")[0] == 404


def test_delete_aborts_an_open_multipart_upload(api: Api) -> None:
    created = api.create(size=SIZE)
    send_parts(api, created, [5 * MIB])
    assert api.call("DELETE", f"/uploads/{created['upload_id']}")[0] == 204
    assert open_uploads(api) == [] and api.items() == []


def test_a_single_request_upload_is_not_an_open_multipart_upload(api: Api) -> None:
    created = api.create(size=100)
    message = api.call("GET", f"/uploads/{created['upload_id']}/parts")[1]["message"]
    assert message == (
        "this upload is not an open multipart upload (it is a single-request upload, or was completed or aborted)"
    )
    assert api.call("POST", f"/uploads/{created['upload_id']}/abort")[0] == 409


# --- ownership -------------------------------------------------------------------------------------


def test_another_users_unknown_or_malformed_upload_is_not_found(api: Api) -> None:
    created = api.create(size=SIZE)
    upload_id = created["upload_id"]
    parts = send_parts(api, created, [5 * MIB, 5 * MIB, MIB])
    calls: list[tuple[str, str, Any]] = [
        ("GET", "parts", None),
        ("POST", "parts", {"part_numbers": [1]}),
        ("POST", "complete", {"parts": parts}),
        ("POST", "abort", None),
    ]
    for method, path, body in calls:
        for sub, target in ((BOB, upload_id), (ALICE, "0" * 32), (ALICE, "bad%20id!")):
            answer = api.call(method, f"/uploads/{target}/{path}", sub=sub, body=body)
            assert answer[:2] == (404, {"message": "upload not found"}), (method, path, sub, target)
    assert api.call("DELETE", f"/uploads/{upload_id}", sub=BOB)[0] == 404
    assert len(open_uploads(api)) == 1  # Bob changed nothing
    assert api.call("POST", f"/uploads/{upload_id}/complete", body={"parts": parts})[0] == 200
