"""Bad inputs at the API and at S3: hostile filenames and metadata in POST /uploads, and uploads that
break the presigned request's terms. Each ends with a clear verdict: the name kept (and its safe form
in the key), or 400 with one sentence; S3's own 4xx for a broken policy, with nothing stored.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import pytest
from botocore.config import Config
from werkzeug.test import Client

from intake import aws, storage
from intake.record import UploadRecord
from intake.uploads import BadRequest, parse_new_upload, public_view, upload_terms
from localcloud.s3_presign import BucketView, PresignChecks, sigv4

OWNER = "5f0c2a9e-1b2c-4d3e-8f90-123456789abc"
UPLOAD_ID = "0123456789abcdef0123456789abcdef"
ALLOWED = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
BUCKET = "intake-uploads"


def create(filename: Any = "cat.jpg", **extra: Any) -> tuple[str, str]:
    """POST /uploads's body through the API's rules: (the name the index keeps, the key's last segment)."""
    body = json.dumps({"filename": filename, "content_type": "image/jpeg", "size": 100, **extra})
    upload = parse_new_upload(body, allowed_content_types=ALLOWED, max_bytes=1000)
    terms = upload_terms(OWNER, UPLOAD_ID, upload)
    assert terms.metadata["filename"] == storage_safe(terms.key.filename)  # validate compares these
    return upload.filename, terms.key.filename


def storage_safe(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


def refused(filename: Any = "cat.jpg", **extra: Any) -> str:
    with pytest.raises(BadRequest) as raised:
        create(filename, **extra)
    return str(raised.value)


EMOJI_FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"

# (the filename sent, the name users see and download, the key's safe form)
NAMES = {
    "emoji only": ("🎉🎉🎉.jpg", "🎉🎉🎉.jpg", "file.jpg"),
    "accents, plus, brackets, percent": (
        "Été 2024 + plage (1) 100%.jpg",
        "Été 2024 + plage (1) 100%.jpg",
        "Été 2024 + plage (1) 100.jpg",
    ),
    "emoji joined by zero-width joiners": (
        f"{EMOJI_FAMILY} family.png",
        f"{EMOJI_FAMILY} family.png",
        "family.png",
    ),
    "path traversal": ("../../etc/passwd.jpg", "passwd.jpg", "passwd.jpg"),
    "windows path": ("C:\\fakepath\\holiday.jpg", "holiday.jpg", "holiday.jpg"),
    "cr lf header injection": ("a\r\nX-Injected: 1.jpg", "aX-Injected: 1.jpg", "aX-Injected 1.jpg"),
    "tab and del": ("tab\there\x7f.jpg", "tabhere.jpg", "tabhere.jpg"),
    "nul byte": ("nul\x00byte.jpg", "nulbyte.jpg", "nulbyte.jpg"),
    "c1 control": ("next\x85line.jpg", "nextline.jpg", "nextline.jpg"),
    "right-to-left override": ("invoice\u202egpj.exe", "invoicegpj.exe", "invoicegpj.exe"),
    "bidi isolates and marks": ("\u2067abc\u2069\u200f.jpg", "abc.jpg", "abc.jpg"),
    "quotes and semicolons": (
        'a"; filename=evil.exe; x=".jpg',
        'a"; filename=evil.exe; x=".jpg',
        "a filenameevil.exe x.jpg",
    ),
    "only dots": ("...", "...", "file"),
    "a leading dot": (".hidden.jpg", ".hidden.jpg", "hidden.jpg"),
    "decomposed accents (macOS)": ("cafe\u0301.jpg", "café.jpg", "café.jpg"),
    "reserved on windows": ("CON.jpg", "CON.jpg", "CON.jpg"),
    "255 characters": ("x" * 251 + ".jpg", "x" * 251 + ".jpg", "x" * 196 + ".jpg"),
}


@pytest.mark.parametrize("case", list(NAMES))
def test_the_name_users_see_is_the_name_they_gave(case: str) -> None:
    sent, shown, key_name = NAMES[case]
    assert create(sent) == (shown, key_name)


# (the filename sent, the sentence of the 400)
BAD_NAMES = {
    "empty": ("", "filename must not be empty"),
    "only a nul byte": ("\x00", "filename must name a file, not only a folder, dots or control characters"),
    "dot": (".", "filename must name a file, not only a folder, dots or control characters"),
    "dot dot": ("..", "filename must name a file, not only a folder, dots or control characters"),
    "a folder": ("photos/", "filename must name a file, not only a folder, dots or control characters"),
    "over 255 characters": ("x" * 252 + ".jpg", "filename is longer than 255 characters"),
    "over 1024 characters": ("x" * 1025, "filename is longer than 1024 characters"),
    "an unpaired surrogate": (
        "\ud800.jpg",
        "filename is not valid Unicode text (it has an unpaired surrogate)",
    ),
    "not a string": (["a.jpg"], "filename must be a string"),
}


@pytest.mark.parametrize("case", list(BAD_NAMES))
def test_a_name_that_names_nothing_gets_400_with_a_sentence(case: str) -> None:
    sent, sentence = BAD_NAMES[case]
    assert refused(sent) == sentence


# (the metadata sent, the sentence of the 400; None: accepted)
METADATA = {
    "tag with a comma": ({"tags": ["a,b"]}, "tag 'a,b' must not contain a comma"),
    "21 tags": ({"tags": [f"t{i}" for i in range(21)]}, "metadata.tags has more than 20 items"),
    "51-character tag": ({"tags": ["x" * 51]}, "metadata.tags[0] is longer than 50 characters"),
    "2001-character description": (
        {"description": "d" * 2001},
        "metadata.description is longer than 2000 characters",
    ),
    "non-ascii description over S3's 2 KB": (
        {"description": "é" * 1900},
        "metadata is 11508 bytes once encoded, S3 allows 2048; shorten the filename, title, description or tags",
    ),
    "unpaired surrogate in the title": (
        {"title": "\udc80"},
        "metadata.title is not valid Unicode text (it has an unpaired surrogate)",
    ),
    "unpaired surrogate in a tag": (
        {"tags": ["ok", "\ud83d"]},
        "metadata.tags[1] is not valid Unicode text (it has an unpaired surrogate)",
    ),
    "title with control and bidi characters": ({"title": "evil\u202e\r\nBcc: x@example.com"}, None),
    "unknown field": ({"owner": "someone-else"}, "metadata.owner is not a known field"),
}


@pytest.mark.parametrize("case", list(METADATA))
def test_hostile_metadata_gets_a_clear_verdict(case: str) -> None:
    metadata, sentence = METADATA[case]
    if sentence is None:
        create(metadata=metadata)
    else:
        assert refused(metadata=metadata) == sentence


def test_the_record_shows_and_downloads_the_name_given() -> None:
    shown, key_name = create("🎉🎉🎉.jpg")
    record = UploadRecord.from_item(
        {
            "upload_id": UPLOAD_ID,
            "owner": OWNER,
            "filename": shown,
            "key": f"uploads/{OWNER}/{UPLOAD_ID}/{key_name}",
            "created_at": "t",
            "updated_at": "t",
        }
    )
    assert public_view(record)["filename"] == "🎉🎉🎉.jpg"
    assert record.object_key.endswith("/file.jpg")


def parse_disposition(header: str) -> tuple[str, str]:
    """(type, filename) by RFC 6266's grammar: `filename*` is RFC 5987's charset''percent-encoded."""
    kind, _, params = header.partition(";")
    name, _, value = params.strip().partition("=")
    assert name == "filename*" and ";" not in value and '"' not in value
    assert re.fullmatch(r"UTF-8''[A-Za-z0-9%!#$&+.^_`|~-]*", value), value  # attr-chars only
    charset, _language, encoded = value.split("'", 2)
    return kind, unquote(encoded, encoding=charset, errors="strict")


@pytest.mark.parametrize("case", list(NAMES))
def test_the_download_name_survives_content_disposition(case: str) -> None:
    from intake.keys import content_disposition

    _, shown, _ = NAMES[case]
    header = content_disposition(shown)
    assert parse_disposition(header) == ("attachment", shown)
    assert header.isascii() and "\r" not in header and "\n" not in header


# --- S3's side: an upload that breaks its presigned request's terms ---------------------------------


class Emulator:
    """Stands in for moto behind the presign checks: records what would have been stored."""

    def __init__(self) -> None:
        self.stored: list[bytes] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.stored.append(environ["wsgi.input"].read())
        start_response("204 No Content", [])
        return []


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Any:
    client = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:4566",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(signature_version="s3v4"),
    )
    monkeypatch.setattr(aws, "s3", lambda: client)  # storage signs with it, as the API function does
    return client


BOUNDARY = "----intake-bad-inputs"


def multipart(fields: dict[str, str], data: bytes, content_type: str) -> bytes:
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    out.write(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
    )
    out.write(data + f"\r\n--{BOUNDARY}--\r\n".encode())
    return out.getvalue()


def checks(emulator: Emulator, signed: datetime) -> Client:
    buckets = {BUCKET: BucketView("us-east-1", ())}
    return Client(
        PresignChecks(emulator, secrets={"test": "test"}.get, buckets=buckets.get, clock=lambda: signed)
    )


DECLARED = 100


def presigned(filename: str = "photo.jpg") -> tuple[dict[str, Any], Any]:
    body = json.dumps({"filename": filename, "content_type": "image/jpeg", "size": DECLARED})
    terms = upload_terms(
        OWNER, UPLOAD_ID, parse_new_upload(body, allowed_content_types=ALLOWED, max_bytes=1000)
    )
    post = storage.presigned_post(
        BUCKET, terms.key.key, fields=terms.post_fields(), conditions=terms.post_conditions(), expires_in=300
    )
    return post, terms


# (a change to the form, the body, S3's answer)
POLICY_VIOLATIONS = {
    "more bytes than declared": ({}, b"x" * (DECLARED + 1), 400, "EntityTooLarge"),
    "an empty file": ({}, b"", 400, "EntityTooSmall"),
    "another content type than declared": ({"Content-Type": "text/html"}, b"x", 403, "AccessDenied"),
    "a changed filename metadata": ({"x-amz-meta-filename": "evil.html"}, b"x", 403, "AccessDenied"),
    "an extra metadata field": ({"x-amz-meta-role": "admin"}, b"x", 403, "AccessDenied"),
    "a key in another user's folder": (
        {"key": f"uploads/someone-else/{UPLOAD_ID}/photo.jpg"},
        b"x",
        403,
        "AccessDenied",
    ),
    "a public-read acl": ({"acl": "public-read"}, b"x", 403, "AccessDenied"),
}


@pytest.mark.parametrize("case", list(POLICY_VIOLATIONS))
def test_a_post_that_breaks_its_policy_gets_s3s_error_and_stores_nothing(case: str, s3: Any) -> None:
    change, data, status, code = POLICY_VIOLATIONS[case]
    post, _ = presigned("🎉 party.jpg")
    emulator = Emulator()
    fields = post["fields"] | change
    response = checks(emulator, sigv4.parse_amz_date(post["fields"]["x-amz-date"]) or datetime.now(UTC)).post(
        urlsplit(post["url"]).path,
        data=multipart(fields, data, fields.get("Content-Type", "image/jpeg")),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        headers={"Host": "127.0.0.1:4566"},
    )
    assert (response.status_code, f"<Code>{code}</Code>" in response.text) == (status, True), response.text
    assert emulator.stored == []


def test_the_post_that_keeps_its_terms_is_stored(s3: Any) -> None:
    post, terms = presigned("🎉 party.jpg")
    emulator = Emulator()
    response = checks(emulator, sigv4.parse_amz_date(post["fields"]["x-amz-date"]) or datetime.now(UTC)).post(
        urlsplit(post["url"]).path,
        data=multipart(post["fields"], b"x" * DECLARED, "image/jpeg"),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        headers={"Host": "127.0.0.1:4566"},
    )
    assert response.status_code == 204 and len(emulator.stored) == 1
    assert unquote(post["fields"]["key"]).endswith("/party.jpg") and terms.key.filename == "party.jpg"


@pytest.mark.parametrize(
    ("headers", "data"),
    [
        ({"Content-Type": "text/html"}, b"x" * DECLARED),
        ({"Content-Length": str(DECLARED + 1)}, b"x" * (DECLARED + 1)),
        ({"x-amz-meta-filename": "evil.html"}, b"x" * DECLARED),
    ],
    ids=["another content type", "more bytes than declared", "changed metadata"],
)
def test_a_put_that_breaks_its_signed_headers_is_refused(
    s3: Any, headers: dict[str, str], data: bytes
) -> None:
    _, terms = presigned()
    url = storage.presigned_put(
        BUCKET,
        terms.key.key,
        content_type=terms.content_type,
        content_length=DECLARED,
        metadata=dict(terms.metadata),
        expires_in=300,
    )
    parts = urlsplit(url)
    signed = sigv4.parse_amz_date(dict(p.split("=", 1) for p in parts.query.split("&"))["X-Amz-Date"])
    emulator = Emulator()
    response = checks(emulator, signed or datetime.now(UTC)).put(
        f"{parts.path}?{parts.query}",
        data=data,
        headers={"Host": parts.netloc, **terms.put_headers(), **headers},
    )
    assert response.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in response.text
    assert emulator.stored == []
