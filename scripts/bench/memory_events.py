"""One upload through every function, for the cold-start bench's memory figures.

Against a moto server (the functions' AWS_ENDPOINT_URL): the resources the functions' environment
names, then POST /uploads through the api function, the bench's 12 MP JPEG stored as the presigned POST
would store it (type and metadata), validate, thumbnail and index on its S3 event (in an SQS record, as
raw SNS delivery hands it over) and notify on the upload.finished message the last stage published.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

import boto3

from bench.common import OUT

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]
META = "x-amz-meta-"


def _client(env: dict[str, str], service: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def create_resources(env: dict[str, str]) -> None:
    s3, dynamodb = _client(env, "s3"), _client(env, "dynamodb")
    for bucket in (env["UPLOAD_BUCKET"], env["THUMBNAIL_BUCKET"]):
        s3.create_bucket(Bucket=bucket)
    tables = (
        (env["INDEX_TABLE"], "upload_id"),
        (env["IDEMPOTENCY_TABLE"], "id"),
        (env["USER_SETTINGS_TABLE"], "owner"),
    )
    for table, key in tables:
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    _client(env, "sns").create_topic(Name=env["FINISHED_TOPIC_ARN"].rsplit(":", 1)[1])
    _client(env, "ses").verify_email_identity(EmailAddress=env["SENDER_EMAIL"])


def api_event(body: dict[str, Any]) -> dict[str, Any]:
    """POST /uploads as API Gateway's REST proxy integration sends it, the authorizer's claims set."""
    claims = {"sub": "bench-user", "email": "bench@example.com", "email_verified": "true"}
    return {
        "resource": "/uploads",
        "path": "/uploads",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/uploads",
            "httpMethod": "POST",
            "path": "/v1/uploads",
            "stage": "v1",
            "requestId": str(uuid.uuid4()),
            "accountId": "123456789012",
            "identity": {"sourceIp": "127.0.0.1"},
            "authorizer": {"claims": claims},
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def sqs_event(body: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "handle",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1700000000000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1700000000000",
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bench",
                "awsRegion": "us-east-1",
            }
        ]
    }


def s3_event(bucket: str, key: str, size: int, etag: str) -> str:
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "eventName": "ObjectCreated:Post",
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": quote_plus(key), "size": size, "eTag": etag, "sequencer": "0065F0A1B2C3D4E5F6"},
        },
    }
    return json.dumps({"Records": [record]})


def upload_through_the_pipeline(env: dict[str, str], invoke: Invoke) -> Iterator[tuple[str, dict[str, Any]]]:
    """(function, what its invocation measured), in the pipeline's order."""
    from bench.bench_thumbnails import INPUTS, make_input

    create_resources(env)
    image = make_input(INPUTS[0], OUT / "inputs").read_bytes()
    created = invoke(
        "api", api_event({"filename": "photo.jpg", "content_type": "image/jpeg", "size": len(image)})
    )
    yield "api", created
    response = created["result"]
    if response["statusCode"] != 201:
        raise RuntimeError(f"POST /uploads answered {response['statusCode']}: {response['body']}")
    upload = json.loads(response["body"])
    fields = upload["upload"]["fields"]
    s3, bucket = _client(env, "s3"), env["UPLOAD_BUCKET"]
    s3.put_object(
        Bucket=bucket,
        Key=upload["key"],
        Body=image,
        ContentType=fields["Content-Type"],
        Metadata={k.removeprefix(META): v for k, v in fields.items() if k.startswith(META)},
    )
    etag = s3.head_object(Bucket=bucket, Key=upload["key"])["ETag"].strip('"')
    event = sqs_event(s3_event(bucket, upload["key"], len(image), etag))
    for stage in ("validate", "thumbnail", "index"):
        yield stage, invoke(stage, event)
    item = _client(env, "dynamodb").get_item(
        TableName=env["INDEX_TABLE"], Key={"upload_id": {"S": upload["upload_id"]}}
    )["Item"]
    finished = {
        "type": "upload.finished",
        "upload_id": upload["upload_id"],
        "status": item["status"]["S"],
        "version": item["status_version"]["S"],
    }
    yield "notify", invoke("notify", sqs_event(json.dumps(finished)))
