"""Delivery through the local CloudFront front: signed URLs from the API open thumbnails and originals
(with the response headers policy's headers and attachment downloads); tampered, expired, foreign-key,
other-object and unsigned requests get CloudFront's 403; the buckets refuse anonymous reads. The origin
access control's reads are evaluated as on AWS: a bucket policy or key policy that does not allow this
distribution (cloudfront.amazonaws.com, aws:SourceArn) gets S3's 403 through CloudFront, counted."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests
from botocore.signers import CloudFrontSigner

from intake.signing import CloudFrontUrls
from localcloud.authz.denials import DENIALS
from localcloud.cloud import LocalCloud
from tests.e2e.test_api import User, final, new_user, post_file, presign
from tests.support import images, signing

pytestmark = pytest.mark.e2e
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


@pytest.fixture(scope="module")
def ready(cloud: LocalCloud) -> dict[str, Any]:
    """One ready upload of a fresh user, as GET /uploads/{id} returns it."""
    user: User = new_user(cloud)
    body = images.jpeg(640, 480)
    created = presign(cloud.api_url, user, body, "beach day.jpg")
    assert post_file(created, body).status_code == 204
    item = final(cloud.api_url, user, created["upload_id"])
    assert item["status"] == "ready", item
    return item | {"original": body}


def _get(url: str) -> requests.Response:
    return requests.get(url, timeout=30, allow_redirects=False)


def _with(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | changes
    return parts._replace(query=urlencode(query, safe="~")).geturl()


def _assert_denied(response: requests.Response, code: str = "AccessDenied") -> None:
    assert response.status_code == 403, response.text
    assert f"<Code>{code}</Code>" in response.text


def test_thumbnails_and_original_come_through_the_front_with_security_headers(
    cloud: LocalCloud, ready: dict[str, Any]
) -> None:
    urls = [ready["download_url"], *(t["url"] for t in ready["thumbnails"])]
    assert all(url.startswith(cloud.cdn_url + "/") for url in urls)
    for url in urls:
        response = _get(url)
        assert response.status_code == 200, response.text
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, name
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    original = _get(ready["download_url"])
    assert original.content == ready["original"]
    assert original.headers["Content-Disposition"] == "attachment; filename*=UTF-8''beach%20day.jpg"
    assert _get(ready["thumbnails"][-1]["url"]).content[:2] == b"\xff\xd8"


def test_tampered_expired_foreign_and_misplaced_signatures_get_403(
    cloud: LocalCloud, ready: dict[str, Any]
) -> None:
    url = ready["thumbnails"][-1]["url"]
    signature = dict(parse_qsl(urlsplit(url).query))["Signature"]
    _assert_denied(
        _get(_with(url, Signature=("A" if signature[5] != "A" else "B").join((signature[:5], signature[6:]))))
    )
    key_pair_id = cloud.outputs["SigningKeyPairId"]
    expired = CloudFrontUrls(cloud.cdn_url, key_pair_id, cloud_private_key(cloud)).url(
        urlsplit(url).path.lstrip("/"), expires_at=_at(time.time() - 1)
    )
    _assert_denied(_get(expired))
    foreign = CloudFrontUrls(cloud.cdn_url, "K0NOTINTHEGROUP", signing.other_private_pem).url(
        urlsplit(url).path.lstrip("/"), expires_at=_at(time.time() + 300)
    )
    _assert_denied(_get(foreign), "InvalidKey")
    big, small = ready["thumbnails"][0]["url"], url
    _assert_denied(_get(urlsplit(small)._replace(path=urlsplit(big).path).geturl()))


def test_a_custom_policy_signed_with_the_stack_key_opens_its_prefix(
    cloud: LocalCloud, ready: dict[str, Any]
) -> None:
    path = urlsplit(ready["thumbnails"][0]["url"]).path
    prefix = path.rsplit("/", 1)[0]
    urls = CloudFrontUrls(cloud.cdn_url, cloud.outputs["SigningKeyPairId"], cloud_private_key(cloud))
    signer = CloudFrontSigner(cloud.outputs["SigningKeyPairId"], urls._rsa_sign)
    policy = signer.build_policy(f"{cloud.cdn_url}{prefix}/*", date_less_than=_at(time.time() + 60))
    assert _get(signer.generate_presigned_url(f"{cloud.cdn_url}{path}", policy=policy)).status_code == 200
    other = urlsplit(ready["download_url"]).path
    _assert_denied(_get(signer.generate_presigned_url(f"{cloud.cdn_url}{other}", policy=policy)))


def test_unsigned_requests_to_restricted_paths_get_403_the_page_is_public(
    cloud: LocalCloud, ready: dict[str, Any]
) -> None:
    for url in (ready["download_url"], ready["thumbnails"][0]["url"]):
        _assert_denied(_get(url.split("?", 1)[0]), "MissingKey")
    page = _get(cloud.cdn_url + "/")
    assert page.status_code == 200 and "<script" in page.text
    assert page.headers["X-Frame-Options"] == "DENY"
    config = _get(cloud.cdn_url + "/config.js")
    assert config.status_code == 200 and cloud.api_url in config.text


def test_direct_anonymous_s3_reads_are_refused(cloud: LocalCloud, ready: dict[str, Any]) -> None:
    for bucket, path in (
        (cloud.outputs["UploadBucketName"], urlsplit(ready["download_url"]).path),
        (cloud.outputs["ThumbnailBucketName"], urlsplit(ready["thumbnails"][0]["url"]).path),
        (cloud.outputs["WebBucketName"], "/index.html"),
    ):
        response = requests.get(f"{cloud.endpoint}/{bucket}{path}", timeout=30)
        assert response.status_code == 403, (bucket, response.status_code, response.text[:200])


def test_the_signing_key_is_a_secure_string_matching_the_key_group(cloud: LocalCloud) -> None:
    ssm, cloudfront = cloud.client("ssm"), cloud.client("cloudfront")
    name = cloud.outputs["SigningKeyParameterName"]
    parameter = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    assert parameter["Type"] == "SecureString"
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"]
    data_key = cloud.client("kms").describe_key(KeyId=described[0]["KeyId"])["KeyMetadata"]
    assert data_key["Arn"] == cloud.outputs["DataKeyArn"]  # under the stack's customer-managed key
    key = cloudfront.get_public_key(Id=cloud.outputs["SigningKeyPairId"])["PublicKey"]["PublicKeyConfig"]
    from intake_tools.signing_key import public_key_pem

    assert key["EncodedKey"].strip() == public_key_pem(parameter["Value"]).strip()


Statements = list[dict[str, Any]]


@contextlib.contextmanager
def bucket_policy_changed(
    cloud: LocalCloud, output: str, change: Callable[[Statements], Statements]
) -> Iterator[None]:
    """The bucket's policy with its statements changed for the `with` block, then restored."""
    s3, bucket = cloud.client("s3"), cloud.outputs[output]
    original = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    document = json.loads(original)
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({**document, "Statement": change(document["Statement"])})
    )
    try:
        yield
    finally:
        s3.put_bucket_policy(Bucket=bucket, Policy=original)


@contextlib.contextmanager
def key_policy_changed(cloud: LocalCloud, change: Callable[[Statements], Statements]) -> Iterator[None]:
    """The stack key's policy with its statements changed for the `with` block, then restored."""
    kms, key = cloud.client("kms"), cloud.outputs["DataKeyArn"]
    original = kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]
    document = json.loads(original)
    changed = {**document, "Statement": change(document["Statement"])}
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(changed))
    try:
        yield
    finally:
        kms.put_key_policy(KeyId=key, PolicyName="default", Policy=original)


def _without(sid: str) -> Callable[[Statements], Statements]:
    return lambda statements: [s for s in statements if s.get("Sid") != sid]


def _source_arn(arn: str) -> Callable[[Statements], Statements]:
    def change(statements: Statements) -> Statements:
        for statement in statements:
            if statement.get("Sid") == "AllowCloudFrontRead":
                statement["Condition"] = {"StringEquals": {"AWS:SourceArn": arn}}
        return statements

    return change


def _denied_by_s3(url: str, action: str, resource: str) -> None:
    """CloudFront passes on S3's AccessDenied; the local cloud logs and counts the denied origin read."""
    before = DENIALS.count
    response = _get(url)
    assert response.status_code == 403, response.text
    assert response.headers["Content-Type"] == "application/xml"
    assert "<Code>AccessDenied</Code>" in response.text and "<RequestId>" in response.text
    assert response.headers["X-Cache"] == "Error from cloudfront"
    assert DENIALS.count == before + 1
    denial = DENIALS.snapshot()["recent"][-1]
    assert (denial["principal"], denial["action"]) == ("cloudfront.amazonaws.com", action)
    assert denial["resource"].startswith(resource), denial


def test_the_origin_read_needs_the_bucket_policy_to_allow_cloudfront(
    cloud: LocalCloud, ready: dict[str, Any]
) -> None:
    url = ready["thumbnails"][-1]["url"]
    bucket_arn = f"arn:aws:s3:::{cloud.outputs['ThumbnailBucketName']}"
    with bucket_policy_changed(cloud, "ThumbnailBucketName", _without("AllowCloudFrontRead")):
        _denied_by_s3(url, "s3:GetObject", f"{bucket_arn}/thumbnails/")
    assert _get(url).status_code == 200  # the template's policy


def test_the_origin_read_needs_the_bucket_policy_to_name_this_distribution(
    cloud: LocalCloud, ready: dict[str, Any]
) -> None:
    url = ready["download_url"]
    other = cloud.outputs["DistributionArn"].rsplit("/", 1)[0] + "/EOTHERDISTRIBUTION"
    with bucket_policy_changed(cloud, "UploadBucketName", _source_arn(other)):
        _denied_by_s3(url, "s3:GetObject", f"arn:aws:s3:::{cloud.outputs['UploadBucketName']}/uploads/")
    with bucket_policy_changed(cloud, "UploadBucketName", _source_arn(cloud.outputs["DistributionArn"])):
        assert _get(url).content == ready["original"]


def test_an_sse_kms_origin_read_needs_the_key_policy_to_allow_cloudfront(
    cloud: LocalCloud, ready: dict[str, Any]
) -> None:
    url = ready["thumbnails"][0]["url"]
    with key_policy_changed(cloud, _without("AllowCloudFrontOacDecrypt")):
        _denied_by_s3(url, "kms:Decrypt", cloud.outputs["DataKeyArn"])
        assert _get(cloud.cdn_url + "/index.html").status_code == 403  # the page is SSE-KMS too
    assert _get(url).status_code == 200


def test_a_missing_object_is_403_through_cloudfront(cloud: LocalCloud, ready: dict[str, Any]) -> None:
    """The bucket policies give CloudFront no s3:ListBucket, so S3 answers 403 for a missing key."""
    path = urlsplit(ready["thumbnails"][0]["url"]).path.rsplit("/", 1)[0] + "/no-such-size.jpg"
    urls = CloudFrontUrls(cloud.cdn_url, cloud.outputs["SigningKeyPairId"], cloud_private_key(cloud))
    missing = urls.url(path.lstrip("/"), expires_at=_at(time.time() + 60))
    _denied_by_s3(missing, "s3:ListBucket", f"arn:aws:s3:::{cloud.outputs['ThumbnailBucketName']}")


def cloud_private_key(cloud: LocalCloud) -> Any:
    name = cloud.outputs["SigningKeyParameterName"]
    value = cloud.client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    return lambda: value


def _at(epoch: float) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC)
