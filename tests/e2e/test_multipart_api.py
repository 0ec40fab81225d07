"""Multipart uploads through the local API front, with plain HTTP as a browser sends them:
the plan POST /uploads answers above the threshold (8 MiB in parts of 5 MiB on the test stack,
tests/e2e/conftest.py), parts PUT to their presigned URLs, resumed after an interruption, completed
and processed once; a part bigger than planned refused at the PUT (its size is signed), and parts
adding up to more than declared refused at completion, its owner emailed once about it; another user's
upload not found; tampered and expired part URLs refused by the local cloud as S3 refuses them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests

from localcloud.cloud import LocalCloud
from localcloud.s3_presign.middleware import utc_now
from tests.e2e.conftest import Uploader, wait_for
from tests.e2e.test_api import User, new_user
from tests.e2e.test_pipeline import drained
from tests.support import images

pytestmark = pytest.mark.e2e
MIB = 1024 * 1024
SIZE = 11 * MIB  # three parts: 5, 5 and 1 MiB
FINAL = ("ready", "rejected", "failed")


@pytest.fixture(scope="module")
def carol(cloud: LocalCloud) -> User:
    return new_user(cloud)


@pytest.fixture(scope="module")
def dave(cloud: LocalCloud) -> User:
    return new_user(cloud)


@pytest.fixture(scope="module")
def api(cloud: LocalCloud) -> str:
    return cloud.api_url


def big_jpeg(size: int) -> bytes:
    """A real JPEG padded to `size` bytes after its end marker (decoders stop there)."""
    body = images.jpeg(1200, 900)
    return body + bytes(size - len(body))


def start(api: str, user: User, size: int, filename: str = "big.jpg") -> dict[str, Any]:
    request: dict[str, Any] = {"filename": filename, "content_type": "image/jpeg", "size": size}
    answer = requests.post(f"{api}/uploads", json=request, headers=user.auth, timeout=30)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    assert created["upload"]["method"] == "MULTIPART", created
    return created


def urls(created: dict[str, Any]) -> dict[int, str]:
    return {p["part_number"]: p["url"] for p in created["upload"]["parts"]}


def put(url: str, data: bytes) -> requests.Response:
    return requests.put(url, data=data, timeout=60)


def chunks(body: bytes, part_size: int) -> dict[int, bytes]:
    return {n + 1: body[i : i + part_size] for n, i in enumerate(range(0, len(body), part_size))}


def call(api: str, user: User, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{api}/uploads/{path}", json=body, headers=user.auth, timeout=60)


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = [(k, changes.get(k, v)) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def error_code(answer: requests.Response) -> str:
    return answer.text.split("<Code>", 1)[1].split("</Code>", 1)[0]


def open_uploads(cloud: LocalCloud, key: str) -> list[str]:
    listed = cloud.client("s3").list_multipart_uploads(Bucket=cloud.outputs["UploadBucketName"], Prefix=key)
    return [u["UploadId"] for u in listed.get("Uploads", [])]


def test_an_interrupted_multipart_upload_resumes_completes_and_is_processed_once(
    cloud: LocalCloud, api: str, carol: User, uploader: Uploader
) -> None:
    body = big_jpeg(SIZE)
    created = start(api, carol, SIZE)
    upload_id, plan = created["upload_id"], created["upload"]
    assert (plan["part_size"], plan["part_count"]) == (5 * MIB, 3)
    parts = chunks(body, plan["part_size"])
    # Parts 1 and 2 go up, then the connection "drops".
    etags = {}
    for number in (1, 2):
        answer = put(urls(created)[number], parts[number])
        assert answer.status_code == 200, answer.text
        etags[number] = answer.headers["ETag"]
    # Resume: what S3 holds, fresh URLs for the rest, then complete.
    held = call(api, carol, "GET", f"{upload_id}/parts")
    assert held.status_code == 200, held.text
    assert held.json() == {
        "part_size": 5 * MIB,
        "part_count": 3,
        "parts": [{"part_number": n, "etag": etags[n], "size": 5 * MIB} for n in (1, 2)],
    }
    fresh = call(api, carol, "POST", f"{upload_id}/parts", {"part_numbers": [3]})
    assert fresh.status_code == 200, fresh.text
    (third,) = fresh.json()["parts"]
    answer = put(third["url"], parts[3])
    assert answer.status_code == 200, answer.text
    etags[3] = answer.headers["ETag"]
    listed = [{"part_number": n, "etag": etag} for n, etag in etags.items()]
    done = call(api, carol, "POST", f"{upload_id}/complete", {})  # as the clients: from S3's parts
    assert done.status_code == 200, done.text
    assert done.json()["upload_id"] == upload_id and done.json()["status"] in (
        "pending",
        "processing",
        "ready",
    )
    assert call(api, carol, "POST", f"{upload_id}/complete", {"parts": listed}).status_code == 409

    # The pipeline takes it from the ObjectCreated events (CompleteMultipartUpload emits two).
    record = uploader.final(upload_id, timeout_s=90)
    assert record.status == "ready", record.status_reasons
    assert (record.size, record.width, record.height) == (SIZE, 1200, 900)
    for name in ("Validate", "Thumbnail", "Index", "Notify"):
        drained(uploader, f"{name}QueueUrl")
    item = requests.get(f"{api}/uploads/{upload_id}", headers=carol.auth, timeout=30).json()
    assert item["status"] == "ready" and [t["size"] for t in item["thumbnails"]] == [1024, 512, 128]
    downloaded = requests.get(item["download_url"], timeout=60).content
    assert hashlib.sha256(downloaded).digest() == hashlib.sha256(body).digest()
    # One record, one set of thumbnails, one announcement.
    mine = requests.get(f"{api}/uploads", headers=carol.auth, timeout=30).json()["items"]
    assert [i["upload_id"] for i in mine].count(upload_id) == 1
    thumbs = cloud.client("s3").list_objects_v2(
        Bucket=cloud.outputs["ThumbnailBucketName"], Prefix=f"thumbnails/{carol.sub}/{upload_id}/"
    )
    assert sorted(o["Key"].rsplit("/", 1)[1] for o in thumbs["Contents"]) == [
        "1024.jpg",
        "128.jpg",
        "512.jpg",
    ]
    emails = uploader.emails_to(carol.email)
    (message,) = emails
    assert "big.jpg" in str(message)
    # ... although both events were processed: each of the three stages wrote the record twice.
    settled = uploader.records.get(upload_id)
    assert settled is not None and settled.rev == 6 and settled.status == "ready"
    assert open_uploads(cloud, created["key"]) == []


TOO_MANY = "the parts add up to 12 MiB (12582912 bytes), more than the 11 MiB declared"


def parts_one_mib_too_many(cloud: LocalCloud, created: dict[str, Any]) -> list[dict[str, Any]]:
    """Parts 1 and 2 through their URLs, part 3 one MiB bigger than planned through the S3 API: S3
    refuses that at a part URL (its size is signed), and completion still checks the sizes S3 holds."""
    listed = []
    for number in (1, 2):
        answer = put(urls(created)[number], bytes([number]) * (5 * MIB))
        assert answer.status_code == 200, answer.text
        listed.append({"part_number": number, "etag": answer.headers["ETag"]})
    (s3_upload_id,) = open_uploads(cloud, created["key"])
    sent = cloud.client("s3").upload_part(
        Bucket=cloud.outputs["UploadBucketName"],
        Key=created["key"],
        UploadId=s3_upload_id,
        PartNumber=3,
        Body=b"\x03" * (2 * MIB),
    )
    listed.append({"part_number": 3, "etag": sent["ETag"]})
    return listed


def test_parts_adding_up_to_more_than_declared_are_refused_the_record_says_why_and_one_email_too(
    cloud: LocalCloud, api: str, uploader: Uploader
) -> None:
    erin = new_user(cloud)  # her own mailbox: the email counted is this upload's
    created = start(api, erin, SIZE)
    upload_id = created["upload_id"]
    assert [(p["part_number"], p["size"]) for p in created["upload"]["parts"]] == [
        (1, 5 * MIB),
        (2, 5 * MIB),
        (3, MIB),
    ]
    # Each URL signs its part's size: S3 refuses a bigger body at the PUT.
    too_big = put(urls(created)[3], b"\x03" * (2 * MIB))
    assert (too_big.status_code, "<Code>SignatureDoesNotMatch</Code>" in too_big.text) == (403, True)
    listed = parts_one_mib_too_many(cloud, created)
    refused = call(api, erin, "POST", f"{upload_id}/complete", {"parts": listed})
    reason = TOO_MANY
    assert (refused.status_code, refused.json()) == (400, {"message": reason})
    item = requests.get(f"{api}/uploads/{upload_id}", headers=erin.auth, timeout=30).json()
    assert (item["status"], item["status_reasons"], item["download_url"]) == ("rejected", [reason], None)
    assert open_uploads(cloud, created["key"]) == []  # aborted: S3 keeps none of its parts
    assert call(api, erin, "GET", f"{upload_id}/parts").status_code == 409
    assert call(api, erin, "POST", f"{upload_id}/complete", {"parts": listed}).status_code == 409

    # The API announced it (upload.finished): notify emails the owner once, with the sentence.
    record = uploader.final(upload_id, timeout_s=90)
    assert record.notified is not None and record.notified.status == "rejected"
    (email,) = wait_for(lambda: uploader.emails_to(erin.email), 30, "the refusal's email")
    assert email["subject"] == 'Your upload "big.jpg" was rejected'
    assert f"(id {upload_id}) was rejected" in email["body"] and f"- {reason}" in email["body"]
    # The same message again (a retried publish, or one done by hand from the log, docs/runbook.md):
    # notify finds the outcome announced already, and no second email goes out.
    message = {"type": "upload.finished", "upload_id": upload_id, "status": "rejected"}
    cloud.client("sns").publish(
        TopicArn=cloud.outputs["FinishedTopicArn"],
        Message=json.dumps(message | {"version": record.status_version}),
    )
    wait_for(lambda: uploader.queue_depth("NotifyQueueUrl") == 0, 90, "the notify queue to drain")
    assert len(uploader.emails_to(erin.email)) == 1


def test_another_users_upload_is_not_found_and_the_owner_can_abort_it(
    cloud: LocalCloud, api: str, carol: User, dave: User
) -> None:
    created = start(api, carol, SIZE)
    upload_id = created["upload_id"]
    answer = put(urls(created)[1], b"\x01" * (5 * MIB))
    assert answer.status_code == 200
    listed = [{"part_number": 1, "etag": answer.headers["ETag"]}]
    for method, path, body in [
        ("GET", f"{upload_id}/parts", None),
        ("POST", f"{upload_id}/parts", {"part_numbers": [2]}),
        ("POST", f"{upload_id}/complete", {"parts": listed}),
        ("POST", f"{upload_id}/abort", None),
        ("DELETE", upload_id, None),
    ]:
        answer = call(api, dave, method, path, body)
        assert (answer.status_code, answer.json()) == (404, {"message": "upload not found"}), (method, path)
    assert len(open_uploads(cloud, created["key"])) == 1  # untouched
    assert call(api, carol, "POST", f"{upload_id}/abort").status_code == 204
    assert open_uploads(cloud, created["key"]) == []
    assert call(api, carol, "GET", upload_id).status_code == 404


def test_delete_aborts_an_open_multipart_upload(cloud: LocalCloud, api: str, carol: User) -> None:
    created = start(api, carol, SIZE)
    assert call(api, carol, "DELETE", created["upload_id"]).status_code == 204
    assert open_uploads(cloud, created["key"]) == []


@pytest.fixture
def late(cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The local cloud's S3 checks see a clock 301 s ahead: every part URL handed out has expired."""
    checks = cloud.emulator.presign_checks
    monkeypatch.setattr(checks, "clock", lambda: utc_now() + timedelta(seconds=301))
    yield


def test_tampered_part_urls_are_refused_by_the_local_cloud(cloud: LocalCloud, api: str, carol: User) -> None:
    created, other = start(api, carol, SIZE), start(api, carol, SIZE)
    url = urls(created)[1]
    other_upload = dict(parse_qsl(urlsplit(urls(other)[1]).query))["uploadId"]
    for tampered in (with_query(url, partNumber="2"), with_query(url, uploadId=other_upload)):
        answer = put(tampered, b"\x02" * (5 * MIB))
        assert answer.status_code == 403 and error_code(answer) == "SignatureDoesNotMatch", answer.text
    # The other upload's own URL, sent for this key's path: signed for another key, so refused too.
    moved = urls(other)[1].replace(urlsplit(urls(other)[1]).path, urlsplit(url).path)
    assert put(moved, b"\x02").status_code == 403
    for upload in (created, other):
        assert call(api, carol, "GET", f"{upload['upload_id']}/parts").json()["parts"] == []
        assert call(api, carol, "POST", f"{upload['upload_id']}/abort").status_code == 204


def test_expired_part_urls_are_refused_by_the_local_cloud(
    cloud: LocalCloud, api: str, carol: User, late: None
) -> None:
    created = start(api, carol, SIZE)
    answer = put(urls(created)[1], b"\x03" * (5 * MIB))
    assert answer.status_code == 403 and error_code(answer) == "AccessDenied", answer.text
    assert "Request has expired" in answer.text
    assert call(api, carol, "GET", f"{created['upload_id']}/parts").json()["parts"] == []
    assert call(api, carol, "POST", f"{created['upload_id']}/abort").status_code == 204


def test_abandoned_multipart_uploads_are_aborted_by_the_buckets_lifecycle_rule(cloud: LocalCloud) -> None:
    rules = cloud.client("s3").get_bucket_lifecycle_configuration(Bucket=cloud.outputs["UploadBucketName"])
    aborting = [
        r for r in rules["Rules"] if "AbortIncompleteMultipartUpload" in r and r["Status"] == "Enabled"
    ]
    assert [r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] for r in aborting] == [1]
