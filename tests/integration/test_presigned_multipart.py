"""Presigned UploadPart requests against the local cloud's emulator (moto behind localcloud.s3_presign),
as the multipart uploads API hands them out: S3 checks them as it checks a presigned PUT,
signature, expiry and the signed query, so the part number, the upload id and the key are exactly the
signed ones. A refused part is never stored (ListParts shows nothing)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests
from botocore.exceptions import ClientError

from localcloud.server import Emulator
from tests.integration.test_presigned_s3 import (
    ORIGIN,
    emulator,
    error_code,
    late,
    s3,
    s3_client,
    upload_bucket,
)

__all__ = [
    "emulator",
    "late",
    "s3",
]  # fixtures shared with test_presigned_s3 (late moves the checks' clock ahead)

PART = b"\xab" * 1024


@pytest.fixture(scope="module")
def bucket(s3: Any) -> str:
    return upload_bucket(s3, "multipart")


@pytest.fixture
def upload(s3: Any, bucket: str) -> tuple[str, str]:
    """A new multipart upload: (key, S3 upload id)."""
    key = f"uploads/owner/{uuid.uuid4().hex}/big file.jpg"
    return key, s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType="image/jpeg")["UploadId"]


def part_url(
    s3: Any, bucket: str, key: str, upload_id: str, number: int, expires: int = 300, size: int | None = None
) -> str:
    params: dict[str, Any] = {"Bucket": bucket, "Key": key, "UploadId": upload_id, "PartNumber": number}
    if size is not None:
        params["ContentLength"] = size  # as the API signs them: intake.storage.presigned_upload_part
    return str(s3.generate_presigned_url("upload_part", Params=params, ExpiresIn=expires))


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = [
        (name, changes.get(name, value)) for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def held(s3: Any, bucket: str, key: str, upload_id: str) -> list[int]:
    return [
        p["PartNumber"] for p in s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id).get("Parts", [])
    ]


def test_a_presigned_part_is_stored_and_its_etag_answered(
    s3: Any, bucket: str, upload: tuple[str, str]
) -> None:
    key, upload_id = upload
    answer = requests.put(
        part_url(s3, bucket, key, upload_id, 1), data=PART, headers={"Origin": ORIGIN}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    assert (
        answer.headers["ETag"].startswith('"') and "ETag" in answer.headers["Access-Control-Expose-Headers"]
    )
    listed = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in listed] == [
        (1, answer.headers["ETag"], len(PART))
    ]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda url, other: with_query(url, partNumber="2"), id="part number"),
        pytest.param(lambda url, other: with_query(url, uploadId=other), id="upload id"),
        pytest.param(lambda url, other: url.replace("big%20file.jpg", "other.jpg"), id="key"),
        pytest.param(lambda url, other: url + "&versionId=1", id="an added parameter"),
    ],
)
def test_a_changed_part_number_upload_id_or_key_fails_the_signature(
    s3: Any, bucket: str, upload: tuple[str, str], tamper: Callable[[str, str], str]
) -> None:
    key, upload_id = upload
    other = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    answer = requests.put(tamper(part_url(s3, bucket, key, upload_id, 1), other), data=PART, timeout=10)
    assert answer.status_code == 403 and error_code(answer) == "SignatureDoesNotMatch", answer.text
    assert answer.headers["Content-Type"] == "application/xml"
    assert held(s3, bucket, key, upload_id) == [] and held(s3, bucket, key, other) == []


@pytest.mark.parametrize("sent", [len(PART) + 1, len(PART) - 1], ids=["bigger", "smaller"])
def test_a_part_of_another_size_than_the_signed_one_fails_the_signature(
    s3: Any, bucket: str, upload: tuple[str, str], sent: int
) -> None:
    key, upload_id = upload
    url = part_url(s3, bucket, key, upload_id, 1, size=len(PART))
    answer = requests.put(url, data=b"\xab" * sent, timeout=10)
    assert answer.status_code == 403 and error_code(answer) == "SignatureDoesNotMatch", answer.text
    assert held(s3, bucket, key, upload_id) == []
    assert requests.put(url, data=PART, timeout=10).status_code == 200
    assert held(s3, bucket, key, upload_id) == [1]


def test_an_expired_part_url_is_refused(
    s3: Any, bucket: str, upload: tuple[str, str], late: Callable[[float], None]
) -> None:
    key, upload_id = upload
    url = part_url(s3, bucket, key, upload_id, 1, expires=60)
    late(61)
    answer = requests.put(url, data=PART, timeout=10)
    assert answer.status_code == 403 and error_code(answer) == "AccessDenied" and "expired" in answer.text
    assert held(s3, bucket, key, upload_id) == []


def test_a_part_for_an_upload_s3_does_not_have_is_no_such_upload(
    s3: Any, bucket: str, upload: tuple[str, str]
) -> None:
    key, upload_id = upload
    url = part_url(s3, bucket, key, upload_id, 1)
    s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    answer = requests.put(url, data=PART, timeout=10)
    assert answer.status_code == 404 and error_code(answer) == "NoSuchUpload", answer.text
    never = requests.put(part_url(s3, bucket, key, "not-an-upload", 1), data=PART, timeout=10)
    assert never.status_code == 404 and error_code(never) == "NoSuchUpload", never.text


def test_a_part_signed_with_an_unknown_key_is_refused(
    emulator: Emulator, bucket: str, upload: tuple[str, str]
) -> None:
    key, upload_id = upload
    stranger = s3_client(emulator.endpoint, key="AKIAUNKNOWN", secret="nope")
    answer = requests.put(part_url(stranger, bucket, key, upload_id, 1), data=PART, timeout=10)
    assert answer.status_code == 403 and error_code(answer) == "InvalidAccessKeyId"


def test_an_upload_id_of_another_key_is_no_such_upload(s3: Any, bucket: str, upload: tuple[str, str]) -> None:
    """Signed, but for a key that has no such upload in progress: S3 matches the id and the key."""
    key, upload_id = upload
    other_key = key.replace("big file.jpg", "other.jpg")
    answer = requests.put(part_url(s3, bucket, other_key, upload_id, 1), data=PART, timeout=10)
    assert answer.status_code == 404 and error_code(answer) == "NoSuchUpload", answer.text
    assert f"<UploadId>{upload_id}</UploadId>" in answer.text
    assert held(s3, bucket, key, upload_id) == []


def test_sdk_calls_on_an_unknown_upload_are_no_such_upload(
    s3: Any, bucket: str, upload: tuple[str, str]
) -> None:
    key, upload_id = upload
    calls = [
        lambda: s3.upload_part(Bucket=bucket, Key=key, UploadId="nope", PartNumber=1, Body=PART),
        lambda: s3.list_parts(Bucket=bucket, Key=key, UploadId="nope"),
        lambda: s3.abort_multipart_upload(Bucket=bucket, Key=key + "x", UploadId=upload_id),
        lambda: s3.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId="nope",
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"x"'}]},
        ),
    ]
    for call in calls:
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Code"] == "NoSuchUpload"
    s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)  # the right key: still there


def test_moto_state_dump_still_answers_with_parts_in_it(
    emulator: Emulator, s3: Any, bucket: str, upload: tuple[str, str]
) -> None:
    """The tests read SES's sent mail from /moto-api/data.json (localcloud.moto_s3_parts)."""
    key, upload_id = upload
    s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=PART)
    answer = requests.get(f"{emulator.endpoint}/moto-api/data.json", timeout=30)
    assert answer.status_code == 200 and "ses" in answer.json()
