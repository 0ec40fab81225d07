"""The API function (functions/api/handler.py) on moto's mock_aws: every route, its 400s and 404s, the
presigned terms it hands out, and what it leaves in S3 and DynamoDB. Its download URLs (CloudFront,
signed with the key in Parameter Store): test_api_signed_urls.py."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import yaml
from moto import mock_aws

from intake import aws, parameters
from tests.support import signing
from tests.support.aws import REGION, ROOT, Context, load_handler, table_definition

UPLOADS, THUMBS, TABLE = "intake-uploads", "intake-thumbs", "intake-index"
SETTINGS_TABLE = "intake-user-settings"
OPENAPI = ROOT / "infra" / "cloudformation" / "openapi.yaml"
ORIGIN = "http://127.0.0.1:3000"
MAX_BYTES = 5000
ALICE, BOB = "11111111-aaaa-4aaa-8aaa-111111111111", "22222222-bbbb-4bbb-8bbb-222222222222"
# The distribution the API signs download URLs for, and its signing key (a SecureString parameter).
CDN = "https://d111111abcdef8.cloudfront.net"
KEY_PAIR_ID = "K2JCJMDEHXQW5F"
PARAMETER = "/intake/cloudfront/signing-key-a"


@dataclass
class Api:
    handler: ModuleType
    s3: Any
    dynamodb: Any

    def call(
        self,
        method: str,
        path: str,
        *,
        sub: str | None = ALICE,
        body: Any = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        base64_body: bool = False,
        email_verified: str | None = "true",
    ) -> tuple[int, Any, dict[str, str]]:
        resource = "/uploads/{upload_id}" if path.count("/") == 2 else "/uploads"
        path_parameters = {"upload_id": path.rsplit("/", 1)[1]} if resource.endswith("}") else None
        claims: dict[str, str] | None = None
        if sub:
            claims = {"sub": sub, "email": f"{sub}@example.com", "token_use": "id"}
            if email_verified is not None:
                claims["email_verified"] = email_verified
        event = {
            "resource": resource,
            "path": path,
            "httpMethod": method,
            "headers": headers or {},
            "multiValueHeaders": {k: [v] for k, v in (headers or {}).items()},
            "queryStringParameters": query,
            "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
            "pathParameters": path_parameters,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": resource,
                "httpMethod": method,
                "path": f"/v1{path}",
                "stage": "v1",
                "requestId": "r",
                "identity": {"sourceIp": "127.0.0.1"},
                **({"authorizer": {"claims": claims}} if claims else {}),
            },
            "body": body if isinstance(body, str) or body is None else json.dumps(body),
            "isBase64Encoded": base64_body,
        }
        result = self.handler.handler(event, Context())
        text = result.get("body") or ""
        headers = dict(result.get("headers") or {})
        headers.update({k: v[-1] for k, v in (result.get("multiValueHeaders") or {}).items() if v})
        return result["statusCode"], json.loads(text) if text else None, headers

    def create(self, sub: str = ALICE, **body: Any) -> dict[str, Any]:
        request = {"filename": "cat.jpg", "content_type": "image/jpeg", "size": 100} | body
        status, created, _ = self.call("POST", "/uploads", sub=sub, body=request)
        assert status == 201, created
        return created  # type: ignore[no-any-return]

    def items(self) -> list[dict[str, Any]]:
        return list(self.dynamodb.scan(TableName=TABLE)["Items"])  # tests may scan; the product never does

    def put_record(self, upload_id: str, owner: str, status: str, created_at: str) -> None:
        self.dynamodb.put_item(
            TableName=TABLE,
            Item={
                "upload_id": {"S": upload_id},
                "owner": {"S": owner},
                "filename": {"S": f"{upload_id}.jpg"},
                "key": {"S": f"uploads/{owner}/{upload_id}/{upload_id}.jpg"},
                "status": {"S": status},
                "status_reasons": {"L": []},
                "created_at": {"S": created_at},
                "updated_at": {"S": created_at},
                "tags": {"L": []},
                "rev": {"N": "0"},
            },
        )


def api_environment(**changes: str | None) -> dict[str, str]:
    """The API function's environment in these tests, with `changes` (None leaves a variable out)."""
    environment: dict[str, str | None] = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "INDEX_TABLE": TABLE,
        "USER_SETTINGS_TABLE": SETTINGS_TABLE,
        "UPLOAD_BUCKET": UPLOADS,
        "THUMBNAIL_BUCKET": THUMBS,
        "ALLOWED_CONTENT_TYPES": "image/jpeg,image/png",
        "MAX_UPLOAD_BYTES": str(MAX_BYTES),
        "WEB_ORIGIN": ORIGIN,
        "CDN_URL": CDN,
        "SIGNING_KEY_PAIR_ID": KEY_PAIR_ID,
        "SIGNING_KEY_PARAMETER": PARAMETER,
        # Only a refused multipart upload is announced (test_multipart_api.py, with a topic).
        "FINISHED_TOPIC_ARN": f"arn:aws:sns:{REGION}:123456789012:intake-finished",
        "POWERTOOLS_SERVICE_NAME": "api",
        "POWERTOOLS_METRICS_NAMESPACE": "Intake",
    }
    environment.update(changes)
    return {name: value for name, value in environment.items() if value is not None}


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    for name, value in api_environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        aws._client.cache_clear()
        parameters.secure_string.cache_clear()
        s3 = boto3.client("s3", region_name=REGION)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for bucket in (UPLOADS, THUMBS):
            s3.create_bucket(Bucket=bucket)
        dynamodb.create_table(TableName=TABLE, **table_definition("IndexTable"))
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name=PARAMETER, Value=signing.private_pem(), Type="SecureString"
        )
        dynamodb.create_table(TableName=SETTINGS_TABLE, **table_definition("UserSettingsTable"))
        yield Api(load_handler("api"), s3, dynamodb)
        aws._client.cache_clear()
        parameters.secure_string.cache_clear()


# --- POST /uploads --------------------------------------------------------------------------------


def test_post_presigns_a_form_that_pins_everything_and_records_the_upload(api: Api) -> None:
    before = time.time()
    created = api.create(
        filename="C:\\Users\\me\\My Cat.JPG", size=1234, metadata={"title": "Tigre", "tags": ["cat", "pet"]}
    )
    after = time.time()  # the bounds below use it: on a loaded machine the call may take seconds
    upload_id = created["upload_id"]
    key = f"uploads/{ALICE}/{upload_id}/My Cat.JPG"
    assert created["key"] == key
    form = created["upload"]
    assert form["method"] == "POST" and UPLOADS in form["url"]
    fields = form["fields"]
    assert fields["key"] == key and fields["Content-Type"] == "image/jpeg"
    assert fields["x-amz-meta-owner"] == ALICE and fields["x-amz-meta-upload-id"] == upload_id
    assert (fields["x-amz-meta-filename"], fields["x-amz-meta-tags"]) == ("My%20Cat.JPG", "cat,pet")

    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 1, 1234] in conditions
    assert {"key": key} in conditions and {"bucket": UPLOADS} in conditions
    for name in ("Content-Type", "x-amz-meta-owner", "x-amz-meta-upload-id", "x-amz-meta-filename"):
        assert {name: fields[name]} in conditions
    assert {"x-amz-meta-title": "Tigre"} in conditions and {"x-amz-meta-tags": "cat,pet"} in conditions
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"  # s3v4
    expires = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert int(before) + 300 <= expires.timestamp() <= after + 300
    assert int(before) + 300 <= datetime.fromisoformat(created["expires_at"]).timestamp() <= after + 300

    (record,) = api.items()
    assert record["upload_id"]["S"] == upload_id and record["status"]["S"] == "pending"
    assert record["owner"]["S"] == ALICE and record["owner_email"]["S"] == f"{ALICE}@example.com"
    assert record["declared_size"]["N"] == "1234" and record["title"]["S"] == "Tigre"


def test_put_variant_signs_type_length_and_metadata_headers(api: Api) -> None:
    status, created, _ = api.call(
        "POST",
        "/uploads",
        body={"filename": "a.png", "content_type": "image/png", "size": 77},
        query={"method": "PUT"},
    )
    assert status == 201
    upload = created["upload"]
    assert upload["method"] == "PUT"
    assert upload["headers"] == {
        "Content-Type": "image/png",
        "x-amz-meta-owner": ALICE,
        "x-amz-meta-upload-id": created["upload_id"],
        "x-amz-meta-filename": "a.png",
    }
    query = parse_qs(urlsplit(upload["url"]).query)
    assert query["X-Amz-Expires"] == ["300"]
    signed = query["X-Amz-SignedHeaders"][0].split(";")
    assert {"content-length", "content-type", "host", "x-amz-meta-owner", "x-amz-meta-upload-id"} <= set(
        signed
    )
    assert urlsplit(upload["url"]).path.endswith(f"/{created['key'].replace(' ', '%20')}")


@pytest.mark.parametrize(
    ("body", "query", "expected"),
    [
        ("{", None, "not valid JSON"),
        ({"filename": "a.gif", "content_type": "image/gif", "size": 1}, None, "'image/gif' is not allowed"),
        ({"filename": "a.jpg", "content_type": "image/jpeg", "size": MAX_BYTES + 1}, None, "byte limit"),
        ({"filename": "a.jpg", "content_type": "image/jpeg", "size": 0}, None, "at least 1 byte"),
        ({"filename": "a.jpg", "content_type": "image/jpeg"}, None, "size is required"),
        ({"filename": "a.jpg", "content_type": "image/jpeg", "size": 1}, {"method": "GET"}, "POST or PUT"),
        (
            {"filename": "a.jpg", "content_type": "image/jpeg", "size": 1, "metadata": {"title": "t" * 201}},
            None,
            "metadata.title is longer than 200",
        ),
    ],
)
def test_bad_requests_get_400_with_a_message_and_write_nothing(
    api: Api, body: Any, query: dict[str, str] | None, expected: str
) -> None:
    status, error, _ = api.call("POST", "/uploads", body=body, query=query)
    assert status == 400 and set(error) == {"message"} and expected in error["message"], error
    assert api.items() == []


def test_a_binary_body_is_a_bad_request_not_a_crash(api: Api) -> None:
    # API Gateway (and the local front) base64-encode a body that is not UTF-8.
    event_body = base64.b64encode(b"\xff\xfe{").decode()
    status, error, _ = api.call("POST", "/uploads", body=event_body, base64_body=True)
    assert (status, error) == (400, {"message": "the body is not valid JSON"})


def test_no_claims_is_401(api: Api) -> None:
    status, error, _ = api.call("GET", "/uploads", sub=None)
    assert (status, error) == (401, {"message": "Unauthorized"})


@pytest.mark.parametrize("verified", [None, "false", "False", "", "TRUE "])
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/uploads"), ("GET", "/uploads"), ("GET", "/uploads/x1"), ("DELETE", "/uploads/x1")],
)
def test_an_unverified_email_is_403_on_every_route_and_writes_nothing(
    api: Api, method: str, path: str, verified: str | None
) -> None:
    # The Cognito email change attack: the caller set their `email` to someone else's address, which
    # leaves email_verified false; Intake must not record (and later mail) that address.
    api.put_record("x1", ALICE, "ready", "2026-01-01T00:00:00.000Z")
    body = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 10} if method == "POST" else None
    status, error, _ = api.call(method, path, body=body, email_verified=verified)
    assert status == 403, error
    assert "email address is not verified" in error["message"]
    assert [i["upload_id"]["S"] for i in api.items()] == ["x1"]
    assert "Contents" not in api.s3.list_objects_v2(Bucket=UPLOADS)


def test_cors_headers_for_the_web_origin(api: Api) -> None:
    _, _, headers = api.call("GET", "/uploads", headers={"Origin": ORIGIN})
    assert headers.get("Access-Control-Allow-Origin") == ORIGIN
    _, _, headers = api.call("GET", "/uploads", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in headers


# --- GET /uploads ---------------------------------------------------------------------------------


def test_listing_is_the_callers_newest_first_in_pages(api: Api) -> None:
    for i in range(5):
        api.put_record(f"a{i}", ALICE, "ready" if i % 2 else "processing", f"2026-01-01T00:00:0{i}.000Z")
    api.put_record("b0", BOB, "ready", "2026-01-01T00:00:09.000Z")
    seen, cursor, pages = [], None, 0
    while True:
        status, page, _ = api.call(
            "GET", "/uploads", query={"limit": "2"} | ({"cursor": cursor} if cursor else {})
        )
        assert status == 200
        seen += [item["upload_id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ["a4", "a3", "a2", "a1", "a0"] and pages == 3
    item = api.call("GET", "/uploads", query={"limit": "1"})[1]["items"][0]
    assert set(item) >= {"upload_id", "filename", "status", "status_reasons", "created_at", "thumbnails"}
    assert "owner" not in item and "rev" not in item


def test_status_filter_fills_pages_and_resumes_after_the_last_item(api: Api) -> None:
    for i in range(12):
        api.put_record(
            f"u{i:02}", ALICE, "ready" if i in (1, 2, 9) else "rejected", f"2026-01-01T00:00:{i:02}.000Z"
        )
    _, page, _ = api.call("GET", "/uploads", query={"status": "ready", "limit": "2"})
    assert [i["upload_id"] for i in page["items"]] == ["u09", "u02"] and page["next_cursor"]
    _, page, _ = api.call(
        "GET", "/uploads", query={"status": "ready", "limit": "2", "cursor": page["next_cursor"]}
    )
    assert [i["upload_id"] for i in page["items"]] == ["u01"] and page["next_cursor"] is None
    assert api.call("GET", "/uploads", query={"status": "failed"})[1] == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "abc"},
        {"limit": "101"},
        {"status": "nope"},
        {"cursor": "%%%"},
        {"cursor": "e30"},
    ],
)
def test_bad_list_queries_are_400(api: Api, query: dict[str, str]) -> None:
    status, error, _ = api.call("GET", "/uploads", query=query)
    assert status == 400 and error["message"], error


def test_a_cursor_only_pages_its_own_owners_records(api: Api) -> None:
    for i in range(3):
        api.put_record(f"b{i}", BOB, "ready", f"2026-01-01T00:00:0{i}.000Z")
    bobs_cursor = api.call("GET", "/uploads", sub=BOB, query={"limit": "1"})[1]["next_cursor"]
    assert bobs_cursor
    status, error, _ = api.call("GET", "/uploads", sub=ALICE, query={"cursor": bobs_cursor})
    assert (status, error) == (400, {"message": "cursor is invalid"})


# --- GET and DELETE /uploads/{upload_id} -----------------------------------------------------------


def ready_upload(api: Api, owner: str = ALICE, upload_id: str = "f" * 32) -> str:
    key = f"uploads/{owner}/{upload_id}/cat.jpg"
    api.put_record(upload_id, owner, "ready", "2026-01-01T00:00:00.000Z")
    api.dynamodb.update_item(
        TableName=TABLE,
        Key={"upload_id": {"S": upload_id}},
        UpdateExpression="SET filename = :f, #k = :k, thumbnails = :t",
        ExpressionAttributeNames={"#k": "key"},
        ExpressionAttributeValues={
            ":f": {"S": "cat.jpg"},
            ":k": {"S": key},
            ":t": {
                "L": [
                    {
                        "M": {
                            "size": {"N": str(size)},
                            "key": {"S": f"thumbnails/{owner}/{upload_id}/{size}.jpg"},
                            "width": {"N": str(size)},
                            "height": {"N": str(size // 2)},
                        }
                    }
                    for size in (1024, 128)
                ]
            },
        },
    )
    api.s3.put_object(Bucket=UPLOADS, Key=key, Body=b"original")
    for size in (1024, 512, 128):  # 512 was written but never recorded: delete removes it too
        api.s3.put_object(Bucket=THUMBS, Key=f"thumbnails/{owner}/{upload_id}/{size}.jpg", Body=b"t")
    return upload_id


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_another_users_upload_is_404_like_a_missing_one(api: Api, method: str) -> None:
    upload_id = ready_upload(api, owner=BOB)
    for path in (f"/uploads/{upload_id}", f"/uploads/{'0' * 32}", "/uploads/not%2Fan id"):
        status, error, _ = api.call(method, path)
        assert (status, error) == (404, {"message": "upload not found"}), path
    assert len(api.items()) == 1
    assert api.s3.get_object(Bucket=UPLOADS, Key=f"uploads/{BOB}/{upload_id}/cat.jpg")["Body"].read()


def test_delete_removes_object_thumbnails_and_record(api: Api) -> None:
    upload_id = ready_upload(api)
    ready_upload(api, owner=BOB, upload_id="e" * 32)
    status, body, _ = api.call("DELETE", f"/uploads/{upload_id}")
    assert (status, body) == (204, None)
    assert api.s3.list_objects_v2(Bucket=UPLOADS, Prefix=f"uploads/{ALICE}/").get("KeyCount") == 0
    assert api.s3.list_objects_v2(Bucket=THUMBS, Prefix=f"thumbnails/{ALICE}/").get("KeyCount") == 0
    assert [i["upload_id"]["S"] for i in api.items()] == ["e" * 32]  # Bob's upload is untouched
    assert api.s3.list_objects_v2(Bucket=THUMBS, Prefix=f"thumbnails/{BOB}/")["KeyCount"] == 3
    assert api.call("GET", f"/uploads/{upload_id}")[0] == 404
    assert api.call("DELETE", f"/uploads/{upload_id}")[0] == 404


def test_every_operation_the_document_proxies_reaches_a_route_of_the_function(api: Api) -> None:
    """openapi.yaml and the handler's routes agree: no proxied operation falls through to 'Not found'."""
    document = yaml.safe_load(OPENAPI.read_text())
    proxied = [
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict)
        and operation.get("x-amazon-apigateway-integration", {}).get("type") == "aws_proxy"
    ]
    assert len(proxied) == 10
    for method, path in proxied:
        status, body, _ = api.call(method, path.replace("{upload_id}", "0" * 32), body={})
        assert body != {"statusCode": 404, "message": "Not found"}, (method, path)
        assert status in (200, 400, 404), (method, path, status, body)


# --- rejected and expired uploads: nothing to download ----------------------------------------------


def test_a_rejected_upload_is_shown_with_its_reasons_and_no_urls(api: Api) -> None:
    api.put_record("rj1", ALICE, "rejected", "2026-01-01T00:00:00.000Z")
    api.dynamodb.update_item(
        TableName=TABLE,
        Key={"upload_id": {"S": "rj1"}},
        UpdateExpression="SET status_reasons = :r, thumbnails = :t",
        ExpressionAttributeValues={
            ":r": {"L": [{"S": "image data is truncated"}]},
            ":t": {
                "L": [
                    {
                        "M": {
                            "size": {"N": "128"},
                            "key": {"S": "k"},
                            "width": {"N": "1"},
                            "height": {"N": "1"},
                        }
                    }
                ]
            },
        },
    )
    status, view, _ = api.call("GET", "/uploads/rj1")
    assert status == 200, view
    assert view["status"] == "rejected" and view["status_reasons"] == ["image data is truncated"]
    assert view["download_url"] is None and view["urls_expire_at"] is None and view["thumbnails"] == []
    _, listed, _ = api.call("GET", "/uploads", query={"status": "rejected"})
    assert [(i["upload_id"], i["thumbnails"]) for i in listed["items"]] == [("rj1", [])]


def test_a_presigned_upload_gets_a_ttl_and_reads_expired_after_it(api: Api) -> None:
    before = int(time.time())
    created = api.create()
    item = api.dynamodb.get_item(TableName=TABLE, Key={"upload_id": {"S": created["upload_id"]}})["Item"]
    ttl = int(item["expires_at_epoch"]["N"])
    assert before + 300 + 3600 <= ttl <= int(time.time()) + 300 + 3600  # URL lifetime + default grace
    assert api.call("GET", f"/uploads/{created['upload_id']}")[1]["status"] == "pending"
    api.dynamodb.update_item(
        TableName=TABLE,
        Key={"upload_id": {"S": created["upload_id"]}},
        UpdateExpression="SET expires_at_epoch = :past",
        ExpressionAttributeValues={":past": {"N": str(before - 1)}},
    )
    status, view, _ = api.call("GET", f"/uploads/{created['upload_id']}")
    assert (status, view["status"], view["download_url"]) == (200, "expired", None)
    for wanted, ids in (("expired", [created["upload_id"]]), ("pending", [])):
        _, listed, _ = api.call("GET", "/uploads", query={"status": wanted})
        assert [i["upload_id"] for i in listed["items"]] == ids
