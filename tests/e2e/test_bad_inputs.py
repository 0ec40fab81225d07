"""Bad inputs through the real local cloud: the API, presigned POSTs checked as S3 checks them, the
pipeline and CloudFront. A few cases of tests/unit/test_bad_inputs.py's table and test_bad_names.py's,
end to end: each gets its verdict, no 5xx, no DLQ message, one email per upload.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import pytest
import requests

from localcloud.cloud import LocalCloud
from tests.e2e.conftest import Uploader, wait_for
from tests.e2e.test_api import User, final, new_user, post_file, presign
from tests.support import images

pytestmark = pytest.mark.e2e
CONSUMERS = ("Validate", "Thumbnail", "Index", "Notify")
REPR = re.compile(r"<[^>]* at 0x[0-9a-f]+>|\bb'|\\x[0-9a-f]{2}|\w+(Error|Exception)\b")


@dataclass(frozen=True)
class Case:
    filename: str
    body: bytes
    content_type: str
    reasons: tuple[str, ...] = ()  # none: ready


CASES = {
    "png declared as jpeg": Case(
        "photo.jpg", images.png(640, 480), "image/jpeg", ("content is image/png but was declared image/jpeg",)
    ),
    "gif header followed by html": Case(
        "party.gif",
        images.gif_then_html(),
        "image/gif",
        ("file starts like a GIF image but is not one (damaged or another kind of file)",),
    ),
    "html declared as jpeg": Case(
        "page.jpg",
        images.html(),
        "image/jpeg",
        ("content is not a JPEG, PNG, GIF, WebP, HEIC/HEIF or AVIF image",),
    ),
    "png pixel bomb": Case(
        "bomb.png",
        images.decompression_bomb_png(),
        "image/png",
        ("image has more than 179.0 MP, the limit is 40.0 MP",),
    ),
    "jpeg with 390 KB of metadata before its frame": Case(
        "camera.jpg", images.jpeg_with_large_metadata(), "image/jpeg"
    ),
    "cmyk jpeg": Case("print.jpg", images.cmyk_jpeg(), "image/jpeg"),
    "emoji only name": Case("🎉🎉🎉.jpg", images.jpeg(320, 240), "image/jpeg"),
    "accents, plus, brackets and percent": Case(
        "Été 2024 + plage (1) 100%.jpg", images.jpeg(320, 240), "image/jpeg"
    ),
}


@pytest.fixture(scope="module")
def user(cloud: LocalCloud) -> User:
    return new_user(cloud)


@pytest.fixture(scope="module")
def finished(cloud: LocalCloud, user: User) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Every case uploaded at once through the API, then each upload's final record (GET /uploads/{id})."""
    created = {}
    for name, case in CASES.items():
        created[name] = presign(cloud.api_url, user, case.body, case.filename, content_type=case.content_type)
        assert post_file(created[name], case.body, case.content_type).status_code == 204
    return {name: (made, final(cloud.api_url, user, made["upload_id"])) for name, made in created.items()}


def dlq_depths(uploader: Uploader) -> dict[str, int]:
    return {name: uploader.queue_depth(f"{name}DLQUrl") for name in CONSUMERS}


def drained(uploader: Uploader) -> None:
    """Every stage has finished with what is queued (a stage that finds the object gone records nothing)."""
    for name in CONSUMERS:
        output = f"{name}QueueUrl"
        wait_for(functools.partial(empty, uploader, output), 30, f"the {name} queue to drain")


def empty(uploader: Uploader, output: str) -> bool:
    return uploader.queue_depth(output) == 0


@pytest.mark.parametrize("name", list(CASES))
def test_each_upload_ends_with_its_verdict(
    name: str, finished: dict[str, tuple[dict[str, Any], dict[str, Any]]], uploader: Uploader
) -> None:
    case, (_, item) = CASES[name], finished[name]
    assert (item["status"], tuple(item["status_reasons"])) == (
        "rejected" if case.reasons else "ready",
        case.reasons,
    ), item
    assert not any(REPR.search(reason) for reason in item["status_reasons"])
    assert dlq_depths(uploader) == dict.fromkeys(CONSUMERS, 0)


def test_a_rejected_png_declared_as_jpeg_keeps_no_thumbnails(
    cloud: LocalCloud,
    user: User,
    finished: dict[str, tuple[dict[str, Any], dict[str, Any]]],
    uploader: Uploader,
) -> None:
    created, _ = finished["png declared as jpeg"]
    drained(uploader)  # the thumbnail stage has finished, whether before or after the rejection
    record = uploader.records.get(created["upload_id"])
    assert record is not None and record.status == "rejected" and record.thumbnails == ()
    item = requests.get(
        f"{cloud.api_url}/uploads/{created['upload_id']}", headers=user.auth, timeout=30
    ).json()
    assert item["thumbnails"] == [] and item["download_url"] is None
    s3 = cloud.client("s3")
    for bucket, prefix in (("ThumbnailBucketName", "thumbnails/"), ("UploadBucketName", "uploads/")):
        listed = s3.list_objects_v2(
            Bucket=cloud.outputs[bucket], Prefix=f"{prefix}{user.sub}/{created['upload_id']}/"
        )
        assert listed["KeyCount"] == 0, listed.get("Contents")


@pytest.mark.parametrize(
    ("name", "key_name"),
    [
        ("emoji only name", "file.jpg"),
        ("accents, plus, brackets and percent", "Été 2024 + plage (1) 100.jpg"),
    ],
)
def test_the_name_given_is_the_name_shown_and_downloaded(
    name: str, key_name: str, finished: dict[str, tuple[dict[str, Any], dict[str, Any]]]
) -> None:
    created, item = finished[name]
    given = CASES[name].filename
    assert item["filename"] == given
    assert created["key"].endswith(f"/{key_name}")  # the key keeps a safe form, with its extension
    download = requests.get(item["download_url"], timeout=30)  # through the CloudFront front
    assert download.status_code == 200 and download.content == CASES[name].body
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename*=UTF-8''")
    assert unquote(disposition.removeprefix("attachment; filename*=UTF-8''"), errors="strict") == given


def test_each_upload_is_announced_once(
    finished: dict[str, tuple[dict[str, Any], dict[str, Any]]], user: User, uploader: Uploader
) -> None:
    # Digest emails (the default preference): each upload in exactly one email, a burst in few emails.
    ids = {made["upload_id"] for made, _ in finished.values()}

    def listed() -> list[str]:
        emails = uploader.emails_to(user.email)
        return [i for m in emails for i in re.findall(r"\(id ([0-9a-f]+)\)", m["body"]) if i in ids]

    wait_for(lambda: set(listed()) == ids, 30, "every upload in an email")
    assert sorted(listed()) == sorted(ids)  # none twice
    texts = [m["subject"] + "\n" + m["body"] for m in uploader.emails_to(user.email)]
    assert any(re.search(r'"🎉🎉🎉\.jpg" \(id [0-9a-f]+\) is ready', t) for t in texts), texts


@pytest.mark.parametrize(
    ("change", "data", "status", "code"),
    [
        ({}, b"x" * 101, 400, "EntityTooLarge"),  # more than the declared 100 bytes
        ({"Content-Type": "text/html"}, b"<html></html>", 403, "AccessDenied"),
        ({"x-amz-meta-filename": "evil.html"}, b"x" * 100, 403, "AccessDenied"),
    ],
    ids=["more bytes than declared", "another content type", "changed metadata"],
)
def test_a_post_that_breaks_its_policy_gets_s3s_error_and_the_upload_stays_pending(
    cloud: LocalCloud, user: User, change: dict[str, str], data: bytes, status: int, code: str
) -> None:
    created = presign(cloud.api_url, user, b"x" * 100, "declared.jpg")
    form = created["upload"]
    fields = form["fields"] | change
    response = requests.post(
        form["url"],
        data=fields,
        files={"file": ("f", data, fields.get("Content-Type", "image/jpeg"))},
        timeout=30,
    )
    assert response.status_code == status and f"<Code>{code}</Code>" in response.text, response.text
    listed = cloud.client("s3").list_objects_v2(
        Bucket=cloud.outputs["UploadBucketName"], Prefix=created["key"]
    )
    assert listed["KeyCount"] == 0
    item = requests.get(f"{cloud.api_url}/uploads/{created['upload_id']}", headers=user.auth, timeout=30)
    assert item.status_code == 200 and item.json()["status"] == "pending"


@pytest.mark.parametrize(
    ("filename", "sentence"),
    [
        ("..", "filename must name a file, not only a folder, dots or control characters"),
        ("\x00\u202e", "filename must name a file, not only a folder, dots or control characters"),
        ("x" * 300 + ".jpg", "filename is longer than 255 characters"),
    ],
    ids=["dot dot", "only control characters", "300 characters"],
)
def test_a_name_that_names_nothing_gets_400_with_a_sentence(
    cloud: LocalCloud, user: User, filename: str, sentence: str
) -> None:
    body: dict[str, Any] = {"filename": filename, "content_type": "image/jpeg", "size": 10}
    response = requests.post(f"{cloud.api_url}/uploads", json=body, headers=user.auth, timeout=30)
    assert (response.status_code, response.json()) == (400, {"message": sentence})
