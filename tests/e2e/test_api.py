"""The uploads API through the local API front: Cognito auth as API Gateway does it, real presigned
uploads into the emulator, pagination and delete. Everything goes over HTTP, as a browser would."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

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
