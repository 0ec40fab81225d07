"""GET /uploads/{id}: download URLs for the distribution (CDN_URL), signed with the key in Parameter Store
(mock_aws SSM, SecureString), checked the way CloudFront checks them. There is no S3 fallback: the API
role cannot read the buckets."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlsplit

import pytest

from localcloud.cdn.signed_urls import Denied, resource_url, verify
from tests.integration.test_api_handler import ALICE, CDN, KEY_PAIR_ID, PARAMETER, Api, ready_upload
from tests.integration.test_api_handler import api as plain_api  # noqa: F401  (the fixture)
from tests.support import signing
from tests.support.aws import REGION


@pytest.fixture
def cdn_api(plain_api: Api) -> Api:  # noqa: F811
    return plain_api


def _check(url: str) -> None:
    parts = urlsplit(url)
    resource = resource_url(parts.scheme, parts.netloc, parts.path, parts.query)
    verify(resource, parse_qsl(parts.query), {KEY_PAIR_ID: signing.public_pem()}, now=time.time())


def test_get_returns_cloudfront_urls_signed_with_the_parameter_store_key(cdn_api: Api) -> None:
    upload_id = ready_upload(cdn_api)
    status, item, _ = cdn_api.call("GET", f"/uploads/{upload_id}")
    assert status == 200
    download = urlsplit(item["download_url"])
    assert f"{download.scheme}://{download.netloc}" == CDN
    assert download.path == f"/uploads/{ALICE}/{upload_id}/cat.jpg"
    query = dict(parse_qsl(download.query))
    assert query["Key-Pair-Id"] == KEY_PAIR_ID and "Policy" not in query  # canned policy
    assert query["response-content-disposition"] == "attachment; filename*=UTF-8''cat.jpg"
    assert 0 < int(query["Expires"]) - time.time() <= 300
    for url in [item["download_url"], *(t["url"] for t in item["thumbnails"])]:
        _check(url)
    assert [urlsplit(t["url"]).path for t in item["thumbnails"]] == [
        f"/thumbnails/{ALICE}/{upload_id}/{size}.jpg" for size in (1024, 128)
    ]
    assert item["urls_expire_at"]


def test_the_key_is_read_once_per_execution_environment(cdn_api: Api) -> None:
    import boto3

    upload_id = ready_upload(cdn_api)
    assert cdn_api.call("GET", f"/uploads/{upload_id}")[0] == 200
    boto3.client("ssm", region_name=REGION).delete_parameter(Name=PARAMETER)
    status, item, _ = cdn_api.call("GET", f"/uploads/{upload_id}")  # a warm call: no SSM request
    assert status == 200
    _check(item["download_url"])


def test_a_url_signed_for_one_object_does_not_open_another(cdn_api: Api) -> None:
    upload_id = ready_upload(cdn_api)
    _, item, _ = cdn_api.call("GET", f"/uploads/{upload_id}")
    big, small = (urlsplit(t["url"]) for t in item["thumbnails"])
    swapped = big._replace(path=small.path).geturl()
    with pytest.raises(Denied):
        _check(swapped)
