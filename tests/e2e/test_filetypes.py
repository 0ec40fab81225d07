"""Documents on the local cloud: the e2e stack allows PDFs (tests/e2e/conftest.py E2E_PARAMETERS) and
no other document or media type. A PDF goes through the API, S3 and every stage and ends `ready`
with no thumbnails, announced; a type the stack does not allow, or one Intake has no signature for,
is refused at presign; a file whose bytes are another type than declared is rejected."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from localcloud.cloud import LocalCloud
from tests.e2e.conftest import Uploader, wait_for
from tests.e2e.test_api import User, final, new_user, post_file, presign
from tests.support import documents, images

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def user(cloud: LocalCloud) -> User:
    return new_user(cloud)


def send(cloud: LocalCloud, user: User, filename: str, body: bytes, declared: str) -> dict[str, Any]:
    created = presign(cloud.api_url, user, body, filename, content_type=declared)
    assert post_file(created, body, declared).status_code == 204
    return created


def test_an_allowed_pdf_becomes_ready_without_thumbnails_and_is_announced(
    cloud: LocalCloud, user: User, uploader: Uploader
) -> None:
    body = documents.pdf(pages=3)
    created = send(cloud, user, "minutes.pdf", body, "application/pdf")
    item = final(cloud.api_url, user, created["upload_id"])
    assert (item["status"], item["status_reasons"], item["thumbnails"]) == ("ready", [], []), item
    assert (item["content_type"], item["width"], item["height"]) == ("application/pdf", None, None)
    assert requests.get(item["download_url"], timeout=30).content == body
    thumbs = cloud.client("s3").list_objects_v2(
        Bucket=cloud.outputs["ThumbnailBucketName"], Prefix=f"thumbnails/{user.sub}/{created['upload_id']}/"
    )
    assert thumbs["KeyCount"] == 0

    def announced() -> bool:
        try:
            texts = [m["body"] for m in uploader.emails_to(user.email)]
        except ValueError:  # moto's state dump read while a stage changes it: not JSON, ask again
            return False
        return any(re.search(rf'"minutes\.pdf" \(id {created["upload_id"]}\) is ready', t) for t in texts)

    wait_for(announced, 30, "the PDF's email")


@pytest.mark.parametrize(
    ("filename", "declared", "sentence"),
    [
        # known to Intake, not allowed by this stack
        (
            "clip.mp4",
            "video/mp4",
            "content_type 'video/mp4' is not allowed; allowed: application/pdf, image/avif, image/gif",
        ),
        # no file signature: no stack may allow it
        ("notes.txt", "text/plain", "has no file signature for text/plain"),
    ],
)
def test_a_type_the_stack_does_not_allow_is_refused_at_presign(
    cloud: LocalCloud, user: User, filename: str, declared: str, sentence: str
) -> None:
    request: dict[str, Any] = {"filename": filename, "content_type": declared, "size": 100}
    response = requests.post(f"{cloud.api_url}/uploads", json=request, headers=user.auth, timeout=30)
    assert response.status_code == 400
    assert sentence in response.json()["message"]


@pytest.mark.parametrize(
    ("filename", "body", "declared", "reason"),
    [
        (
            "scan.pdf",
            images.jpeg(320, 240),
            "application/pdf",
            "content is image/jpeg but was declared application/pdf",
        ),
        (
            "photo.jpg",
            documents.pdf(),
            "image/jpeg",
            "content is application/pdf but was declared image/jpeg",
        ),
        (
            "cut.pdf",
            documents.pdf()[:-8],
            "application/pdf",
            "the PDF document is truncated or has other data after its end (it does not end with %%EOF)",
        ),
    ],
    ids=["jpeg declared as pdf", "pdf declared as jpeg", "truncated pdf"],
)
def test_content_of_another_type_than_declared_is_rejected(
    cloud: LocalCloud, user: User, filename: str, body: bytes, declared: str, reason: str
) -> None:
    created = send(cloud, user, filename, body, declared)
    item = final(cloud.api_url, user, created["upload_id"])
    assert (item["status"], item["status_reasons"], item["thumbnails"]) == ("rejected", [reason], []), item
