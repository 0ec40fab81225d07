"""The uploads API through the local API front: Cognito auth as API Gateway does it, real presigned
uploads into the emulator, pagination and delete. Everything goes over HTTP, as a browser would."""

from __future__ import annotations

import base64
import gzip
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import jwt
import moto.cognitoidp
import pytest
import requests

from localcloud import users
from localcloud.cloud import LocalCloud
from tests.e2e.conftest import wait_for
from tests.support import images

pytestmark = pytest.mark.e2e
PASSWORD = "Intake-test-2026!"
FINAL = ("ready", "rejected", "failed")


@dataclass(frozen=True)
class User:
    email: str
    sub: str
    tokens: users.Tokens

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.id_token}"}


def new_user(cloud: LocalCloud) -> User:
    cognito = cloud.client("cognito-idp")
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    sub = users.create_user(cognito, cloud.outputs["UserPoolId"], email, PASSWORD)
    return User(email, sub, users.sign_in(cognito, cloud.outputs["UserPoolClientId"], email, PASSWORD))


@pytest.fixture(scope="module")
def alice(cloud: LocalCloud) -> User:
    return new_user(cloud)


@pytest.fixture(scope="module")
def bob(cloud: LocalCloud) -> User:
    return new_user(cloud)


@pytest.fixture(scope="module")
def api(cloud: LocalCloud) -> str:
    return cloud.api_url


def presign(api: str, user: User, body: bytes, filename: str = "photo.jpg", **extra: Any) -> dict[str, Any]:
    request = {"filename": filename, "content_type": "image/jpeg", "size": len(body), **extra}
    response = requests.post(f"{api}/uploads", json=request, headers=user.auth, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def post_file(created: dict[str, Any], body: bytes, content_type: str = "image/jpeg") -> requests.Response:
    form = created["upload"]
    return requests.post(
        form["url"], data=form["fields"], files={"file": ("upload.bin", body, content_type)}, timeout=30
    )


def final(api: str, user: User, upload_id: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        item = requests.get(f"{api}/uploads/{upload_id}", headers=user.auth, timeout=30).json()
        return item if item.get("status") in FINAL else None

    return wait_for(check, 60, f"upload {upload_id} to be final")  # type: ignore[no-any-return]


def test_presigned_post_through_the_api_becomes_ready(cloud: LocalCloud, api: str, alice: User) -> None:
    body = images.jpeg(800, 600)
    created = presign(api, alice, body, "../holiday café.jpg", metadata={"title": "Été", "tags": ["sea"]})
    upload_id = created["upload_id"]
    assert created["key"] == f"uploads/{alice.sub}/{upload_id}/holiday café.jpg"
    assert post_file(created, body).status_code == 204

    item = final(api, alice, upload_id)
    assert item["status"] == "ready", item
    assert (item["filename"], item["title"], item["tags"]) == ("holiday café.jpg", "Été", ["sea"])
    assert (item["width"], item["height"], item["size"]) == (800, 600, len(body))
    assert [t["size"] for t in item["thumbnails"]] == [1024, 512, 128]
    assert requests.get(item["download_url"], timeout=30).content == body
    small = requests.get(item["thumbnails"][-1]["url"], timeout=30)
    assert small.status_code == 200 and small.content[:2] == b"\xff\xd8"
    record = cloud.client("dynamodb")  # the owner's email was recorded for the notification
    stored = record.get_item(TableName=cloud.outputs["IndexTableName"], Key={"upload_id": {"S": upload_id}})
    assert stored["Item"]["owner_email"]["S"] == alice.email


# --- authorization, as API Gateway's Cognito authorizer does it ----------------------------------


def moto_signing_key() -> Any:
    """moto's token-signing key (its jwks-private.json): only to forge an expired token."""
    resource = files(moto.cognitoidp).joinpath("resources/jwks-private.json.gz")
    return jwt.PyJWK(json.loads(gzip.decompress(resource.read_bytes()))).key


def forged(token: str, **changes: Any) -> str:
    claims = jwt.decode(token, options={"verify_signature": False}) | changes
    return jwt.encode(claims, moto_signing_key(), algorithm="RS256", headers={"kid": "dummy"})


def tampered(token: str) -> str:
    """The same signature over a payload claiming to be someone else."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = str(uuid.uuid4())
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{payload}.{signature}"


def other_client_token(cloud: LocalCloud, user: User) -> str:
    cognito = cloud.client("cognito-idp")
    other = cognito.create_user_pool_client(
        UserPoolId=cloud.outputs["UserPoolId"],
        ClientName="not-the-api",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    return users.sign_in(cognito, other, user.email, PASSWORD).id_token


BAD_TOKENS: dict[str, Callable[[LocalCloud, User], dict[str, str]]] = {
    "no token": lambda cloud, user: {},
    "empty bearer": lambda cloud, user: {"Authorization": "Bearer "},
    "malformed": lambda cloud, user: {"Authorization": "Bearer not-a-jwt"},
    "tampered signature": lambda cloud, user: {"Authorization": tampered(user.tokens.id_token)},
    "wrong audience": lambda cloud, user: {"Authorization": other_client_token(cloud, user)},
    "access token": lambda cloud, user: {"Authorization": f"Bearer {user.tokens.access_token}"},
    "expired": lambda cloud, user: {
        "Authorization": forged(user.tokens.id_token, exp=int(time.time()) - 60, iat=int(time.time()) - 3660)
    },
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/uploads"), ("POST", "/uploads"), ("DELETE", "/uploads/x")]
)
def test_bad_tokens_get_401_and_never_reach_the_function(
    cloud: LocalCloud, api: str, alice: User, case: str, method: str, path: str
) -> None:
    assert cloud.api is not None
    headers = BAD_TOKENS[case](cloud, alice)
    before = cloud.api.invocations
    body: dict[str, Any] = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 1}
    response = requests.request(method, f"{api}{path}", json=body, headers=headers, timeout=30)
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
    assert response.headers["Access-Control-Allow-Origin"] == cloud.parameters["WebOrigin"]  # DEFAULT_4XX
    assert cloud.api.invocations == before


def test_a_forged_but_valid_token_is_accepted_so_the_expired_case_tests_expiry(api: str, alice: User) -> None:
    """Guards the 'expired' case above: the forging itself is sound, only `exp` makes it fail."""
    fresh = forged(alice.tokens.id_token, exp=int(time.time()) + 600)
    assert requests.get(f"{api}/uploads", headers={"Authorization": fresh}, timeout=30).status_code == 200


def test_a_caller_whose_email_is_not_verified_is_refused(cloud: LocalCloud, api: str) -> None:
    # The email change attack: after an unverified change of `email`, Cognito's ID token says
    # email_verified false; the API must refuse the caller before recording the address to mail.
    cognito, pool = cloud.client("cognito-idp"), cloud.outputs["UserPoolId"]
    user, victim = new_user(cloud), f"victim-{uuid.uuid4().hex[:8]}@example.org"
    cognito.admin_update_user_attributes(
        UserPoolId=pool,
        Username=user.email,
        UserAttributes=[{"Name": "email", "Value": victim}, {"Name": "email_verified", "Value": "false"}],
    )
    # email is the pool's username attribute: the (emulated) user now signs in as the new address.
    token = users.sign_in(cognito, cloud.outputs["UserPoolClientId"], victim, PASSWORD).id_token
    assert jwt.decode(token, options={"verify_signature": False})["email_verified"] in (False, "false")
    body: dict[str, Any] = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 10}
    for method, path in (("POST", "/uploads"), ("GET", "/uploads"), ("DELETE", "/uploads/x")):
        response = requests.request(
            method, f"{api}{path}", json=body, headers={"Authorization": token}, timeout=30
        )
        assert response.status_code == 403, response.text
        assert "email address is not verified" in response.json()["message"]


def test_raw_and_bearer_id_tokens_are_both_accepted(api: str, alice: User) -> None:
    for value in (alice.tokens.id_token, f"Bearer {alice.tokens.id_token}"):
        assert requests.get(f"{api}/uploads", headers={"Authorization": value}, timeout=30).status_code == 200


def test_another_users_upload_cannot_be_read_listed_or_deleted(
    cloud: LocalCloud, api: str, alice: User, bob: User
) -> None:
    created = presign(api, alice, b"x" * 10)
    upload_id = created["upload_id"]
    for method in ("GET", "DELETE"):
        response = requests.request(method, f"{api}/uploads/{upload_id}", headers=bob.auth, timeout=30)
        assert (response.status_code, response.json()) == (404, {"message": "upload not found"})
    listed = requests.get(f"{api}/uploads", headers=bob.auth, params={"limit": 100}, timeout=30).json()
    assert upload_id not in [item["upload_id"] for item in listed["items"]]
    assert requests.get(f"{api}/uploads/{upload_id}", headers=alice.auth, timeout=30).status_code == 200


# --- the gateway's own answers ----------------------------------------------------------------------


def test_cors_preflight_is_answered_without_a_token(cloud: LocalCloud, api: str) -> None:
    origin = cloud.parameters["WebOrigin"]
    preflight = {"Origin": origin, "Access-Control-Request-Method": "DELETE"}
    response = requests.options(f"{api}/uploads/abc", headers=preflight, timeout=30)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert "DELETE" in response.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]


def test_unknown_routes_are_403_missing_authentication_token(api: str, alice: User) -> None:
    for method, path in (("GET", "/nope"), ("PUT", "/uploads"), ("PATCH", "/uploads/x")):
        response = requests.request(method, f"{api}{path}", headers=alice.auth, timeout=30)
        assert (response.status_code, response.json()) == (403, {"message": "Missing Authentication Token"})


def test_the_page_and_its_config_are_served(cloud: LocalCloud, api: str) -> None:
    config = requests.get(f"{api}/config.js", timeout=30)
    assert config.status_code == 200
    values = json.loads(config.text.removeprefix("window.INTAKE_CONFIG = ").rstrip().rstrip(";"))
    assert values["apiUrl"] == api and values["userPoolClientId"] == cloud.outputs["UserPoolClientId"]
    assert values["cognitoEndpoint"].rstrip("/") == cloud.endpoint
    page = requests.get(f"{api}/", timeout=30)
    assert page.status_code == 200 and "config.js" in page.text
    assert requests.get(f"{api}/../README.md", timeout=30).status_code == 403


def test_a_bad_request_gets_the_functions_400(api: str, alice: User) -> None:
    body: dict[str, Any] = {"filename": "a.exe", "content_type": "application/x-msdownload", "size": 10}
    response = requests.post(f"{api}/uploads", json=body, headers=alice.auth, timeout=30)
    assert response.status_code == 400
    assert "'application/x-msdownload' is not allowed" in response.json()["message"]


# --- PUT, pagination, delete ------------------------------------------------------------------------


def test_presigned_put_with_the_returned_headers_becomes_ready(api: str, alice: User) -> None:
    body = images.jpeg(300, 300)
    request: dict[str, Any] = {"filename": "put.jpg", "content_type": "image/jpeg", "size": len(body)}
    response = requests.post(
        f"{api}/uploads", params={"method": "PUT"}, json=request, headers=alice.auth, timeout=30
    )
    assert response.status_code == 201, response.text
    upload = response.json()["upload"]
    assert upload["method"] == "PUT"
    assert requests.put(upload["url"], data=body, headers=upload["headers"], timeout=30).status_code == 200
    assert final(api, alice, response.json()["upload_id"])["status"] == "ready"


def test_pagination_walks_every_upload_newest_first(cloud: LocalCloud, api: str) -> None:
    carol = new_user(cloud)
    made = [presign(api, carol, b"x", f"p{i}.jpg")["upload_id"] for i in range(5)]
    seen, cursor, pages = [], None, 0
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = requests.get(f"{api}/uploads", params=params, headers=carol.auth, timeout=30).json()
        assert len(page["items"]) <= 2
        seen += [item["upload_id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made[::-1] and pages == 3
    pending = requests.get(
        f"{api}/uploads", params={"status": "pending"}, headers=carol.auth, timeout=30
    ).json()
    assert [item["upload_id"] for item in pending["items"]] == made[::-1]
    bad = requests.get(f"{api}/uploads", params={"cursor": "garbage"}, headers=carol.auth, timeout=30)
    assert (bad.status_code, bad.json()) == (400, {"message": "cursor is invalid"})


def test_delete_removes_object_thumbnails_and_record(cloud: LocalCloud, api: str, alice: User) -> None:
    body = images.jpeg(400, 300)
    created = presign(api, alice, body)
    upload_id = created["upload_id"]
    assert post_file(created, body).status_code == 204
    assert final(api, alice, upload_id)["status"] == "ready"
    s3 = cloud.client("s3")
    thumbnails = {
        "Bucket": cloud.outputs["ThumbnailBucketName"],
        "Prefix": f"thumbnails/{alice.sub}/{upload_id}/",
    }
    assert s3.list_objects_v2(**thumbnails)["KeyCount"] == 3

    response = requests.delete(f"{api}/uploads/{upload_id}", headers=alice.auth, timeout=30)
    assert (response.status_code, response.content) == (204, b"")
    assert (
        s3.list_objects_v2(Bucket=cloud.outputs["UploadBucketName"], Prefix=created["key"])["KeyCount"] == 0
    )
    assert s3.list_objects_v2(**thumbnails)["KeyCount"] == 0
    stored = cloud.client("dynamodb").get_item(
        TableName=cloud.outputs["IndexTableName"], Key={"upload_id": {"S": upload_id}}
    )
    assert "Item" not in stored
    assert requests.get(f"{api}/uploads/{upload_id}", headers=alice.auth, timeout=30).status_code == 404


def test_a_presigned_form_cannot_write_into_another_users_prefix(
    cloud: LocalCloud, api: str, alice: User, bob: User
) -> None:
    """Alice's form with the key pointed at Bob's prefix: S3 (the local presign checks) refuses it."""
    body = images.jpeg(64, 64)
    created = presign(api, alice, body)
    stolen_key = f"uploads/{bob.sub}/{created['upload_id']}/photo.jpg"
    form = created["upload"]
    response = requests.post(
        form["url"],
        data=form["fields"] | {"key": stolen_key},
        files={"file": ("photo.jpg", body, "image/jpeg")},
        timeout=30,
    )
    assert response.status_code == 403, response.text
    listed = cloud.client("s3").list_objects_v2(
        Bucket=cloud.outputs["UploadBucketName"], Prefix=f"uploads/{bob.sub}/"
    )
    assert listed["KeyCount"] == 0


def test_a_broken_image_is_rejected_and_its_file_cannot_be_downloaded(
    cloud: LocalCloud, api: str, alice: User
) -> None:
    body = images.truncated_jpeg()
    created = presign(api, alice, body, "broken.jpg")
    upload_id = created["upload_id"]
    # A URL handed out while the upload was pending: the kind of link a client may still hold.
    early = requests.get(f"{api}/uploads/{upload_id}", headers=alice.auth, timeout=30).json()
    assert early["status"] == "pending" and early["download_url"]
    assert post_file(created, body).status_code == 204

    item = final(api, alice, upload_id)
    assert item["status"] == "rejected" and item["status_reasons"], item
    assert item["download_url"] is None and item["urls_expire_at"] is None and item["thumbnails"] == []
    s3, prefix = cloud.client("s3"), f"{alice.sub}/{upload_id}/"

    def stored() -> list[str]:
        keys = []
        for bucket, top in (("UploadBucketName", "uploads/"), ("ThumbnailBucketName", "thumbnails/")):
            listed = s3.list_objects_v2(Bucket=cloud.outputs[bucket], Prefix=top + prefix)
            keys += [o["Key"] for o in listed.get("Contents", [])]
        return keys

    wait_for(lambda: stored() == [], 30, "the rejected upload's file and thumbnails to be deleted")
    refused = requests.get(early["download_url"], timeout=30)
    assert refused.status_code in (403, 404) and refused.content != body
    listed = requests.get(f"{api}/uploads", params={"status": "rejected"}, headers=alice.auth, timeout=30)
    assert upload_id in [i["upload_id"] for i in listed.json()["items"]]  # the verdict stays


def test_api_function_environments_follow_lambda_concurrency(cloud: LocalCloud) -> None:
    """No reserved concurrency in the template: the API function may use the local cap of the account's
    unreserved concurrency; reserved concurrency, when set, is the limit."""
    from localcloud.api import front

    assert cloud.api is not None
    lambda_ = cloud.client("lambda")
    for arn, pool in cloud.api.functions.items():
        assert "ReservedConcurrentExecutions" not in lambda_.get_function_concurrency(FunctionName=arn)
        assert pool.limit >= front.LOCAL_UNRESERVED_CONCURRENCY
    arn = next(iter(cloud.api.functions))
    lambda_.put_function_concurrency(FunctionName=arn, ReservedConcurrentExecutions=3)
    try:
        assert cloud.deployment is not None
        _, _, limits = front._deployed_functions(cloud.api.api, cloud.deployment, cloud.endpoint)
        assert limits[arn] == 3
    finally:
        lambda_.delete_function_concurrency(FunctionName=arn)
