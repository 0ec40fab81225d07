"""URL signing (intake.signing, botocore's CloudFrontSigner) and the local CloudFront front's check of
signed URLs (localcloud.cdn.signed_urls), which follows CloudFront's rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.signers import CloudFrontSigner

from intake.signing import CloudFrontUrls
from localcloud.cdn.signed_urls import Denied, resource_url, verify
from tests.support import signing

BASE = "http://127.0.0.1:3001"
KEY_ID, OTHER_ID = "K2JCJMDEHXQW5F", "K9OTHERKEY0001"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
TRUSTED = {KEY_ID: signing.public_pem()}


def _urls(private_pem: str = "", key_id: str = KEY_ID) -> CloudFrontUrls:
    return CloudFrontUrls(BASE + "/", key_id, lambda: private_pem or signing.private_pem())


def _verify(url: str, *, at: datetime = NOW, trusted: dict[str, str] = TRUSTED) -> None:
    parts = urlsplit(url)
    resource = resource_url(parts.scheme, parts.netloc, parts.path, parts.query)
    verify(resource, parse_qsl(parts.query), trusted, now=at.timestamp())


def _denied(url: str, code: str = "AccessDenied", **kwargs: object) -> None:
    with pytest.raises(Denied) as caught:
        _verify(url, **kwargs)  # type: ignore[arg-type]
    assert caught.value.code == code


def test_a_canned_url_verifies_until_it_expires() -> None:
    url = _urls().url("thumbnails/u/1/128.jpg", expires_at=NOW + timedelta(seconds=300))
    query = dict(parse_qsl(urlsplit(url).query))
    assert set(query) == {"Expires", "Signature", "Key-Pair-Id"}
    assert query["Expires"] == str(int((NOW + timedelta(seconds=300)).timestamp()))
    _verify(url)
    _verify(url, at=NOW + timedelta(seconds=299))
    _denied(url, at=NOW + timedelta(seconds=300))


def test_the_download_name_becomes_a_signed_content_disposition() -> None:
    url = _urls().url(
        "uploads/u/1/My Cat.jpg", expires_at=NOW + timedelta(minutes=5), download_name="My Cat.jpg"
    )
    parts = urlsplit(url)
    assert parts.path == "/uploads/u/1/My%20Cat.jpg"
    query = dict(parse_qsl(parts.query))
    assert query["response-content-disposition"] == "attachment; filename*=UTF-8''My%20Cat.jpg"
    _verify(url)
    _denied(url.replace("attachment", "inline"))  # the disposition is part of the signed resource


def test_the_key_is_loaded_once() -> None:
    loads: list[int] = []

    def load() -> str:
        loads.append(1)
        return signing.private_pem()

    urls = CloudFrontUrls(BASE, KEY_ID, load)
    for _ in range(3):
        urls.url("thumbnails/a.jpg", expires_at=NOW + timedelta(minutes=5))
    assert loads == [1]


def test_a_tampered_signature_is_denied() -> None:
    url = _urls().url("thumbnails/u/1/128.jpg", expires_at=NOW + timedelta(minutes=5))
    signature = dict(parse_qsl(urlsplit(url).query))["Signature"]
    flipped = ("A" if signature[10] != "A" else "B").join((signature[:10], signature[11:]))
    _denied(url.replace(signature, flipped))


def test_a_later_expiry_breaks_the_signature() -> None:
    url = _urls().url("thumbnails/u/1/128.jpg", expires_at=NOW + timedelta(minutes=5))
    expires = dict(parse_qsl(urlsplit(url).query))["Expires"]
    _denied(url.replace(f"Expires={expires}", f"Expires={int(expires) + 3600}"))


def test_an_unknown_key_pair_id_is_denied() -> None:
    url = _urls(signing.other_private_pem(), OTHER_ID).url("thumbnails/a.jpg", expires_at=NOW + timedelta(1))
    _denied(url, "InvalidKey")
    # a key id of the group with another key's signature
    _denied(url.replace(OTHER_ID, KEY_ID))


def test_a_signature_for_one_object_does_not_open_another() -> None:
    url = _urls().url("thumbnails/u/1/128.jpg", expires_at=NOW + timedelta(minutes=5))
    _denied(url.replace("/128.jpg", "/1024.jpg"))
    _denied(url.replace(BASE, "http://localhost:3001"))


def test_unsigned_and_incomplete_urls_are_denied() -> None:
    _denied(f"{BASE}/thumbnails/a.jpg", "MissingKey")
    _denied(f"{BASE}/thumbnails/a.jpg?Key-Pair-Id={KEY_ID}&Expires=99999999999")


def _custom(resource: str, **conditions: object) -> str:
    signer = CloudFrontSigner(KEY_ID, _urls()._rsa_sign)
    policy = signer.build_policy(resource, date_less_than=NOW + timedelta(minutes=5), **conditions)
    return str(signer.generate_presigned_url(f"{BASE}/thumbnails/u/1/128.jpg", policy=policy))


def test_a_custom_policy_with_a_wildcard_opens_what_it_matches_only() -> None:
    url = _custom(f"{BASE}/thumbnails/u/1/*")
    assert "Policy=" in url and "Expires=" not in url
    _verify(url)
    _verify(url.replace("/128.jpg", "/1024.jpg"))
    _denied(url.replace("/u/1/", "/u/2/"))
    _denied(url, at=NOW + timedelta(minutes=5))


def test_a_custom_policy_honours_its_start_time_and_source_ip() -> None:
    later = _custom(f"{BASE}/*", date_greater_than=NOW + timedelta(minutes=1))
    _denied(later)
    _verify(later, at=NOW + timedelta(minutes=2))
    _verify(_custom(f"{BASE}/*", ip_address="127.0.0.0/8"))
    _denied(_custom(f"{BASE}/*", ip_address="10.0.0.0/8"))


def test_a_policy_signed_by_one_key_cannot_be_swapped_for_another() -> None:
    url = _custom(f"{BASE}/thumbnails/u/1/*")
    other = _custom(f"{BASE}/*")
    own_policy = dict(parse_qsl(urlsplit(url).query))["Policy"]
    wide_policy = dict(parse_qsl(urlsplit(other).query))["Policy"]
    _denied(url.replace(own_policy, wide_policy))
