"""The CDN's signed URLs fit WAF's managed size rules for any filename the API accepts: a URI path of
at most 1,024 bytes (SizeRestrictions_URIPATH) and a query string of at most 2,048 bytes
(SizeRestrictions_QUERYSTRING), as AWS documents the core rule set. Checked on the URLs the API signs
(intake.signing with a 2048-bit RSA key, as CloudFront takes), for the longest names POST /uploads
accepts, in the scripts that cost the most bytes, and for generated ones."""

from __future__ import annotations

import functools
import json
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake.keys import MAX_DISPLAY_NAME_CHARS, UploadKey, display_name, download_name, sanitize_filename
from intake.signing import CloudFrontUrls
from intake.uploads import BadRequest, parse_new_upload
from tests.support import signing

URI_PATH_LIMIT, QUERY_LIMIT = 1024, 2048
OWNER = str(uuid.uuid4())  # a Cognito sub
EXPIRES = datetime(2286, 1, 1, tzinfo=UTC)  # the longest Expires (10 digits)
LONG_KEY_PAIR_ID = "K" + "X" * 31


@functools.cache
def urls() -> CloudFrontUrls:
    pem = signing.private_pem()
    return CloudFrontUrls("https://d111111abcdef8.cloudfront.net", LONG_KEY_PAIR_ID, lambda: pem)


def accepted(filename: str) -> str | None:
    """The name the API keeps for `filename`, or None if POST /uploads refuses it."""
    body = json.dumps({"filename": filename, "content_type": "image/jpeg", "size": 1})
    try:
        return parse_new_upload(body, allowed_content_types=frozenset({"image/jpeg"}), max_bytes=10).filename
    except BadRequest:
        return None


def download_url(name: str) -> str:
    key = UploadKey(OWNER, uuid.uuid4().hex, sanitize_filename(name)).key
    return urls().url(key, expires_at=EXPIRES, download_name=name)


def assert_fits(name: str) -> None:
    url = urlsplit(download_url(name))
    assert len(url.path.encode()) <= URI_PATH_LIMIT, (name, len(url.path))
    assert len(url.query.encode()) <= QUERY_LIMIT, (name, len(url.query))


def longest(unit: str, ext: str = ".jpg") -> str:
    return unit * ((MAX_DISPLAY_NAME_CHARS - len(ext)) // len(unit)) + ext


WORST = {
    "CJK": longest("中"),
    "CJK extension B (4 bytes, a letter)": longest("\U00020000"),
    "emoji (4 bytes, not in keys)": longest("😀"),
    "joined emoji": longest("👩\u200d👩\u200d👧"),
    "percent signs": longest("%"),
    "percent-heavy mix": longest("%中 "),
    "spaces and CJK": longest("中 "),
    "Devanagari with marks": longest("क्षि"),
    "no extension, CJK": "中" * MAX_DISPLAY_NAME_CHARS,
    "ASCII": longest("a"),
}


@pytest.mark.parametrize("case", list(WORST))
def test_the_longest_accepted_names_make_urls_within_wafs_limits(case: str) -> None:
    name = accepted(WORST[case])
    assert name is not None, "the API accepts it"
    assert_fits(name)


@settings(max_examples=150, deadline=None)
@given(st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=MAX_DISPLAY_NAME_CHARS))
def test_any_accepted_name_makes_urls_within_wafs_limits(raw: str) -> None:
    name = accepted(raw)
    if name is not None:
        assert_fits(name)


def test_the_download_name_keeps_the_extension_and_whole_characters() -> None:
    name = accepted(WORST["joined emoji"])
    assert name is not None
    shown = download_name(name)
    assert shown.endswith(".jpg") and name.startswith(shown[:-4]) and len(shown) < len(name)
    assert shown[:-4].endswith("👧")  # never a half-joined family
    disposition = dict(parse_qsl(urlsplit(download_url(name)).query))["response-content-disposition"]
    assert unquote(disposition.split("''", 1)[1]) == shown
    accent = download_name(longest("e\u0301"))  # NFD: the accent is its own character
    assert not accent[:-4].endswith("e")  # cut before a letter, never between it and its accent


def test_short_names_are_untouched() -> None:
    for name in ("My Cat.jpg", "中文照片.png", "100% 🎉.gif"):
        assert download_name(name) == name
        assert sanitize_filename(name) == sanitize_filename(display_name(name))


def test_the_keys_name_part_keeps_its_extension() -> None:
    key_name = sanitize_filename(WORST["CJK extension B (4 bytes, a letter)"])
    assert key_name.endswith(".jpg") and len(key_name) < 200
