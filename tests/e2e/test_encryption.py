"""Encryption at rest with the stack's customer-managed key (DataKey), on the local cloud.

An upload made as the browser makes it (presigned POST or PUT from the API, no encryption headers)
becomes ready; the original and every thumbnail report SSE-KMS with the stack's key because S3
applies the buckets' default encryption. The key itself, the topics, the queues and the tables report
the same key, as DescribeKey, GetTopicAttributes, GetQueueAttributes and DescribeTable do on AWS.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from localcloud.cloud import LocalCloud
from tests.e2e.test_api import User, final, new_user, post_file, presign
from tests.support import images

pytestmark = pytest.mark.e2e

TOPICS = ("UploadEventsTopicArn", "FinishedTopicArn", "OpsTopicArn")
QUEUES = tuple(
    f"{x}{kind}Url" for x in ("Validate", "Thumbnail", "Index", "Notify") for kind in ("Queue", "DLQ")
)
KEY_POLICY_SIDS = {
    "EnableIamPolicies",
    "AllowS3EventsToUploadTopic",
    "AllowSnsDeliveryToQueues",
    "AllowCloudWatchAlarmsToOpsTopic",
}


@pytest.fixture(scope="module")
def key_arn(cloud: LocalCloud) -> str:
    return cloud.outputs["DataKeyArn"]


@pytest.fixture(scope="module")
def carol(cloud: LocalCloud) -> User:
    return new_user(cloud)


def encryption_of(cloud: LocalCloud, bucket: str, key: str) -> dict[str, Any]:
    head = cloud.client("s3").head_object(Bucket=bucket, Key=key)
    return {name: head.get(name) for name in ("ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled")}


def assert_upload_and_thumbnails_use(cloud: LocalCloud, key_arn: str, owner: str, upload_id: str) -> None:
    expected = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_arn, "BucketKeyEnabled": True}
    s3 = cloud.client("s3")
    uploads = cloud.outputs["UploadBucketName"]
    [original] = s3.list_objects_v2(Bucket=uploads, Prefix=f"uploads/{owner}/{upload_id}/")["Contents"]
    assert encryption_of(cloud, uploads, original["Key"]) == expected
    thumbnails = cloud.outputs["ThumbnailBucketName"]
    listed = s3.list_objects_v2(Bucket=thumbnails, Prefix=f"thumbnails/{owner}/{upload_id}/")["Contents"]
    assert len(listed) == 3
    for thumbnail in listed:
        assert encryption_of(cloud, thumbnails, thumbnail["Key"]) == expected, thumbnail["Key"]


def test_the_key_is_a_rotating_customer_managed_key_with_its_alias_and_policy(
    cloud: LocalCloud, key_arn: str
) -> None:
    kms = cloud.client("kms")
    metadata = kms.describe_key(KeyId=cloud.outputs["DataKeyId"])["KeyMetadata"]
    assert (metadata["Arn"], metadata["KeyState"], metadata["KeyManager"]) == (key_arn, "Enabled", "CUSTOMER")
    assert kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"] is True
    aliases = kms.list_aliases(KeyId=metadata["KeyId"])["Aliases"]
    assert cloud.deployment is not None
    assert [a["AliasName"] for a in aliases] == [f"alias/{cloud.deployment.stack_name}-data"]
    policy = json.loads(kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])
    assert {statement["Sid"] for statement in policy["Statement"]} >= KEY_POLICY_SIDS


def test_a_presigned_post_upload_and_its_thumbnails_are_encrypted_with_the_stacks_key(
    cloud: LocalCloud, key_arn: str, carol: User
) -> None:
    body = images.jpeg(640, 480)
    created = presign(cloud.api_url, carol, body, "kms.jpg")
    assert post_file(created, body).status_code == 204
    assert final(cloud.api_url, carol, created["upload_id"])["status"] == "ready"
    assert_upload_and_thumbnails_use(cloud, key_arn, carol.sub, created["upload_id"])


def test_a_presigned_put_upload_is_encrypted_with_the_stacks_key(
    cloud: LocalCloud, key_arn: str, carol: User
) -> None:
    body = images.jpeg(320, 240)
    request: dict[str, Any] = {"filename": "kms-put.jpg", "content_type": "image/jpeg", "size": len(body)}
    response = requests.post(
        f"{cloud.api_url}/uploads", params={"method": "PUT"}, json=request, headers=carol.auth, timeout=30
    )
    assert response.status_code == 201, response.text
    created = response.json()
    upload = created["upload"]
    assert requests.put(upload["url"], data=body, headers=upload["headers"], timeout=30).status_code == 200
    assert final(cloud.api_url, carol, created["upload_id"])["status"] == "ready"
    assert_upload_and_thumbnails_use(cloud, key_arn, carol.sub, created["upload_id"])


def test_buckets_default_to_sse_kms_with_bucket_keys(cloud: LocalCloud, key_arn: str) -> None:
    s3 = cloud.client("s3")
    for output in ("UploadBucketName", "ThumbnailBucketName"):
        [rule] = s3.get_bucket_encryption(Bucket=cloud.outputs[output])["ServerSideEncryptionConfiguration"][
            "Rules"
        ]
        assert rule["ApplyServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": key_arn,
        }
        assert rule["BucketKeyEnabled"] is True, output


def test_topics_queues_and_tables_are_encrypted_with_the_stacks_key(cloud: LocalCloud, key_arn: str) -> None:
    sns, sqs, dynamodb = cloud.client("sns"), cloud.client("sqs"), cloud.client("dynamodb")
    for output in TOPICS:
        attributes = sns.get_topic_attributes(TopicArn=cloud.outputs[output])["Attributes"]
        assert attributes["KmsMasterKeyId"] == key_arn, output
    for output in QUEUES:
        attributes = sqs.get_queue_attributes(QueueUrl=cloud.outputs[output], AttributeNames=["All"])[
            "Attributes"
        ]
        assert attributes["KmsMasterKeyId"] == key_arn, output
        assert attributes["SqsManagedSseEnabled"] == "false", output
    for output in ("IndexTableName", "IdempotencyTableName"):
        table = dynamodb.describe_table(TableName=cloud.outputs[output])["Table"]
        assert table["SSEDescription"] == {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": key_arn}
