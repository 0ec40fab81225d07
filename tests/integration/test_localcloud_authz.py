"""The local cloud's IAM (localcloud.authz) on the real emulator: a role's credentials from STS, each
kind of denial with the service's own error, anonymous S3 requests, and the administrator's key."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud.authz import deliveries
from localcloud.authz.denials import DENIALS
from localcloud.authz.identity import role_credentials
from localcloud.server import Emulator, free_port

REGION = "us-east-1"
ACCOUNT = "123456789012"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    server = Emulator(port=free_port())
    server.start()
    yield server
    server.stop()


def client(emulator: Emulator, service: str, credentials: dict[str, str] | None = None) -> Any:
    creds = credentials or {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    make: Any = boto3.client
    return make(
        service,
        endpoint_url=emulator.endpoint,
        region_name=REGION,
        aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=creds.get("AWS_SESSION_TOKEN"),
        config=Config(signature_version="s3v4", retries={"max_attempts": 1}),
    )


def role(emulator: Emulator, statements: list[dict[str, Any]]) -> tuple[str, dict[str, str]]:
    """A role with one inline policy, and credentials for it from the emulator's STS."""
    iam = client(emulator, "iam")
    name = f"fn-{uuid.uuid4().hex[:8]}"
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    policy = {"Version": "2012-10-17", "Statement": statements}
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(policy))
    return arn, role_credentials(arn, name, emulator.endpoint, REGION)


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def kms_bucket(s3: Any, prefix: str, key: str) -> str:
    """A new bucket whose default encryption is SSE-KMS with `key`."""
    bucket = f"{prefix}-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [rule]})
    return bucket


def test_an_identity_policy_missing_an_action_is_denied_with_each_services_error(emulator: Emulator) -> None:
    bucket, table = f"b-{uuid.uuid4().hex[:8]}", f"t-{uuid.uuid4().hex[:8]}"
    client(emulator, "s3").create_bucket(Bucket=bucket)
    ddb = client(emulator, "dynamodb")
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    _, creds = role(
        emulator,
        [
            {
                "Sid": "Read",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": f"arn:aws:s3:::{bucket}/uploads/*",
            },
            {
                "Sid": "Items",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
                "Resource": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}",
            },
        ],
    )
    s3 = client(emulator, "s3", creds)
    s3.put_object(Bucket=bucket, Key="uploads/a", Body=b"x")
    assert s3.get_object(Bucket=bucket, Key="uploads/a")["Body"].read() == b"x"
    before = DENIALS.count
    with pytest.raises(ClientError) as denied:
        s3.put_object(Bucket=bucket, Key="elsewhere/a", Body=b"x")
    assert (
        code(denied) == "AccessDenied" and denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    )
    assert "s3:PutObject" in denied.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as listed:
        s3.list_objects_v2(Bucket=bucket)
    assert code(listed) == "AccessDenied"
    table_client = client(emulator, "dynamodb", creds)
    table_client.put_item(TableName=table, Item={"id": {"S": "1"}})
    with pytest.raises(ClientError) as deleted:
        table_client.delete_item(TableName=table, Key={"id": {"S": "1"}})
    assert code(deleted) == "AccessDeniedException"
    assert "dynamodb:DeleteItem" in deleted.value.response["Error"]["Message"]
    assert DENIALS.count == before + 3
    served = requests.get(f"{emulator.endpoint}/_localcloud/denials", timeout=10).json()
    assert served["count"] == DENIALS.count and served["recent"][-1]["action"] == "dynamodb:DeleteItem"
    # The local administrator's key is not evaluated.
    client(emulator, "dynamodb").delete_item(TableName=table, Key={"id": {"S": "1"}})


def test_a_resource_policy_missing_the_principal_is_denied(emulator: Emulator) -> None:
    sns = client(emulator, "sns")
    role_arn, creds = role(emulator, [{"Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"}])
    named, other = (sns.create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"] for _ in range(2))
    for topic, principal in ((named, role_arn), (other, f"arn:aws:iam::{ACCOUNT}:role/someone-else")):
        policy = {
            "Statement": [
                {
                    "Sid": "Publishers",
                    "Effect": "Allow",
                    "Principal": {"AWS": principal},
                    "Action": "sns:Publish",
                    "Resource": topic,
                }
            ]
        }
        sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(policy))
    publisher = client(emulator, "sns", creds)
    publisher.publish(TopicArn=named, Message="allowed by the topic policy")
    with pytest.raises(ClientError) as denied:
        publisher.publish(TopicArn=other, Message="no statement names this role")
    assert code(denied) == "AuthorizationError"


def test_a_key_policy_that_does_not_delegate_to_iam_denies_an_sse_kms_write(emulator: Emulator) -> None:
    kms, s3 = client(emulator, "kms"), client(emulator, "s3")
    someone = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/someone-else"},
        "Action": "kms:*",
        "Resource": "*",
    }
    root = {
        "Sid": "EnableIamPolicies",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    buckets = {}
    for name, statements in (("closed", [someone]), ("delegating", [root])):
        key = kms.create_key(Policy=json.dumps({"Statement": statements}))["KeyMetadata"]["Arn"]
        buckets[name] = kms_bucket(s3, name, key)
    _, creds = role(
        emulator,
        [
            {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "arn:aws:s3:::*/*"},
            {
                "Sid": "ViaS3",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}},
            },
        ],
    )
    writer = client(emulator, "s3", creds)
    writer.put_object(Bucket=buckets["delegating"], Key="k", Body=b"x")
    assert writer.get_object(Bucket=buckets["delegating"], Key="k")["Body"].read() == b"x"
    with pytest.raises(ClientError) as denied:
        writer.put_object(Bucket=buckets["closed"], Key="k", Body=b"x")
    assert (
        code(denied) == "AccessDenied" and "kms:GenerateDataKey" in denied.value.response["Error"]["Message"]
    )


def test_presigned_urls_are_evaluated_as_the_role_that_signed_them(emulator: Emulator) -> None:
    bucket = f"p-{uuid.uuid4().hex[:8]}"
    client(emulator, "s3").create_bucket(Bucket=bucket)
    _, creds = role(
        emulator,
        [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/uploads/*"}],
    )
    signer = client(emulator, "s3", creds)
    allowed = signer.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "uploads/a"})
    assert requests.put(allowed, data=b"x", timeout=10).status_code == 200
    refused = signer.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "other/a"})
    response = requests.put(refused, data=b"x", timeout=10)
    assert response.status_code == 403 and b"<Code>AccessDenied</Code>" in response.content
    post = signer.generate_presigned_post(bucket, "other/${filename}")
    response = requests.post(post["url"], data=post["fields"], files={"file": ("f.png", b"x")}, timeout=10)
    assert response.status_code == 403 and b"<Code>AccessDenied</Code>" in response.content


def test_anonymous_requests_are_denied_with_s3s_xml_error(emulator: Emulator) -> None:
    bucket = f"anon-{uuid.uuid4().hex[:8]}"
    s3 = client(emulator, "s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="uploads/u1/a.png", Body=b"secret")
    url = f"{emulator.endpoint}/{bucket}"
    put = requests.put(f"{url}/uploads/u2/b.png", data=b"x", timeout=10)
    listed = requests.get(f"{url}?list-type=2", timeout=10)
    got = requests.get(f"{url}/uploads/u1/a.png", timeout=10)
    posted = requests.post(url, data={"key": "uploads/x"}, files={"file": ("f", b"x")}, timeout=10)
    for response in (put, listed, got, posted):
        assert response.status_code == 403
        assert response.headers["Content-Type"] == "application/xml"
        assert b"<Code>AccessDenied</Code><Message>Access Denied</Message>" in response.content
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["uploads/u1/a.png"]  # the unsigned PUT and POST stored nothing


def test_enforcement_can_be_turned_off(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = f"off-{uuid.uuid4().hex[:8]}"
    client(emulator, "s3").create_bucket(Bucket=bucket)
    monkeypatch.setattr(emulator.authorization, "enforce", False)
    assert requests.put(f"{emulator.endpoint}/{bucket}/k", data=b"x", timeout=10).status_code == 200


def _queue(emulator: Emulator, source_topic: str, key: str | None = None) -> tuple[str, str]:
    sqs = client(emulator, "sqs")
    name = f"q-{uuid.uuid4().hex[:8]}"
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
    statement = {
        "Sid": "AllowSourceTopic",
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": source_topic}},
    }
    attributes = {"Policy": json.dumps({"Statement": [statement]})}
    if key:
        attributes["KmsMasterKeyId"] = key
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return arn, url


def test_deliveries_are_evaluated_against_the_queue_and_key_policies(emulator: Emulator) -> None:
    sns, sqs, kms = client(emulator, "sns"), client(emulator, "sqs"), client(emulator, "kms")
    topic = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"]
    named_arn, named = _queue(emulator, topic)
    other_arn, other = _queue(emulator, f"arn:aws:sns:{REGION}:{ACCOUNT}:another-topic")
    root = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    key = kms.create_key(Policy=json.dumps({"Statement": [root]}))["KeyMetadata"]["Arn"]  # no SNS statement
    keyed_arn, keyed = _queue(emulator, topic, key)
    for arn in (named_arn, other_arn, keyed_arn):
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    before = DENIALS.count
    sns.publish(TopicArn=topic, Message="hello")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=named).get("Messages", [])] == ["hello"]
    assert sqs.receive_message(QueueUrl=other).get("Messages", []) == []  # SourceArn names another topic
    assert sqs.receive_message(QueueUrl=keyed).get("Messages", []) == []  # the key policy lacks SNS
    recent = DENIALS.snapshot()["recent"][-2:]
    assert DENIALS.count == before + 2
    assert {(d["principal"], d["action"]) for d in recent} == {
        ("sns.amazonaws.com", "sqs:SendMessage"),
        ("sns.amazonaws.com", "kms:GenerateDataKey"),
    }


def test_s3_notifications_need_the_topic_policy_to_name_the_bucket(emulator: Emulator) -> None:
    s3, sns, sqs = client(emulator, "s3"), client(emulator, "sns"), client(emulator, "sqs")
    results = {}
    for case in ("named", "other"):
        bucket = f"{case}-{uuid.uuid4().hex[:8]}"
        s3.create_bucket(Bucket=bucket)
        topic = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"]
        source = f"arn:aws:s3:::{bucket if case == 'named' else 'some-other-bucket'}"
        policy = {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "s3.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": topic,
                    "Condition": {
                        "ArnEquals": {"aws:SourceArn": source},
                        "StringEquals": {"aws:SourceAccount": ACCOUNT},
                    },
                }
            ]
        }
        sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(policy))
        queue_arn, url = _queue(emulator, topic)
        sns.subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
        )
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "TopicConfigurations": [{"TopicArn": topic, "Events": ["s3:ObjectCreated:*"]}]
            },
        )
        sqs.purge_queue(QueueUrl=url)  # the s3:TestEvent
        s3.put_object(Bucket=bucket, Key="uploads/a", Body=b"x")
        results[case] = sqs.receive_message(QueueUrl=url).get("Messages", [])
    assert len(results["named"]) == 1 and "ObjectCreated" in results["named"][0]["Body"]
    assert results["other"] == []
    assert DENIALS.snapshot()["recent"][-1]["principal"] == "s3.amazonaws.com"


def test_alarm_notifications_need_the_topic_policy_to_name_the_alarm(emulator: Emulator) -> None:
    sns = client(emulator, "sns")
    topic = sns.create_topic(Name=f"ops-{uuid.uuid4().hex[:8]}")["TopicArn"]
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic,
                "Condition": {
                    "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:intake-*"},
                    "StringEquals": {"aws:SourceAccount": ACCOUNT},
                },
            }
        ]
    }
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(policy))
    before = DENIALS.count
    assert deliveries.alarm_may_publish(topic, "intake-ThumbnailDLQDepthAlarm")
    assert not deliveries.alarm_may_publish(topic, "someone-elses-alarm")
    assert DENIALS.count == before + 1
    denial = DENIALS.snapshot()["recent"][-1]
    assert (denial["principal"], denial["action"]) == ("cloudwatch.amazonaws.com", "sns:Publish")


def test_cloudfront_origin_reads_need_the_bucket_and_key_policies(emulator: Emulator) -> None:
    """As CloudFront's origin access control reads: cloudfront.amazonaws.com, aws:SourceArn = the
    distribution; GetObject from the bucket policy, Decrypt of an SSE-KMS object from the key policy."""
    s3, kms = client(emulator, "s3"), client(emulator, "kms")
    ours = f"arn:aws:cloudfront::{ACCOUNT}:distribution/EOURS"
    theirs = f"arn:aws:cloudfront::{ACCOUNT}:distribution/ETHEIRS"
    cloudfront = {"Service": "cloudfront.amazonaws.com"}
    root = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    oac_decrypt = {
        "Effect": "Allow",
        "Principal": cloudfront,
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/EOURS"}},
    }
    keys = {
        name: kms.create_key(Policy=json.dumps({"Statement": statements}))["KeyMetadata"]["Arn"]
        for name, statements in (("open", [root, oac_decrypt]), ("closed", [root]))
    }
    bucket = f"cdn-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    for name, key in keys.items():
        s3.put_object(
            Bucket=bucket, Key=f"files/{name}", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key
        )
    s3.put_object(Bucket=bucket, Key="private/plain", Body=b"x")
    read = {
        "Sid": "AllowCloudFrontRead",
        "Effect": "Allow",
        "Principal": cloudfront,
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/files/*",
        "Condition": {"StringEquals": {"AWS:SourceArn": ours}},
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Statement": [read]}))

    def may(key: str, source: str = ours, head: bool = False) -> bool:
        return deliveries.cloudfront_may_read(source, ACCOUNT, bucket, key, head=head)

    before = DENIALS.count
    assert may("files/open")
    assert not may("files/open", theirs)  # the policy names another distribution
    assert not may("private/plain")  # no statement for this prefix
    assert not may("files/closed")  # the key policy does not allow CloudFront
    assert may("files/closed", head=True)  # a HEAD decrypts nothing
    assert not may("files/missing")  # no s3:ListBucket: S3 answers 403, not 404
    assert DENIALS.count == before + 4
    assert [(d["principal"], d["action"]) for d in DENIALS.snapshot()["recent"][-4:]] == [
        ("cloudfront.amazonaws.com", "s3:GetObject"),
        ("cloudfront.amazonaws.com", "s3:GetObject"),
        ("cloudfront.amazonaws.com", "kms:Decrypt"),
        ("cloudfront.amazonaws.com", "s3:ListBucket"),
    ]


def test_multipart_uploads_are_evaluated_action_by_action(emulator: Emulator) -> None:
    """As AWS documents them: CreateMultipartUpload, UploadPart (presigned too) and Complete are
    s3:PutObject, ListParts s3:ListMultipartUploadParts, Abort s3:AbortMultipartUpload; to an SSE-KMS
    bucket the create needs kms:GenerateDataKey and each part (and the completion) kms:Decrypt, via S3."""
    kms, s3 = client(emulator, "kms"), client(emulator, "s3")
    key = kms.create_key()["KeyMetadata"]["Arn"]  # the default key policy delegates to IAM
    bucket = kms_bucket(s3, "mp", key)
    objects = f"arn:aws:s3:::{bucket}/uploads/*"
    via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}
    put = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": objects}
    generate = {"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": key, "Condition": via_s3}
    decrypt = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key, "Condition": via_s3}
    list_parts = {"Effect": "Allow", "Action": "s3:ListMultipartUploadParts", "Resource": objects}
    abort = {"Effect": "Allow", "Action": "s3:AbortMultipartUpload", "Resource": objects}
    part = b"p" * (5 * 1024 * 1024)

    def denied_action(statements: list[dict[str, Any]], call: str) -> str | None:
        signer = client(emulator, "s3", role(emulator, statements)[1])
        started = s3.create_multipart_upload(Bucket=bucket, Key="uploads/a")["UploadId"]
        args = {"Bucket": bucket, "Key": "uploads/a", "UploadId": started}
        etag = s3.upload_part(**args, PartNumber=1, Body=part)["ETag"]
        try:
            if call == "create":
                signer.create_multipart_upload(Bucket=bucket, Key="uploads/b")
            elif call == "presigned part":
                url = signer.generate_presigned_url("upload_part", Params={**args, "PartNumber": 2})
                answer = requests.put(url, data=b"last", timeout=10)
                if answer.status_code == 403:
                    return answer.text.split("<Message>", 1)[1].split("</Message>", 1)[0]
                assert answer.status_code == 200, answer.text
            elif call == "list":
                signer.list_parts(**args)
            elif call == "complete":
                signer.complete_multipart_upload(
                    **args, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]}
                )
            elif call == "abort":
                signer.abort_multipart_upload(**args)
        except ClientError as error:
            assert error.response["Error"]["Code"] == "AccessDenied"
            return str(error.response["Error"]["Message"])
        return None

    everything = [put, generate, decrypt, list_parts, abort]
    for call in ("create", "presigned part", "list", "complete", "abort"):
        assert denied_action(everything, call) is None, call
    for call, without, action in [
        ("create", put, "s3:PutObject"),
        ("create", generate, "kms:GenerateDataKey"),
        ("presigned part", put, "s3:PutObject"),
        ("presigned part", decrypt, "kms:Decrypt"),
        ("complete", put, "s3:PutObject"),
        ("complete", decrypt, "kms:Decrypt"),
        ("list", list_parts, "s3:ListMultipartUploadParts"),
        ("abort", abort, "s3:AbortMultipartUpload"),
    ]:
        message = denied_action([s for s in everything if s is not without], call)
        assert message is not None and action in message, (call, action, message)
    assert denied_action([s for s in everything if s is not generate], "presigned part") is None


def test_decrypt_without_a_key_id_is_evaluated_against_the_key_the_ciphertext_names(
    emulator: Emulator,
) -> None:
    kms = client(emulator, "kms")
    other = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/someone-else"},
        "Action": "kms:*",
        "Resource": "*",
    }
    closed = kms.create_key(Policy=json.dumps({"Statement": [other]}))["KeyMetadata"]["Arn"]
    blob = kms.encrypt(KeyId=closed, Plaintext=b"secret")["CiphertextBlob"]
    # The identity policy allows Decrypt on every key; the key policy neither names nor delegates.
    _, creds = role(emulator, [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}])
    with pytest.raises(ClientError) as denied:
        client(emulator, "kms", creds).decrypt(CiphertextBlob=blob)
    assert code(denied) == "AccessDeniedException"
    assert closed in denied.value.response["Error"]["Message"]


def test_a_key_sts_did_not_issue_gets_each_services_invalid_token_error(emulator: Emulator) -> None:
    bucket = f"k-{uuid.uuid4().hex[:8]}"
    client(emulator, "s3").create_bucket(Bucket=bucket)
    stranger = {"AWS_ACCESS_KEY_ID": "AKIANOTISSUEDBYSTS00", "AWS_SECRET_ACCESS_KEY": "x"}
    calls = {
        "InvalidAccessKeyId": lambda: client(emulator, "s3", stranger).list_objects_v2(Bucket=bucket),
        "UnrecognizedClientException": lambda: client(emulator, "dynamodb", stranger).list_tables(),
        "InvalidClientTokenId": lambda: client(emulator, "sts", stranger).get_caller_identity(),
    }
    for expected, call in calls.items():
        with pytest.raises(ClientError) as refused:
            call()
        assert code(refused) == expected
    with pytest.raises(ClientError) as refused:
        client(emulator, "sqs", stranger).list_queues()
    assert code(refused) == "InvalidClientTokenId"
    with pytest.raises(ClientError) as refused:
        client(emulator, "kms", stranger).list_keys()
    assert code(refused) == "UnrecognizedClientException"
    # The local test key is the administrator.
    assert client(emulator, "sts").get_caller_identity()["Account"] == ACCOUNT


def test_unsigned_requests_need_a_signature_unless_aws_serves_them_unsigned(emulator: Emulator) -> None:
    from botocore import UNSIGNED

    unsigned = Config(signature_version=UNSIGNED, retries={"max_attempts": 1})

    def anonymous(service: str) -> Any:
        make: Any = boto3.client
        return make(service, endpoint_url=emulator.endpoint, region_name=REGION, config=unsigned)

    with pytest.raises(ClientError) as refused:
        anonymous("dynamodb").list_tables()
    assert code(refused) == "MissingAuthenticationTokenException"
    with pytest.raises(ClientError) as refused:
        anonymous("sns").list_topics()
    assert code(refused) == "MissingAuthenticationToken"
    with pytest.raises(ClientError) as refused:
        anonymous("cognito-idp").list_user_pools(MaxResults=1)
    assert code(refused) == "MissingAuthenticationTokenException"
    # Cognito's sign-in, and the JWKS, are unsigned by design.
    idp = client(emulator, "cognito-idp")
    pool = idp.create_user_pool(PoolName=f"p-{uuid.uuid4().hex[:6]}")["UserPool"]["Id"]
    app = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="web", ExplicitAuthFlows=["USER_PASSWORD_AUTH"]
    )
    client_id = app["UserPoolClient"]["ClientId"]
    anonymous("cognito-idp").sign_up(ClientId=client_id, Username="a@example.com", Password="Passw0rd!x")
    with pytest.raises(ClientError) as refused:  # Cognito's own answer, not the local cloud's
        anonymous("cognito-idp").initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "a@example.com", "PASSWORD": "wrong"},
        )
    assert code(refused) in ("NotAuthorizedException", "UserNotConfirmedException")
    jwks = requests.get(f"{emulator.endpoint}/{pool}/.well-known/jwks.json", timeout=10)
    assert jwks.status_code == 200 and "keys" in jwks.json()
