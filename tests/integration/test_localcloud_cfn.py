"""The local cloud's CloudFormation additions (localcloud.cfn) against a real moto server.

One in-process moto server (free port) with `localcloud.cfn.install()` applied first. A small
inline template exercises every added type and property; a second test deploys the project's real
template and walks it resource by resource.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

import localcloud.cfn
from tests.support import signing
from tests.support.templates import effective_template

REGION = "us-east-1"
ROOT = Path(__file__).resolve().parents[2]
REAL_TEMPLATE = ROOT / "infra" / "cloudformation" / "intake.yaml"
OPENAPI = ROOT / "infra" / "cloudformation" / "openapi.yaml"
CONSUMER_TEMPLATE = ROOT / "infra" / "cloudformation" / "consumer.yaml"
ARTIFACTS = "intake-test-artifacts"


# -------------------------------------------------------------------------------------------------
# Fixtures and helpers
# -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    localcloud.cfn.install()
    localcloud.cfn.install()  # idempotent
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def client(endpoint: str) -> Callable[[str], Any]:
    def make(service: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            region_name=REGION,
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return make


def zip_bytes(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


HANDLER_ZIP = zip_bytes({"handler.py": "def handler(event, context):\n    return None\n"})
LAYER_ZIP = zip_bytes({"python/intake/__init__.py": ""})


@pytest.fixture(scope="module")
def artifacts(client: Callable[[str], Any]) -> str:
    s3 = client("s3")
    s3.create_bucket(Bucket=ARTIFACTS)
    for prefix in ("small", "real"):
        for name in ("validate", "thumbnail", "index", "notify", "api"):
            s3.put_object(Bucket=ARTIFACTS, Key=f"{prefix}/{name}.zip", Body=HANDLER_ZIP)
        s3.put_object(Bucket=ARTIFACTS, Key=f"{prefix}/layer.zip", Body=LAYER_ZIP)
        # The REST API's Body (AWS::Include), deployed with the zips.
        s3.put_object(Bucket=ARTIFACTS, Key=f"{prefix}/openapi.yaml", Body=OPENAPI.read_bytes())
        # The consumers' nested stacks' template (their TemplateURL), deployed with the zips.
        s3.put_object(Bucket=ARTIFACTS, Key=f"{prefix}/consumer.yaml", Body=CONSUMER_TEMPLATE.read_bytes())
    return ARTIFACTS


def deploy(cfn: Any, name: str, body: str, parameters: dict[str, str] | None = None) -> dict[str, Any]:
    cfn.create_stack(
        StackName=name,
        TemplateBody=body,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    )
    stack: dict[str, Any] = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    return stack


def stack_resources(cfn: Any, name: str, prefix: str = "") -> dict[str, dict[str, Any]]:
    """Logical id -> resource summary, with nested stacks' resources as "<stack id><their id>"."""
    pages = cfn.get_paginator("list_stack_resources").paginate(StackName=name)
    listed: dict[str, dict[str, Any]] = {}
    for summary in (r for page in pages for r in page["StackResourceSummaries"]):
        listed[prefix + summary["LogicalResourceId"]] = summary
        if summary["ResourceType"] == "AWS::CloudFormation::Stack":
            listed.update(
                stack_resources(cfn, summary["PhysicalResourceId"], prefix + summary["LogicalResourceId"])
            )
    return listed


def outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def queue_url(sqs: Any, physical_id: str) -> str:
    """The server's URL for a queue whose stack physical id is its (AWS-style) URL."""
    return str(sqs.get_queue_url(QueueName=physical_id.rsplit("/", 1)[-1])["QueueUrl"])


def queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Receive and delete everything visible in a (shallow) queue."""
    received: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not batch:
            return received
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        received.extend(batch)


def s3_object_events(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The S3 event records among raw-delivered bodies (the s3:TestEvent has no Records)."""
    records: list[dict[str, Any]] = []
    for message in messages:
        body = json.loads(message["Body"])
        assert "Type" not in body, "not raw delivery: the body is an SNS envelope"
        records.extend(body.get("Records", []))
    return records


def get_layer_version(awslambda: Any, arn: str) -> dict[str, Any]:
    """GetLayerVersion by ARN (moto lacks GetLayerVersionByArn)."""
    name, version = arn.rsplit(":", 2)[-2:]
    return dict(awslambda.get_layer_version(LayerName=name, VersionNumber=int(version)))


def policy_sids(policy_text: str) -> set[str]:
    statements = json.loads(policy_text)["Statement"]
    return {s["Sid"] for s in (statements if isinstance(statements, list) else [statements])}


def assert_not_consumed_by_moto(sqs: Any, url: str) -> None:
    """moto's built-in ESM delivery would receive the message on send (burning a receive)."""
    sqs.send_message(QueueUrl=url, MessageBody="for the local poller")
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attributes == {"ApproximateNumberOfMessages": "1", "ApproximateNumberOfMessagesNotVisible": "0"}
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["ApproximateReceiveCount"]
    )["Messages"]
    assert [m["Body"] for m in messages] == ["for the local poller"]
    assert messages[0]["Attributes"]["ApproximateReceiveCount"] == "1"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])


# -------------------------------------------------------------------------------------------------
# A small template covering every added type and property
# -------------------------------------------------------------------------------------------------

SMALL_STACK = "cfn-small"
TLS_ONLY = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": [{"Fn::GetAtt": ["UploadBucket", "Arn"]}, {"Fn::Sub": "${UploadBucket.Arn}/*"}],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def small_template(raw: bool = True, threshold: int = 0, cors: bool = True) -> str:
    bucket_props: dict[str, Any] = {
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
            ]
        },
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        "LifecycleConfiguration": {
            "Rules": [
                {
                    "Id": "abort-mpu",
                    "Status": "Enabled",
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                }
            ]
        },
        "NotificationConfiguration": {
            "TopicConfigurations": [
                {
                    "Event": "s3:ObjectCreated:*",
                    "Topic": {"Ref": "EventsTopic"},
                    "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "uploads/"}]}},
                }
            ]
        },
    }
    if cors:
        bucket_props["CorsConfiguration"] = {
            "CorsRules": [
                {
                    "Id": "web",
                    "AllowedOrigins": ["http://127.0.0.1:3000"],
                    "AllowedMethods": ["GET", "PUT"],
                    "AllowedHeaders": ["*"],
                    "ExposedHeaders": ["ETag"],
                    "MaxAge": 3000,
                }
            ]
        }
    resources: dict[str, Any] = {
        # Properties given: moto treats a resource without them as modified on every update (and
        # moto replaces a topic on update, dropping its subscriptions).
        "EventsTopic": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": "events"}},
        "EventsTopicPolicy": {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {
                "Topics": [{"Ref": "EventsTopic"}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AllowS3",
                            "Effect": "Allow",
                            "Principal": {"Service": "s3.amazonaws.com"},
                            "Action": "sns:Publish",
                            "Resource": {"Ref": "EventsTopic"},
                        }
                    ],
                },
            },
        },
        "EventsQueue": {"Type": "AWS::SQS::Queue"},
        "EventsQueuePolicy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": "EventsQueue"}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AllowTopic",
                            "Effect": "Allow",
                            "Principal": {"Service": "sns.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": {"Fn::GetAtt": ["EventsQueue", "Arn"]},
                            "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": "EventsTopic"}}},
                        }
                    ],
                },
            },
        },
        "EventsSubscription": {
            "Type": "AWS::SNS::Subscription",
            "DependsOn": "EventsQueuePolicy",
            "Properties": {
                "TopicArn": {"Ref": "EventsTopic"},
                "Protocol": "sqs",
                "Endpoint": {"Fn::GetAtt": ["EventsQueue", "Arn"]},
                "RawMessageDelivery": raw,
            },
        },
        "FilteredQueue": {"Type": "AWS::SQS::Queue"},
        "FilteredSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": {"Ref": "EventsTopic"},
                "Protocol": "sqs",
                "Endpoint": {"Fn::GetAtt": ["FilteredQueue", "Arn"]},
                "RawMessageDelivery": "true",
                "FilterPolicyScope": "MessageBody",
                "FilterPolicy": {"kind": ["wanted"]},
                "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["FilteredQueue", "Arn"]}},
            },
        },
        "EmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": {"Ref": "EventsTopic"},
                "Protocol": "email",
                "Endpoint": "ops@example.com",
            },
        },
        "UploadBucket": {
            "Type": "AWS::S3::Bucket",
            "DependsOn": "EventsTopicPolicy",
            "Properties": bucket_props,
        },
        "UploadBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "UploadBucket"},
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [TLS_ONLY]},
            },
        },
        "VersionedBucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "VersioningConfiguration": {"Status": "Enabled"},
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            "Id": "expire-tmp",
                            "Status": "Enabled",
                            "Prefix": "tmp/",
                            "ExpirationInDays": 7,
                            "NoncurrentVersionExpiration": {"NoncurrentDays": 3},
                            "Transitions": [{"StorageClass": "GLACIER", "TransitionInDays": 30}],
                        }
                    ]
                },
            },
        },
        "DepthAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": {"Fn::Sub": "Messages wait in ${EventsQueue.QueueName}"},
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["EventsQueue", "QueueName"]}}],
                "Statistic": "Maximum",
                "Period": 60,
                "EvaluationPeriods": "3",
                "DatapointsToAlarm": 2,
                "Threshold": threshold,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [{"Ref": "EventsTopic"}],
                "OKActions": [{"Ref": "EventsTopic"}],
            },
        },
        "NamedAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": "cfn-small-latency",
                "Namespace": "Intake",
                "MetricName": "Latency",
                "ExtendedStatistic": "p99",
                "Unit": "Milliseconds",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 2.5,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "ActionsEnabled": False,
                "InsufficientDataActions": [{"Ref": "EventsTopic"}],
            },
        },
        "SenderIdentity": {
            "Type": "AWS::SES::EmailIdentity",
            "Properties": {"EmailIdentity": "sender@example.com"},
        },
        "FunctionRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            },
        },
        "Layer": {
            "Type": "AWS::Lambda::LayerVersion",
            "Properties": {
                "LayerName": "cfn-small-deps",
                "Content": {"S3Bucket": ARTIFACTS, "S3Key": "small/layer.zip"},
                "CompatibleRuntimes": ["python3.12"],
                "CompatibleArchitectures": ["arm64"],
            },
        },
        "WorkQueue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 60}},
        "Worker": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": "cfn-small-worker",
                "Runtime": "python3.12",
                "Handler": "handler.handler",
                "Code": {"S3Bucket": ARTIFACTS, "S3Key": "small/validate.zip"},
                "Role": {"Fn::GetAtt": ["FunctionRole", "Arn"]},
                "Layers": [{"Ref": "Layer"}],
                "Architectures": ["arm64"],
                "Timeout": 10,
                "Environment": {"Variables": {"QUEUE": {"Ref": "WorkQueue"}}},
            },
        },
        "WorkerMapping": {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "EventSourceArn": {"Fn::GetAtt": ["WorkQueue", "Arn"]},
                "FunctionName": {"Ref": "Worker"},
                "Enabled": True,
                "BatchSize": 5,
                "MaximumBatchingWindowInSeconds": 2,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "ScalingConfig": {"MaximumConcurrency": 3},
            },
        },
        "IdempotencyTable": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            },
        },
    }
    return json.dumps(
        {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Resources": resources,
            "Outputs": {
                "AlarmArn": {"Value": {"Fn::GetAtt": ["DepthAlarm", "Arn"]}},
                "AlarmName": {"Value": {"Ref": "DepthAlarm"}},
                "SubscriptionArn": {"Value": {"Fn::GetAtt": ["EventsSubscription", "Arn"]}},
                "LayerArn": {"Value": {"Fn::GetAtt": ["Layer", "LayerVersionArn"]}},
                "BucketDomain": {"Value": {"Fn::GetAtt": ["UploadBucket", "RegionalDomainName"]}},
            },
        }
    )


@pytest.fixture(scope="module")
def small_stack(client: Callable[[str], Any], artifacts: str) -> dict[str, Any]:
    return deploy(client("cloudformation"), SMALL_STACK, small_template())


def test_every_resource_is_created_with_its_type(
    client: Callable[[str], Any], small_stack: dict[str, Any]
) -> None:
    template = json.loads(small_template())["Resources"]
    listed = stack_resources(client("cloudformation"), SMALL_STACK)
    assert set(listed) == set(template)
    for logical_id, resource in template.items():
        assert listed[logical_id]["ResourceType"] == resource["Type"], logical_id
        assert listed[logical_id]["PhysicalResourceId"], (
            f"{logical_id} ({resource['Type']}) has no physical id"
        )


def test_subscriptions_and_policies(client: Callable[[str], Any], small_stack: dict[str, Any]) -> None:
    sns, sqs = client("sns"), client("sqs")
    listed = stack_resources(client("cloudformation"), SMALL_STACK)
    topic = listed["EventsTopic"]["PhysicalResourceId"]
    events_queue = queue_url(sqs, listed["EventsQueue"]["PhysicalResourceId"])

    raw = listed["EventsSubscription"]["PhysicalResourceId"]
    assert outputs(small_stack)["SubscriptionArn"] == raw
    attributes = sns.get_subscription_attributes(SubscriptionArn=raw)["Attributes"]
    assert attributes["TopicArn"] == topic
    assert attributes["Endpoint"] == queue_arn(sqs, events_queue)
    assert attributes["Protocol"] == "sqs"
    assert attributes["RawMessageDelivery"] == "true"

    filtered = sns.get_subscription_attributes(
        SubscriptionArn=listed["FilteredSubscription"]["PhysicalResourceId"]
    )["Attributes"]
    assert filtered["RawMessageDelivery"] == "true"
    assert json.loads(filtered["FilterPolicy"]) == {"kind": ["wanted"]}
    assert filtered["FilterPolicyScope"] == "MessageBody"
    assert json.loads(filtered["RedrivePolicy"])["deadLetterTargetArn"].endswith(
        ":" + listed["FilteredQueue"]["PhysicalResourceId"].rsplit("/", 1)[-1]
    )

    by_topic = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert {s["Protocol"] for s in by_topic} == {"sqs", "email"}
    assert len(by_topic) == 3

    topic_policy = sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"]
    assert policy_sids(topic_policy) == {"AllowS3"}
    queue_policy = sqs.get_queue_attributes(QueueUrl=events_queue, AttributeNames=["Policy"])["Attributes"][
        "Policy"
    ]
    assert policy_sids(queue_policy) == {"AllowTopic"}
    assert json.loads(queue_policy)["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"] == topic


def test_filter_policy_is_enforced(client: Callable[[str], Any], small_stack: dict[str, Any]) -> None:
    sns, sqs = client("sns"), client("sqs")
    listed = stack_resources(client("cloudformation"), SMALL_STACK)
    filtered_queue = queue_url(sqs, listed["FilteredQueue"]["PhysicalResourceId"])
    events_queue = queue_url(sqs, listed["EventsQueue"]["PhysicalResourceId"])
    drain(sqs, filtered_queue)
    drain(sqs, events_queue)  # the bucket's s3:TestEvent
    sns.publish(TopicArn=listed["EventsTopic"]["PhysicalResourceId"], Message=json.dumps({"kind": "other"}))
    sns.publish(TopicArn=listed["EventsTopic"]["PhysicalResourceId"], Message=json.dumps({"kind": "wanted"}))
    assert [json.loads(m["Body"]) for m in drain(sqs, filtered_queue)] == [{"kind": "wanted"}]
    assert len(drain(sqs, events_queue)) == 2  # no filter there


def test_bucket_configuration_is_applied(client: Callable[[str], Any], small_stack: dict[str, Any]) -> None:
    s3 = client("s3")
    listed = stack_resources(client("cloudformation"), SMALL_STACK)
    bucket = listed["UploadBucket"]["PhysicalResourceId"]
    assert outputs(small_stack)["BucketDomain"] == f"{bucket}.s3.{REGION}.amazonaws.com"

    notification = s3.get_bucket_notification_configuration(Bucket=bucket)
    [topic_config] = notification["TopicConfigurations"]
    assert topic_config["TopicArn"] == listed["EventsTopic"]["PhysicalResourceId"]
    assert topic_config["Events"] == ["s3:ObjectCreated:*"]
    assert topic_config["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "uploads/"}]

    [cors] = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert cors["ID"] == "web"
    assert cors["AllowedOrigins"] == ["http://127.0.0.1:3000"]
    assert cors["AllowedMethods"] == ["GET", "PUT"]
    assert cors["AllowedHeaders"] == ["*"]
    assert cors["ExposeHeaders"] == ["ETag"]
    assert cors["MaxAgeSeconds"] == 3000

    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}
    ]
    [rule] = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rule["ID"] == "abort-mpu" and rule["Status"] == "Enabled"
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"

    versioned = listed["VersionedBucket"]["PhysicalResourceId"]
    assert s3.get_bucket_versioning(Bucket=versioned)["Status"] == "Enabled"
    [rule] = s3.get_bucket_lifecycle_configuration(Bucket=versioned)["Rules"]
    assert rule["Filter"] == {"Prefix": "tmp/"}
    assert rule["Expiration"]["Days"] == 7
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 3
    assert rule["Transitions"] == [{"Days": 30, "StorageClass": "GLACIER"}]


def test_tls_only_bucket_policy_is_stored_and_does_not_lock_out_the_emulator(
    client: Callable[[str], Any], small_stack: dict[str, Any]
) -> None:
    s3 = client("s3")
    listed = stack_resources(client("cloudformation"), SMALL_STACK)
    bucket = listed["UploadBucket"]["PhysicalResourceId"]
    assert listed["UploadBucketPolicy"]["PhysicalResourceId"] == bucket
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert policy["Statement"][0]["Resource"] == [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    # The emulator endpoint stands in for the HTTPS endpoint: the TLS-only Deny does not apply.
    s3.put_object(Bucket=bucket, Key="elsewhere/ok.txt", Body=b"ok")
    assert s3.get_object(Bucket=bucket, Key="elsewhere/ok.txt")["Body"].read() == b"ok"


def test_s3_events_reach_the_queue_raw_and_filtered(
    client: Callable[[str], Any], small_stack: dict[str, Any]
) -> None:
    s3, sqs = client("s3"), client("sqs")
    listed = stack_resources(client("cloudformation"), SMALL_STACK)
    bucket = listed["UploadBucket"]["PhysicalResourceId"]
    events_queue = queue_url(sqs, listed["EventsQueue"]["PhysicalResourceId"])
    drain(sqs, events_queue)  # the s3:TestEvent and anything earlier

    s3.put_object(Bucket=bucket, Key="uploads/alice/u1/a photo.jpg", Body=b"jpeg")
    s3.put_object(Bucket=bucket, Key="thumbnails/alice/u1/small.jpg", Body=b"jpeg")

    messages = drain(sqs, events_queue)
    records = s3_object_events(messages)
    assert len(messages) == 1
    assert [r["s3"]["object"]["key"] for r in records] == [quote_plus("uploads/alice/u1/a photo.jpg")]
    assert records[0]["eventName"].startswith("ObjectCreated:")
    assert records[0]["s3"]["bucket"]["name"] == bucket


def test_alarms(client: Callable[[str], Any], small_stack: dict[str, Any]) -> None:
    cloudwatch = client("cloudwatch")
    listed = stack_resources(client("cloudformation"), SMALL_STACK)
    topic = listed["EventsTopic"]["PhysicalResourceId"]
    name = listed["DepthAlarm"]["PhysicalResourceId"]
    assert name.startswith(f"{SMALL_STACK}-DepthAlarm-") and name == outputs(small_stack)["AlarmName"]

    [alarm] = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert alarm["AlarmArn"] == outputs(small_stack)["AlarmArn"]
    queue_name = listed["EventsQueue"]["PhysicalResourceId"].rsplit("/", 1)[-1]
    assert alarm["AlarmDescription"] == f"Messages wait in {queue_name}"
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": queue_name}]
    assert alarm["Statistic"] == "Maximum"
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (60, 3, 2)
    assert alarm["Threshold"] == 0
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [topic] and alarm["OKActions"] == [topic]
    assert alarm["ActionsEnabled"] is True

    [named] = cloudwatch.describe_alarms(AlarmNames=["cfn-small-latency"])["MetricAlarms"]
    assert listed["NamedAlarm"]["PhysicalResourceId"] == "cfn-small-latency"
    assert named["ExtendedStatistic"] == "p99" and "Statistic" not in named
    assert (named["Unit"], named["Threshold"], named["ActionsEnabled"]) == ("Milliseconds", 2.5, False)
    assert named["InsufficientDataActions"] == [topic]


def test_ses_identity_is_verified_and_can_send(
    client: Callable[[str], Any], small_stack: dict[str, Any]
) -> None:
    ses = client("ses")
    listed = stack_resources(client("cloudformation"), SMALL_STACK)
    assert listed["SenderIdentity"]["PhysicalResourceId"] == "sender@example.com"
    attributes = ses.get_identity_verification_attributes(Identities=["sender@example.com"])
    assert attributes["VerificationAttributes"]["sender@example.com"]["VerificationStatus"] == "Success"
    assert (
        client("sesv2").get_email_identity(EmailIdentity="sender@example.com")["VerifiedForSendingStatus"]
        is True
    )
    message = {"Subject": {"Data": "hi"}, "Body": {"Text": {"Data": "hello"}}}
    sent = ses.send_email(
        Source="sender@example.com", Destination={"ToAddresses": ["a@example.com"]}, Message=message
    )
    assert sent["MessageId"]
    with pytest.raises(ClientError, match="MessageRejected"):
        ses.send_email(
            Source="stranger@example.org", Destination={"ToAddresses": ["a@example.com"]}, Message=message
        )


def test_function_layer_and_table_properties(
    client: Callable[[str], Any], small_stack: dict[str, Any]
) -> None:
    awslambda, dynamodb = client("lambda"), client("dynamodb")
    listed = stack_resources(client("cloudformation"), SMALL_STACK)
    layer_arn = listed["Layer"]["PhysicalResourceId"]
    assert layer_arn == outputs(small_stack)["LayerArn"]
    assert layer_arn.endswith(":layer:cfn-small-deps:1")
    layer = get_layer_version(awslambda, layer_arn)
    assert layer["CompatibleArchitectures"] == ["arm64"] and layer["CompatibleRuntimes"] == ["python3.12"]

    config = awslambda.get_function_configuration(FunctionName="cfn-small-worker")
    assert [layer["Arn"] for layer in config["Layers"]] == [layer_arn]
    assert config["Architectures"] == ["arm64"]
    assert config["Timeout"] == 10
    assert config["Environment"]["Variables"]["QUEUE"] == listed["WorkQueue"]["PhysicalResourceId"]

    table = listed["IdempotencyTable"]["PhysicalResourceId"]
    ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiration"}
    backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_event_source_mapping_is_kept_but_moto_never_consumes_the_queue(
    client: Callable[[str], Any], small_stack: dict[str, Any]
) -> None:
    awslambda, sqs = client("lambda"), client("sqs")
    listed = stack_resources(client("cloudformation"), SMALL_STACK)
    work_queue = queue_url(sqs, listed["WorkQueue"]["PhysicalResourceId"])

    mapping = awslambda.get_event_source_mapping(UUID=listed["WorkerMapping"]["PhysicalResourceId"])
    assert mapping["State"] == "Enabled"
    assert mapping["EventSourceArn"] == queue_arn(sqs, work_queue)
    assert mapping["FunctionArn"].endswith(":function:cfn-small-worker")
    assert mapping["BatchSize"] == 5
    assert mapping["MaximumBatchingWindowInSeconds"] == 2
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 3}
    [listed_mapping] = awslambda.list_event_source_mappings(FunctionName="cfn-small-worker")[
        "EventSourceMappings"
    ]
    assert listed_mapping["UUID"] == mapping["UUID"] and listed_mapping["State"] == "Enabled"

    assert_not_consumed_by_moto(sqs, work_queue)


def test_update_changes_in_place_and_removes_dropped_properties(
    client: Callable[[str], Any], small_stack: dict[str, Any]
) -> None:
    cfn, sns, s3, cloudwatch = client("cloudformation"), client("sns"), client("s3"), client("cloudwatch")
    before = stack_resources(cfn, SMALL_STACK)
    cfn.update_stack(StackName=SMALL_STACK, TemplateBody=small_template(raw=False, threshold=5, cors=False))
    after = stack_resources(cfn, SMALL_STACK)

    subscription = after["EventsSubscription"]["PhysicalResourceId"]
    assert subscription == before["EventsSubscription"]["PhysicalResourceId"]  # updated, not replaced
    assert (
        sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]["RawMessageDelivery"]
        == "false"
    )

    alarm = after["DepthAlarm"]["PhysicalResourceId"]
    assert alarm == before["DepthAlarm"]["PhysicalResourceId"]
    assert cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["Threshold"] == 5

    bucket = after["UploadBucket"]["PhysicalResourceId"]
    with pytest.raises(ClientError, match="NoSuchCORSConfiguration"):
        s3.get_bucket_cors(Bucket=bucket)
    assert s3.get_bucket_notification_configuration(Bucket=bucket)["TopicConfigurations"]


def test_delete_stack_removes_the_added_resources(
    client: Callable[[str], Any], small_stack: dict[str, Any]
) -> None:
    cfn, sns, s3, ses, cloudwatch = (
        client("cloudformation"),
        client("sns"),
        client("s3"),
        client("ses"),
        client("cloudwatch"),
    )
    listed = stack_resources(cfn, SMALL_STACK)
    bucket = listed["UploadBucket"]["PhysicalResourceId"]
    for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=obj["Key"])
    subscriptions = {listed[k]["PhysicalResourceId"] for k in ("EventsSubscription", "FilteredSubscription")}

    cfn.delete_stack(StackName=SMALL_STACK)

    remaining = {s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"]}
    assert not subscriptions & remaining
    alarm_names = [listed["DepthAlarm"]["PhysicalResourceId"], "cfn-small-latency"]
    assert cloudwatch.describe_alarms(AlarmNames=alarm_names)["MetricAlarms"] == []
    assert "sender@example.com" not in ses.list_identities()["Identities"]
    assert bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}


# -------------------------------------------------------------------------------------------------
# The project's real template
# -------------------------------------------------------------------------------------------------


def load_real_template() -> dict[str, Any]:
    """intake.yaml with its nested consumer stacks expanded (tests/support/templates.py)."""
    from cfnlint.decode import decode

    for path in (REAL_TEMPLATE, CONSUMER_TEMPLATE):
        loaded, matches = decode(str(path))
        assert loaded is not None and not matches, matches
    return effective_template()


def parameter_default(template: dict[str, Any], value: Any) -> Any:
    """`value`, or the default of the template parameter it is a `!Ref` to."""
    target = ref_target(value)
    return template["Parameters"][target]["Default"] if target in template["Parameters"] else value


def ref_target(value: Any) -> str | None:
    """The logical id a `!Ref X` / `!GetAtt X.Attr` points at (None for anything else)."""
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return str(target[0] if isinstance(target, list) else target.split(".")[0])
    return None


@pytest.mark.skipif(not REAL_TEMPLATE.exists(), reason="infra/cloudformation/intake.yaml not written yet")
def test_real_template_deploys_with_every_resource_real(client: Callable[[str], Any], artifacts: str) -> None:
    cfn, sns, sqs, s3 = client("cloudformation"), client("sns"), client("sqs"), client("s3")
    awslambda, cloudwatch, ses = client("lambda"), client("cloudwatch"), client("ses")
    template = load_real_template()
    # With the default parameters (one signing key, in slot a) the conditions leave out key slot b.
    absent = {"SigningPublicKeyB"}
    resources: dict[str, Any] = {k: v for k, v in template["Resources"].items() if k not in absent}

    started = time.perf_counter()
    stack = deploy(
        cfn,
        "intake-real",
        REAL_TEMPLATE.read_text(),
        {
            "ArtifactBucket": artifacts,
            "ArtifactPrefix": "real",
            "SigningPublicKey": signing.public_pem(),
            "WebOrigin": "http://127.0.0.1:3000",
        },
    )
    elapsed = time.perf_counter() - started
    print(f"\ncreate_stack of the real template ({len(resources)} resources): {elapsed:.2f} s")

    listed = stack_resources(cfn, "intake-real")
    physical = {logical_id: summary["PhysicalResourceId"] for logical_id, summary in listed.items()}
    assert not absent & set(listed), "a resource whose condition is false was created"
    for logical_id, resource in resources.items():
        assert logical_id in listed, f"{logical_id} missing from the stack"
        assert listed[logical_id]["ResourceType"] == resource["Type"], logical_id
        assert physical[logical_id], f"{logical_id} ({resource['Type']}) was skipped: no physical id"

    def resolved(value: Any) -> Any:
        target = ref_target(value)
        return physical[target] if target else value

    def url_of(logical_id: str) -> str:
        return queue_url(sqs, physical[logical_id])

    checked: dict[str, int] = {}
    for logical_id, resource in resources.items():
        kind, props, pid = resource["Type"], resource.get("Properties", {}), physical[logical_id]
        checked[kind] = checked.get(kind, 0) + 1
        if kind == "AWS::SNS::Subscription":
            attributes = sns.get_subscription_attributes(SubscriptionArn=pid)["Attributes"]
            assert attributes["TopicArn"] == resolved(props["TopicArn"]), logical_id
            assert attributes["Protocol"] == props["Protocol"], logical_id
            if props["Protocol"] == "sqs":
                endpoint_queue = ref_target(props["Endpoint"])
                assert endpoint_queue is not None
                assert attributes["Endpoint"] == queue_arn(sqs, url_of(endpoint_queue)), logical_id
            expected_raw = str(props.get("RawMessageDelivery", False)).lower()
            assert attributes["RawMessageDelivery"] == expected_raw, logical_id
        elif kind == "AWS::SQS::QueuePolicy":
            want = {s["Sid"] for s in props["PolicyDocument"]["Statement"]}
            for queue in props["Queues"]:
                target = ref_target(queue)
                assert target is not None
                got = sqs.get_queue_attributes(QueueUrl=url_of(target), AttributeNames=["Policy"])[
                    "Attributes"
                ]
                assert policy_sids(got["Policy"]) == want, logical_id
        elif kind == "AWS::SNS::TopicPolicy":
            want = {s["Sid"] for s in props["PolicyDocument"]["Statement"]}
            for topic in props["Topics"]:
                got = sns.get_topic_attributes(TopicArn=resolved(topic))["Attributes"]["Policy"]
                assert policy_sids(got) == want, logical_id
        elif kind == "AWS::S3::BucketPolicy":
            want = {s["Sid"] for s in props["PolicyDocument"]["Statement"]}
            assert policy_sids(s3.get_bucket_policy(Bucket=resolved(props["Bucket"]))["Policy"]) == want
        elif kind == "AWS::S3::Bucket":
            notifications = s3.get_bucket_notification_configuration(Bucket=pid)
            declared = props.get("NotificationConfiguration", {}).get("TopicConfigurations", [])
            got_topics = [(c["TopicArn"], c["Events"]) for c in notifications.get("TopicConfigurations", [])]
            assert got_topics == [(resolved(c["Topic"]), [c["Event"]]) for c in declared], logical_id
            if "CorsConfiguration" in props:
                rules = s3.get_bucket_cors(Bucket=pid)["CORSRules"]
                assert [r["ID"] for r in rules] == [r["Id"] for r in props["CorsConfiguration"]["CorsRules"]]
            if "PublicAccessBlockConfiguration" in props:
                block = s3.get_public_access_block(Bucket=pid)["PublicAccessBlockConfiguration"]
                assert block == props["PublicAccessBlockConfiguration"], logical_id
            if "OwnershipControls" in props:
                rules = s3.get_bucket_ownership_controls(Bucket=pid)["OwnershipControls"]["Rules"]
                assert rules == props["OwnershipControls"]["Rules"], logical_id
            if "LifecycleConfiguration" in props:
                rules = s3.get_bucket_lifecycle_configuration(Bucket=pid)["Rules"]
                assert [r["ID"] for r in rules] == [r["Id"] for r in props["LifecycleConfiguration"]["Rules"]]
            if "BucketEncryption" in props:
                assert s3.get_bucket_encryption(Bucket=pid)["ServerSideEncryptionConfiguration"]["Rules"]
        elif kind == "AWS::CloudWatch::Alarm":
            [alarm] = cloudwatch.describe_alarms(AlarmNames=[pid])["MetricAlarms"]
            for key in ("Namespace", "MetricName", "Statistic", "ComparisonOperator", "TreatMissingData"):
                assert alarm.get(key) == props.get(key), (logical_id, key)
            for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
                assert alarm.get(key) == props.get(key), (logical_id, key)
            assert alarm["AlarmActions"] == [resolved(a) for a in props.get("AlarmActions", [])], logical_id
            assert alarm["OKActions"] == [resolved(a) for a in props.get("OKActions", [])], logical_id
            assert [d["Name"] for d in alarm["Dimensions"]] == [
                d["Name"] for d in props.get("Dimensions", [])
            ]
        elif kind == "AWS::SES::EmailIdentity":
            status = ses.get_identity_verification_attributes(Identities=[pid])["VerificationAttributes"]
            assert status[pid]["VerificationStatus"] == "Success", logical_id
        elif kind == "AWS::Lambda::EventSourceMapping":
            mapping = awslambda.get_event_source_mapping(UUID=pid)
            assert mapping["State"] == "Enabled", logical_id
            assert mapping["FunctionResponseTypes"] == props["FunctionResponseTypes"], logical_id
            assert set(mapping["ScalingConfig"]) == set(props["ScalingConfig"]), logical_id
            # Notify's batch is the parent's parameters (defaults here): digests want large batches.
            assert mapping["BatchSize"] == parameter_default(template, props["BatchSize"]), logical_id
            assert mapping["MaximumBatchingWindowInSeconds"] == parameter_default(
                template, props["MaximumBatchingWindowInSeconds"]
            )
        elif kind == "AWS::Lambda::Function":
            config = awslambda.get_function_configuration(FunctionName=pid)
            assert [layer["Arn"] for layer in config["Layers"]] == [
                resolved(x) for x in props.get("Layers", [])
            ]
            assert len(config["Architectures"]) == 1, logical_id
            assert set(config["Environment"]["Variables"]) == set(props["Environment"]["Variables"])
        elif kind == "AWS::Lambda::LayerVersion":
            assert get_layer_version(awslambda, pid)["LayerVersionArn"] == pid
        elif kind == "AWS::IAM::Policy":  # attached to roles of nested stacks (Fn::GetAtt Outputs.X)
            for role in props["Roles"]:
                document = client("iam").get_role_policy(
                    RoleName=resolved(role), PolicyName=props["PolicyName"]
                )
                assert policy_sids(json.dumps(document["PolicyDocument"])) == {
                    s["Sid"] for s in props["PolicyDocument"]["Statement"]
                }, logical_id
        elif kind == "AWS::CloudWatch::Dashboard":  # Fn::Sub over ${Stack.Outputs.X} is resolved
            body = client("cloudwatch").get_dashboard(DashboardName=pid)["DashboardBody"]
            assert "${" not in body and physical["ValidateDLQDepthAlarm"] in body, logical_id
        elif kind == "AWS::DynamoDB::Table":
            if "TimeToLiveSpecification" in props:
                ttl = client("dynamodb").describe_time_to_live(TableName=pid)["TimeToLiveDescription"]
                assert ttl["TimeToLiveStatus"] == "ENABLED", logical_id
            # TableDeletionProtection defaults to on: each retained table is protected, the others not.
            described = client("dynamodb").describe_table(TableName=pid)["Table"]
            protected = "DeletionProtectionEnabled" in props
            assert described["DeletionProtectionEnabled"] is protected, logical_id
    print("checked:", ", ".join(f"{count} {kind}" for kind, count in sorted(checked.items())))

    # End to end through the real wiring: bucket -> topic -> raw-delivery subscriptions -> queues.
    out = outputs(stack)
    consumer_queues = {name: out[f"{name}QueueUrl"] for name in ("Validate", "Thumbnail", "Index", "Notify")}
    urls = {name: queue_url(sqs, url) for name, url in consumer_queues.items()}
    for url in urls.values():
        drain(sqs, url)
    s3.put_object(Bucket=out["UploadBucketName"], Key="uploads/bob/u9/cat.png", Body=b"png")
    s3.put_object(Bucket=out["ThumbnailBucketName"], Key="thumbnails/bob/u9/small.jpg", Body=b"jpg")
    for name in ("Validate", "Thumbnail", "Index"):
        records = s3_object_events(drain(sqs, urls[name]))
        assert [r["s3"]["object"]["key"] for r in records] == [quote_plus("uploads/bob/u9/cat.png")], name
    assert drain(sqs, urls["Notify"]) == []
    for url in urls.values():
        assert_not_consumed_by_moto(sqs, url)

    # A figure, not an assertion: shared machines are noisy (target <= 5 s; measured ~0.3 s).
    print(f"create_stack of the real template took {elapsed:.2f} s")

    # Deleting the stack deletes its nested consumer stacks and what they made.
    nested = [
        s["PhysicalResourceId"] for s in listed.values() if s["ResourceType"] == "AWS::CloudFormation::Stack"
    ]
    assert len(nested) == 4
    cfn.delete_stack(StackName="intake-real")
    for name in nested:
        with pytest.raises(ClientError, match="does not exist"):
            cfn.describe_stacks(StackName=name)
    with pytest.raises(ClientError, match="Function not found"):
        awslambda.get_function(FunctionName=physical["ValidateFunction"])

    # DeletionPolicy Retain / RetainExceptOnCreate: the users' data outlives the stack; what the
    # template deletes is gone.
    dynamodb, kms, logs = client("dynamodb"), client("kms"), client("logs")
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    retained = [
        k for k, r in resources.items() if r.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate")
    ]
    assert {"IndexTable", "UserSettingsTable", "UploadBucket", "UserPool", "DataKey"} <= set(retained)
    for logical_id in retained:
        kind, pid = resources[logical_id]["Type"], physical[logical_id]
        if kind == "AWS::S3::Bucket":
            assert pid in buckets, logical_id
        elif kind == "AWS::DynamoDB::Table":
            table = dynamodb.describe_table(TableName=pid)["Table"]
            assert table["DeletionProtectionEnabled"] is True, logical_id
            with pytest.raises(ClientError, match="DeletionProtectionEnabled is set to True"):
                dynamodb.delete_table(TableName=pid)
        elif kind == "AWS::Cognito::UserPool":
            client("cognito-idp").describe_user_pool(UserPoolId=pid)
        elif kind == "AWS::KMS::Key":
            assert kms.describe_key(KeyId=pid)["KeyMetadata"]["KeyState"] == "Enabled", logical_id
    assert physical["WebBucket"] not in buckets
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        dynamodb.describe_table(TableName=physical["IdempotencyTable"])
    api_log_groups = logs.describe_log_groups(logGroupNamePrefix=physical["ApiLogGroup"])["logGroups"]
    assert api_log_groups == []


# -------------------------------------------------------------------------------------------------
# Cognito user pool + client and the API Gateway Cognito authorizer
# -------------------------------------------------------------------------------------------------

AUTH_TEMPLATE = json.dumps(
    {
        "Resources": {
            "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "cfn-auth-api"}},
            "UserPool": {
                "Type": "AWS::Cognito::UserPool",
                "Properties": {
                    "UserPoolName": "cfn-auth-users",
                    "UsernameAttributes": ["email"],
                    "AutoVerifiedAttributes": ["email"],
                    "Policies": {"PasswordPolicy": {"MinimumLength": 8, "RequireSymbols": False}},
                    "Schema": [
                        {
                            "Name": "email",
                            "AttributeDataType": "String",
                            "Required": True,
                            "Mutable": True,
                            "StringAttributeConstraints": {"MinLength": 3, "MaxLength": 256},
                        }
                    ],
                    "UserPoolTags": {"app": "intake"},
                },
            },
            "WebClient": {
                "Type": "AWS::Cognito::UserPoolClient",
                "Properties": {
                    "UserPoolId": {"Ref": "UserPool"},
                    "ClientName": "web",
                    "GenerateSecret": False,
                    "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                    "AccessTokenValidity": "60",
                    "TokenValidityUnits": {"AccessToken": "minutes"},
                },
            },
            "CognitoAuthorizer": {
                "Type": "AWS::ApiGateway::Authorizer",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "Name": "cognito",
                    "Type": "COGNITO_USER_POOLS",
                    "ProviderARNs": [{"Fn::GetAtt": ["UserPool", "Arn"]}],
                    "IdentitySource": "method.request.header.Authorization",
                },
            },
        },
        "Outputs": {
            "UserPoolId": {"Value": {"Ref": "UserPool"}},
            "UserPoolClientId": {"Value": {"Ref": "WebClient"}},
            "ProviderURL": {"Value": {"Fn::GetAtt": ["UserPool", "ProviderURL"]}},
            "ClientName": {"Value": {"Fn::GetAtt": ["WebClient", "Name"]}},
            "AuthorizerId": {"Value": {"Fn::GetAtt": ["CognitoAuthorizer", "AuthorizerId"]}},
        },
    }
)


def jwt_claims(token: str) -> dict[str, Any]:
    import base64

    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def test_cognito_user_pool_client_and_authorizer(client: Callable[[str], Any]) -> None:
    cfn, idp, apigw = client("cloudformation"), client("cognito-idp"), client("apigateway")
    out = outputs(deploy(cfn, "cfn-auth", AUTH_TEMPLATE))
    listed = stack_resources(cfn, "cfn-auth")
    assert all(r["PhysicalResourceId"] for r in listed.values()), listed

    pool_id, client_id = out["UserPoolId"], out["UserPoolClientId"]
    pool = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert pool["Name"] == "cfn-auth-users"
    assert pool["UsernameAttributes"] == ["email"] and pool["AutoVerifiedAttributes"] == ["email"]
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 8
    assert pool["UserPoolTags"] == {"app": "intake"}
    app_client = idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]
    assert app_client["ClientName"] == out["ClientName"] == "web"
    assert app_client["ExplicitAuthFlows"] == ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert app_client["AccessTokenValidity"] == 60 and "ClientSecret" not in app_client

    # A token from the deployed client carries the issuer the template's ProviderURL names.
    idp.admin_create_user(UserPoolId=pool_id, Username="alice@example.com", MessageAction="SUPPRESS")
    idp.admin_set_user_password(
        UserPoolId=pool_id, Username="alice@example.com", Password="Passw0rd!", Permanent=True
    )
    tokens = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "alice@example.com", "PASSWORD": "Passw0rd!"},
    )["AuthenticationResult"]
    claims = jwt_claims(tokens["IdToken"])
    assert claims["iss"] == out["ProviderURL"] == f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"
    assert claims["aud"] == client_id

    api_id = listed["Api"]["PhysicalResourceId"]
    authorizer = apigw.get_authorizer(restApiId=api_id, authorizerId=out["AuthorizerId"])
    assert authorizer["name"] == "cognito" and authorizer["type"] == "COGNITO_USER_POOLS"
    assert authorizer["providerARNs"] == [pool["Arn"]]
    assert authorizer["identitySource"] == "method.request.header.Authorization"
    assert authorizer["authorizerResultTtlInSeconds"] == 300

    cfn.delete_stack(StackName="cfn-auth")
    with pytest.raises(ClientError, match="ResourceNotFound"):
        idp.describe_user_pool(UserPoolId=pool_id)
