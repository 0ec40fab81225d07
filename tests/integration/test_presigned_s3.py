"""Presigned requests against the local cloud's emulator (moto behind localcloud.s3_presign), made
with boto3's presigners and sent with requests, as a browser or the CLI sends them.

Every refused upload is checked to have stored nothing. Expiry is tested by moving the checks' clock
ahead, not by sleeping.
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from localcloud.deploy import client as deploy_client
from localcloud.s3_presign.middleware import utc_now
from localcloud.server import Emulator, free_port

ORIGIN = "http://127.0.0.1:3000"  # the upload page's origin, as the template's WebOrigin
REGION = "us-east-1"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def s3_client(endpoint: str, key: str = "test", secret: str = "test") -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(signature_version="s3v4"),
    )


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    server = Emulator(port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def s3(emulator: Emulator) -> Any:
    return s3_client(emulator.endpoint)


def upload_bucket(s3: Any, prefix: str) -> str:
    """A new bucket with the upload bucket's CORS rule (infra/cloudformation/intake.yaml)."""
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    rule = {
        "AllowedOrigins": [ORIGIN],
        "AllowedMethods": ["GET", "PUT", "POST", "HEAD"],
        "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag"],
        "MaxAgeSeconds": 3000,
    }
    s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": [rule]})
    return name


@pytest.fixture(scope="module")
def bucket(s3: Any) -> str:
    return upload_bucket(s3, "presign")


@pytest.fixture
def prefix() -> str:
    return f"uploads/owner/{uuid.uuid4().hex}/"


@pytest.fixture
def late(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Moves the checks' clock that many seconds ahead of real time."""

    def move(seconds: float) -> None:
        monkeypatch.setattr(emulator.presign_checks, "clock", lambda: utc_now() + timedelta(seconds=seconds))

    return move


def stored(s3: Any, bucket: str, prefix: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def absent(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        return error.response["Error"]["Code"] == "404"
    return False


def error_code(response: requests.Response) -> str:
    return response.text.split("<Code>", 1)[1].split("</Code>", 1)[0]


# --- presigned POST --------------------------------------------------------------------------------


def presign_post(s3: Any, bucket: str, key: str, max_size: int = 2048, expires: int = 300) -> dict[str, Any]:
    """What the API hands out: exact key, Content-Type, metadata and a size range."""
    fields = {"Content-Type": "image/png", "x-amz-meta-owner": "owner", "x-amz-meta-upload-id": "u1"}
    conditions: list[Any] = [{name: value} for name, value in fields.items()]
    conditions.append(["content-length-range", 1, max_size])
    post: dict[str, Any] = s3.generate_presigned_post(
        bucket, key, Fields=fields, Conditions=conditions, ExpiresIn=expires
    )
    return post


def send(post: dict[str, Any], body: bytes = PNG, **changes: str) -> requests.Response:
    fields = {**post["fields"], **changes}
    return requests.post(
        post["url"],
        data=fields,
        files={"file": ("photo.png", body, "image/png")},
        headers={"Origin": ORIGIN},
        timeout=30,
    )


def test_valid_post_is_stored_and_answered_as_s3_does(s3: Any, bucket: str, prefix: str) -> None:
    key = f"{prefix}photo.png"
    response = send(presign_post(s3, bucket, key))
    assert response.status_code == 204, response.text
    head = s3.head_object(Bucket=bucket, Key=key)
    assert response.headers["ETag"] == head["ETag"]
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Expose-Headers"] == "ETag"
    assert head["ContentType"] == "image/png"
    assert head["ContentLength"] == len(PNG)
    assert head["Metadata"] == {"owner": "owner", "upload-id": "u1"}
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == PNG


def test_post_with_success_action_status_201(s3: Any, bucket: str, prefix: str) -> None:
    key = f"{prefix}photo.png"
    post = s3.generate_presigned_post(
        bucket, key, Fields={"success_action_status": "201"}, Conditions=[{"success_action_status": "201"}]
    )
    response = requests.post(post["url"], data=post["fields"], files={"file": ("p.png", PNG)}, timeout=30)
    assert response.status_code == 201
    assert f"<Key>{key}</Key>" in response.text
    assert f"<Bucket>{bucket}</Bucket>" in response.text
    assert stored(s3, bucket, prefix) == [key]


def tampered_policy(post: dict[str, Any]) -> str:
    """The policy with its exact key loosened to any key, left with the original signature."""
    document = json.loads(base64.b64decode(post["fields"]["policy"]))
    document["conditions"] = [
        ["starts-with", "$key", ""] if isinstance(c, dict) and "key" in c else c
        for c in document["conditions"]
    ]
    return base64.b64encode(json.dumps(document).encode()).decode()


@pytest.mark.parametrize(
    ("case", "status", "code", "message"),
    [
        ("oversize body", 400, "EntityTooLarge", "exceeds the maximum allowed size"),
        ("empty body", 400, "EntityTooSmall", "smaller than the minimum allowed size"),
        ("other key", 403, "AccessDenied", 'Policy Condition failed: ["eq", "$key"'),
        (
            "other Content-Type",
            403,
            "AccessDenied",
            'Policy Condition failed: ["eq", "$Content-Type", "image/png"]',
        ),
        (
            "other metadata",
            403,
            "AccessDenied",
            'Policy Condition failed: ["eq", "$x-amz-meta-owner", "owner"]',
        ),
        ("extra unsigned field", 403, "AccessDenied", "Extra input fields: x-amz-meta-role"),
        ("tampered policy", 403, "SignatureDoesNotMatch", "does not match the signature you provided"),
        ("tampered signature", 403, "SignatureDoesNotMatch", "does not match the signature you provided"),
        ("expired", 403, "AccessDenied", "Invalid according to Policy: Policy expired."),
    ],
)
def test_refused_post_stores_nothing(
    s3: Any,
    bucket: str,
    prefix: str,
    late: Callable[[float], None],
    case: str,
    status: int,
    code: str,
    message: str,
) -> None:
    key = f"{prefix}photo.png"
    post = presign_post(s3, bucket, key, max_size=len(PNG), expires=60)
    body, changes = PNG, {}
    if case == "oversize body":
        body = PNG + b"!"
    elif case == "empty body":
        body = b""
    elif case == "other key":
        changes = {"key": f"{prefix}../other/photo.png"}
    elif case == "other Content-Type":
        changes = {"Content-Type": "text/html"}
    elif case == "other metadata":
        changes = {"x-amz-meta-owner": "someone-else"}
    elif case == "extra unsigned field":
        changes = {"x-amz-meta-role": "admin"}
    elif case == "tampered policy":
        changes = {"policy": tampered_policy(post), "key": f"{prefix}anything.png"}
    elif case == "tampered signature":
        signature = post["fields"]["x-amz-signature"]
        changes = {"x-amz-signature": ("0" if signature[0] != "0" else "1") + signature[1:]}
    elif case == "expired":
        late(61)
    response = send(post, body, **changes)
    assert (response.status_code, error_code(response)) == (status, code), response.text
    assert message in response.text
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN  # the page can read why
    assert stored(s3, bucket, prefix) == []
    assert absent(s3, bucket, key)


def test_post_signed_with_an_unknown_key_is_refused(
    emulator: Emulator, bucket: str, prefix: str, s3: Any
) -> None:
    stranger = s3_client(emulator.endpoint, "AKIASTRANGER", "secret")
    response = send(presign_post(stranger, bucket, f"{prefix}photo.png"))
    assert (response.status_code, error_code(response)) == (403, "InvalidAccessKeyId")
    assert stored(s3, bucket, prefix) == []


def test_post_signed_with_the_local_clouds_own_key_is_accepted(
    emulator: Emulator, bucket: str, prefix: str, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIALOCALCLOUD")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local-secret")
    signer = s3_client(emulator.endpoint, "AKIALOCALCLOUD", "local-secret")
    assert send(presign_post(signer, bucket, f"{prefix}photo.png")).status_code == 204
    assert stored(s3, bucket, prefix) == [f"{prefix}photo.png"]


# --- presigned PUT and GET -------------------------------------------------------------------------


def presign_put(s3: Any, bucket: str, key: str, expires: int = 300) -> tuple[str, dict[str, str]]:
    """A presigned PUT and the headers the client must send (what the API hands out with ?method=PUT)."""
    url: str = s3.generate_presigned_url(
        "put_object",
        Params={
            "Bucket": bucket,
            "Key": key,
            "ContentType": "image/png",
            "ContentLength": len(PNG),
            "Metadata": {"owner": "owner"},
        },
        ExpiresIn=expires,
    )
    return url, {"Content-Type": "image/png", "x-amz-meta-owner": "owner"}


def test_valid_put_and_get(s3: Any, bucket: str, prefix: str) -> None:
    key = f"{prefix}a b+ü.png"  # a key that needs encoding
    url, headers = presign_put(s3, bucket, key)
    response = requests.put(url, data=PNG, headers={**headers, "Origin": ORIGIN}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert s3.head_object(Bucket=bucket, Key=key)["Metadata"] == {"owner": "owner"}
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=60)
    got = requests.get(get_url, timeout=30)
    assert (got.status_code, got.content) == (200, PNG)


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("expired", 403, "AccessDenied"),
        ("other Content-Type", 403, "SignatureDoesNotMatch"),
        ("oversize body", 403, "SignatureDoesNotMatch"),
        ("other key", 403, "SignatureDoesNotMatch"),
        ("tampered signature", 403, "SignatureDoesNotMatch"),
        ("unsigned metadata", 403, "AccessDenied"),
        ("expires over a week", 400, "AuthorizationQueryParametersError"),
    ],
)
def test_refused_put_stores_nothing(
    s3: Any, bucket: str, prefix: str, late: Callable[[float], None], case: str, status: int, code: str
) -> None:
    key = f"{prefix}photo.png"
    url, headers = presign_put(s3, bucket, key, expires=60)
    body = PNG
    if case == "expired":
        late(61)
    elif case == "other Content-Type":
        headers["Content-Type"] = "text/html"
    elif case == "oversize body":
        body = PNG + b"!"  # Content-Length is signed
    elif case == "other key":
        url = url.replace("photo.png", "other.png")
    elif case == "tampered signature":
        url = url[:-1] + ("0" if url[-1] != "0" else "1")
    elif case == "unsigned metadata":
        headers["x-amz-meta-role"] = "admin"
    elif case == "expires over a week":
        url = url.replace("X-Amz-Expires=60&", "X-Amz-Expires=604801&")
    response = requests.put(url, data=body, headers=headers, timeout=30)
    assert (response.status_code, error_code(response)) == (status, code), response.text
    assert stored(s3, bucket, prefix) == []


def test_expired_or_tampered_get_is_refused(
    s3: Any, bucket: str, prefix: str, late: Callable[[float], None]
) -> None:
    key = f"{prefix}photo.png"
    s3.put_object(Bucket=bucket, Key=key, Body=PNG)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=60)
    tampered = requests.get(url.replace("X-Amz-Expires=60", "X-Amz-Expires=600"), timeout=30)
    assert (tampered.status_code, error_code(tampered)) == (403, "SignatureDoesNotMatch")
    late(120)
    expired = requests.get(url, timeout=30)
    assert (expired.status_code, error_code(expired)) == (403, "AccessDenied")
    assert "<Message>Request has expired</Message>" in expired.text
    assert "<X-Amz-Expires>60</X-Amz-Expires>" in expired.text


def test_sigv2_presigned_url_is_refused_clearly(emulator: Emulator, bucket: str, s3: Any) -> None:
    v2 = boto3.client(
        "s3",
        endpoint_url=emulator.endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(signature_version="s3"),
    )
    url = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "any"}, ExpiresIn=60)
    response = requests.get(url, timeout=30)
    assert (response.status_code, error_code(response)) == (400, "InvalidRequest")
    assert "Please use AWS4-HMAC-SHA256" in response.text


# --- what must keep working unchanged --------------------------------------------------------------


def test_sdk_calls_are_unaffected(
    s3: Any, bucket: str, prefix: str, late: Callable[[float], None], emulator: Emulator
) -> None:
    late(10 * 24 * 3600)  # header-signed calls are the emulator's business, whatever the clock
    s3.put_object(Bucket=bucket, Key=f"{prefix}sdk.png", Body=PNG, ContentType="image/png")
    assert s3.get_object(Bucket=bucket, Key=f"{prefix}sdk.png")["Body"].read() == PNG
    s3.delete_object(Bucket=bucket, Key=f"{prefix}sdk.png")
    assert stored(s3, bucket, prefix) == []


def test_other_services_are_unaffected(emulator: Emulator) -> None:
    def client(service: str) -> Any:
        return deploy_client(service, emulator.endpoint)

    sqs = client("sqs")
    queue = sqs.create_queue(QueueName=f"presign-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="hello")
    assert sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"] == "hello"
    ddb = client("dynamodb")
    assert "TableNames" in ddb.list_tables()
    idp = client("cognito-idp")
    pool = idp.create_user_pool(PoolName=f"presign-{uuid.uuid4().hex[:8]}")["UserPool"]["Id"]
    app = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="web", ExplicitAuthFlows=["USER_PASSWORD_AUTH"]
    )
    client_id = app["UserPoolClient"]["ClientId"]
    # The page's unsigned call, cross-origin, as fetch sends it.
    response = requests.post(
        f"{emulator.endpoint}/",
        data=json.dumps(
            {
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": client_id,
                "AuthParameters": {"USERNAME": "nobody", "PASSWORD": "x"},
            }
        ),
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
            "Origin": ORIGIN,
        },
        timeout=30,
    )
    assert response.status_code == 400
    assert "UserNotFoundException" in response.text
    assert response.headers["Access-Control-Allow-Origin"] == "*"


# --- CORS preflights -------------------------------------------------------------------------------


def test_preflights(emulator: Emulator, bucket: str) -> None:
    def preflight(path: str, origin: str, method: str = "POST", headers: str = "") -> requests.Response:
        asked = {"Origin": origin, "Access-Control-Request-Method": method}
        if headers:
            asked["Access-Control-Request-Headers"] = headers
        return requests.options(f"{emulator.endpoint}{path}", headers=asked, timeout=30)

    upload = preflight(f"/{bucket}", ORIGIN)
    assert upload.status_code == 200
    assert upload.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert upload.headers["Access-Control-Allow-Methods"] == "GET, PUT, POST, HEAD"
    assert upload.headers["Access-Control-Max-Age"] == "3000"
    put = preflight(f"/{bucket}/uploads/a.png", ORIGIN, "PUT", "content-type,x-amz-meta-owner")
    assert put.headers["Access-Control-Allow-Headers"] == "content-type, x-amz-meta-owner"
    assert preflight(f"/{bucket}", "http://evil.example").status_code == 403
    assert preflight(f"/{bucket}", ORIGIN, "DELETE").status_code == 403
    assert preflight("/no-such-bucket-here", ORIGIN).status_code == 403
    cognito = preflight("/", ORIGIN, "POST", "content-type,x-amz-target,x-amz-user-agent")
    assert cognito.status_code == 200
    assert cognito.headers["Access-Control-Allow-Origin"] == "*"
    assert "x-amz-target" in cognito.headers["Access-Control-Allow-Headers"]


# --- overhead --------------------------------------------------------------------------------------


def test_overhead_figures(s3: Any, bucket: str, prefix: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the median time of an SDK put_object and of a 5 MB presigned POST, with and without the
    checks (a bare moto server on another port shares the backend; runs alternate). No timing is asserted."""
    bare = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    bare.start()
    try:
        host, port = bare.get_host_and_port()
        clients = {"moto alone": s3_client(f"http://{host}:{port}"), "with the checks": s3}
        five_mb = os.urandom(5 * 1024 * 1024)

        def sdk_put(client: Any, i: int) -> None:
            client.put_object(Bucket=bucket, Key=f"{prefix}sdk-{i}", Body=PNG)

        def post_5mb(client: Any, i: int) -> None:
            post = presign_post(client, bucket, f"{prefix}post-{i}", max_size=len(five_mb))
            response = requests.post(
                post["url"], data=post["fields"], files={"file": ("b", five_mb)}, timeout=60
            )
            assert response.status_code == 204, response.text

        figures: dict[str, dict[str, float]] = {}
        for name, action, repeat in (
            ("SDK put_object (1 KB)", sdk_put, 40),
            ("presigned POST (5 MB)", post_5mb, 6),
        ):
            times: dict[str, list[float]] = {label: [] for label in clients}
            for i in range(-1, repeat):  # -1 warms up
                for label, client in clients.items():
                    start = time.perf_counter()
                    action(client, i)
                    if i >= 0:
                        times[label].append((time.perf_counter() - start) * 1000)
            figures[name] = {label: statistics.median(values) for label, values in times.items()}
    finally:
        bare.stop()
    with capsys.disabled():
        for name, medians in figures.items():
            print(f"\n{name}, median ms: " + ", ".join(f"{label} {ms:.1f}" for label, ms in medians.items()))
