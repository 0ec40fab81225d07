from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.ses.models import ses_backends

from intake import aws
from intake.metadata import UploadMetadata, encode_metadata
from intake.record import UploadRecord
from tests.support.aws import (
    ACCOUNT,
    REGION,
    Context,
    load_handler,
    s3_event_body,
    sqs_event,
    table_definition,
)

UPLOADS, THUMBS, SENDER = "intake-uploads", "intake-thumbs", "intake@example.com"


class MotoTarget:
    """An ops target on mock_aws: intake_cli's functions ask it for clients."""

    def client(self, name: str) -> Any:
        return boto3.client(name, region_name=REGION)  # type: ignore[call-overload]


@dataclass
class MotoDeployment:
    """What intake_cli's record functions read of a Deployment (its target and outputs), on mock_aws."""

    outputs: dict[str, str]
    target: MotoTarget = field(default_factory=MotoTarget)

    def output(self, key: str) -> str:
        return self.outputs[key]


@dataclass
class Cloud:
    s3: Any
    sqs: Any
    dynamodb: Any
    finished_queue: str

    def put(
        self,
        owner: str,
        upload_id: str,
        filename: str,
        body: bytes,
        content_type: str = "image/jpeg",
        **meta: Any,
    ) -> str:
        key = f"uploads/{owner}/{upload_id}/{filename}"
        metadata = encode_metadata(
            UploadMetadata(owner=owner, upload_id=upload_id, filename=filename, **meta)
        )
        self.s3.put_object(Bucket=UPLOADS, Key=key, Body=body, ContentType=content_type, Metadata=metadata)
        return key

    def event(
        self, key: str, receive_count: int = 1, time: str = "2026-11-21T10:00:00.000Z"
    ) -> dict[str, Any]:
        head = self.s3.head_object(Bucket=UPLOADS, Key=key)
        body = s3_event_body(
            UPLOADS, key, size=head["ContentLength"], etag=head["ETag"].strip('"'), time=time
        )
        return sqs_event(body, receive_count=receive_count)

    def run(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        return load_handler(function).handler(event, Context())  # type: ignore[no-any-return]

    def finished(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(QueueUrl=self.finished_queue, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        for message in messages:
            self.sqs.delete_message(QueueUrl=self.finished_queue, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(m["Body"]) for m in messages]

    def record(self, upload_id: str) -> UploadRecord | None:
        from intake.records import Records

        return Records("intake-index").get(upload_id)

    @staticmethod
    def sent_emails() -> list[Any]:
        return list(ses_backends[ACCOUNT][REGION].sent_messages)


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "INDEX_TABLE": "intake-index",
        "IDEMPOTENCY_TABLE": "intake-idempotency",
        "USER_SETTINGS_TABLE": "intake-user-settings",
        "THUMBNAIL_BUCKET": THUMBS,
        "SENDER_EMAIL": SENDER,
        "MAX_RECEIVE_COUNT": "5",
        "POWERTOOLS_SERVICE_NAME": "test",
        "POWERTOOLS_METRICS_NAMESPACE": "Intake",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        aws._client.cache_clear()
        s3 = boto3.client("s3", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        sns = boto3.client("sns", region_name=REGION)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for bucket in (UPLOADS, THUMBS):
            s3.create_bucket(Bucket=bucket)
        dynamodb.create_table(TableName="intake-index", **table_definition("IndexTable"))
        dynamodb.create_table(TableName="intake-idempotency", **table_definition("IdempotencyTable"))
        dynamodb.create_table(TableName="intake-user-settings", **table_definition("UserSettingsTable"))
        topic = sns.create_topic(Name="finished")["TopicArn"]
        queue = sqs.create_queue(QueueName="finished-spy")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
        )
        monkeypatch.setenv("FINISHED_TOPIC_ARN", topic)
        boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=SENDER)
        yield Cloud(s3=s3, sqs=sqs, dynamodb=dynamodb, finished_queue=queue)
        aws._client.cache_clear()
