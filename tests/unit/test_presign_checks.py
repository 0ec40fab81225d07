"""S3's presigned-request checks, as pure logic: SigV4 against AWS's published examples and botocore,
POST policy conditions, the streaming form reader, CORS, and the middleware with a stand-in emulator."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import pytest
from botocore.config import Config
from werkzeug.test import Client
from werkzeug.wsgi import get_input_stream

from localcloud.s3_presign import BucketView, PresignChecks, S3Error, post_policy, sigv4
from localcloud.s3_presign.cors import CorsRule, actual, preflight
from localcloud.s3_presign.middleware import _query_params
from localcloud.s3_presign.post_form import PostForm

# AWS's example credentials, used by every published SigV4 example.
EXAMPLE_KEY, EXAMPLE_SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SECRETS = {EXAMPLE_KEY: EXAMPLE_SECRET, "test": "test"}
ORIGIN = "http://127.0.0.1:3000"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def error_of(excinfo: pytest.ExceptionInfo[S3Error]) -> tuple[int, str, str]:
    return excinfo.value.status, excinfo.value.code, excinfo.value.message


# --- SigV4: AWS's published examples --------------------------------------------------------------


def test_signing_key_matches_the_aws_example() -> None:
    # "Examples of how to derive a signing key for Signature Version 4"
    key = sigv4.signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


EXAMPLE_GET = sigv4.QueryRequest(
    method="GET",
    path="/test.txt",
    params=[
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
        ("X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"),
        ("X-Amz-Date", "20130524T000000Z"),
        ("X-Amz-Expires", "86400"),
        ("X-Amz-SignedHeaders", "host"),
        ("X-Amz-Signature", "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"),
    ],
    headers={"host": "examplebucket.s3.amazonaws.com"},
)


def test_presigned_get_example_canonical_request_and_signature() -> None:
    # "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)", GET /test.txt
    canonical = sigv4.canonical_request("GET", "/test.txt", EXAMPLE_GET.params, EXAMPLE_GET.headers, ["host"])
    assert canonical == (
        "GET\n/test.txt\n"
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1"
        "%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\n"
        "host:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD"
    )
    to_sign = sigv4.string_to_sign("20130524T000000Z", "20130524/us-east-1/s3/aws4_request", canonical)
    assert to_sign.endswith("3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04")
    sigv4.verify_query_auth(EXAMPLE_GET, SECRETS.get, at("2013-05-24T12:00:00"))


def test_presigned_get_example_expires_after_its_day() -> None:
    with pytest.raises(S3Error) as refused:
        sigv4.verify_query_auth(EXAMPLE_GET, SECRETS.get, at("2013-05-25T00:00:01"))
    assert error_of(refused) == (403, "AccessDenied", "Request has expired")
    assert refused.value.details == {
        "X-Amz-Expires": "86400",
        "Expires": "2013-05-25T00:00:00Z",
        "ServerTime": "2013-05-25T00:00:01Z",
    }


# The policy and signature of "Example: Browser-Based Upload using HTTP POST (Using AWS Signature Version 4)".
EXAMPLE_POLICY = (
    "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6"
    "ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFj"
    "bCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tl"
    "dC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5"
    "cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZl"
    "ci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoN"
    "CiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVx"
    "dWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAx"
    "NTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9"
)
EXAMPLE_FORM = {
    "key": "user/user1/${filename}",
    "acl": "public-read",
    "success_action_redirect": "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html",
    "content-type": "image/jpeg",
    "x-amz-meta-uuid": "14365123651274",
    "x-amz-server-side-encryption": "AES256",
    "x-amz-credential": "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request",
    "x-amz-algorithm": "AWS4-HMAC-SHA256",
    "x-amz-date": "20151229T000000Z",
    "x-amz-meta-tag": "",
    "policy": EXAMPLE_POLICY,
    "x-amz-signature": "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e",
}
BEFORE_EXAMPLE_EXPIRY = at("2015-12-29T10:00:00")


def verify_example(form: dict[str, str], now: datetime = BEFORE_EXAMPLE_EXPIRY) -> post_policy.Policy:
    return post_policy.verify_post(form, "photo.jpg", "sigv4examplebucket", SECRETS.get, now)


def test_post_example_form_is_accepted() -> None:
    policy = verify_example(EXAMPLE_FORM)
    assert policy.expiration == at("2015-12-30T12:00:00")
    assert policy.max_size is None


@pytest.mark.parametrize(
    ("change", "failed"),
    [
        ({"key": "user/user2/photo.jpg"}, '["starts-with", "$key", "user/user1/"]'),
        ({"content-type": "text/html"}, '["starts-with", "$Content-Type", "image/"]'),
        ({"content-type": "image/png, text/html"}, '["starts-with", "$Content-Type", "image/"]'),
        ({"acl": "private"}, '["eq", "$acl", "public-read"]'),
        ({"x-amz-meta-uuid": "1"}, '["eq", "$x-amz-meta-uuid", "14365123651274"]'),
    ],
)
def test_post_example_condition_failures(change: dict[str, str], failed: str) -> None:
    with pytest.raises(S3Error) as refused:
        verify_example({**EXAMPLE_FORM, **change})
    assert error_of(refused) == (
        403,
        "AccessDenied",
        f"Invalid according to Policy: Policy Condition failed: {failed}",
    )


def test_post_example_missing_field_fails_its_condition() -> None:
    form = {k: v for k, v in EXAMPLE_FORM.items() if k != "x-amz-meta-tag"}
    with pytest.raises(S3Error) as refused:
        verify_example(form)
    assert refused.value.message.endswith('["starts-with", "$x-amz-meta-tag", ""]')


def test_post_example_expired_policy() -> None:
    with pytest.raises(S3Error) as refused:
        verify_example(EXAMPLE_FORM, now=at("2015-12-30T12:00:00"))
    assert error_of(refused) == (403, "AccessDenied", "Invalid according to Policy: Policy expired.")


def test_post_example_extra_field_is_refused_but_x_ignore_is_not() -> None:
    verify_example({**EXAMPLE_FORM, "x-ignore-anything": "1"})
    with pytest.raises(S3Error) as refused:
        verify_example({**EXAMPLE_FORM, "x-amz-meta-owner": "someone-else", "cache-control": "no"})
    assert refused.value.message == (
        "Invalid according to Policy: Extra input fields: x-amz-meta-owner, cache-control"
    )


def test_post_example_tampered_policy_or_signature() -> None:
    document = json.loads(base64.b64decode(EXAMPLE_POLICY))
    document["conditions"][1] = ["starts-with", "$key", ""]
    tampered = base64.b64encode(json.dumps(document).encode()).decode()
    for form in ({**EXAMPLE_FORM, "policy": tampered}, {**EXAMPLE_FORM, "x-amz-signature": "0" * 64}):
        with pytest.raises(S3Error) as refused:
            verify_example(form)
        assert refused.value.code == "SignatureDoesNotMatch"
        assert refused.value.status == 403


def test_post_unknown_access_key_and_missing_fields() -> None:
    with pytest.raises(S3Error) as refused:
        post_policy.verify_post(
            EXAMPLE_FORM, "a.jpg", "sigv4examplebucket", lambda _: None, BEFORE_EXAMPLE_EXPIRY
        )
    assert error_of(refused)[:2] == (403, "InvalidAccessKeyId")
    for name in ("key", "policy", "x-amz-signature", "x-amz-credential"):
        form = {k: v for k, v in EXAMPLE_FORM.items() if k != name}
        with pytest.raises(S3Error) as refused:
            verify_example(form)
        assert error_of(refused)[:2] == (400, "InvalidArgument")
        assert f"field named '{name}'" in refused.value.message


def test_post_v2_form_is_refused() -> None:
    with pytest.raises(S3Error) as refused:
        verify_example({"key": "a", "awsaccesskeyid": "test", "signature": "x", "policy": "e30="})
    assert error_of(refused)[:2] == (400, "InvalidRequest")


# --- SigV4: presigned URLs made by botocore -------------------------------------------------------


def presigner() -> Any:
    return boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:4566",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(signature_version="s3v4"),
    )


def as_received(url: str, method: str, headers: dict[str, str] | None = None) -> sigv4.QueryRequest:
    """The request as the server decodes it (WSGI hands a decoded path)."""
    parts = urlsplit(url)
    return sigv4.QueryRequest(
        method, unquote(parts.path), _query_params(parts.query), {"host": parts.netloc, **(headers or {})}
    )


def signed_at(url: str) -> datetime:
    amz_date = dict(_query_params(urlsplit(url).query))["X-Amz-Date"]
    moment = sigv4.parse_amz_date(amz_date)
    assert moment
    return moment


@pytest.mark.parametrize("key", ["plain.txt", "a b/ü+!'()*&$@=;:,?.txt", "uploads/sub/x%2Fy~z.jpg"])
def test_botocore_presigned_get_verifies_and_a_changed_path_does_not(key: str) -> None:
    url = presigner().generate_presigned_url(
        "get_object",
        Params={
            "Bucket": "bucket-one",
            "Key": key,
            "ResponseContentDisposition": "attachment; filename*=UTF-8''n%C3%A9.jpg",
        },
        ExpiresIn=60,
    )
    request = as_received(url, "GET")
    sigv4.verify_query_auth(request, SECRETS.get, signed_at(url), "us-east-1")
    other = sigv4.QueryRequest("GET", request.path + "x", request.params, request.headers)
    with pytest.raises(S3Error) as refused:
        sigv4.verify_query_auth(other, SECRETS.get, signed_at(url))
    assert refused.value.code == "SignatureDoesNotMatch"
    assert "CanonicalRequest" in refused.value.details


def presigned_put() -> str:
    url: str = presigner().generate_presigned_url(
        "put_object",
        Params={
            "Bucket": "bucket-one",
            "Key": "uploads/u/1/a.png",
            "ContentType": "image/png",
            "ContentLength": 5,
            "Metadata": {"owner": "u"},
        },
        ExpiresIn=300,
    )
    return url


PUT_HEADERS = {"content-type": "image/png", "content-length": "5", "x-amz-meta-owner": "u"}


def test_botocore_presigned_put_pins_its_headers() -> None:
    url = presigned_put()
    now = signed_at(url) + timedelta(seconds=299)
    sigv4.verify_query_auth(as_received(url, "PUT", PUT_HEADERS), SECRETS.get, now)
    for changed in ({"content-type": "text/html"}, {"content-length": "6"}, {"x-amz-meta-owner": "v"}):
        with pytest.raises(S3Error) as refused:
            sigv4.verify_query_auth(as_received(url, "PUT", {**PUT_HEADERS, **changed}), SECRETS.get, now)
        assert refused.value.code == "SignatureDoesNotMatch"
    with pytest.raises(S3Error) as refused:
        sigv4.verify_query_auth(as_received(url, "GET", PUT_HEADERS), SECRETS.get, now)
    assert refused.value.code == "SignatureDoesNotMatch"


def test_presigned_put_refuses_unsigned_amz_headers() -> None:
    url = presigned_put()
    headers = {**PUT_HEADERS, "x-amz-meta-role": "admin", "x-amz-acl": "public-read"}
    with pytest.raises(S3Error) as refused:
        sigv4.verify_query_auth(as_received(url, "PUT", headers), SECRETS.get, signed_at(url))
    assert error_of(refused) == (
        403,
        "AccessDenied",
        "There were headers present in the request which were not signed",
    )
    assert refused.value.details == {"HeadersNotSigned": "x-amz-acl, x-amz-meta-role"}


def test_presigned_put_expiry_is_inclusive_of_its_last_second() -> None:
    url = presigned_put()
    sigv4.verify_query_auth(
        as_received(url, "PUT", PUT_HEADERS), SECRETS.get, signed_at(url) + timedelta(seconds=300)
    )
    with pytest.raises(S3Error) as refused:
        sigv4.verify_query_auth(
            as_received(url, "PUT", PUT_HEADERS), SECRETS.get, signed_at(url) + timedelta(seconds=301)
        )
    assert refused.value.message == "Request has expired"


def with_param(request: sigv4.QueryRequest, name: str, value: str | None) -> sigv4.QueryRequest:
    params = [(n, v) for n, v in request.params if n != name]
    if value is not None:
        params.append((name, value))
    return sigv4.QueryRequest(request.method, request.path, params, request.headers)


@pytest.mark.parametrize(
    ("name", "value", "status", "code", "message"),
    [
        ("X-Amz-Date", None, 400, "AuthorizationQueryParametersError", "requires the X-Amz-Algorithm"),
        ("X-Amz-Expires", "604801", 400, "AuthorizationQueryParametersError", "less than a week"),
        ("X-Amz-Expires", "-1", 400, "AuthorizationQueryParametersError", "non-negative"),
        ("X-Amz-Expires", "soon", 400, "AuthorizationQueryParametersError", "should be a number"),
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA1", 400, "AuthorizationQueryParametersError", "only supports"),
        (
            "X-Amz-Credential",
            "test/2013/us-east-1/s3",
            400,
            "AuthorizationQueryParametersError",
            "mal-formed",
        ),
        (
            "X-Amz-Credential",
            "test/20130524/us-east-1/sqs/aws4_request",
            400,
            "AuthorizationQueryParametersError",
            "incorrect service",
        ),
        (
            "X-Amz-Credential",
            "test/20130524/eu-west-1/s3/aws4_request",
            400,
            "AuthorizationQueryParametersError",
            "region 'eu-west-1' is wrong",
        ),
        (
            "X-Amz-Credential",
            "test/20130525/us-east-1/s3/aws4_request",
            400,
            "AuthorizationQueryParametersError",
            "Invalid credential date",
        ),
        (
            "X-Amz-Credential",
            "nobody/20130524/us-east-1/s3/aws4_request",
            403,
            "InvalidAccessKeyId",
            "does not exist",
        ),
        ("X-Amz-Date", "2013-05-24", 400, "AuthorizationQueryParametersError", "ISO8601"),
    ],
)
def test_malformed_query_parameters(
    name: str, value: str | None, status: int, code: str, message: str
) -> None:
    request = with_param(EXAMPLE_GET, name, value)
    with pytest.raises(S3Error) as refused:
        sigv4.verify_query_auth(request, SECRETS.get, at("2013-05-24T01:00:00"), "us-east-1")
    assert error_of(refused)[:2] == (status, code)
    assert message in refused.value.message


# --- POST policy documents and conditions ---------------------------------------------------------


def policy_of(document: Any) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


FUTURE = "2100-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("not base64!", "Invalid Policy: Invalid JSON."),
        (policy_of(["expiration"]), "Invalid Policy: Invalid JSON."),
        (policy_of({"conditions": []}), "Invalid Policy: Policy missing expiration."),
        (policy_of({"expiration": FUTURE}), "Invalid Policy: Policy missing conditions."),
        (
            policy_of({"expiration": "tomorrow", "conditions": []}),
            "Invalid Policy: Invalid 'expiration' value: 'tomorrow'",
        ),
        (
            policy_of({"expiration": FUTURE, "conditions": [["starts-with", "key", "a"]]}),
            "Invalid 'starts-with' condition",
        ),
        (
            policy_of({"expiration": FUTURE, "conditions": [["content-length-range", 1, "x"]]}),
            "Invalid content-length-range",
        ),
        (policy_of({"expiration": FUTURE, "conditions": [["between", "$key", "a"]]}), "Invalid condition"),
        (policy_of({"expiration": FUTURE, "conditions": [{"key": 1}]}), "Invalid Simple-Condition"),
    ],
)
def test_invalid_policy_documents(policy: str, message: str) -> None:
    with pytest.raises(S3Error) as refused:
        post_policy.parse_policy(policy)
    assert error_of(refused)[:2] == (400, "InvalidPolicyDocument")
    assert message in refused.value.message


def test_conditions_names_are_case_insensitive_values_are_not() -> None:
    policy = post_policy.parse_policy(
        policy_of(
            {
                "expiration": FUTURE,
                "conditions": [
                    {"Bucket": "b"},
                    ["eq", "$Key", "uploads/${filename}"],
                    ["starts-with", "$Content-Type", "image/"],
                    ["content-length-range", "1", 10],
                ],
            }
        )
    )
    now = at("2030-01-01T00:00:00")
    fields = post_policy.expand({"key": "uploads/${filename}", "content-type": "image/png"}, "x.png")
    assert fields["key"] == "uploads/x.png"
    # eq compares the expanded value: the policy pinned the literal "${filename}" key
    with pytest.raises(S3Error):
        post_policy.check_conditions(policy, fields, "b", now)
    post_policy.check_conditions(
        policy, {"key": "uploads/${filename}", "content-type": "image/png"}, "b", now
    )
    with pytest.raises(S3Error) as refused:
        post_policy.check_conditions(
            policy, {"key": "uploads/${filename}", "content-type": "Image/png"}, "b", now
        )
    assert refused.value.message.endswith('["starts-with", "$Content-Type", "image/"]')
    with pytest.raises(S3Error) as refused:
        post_policy.check_conditions(
            policy, {"key": "uploads/${filename}", "content-type": "image/png"}, "c", now
        )
    assert refused.value.message.endswith('["eq", "$Bucket", "b"]')
    assert policy.max_size == 10


def test_filename_expansion_drops_the_browser_path() -> None:
    assert post_policy.expand({"key": "u/${filename}"}, "C:\\Users\\me\\a.png") == {"key": "u/a.png"}
    assert post_policy.expand({"key": "u/${filename}"}, None) == {"key": "u/"}


def test_content_length_range() -> None:
    policy = post_policy.Policy(
        at("2100-01-01T00:00:00"), (post_policy.Condition("content-length-range", "", low=2, high=5),)
    )
    post_policy.check_size(policy, 2)
    post_policy.check_size(policy, 5)
    with pytest.raises(S3Error) as refused:
        post_policy.check_size(policy, 6)
    assert (refused.value.status, refused.value.code, refused.value.details) == (
        400,
        "EntityTooLarge",
        {"ProposedSize": "6", "MaxSizeAllowed": "5"},
    )
    with pytest.raises(S3Error) as refused:
        post_policy.check_size(policy, 1)
    assert (refused.value.code, refused.value.details) == (
        "EntityTooSmall",
        {"ProposedSize": "1", "MinSizeAllowed": "2"},
    )


# --- the streaming form reader --------------------------------------------------------------------

BOUNDARY = "----intake-test-boundary"


def multipart(
    fields: Iterable[tuple[str, str]],
    file: tuple[str, str | None, bytes] | None = ("file", "a.png", b"\x89PNG data"),
    after: Iterable[tuple[str, str]] = (),
) -> bytes:
    out = io.BytesIO()
    for name, value in fields:
        out.write(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    if file:
        name, filename, data = file
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        out.write(
            f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\nContent-Type: image/png\r\n\r\n".encode()
        )
        out.write(data + b"\r\n")
    for name, value in after:
        out.write(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    out.write(f"--{BOUNDARY}--\r\n".encode())
    return out.getvalue()


def reader(body: bytes) -> PostForm:
    return PostForm(io.BytesIO(body), BOUNDARY.encode())


def test_form_reader_streams_a_large_file_and_hands_on_the_exact_bytes() -> None:
    data = bytes(range(256)) * 20_000 + b"\r\n--" + BOUNDARY.encode()[:-1]  # 5 MB, near-boundary bytes
    body = multipart(
        [("Key", "k"), ("Content-Type", "image/png"), ("x-amz-meta-a", "é")], ("file", "a.png", data)
    )
    form = reader(body)
    assert form.fields() == {"key": "k", "content-type": "image/png", "x-amz-meta-a": "é"}
    assert form.filename == "a.png"
    assert form.file_size() == len(data)
    assert form.body().read() == body
    assert form.length == len(body)
    assert form.md5.hexdigest() == hashlib.md5(data).hexdigest()
    form.close()


def test_form_reader_stops_keeping_a_file_past_its_limit() -> None:
    form = reader(multipart([("key", "k")], ("file", "a.png", b"x" * 300_000)))
    form.fields()
    assert form.file_size(limit=1000) == 300_000
    assert not form._keep
    form.discard()


def test_form_reader_text_file_field_and_first_value_wins() -> None:
    form = reader(multipart([("key", "a"), ("key", "b")], ("file", None, b"text content")))
    assert form.fields() == {"key": "a"}
    assert form.filename is None
    assert form.file_size() == len(b"text content")


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (multipart([("key", "k")], file=None), "InvalidArgument", "exactly one file"),
        (multipart([("key", "k")], ("photo", "a.png", b"x")), "InvalidArgument", "exactly one file"),
        (
            multipart([("key", "k")], after=[("x-amz-meta-owner", "evil")]),
            "InvalidArgument",
            "must be the last field",
        ),
        (multipart([("key", "k")])[:-30], "MalformedPOSTRequest", "not well-formed"),
        (b"no multipart at all", "MalformedPOSTRequest", "not well-formed"),
        (multipart([("policy", "p" * 21_000)]), "MaxPostPreDataLengthExceeded", "too large"),
    ],
)
def test_form_reader_refusals(body: bytes, code: str, message: str) -> None:
    form = reader(body)
    with pytest.raises(S3Error) as refused:
        form.fields()
        form.file_size()
        form.body()
    assert refused.value.code == code
    assert message in refused.value.message
    form.discard()


# --- CORS ------------------------------------------------------------------------------------------

RULES = (
    CorsRule(("https://*.example.com",), ("GET",)),
    CorsRule((ORIGIN,), ("POST", "PUT"), ("content-type", "x-amz-*"), ("ETag",), 300),
    CorsRule(("*",), ("GET", "HEAD")),
)


def test_preflight_uses_the_first_matching_rule() -> None:
    headers = dict(preflight(RULES, ORIGIN, "PUT", ["content-type", "x-amz-meta-owner"]))
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert headers["Access-Control-Allow-Methods"] == "POST, PUT"
    assert headers["Access-Control-Allow-Headers"] == "content-type, x-amz-meta-owner"
    assert headers["Access-Control-Expose-Headers"] == "ETag"
    assert headers["Access-Control-Max-Age"] == "300"
    assert headers["Access-Control-Allow-Credentials"] == "true"
    wildcard = dict(preflight(RULES, "http://other", "GET", []))
    assert wildcard["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in wildcard
    assert dict(preflight(RULES, "https://a.example.com", "GET", []))["Access-Control-Allow-Methods"] == "GET"


@pytest.mark.parametrize(
    ("rules", "origin", "method", "headers", "message"),
    [
        (RULES, ORIGIN, "DELETE", [], "This CORS request is not allowed"),
        (RULES, ORIGIN, "PUT", ["authorization"], "This CORS request is not allowed"),
        (RULES, "http://evil", "POST", [], "This CORS request is not allowed"),
        ((), ORIGIN, "POST", [], "CORS is not enabled for this bucket."),
        (None, ORIGIN, "POST", [], "Bucket not found"),
    ],
)
def test_preflight_refusals(
    rules: tuple[CorsRule, ...] | None, origin: str, method: str, headers: list[str], message: str
) -> None:
    with pytest.raises(S3Error) as refused:
        preflight(rules, origin, method, headers)
    assert (refused.value.status, refused.value.code) == (403, "AccessForbidden")
    assert message in refused.value.message


def test_actual_response_headers() -> None:
    assert dict(actual(RULES, ORIGIN, "POST"))["Access-Control-Expose-Headers"] == "ETag"
    assert "Access-Control-Allow-Origin" not in dict(actual(RULES[:2], "http://evil", "POST"))
    assert actual((), ORIGIN, "POST") == []


# --- the middleware, with a stand-in emulator -----------------------------------------------------


class Emulator:
    """Records what reaches it; answers 200 with moto's permissive CORS header."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bytes]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = get_input_stream(environ).read()
        self.seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], body))
        start_response("200 OK", [("Content-Type", "text/plain"), ("Access-Control-Allow-Origin", "*")])
        return [b"stored"]


BUCKETS = {"bucket-one": BucketView("us-east-1", RULES[1:2])}


@pytest.fixture
def emulator() -> Emulator:
    return Emulator()


def client(emulator: Emulator, now: datetime) -> Client:
    return Client(PresignChecks(emulator, secrets=SECRETS.get, buckets=BUCKETS.get, clock=lambda: now))


def presigned_post(**conditions: Any) -> dict[str, Any]:
    post: dict[str, Any] = presigner().generate_presigned_post(
        "bucket-one",
        "uploads/u/1/a.png",
        Fields={"Content-Type": "image/png"},
        Conditions=[{"Content-Type": "image/png"}, ["content-length-range", 1, 100]],
        ExpiresIn=300,
    )
    return post


def post_now(post: dict[str, Any]) -> datetime:
    moment = sigv4.parse_amz_date(post["fields"]["x-amz-date"])
    assert moment
    return moment


def send_post(c: Client, fields: dict[str, str], data: bytes = b"12345", **headers: str) -> Any:
    body = multipart(fields.items(), ("file", "a.png", data))
    return c.post(
        "/bucket-one",
        data=body,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        headers={"Host": "127.0.0.1:4566", **headers},
    )


def test_valid_post_reaches_the_emulator_byte_for_byte(emulator: Emulator) -> None:
    post = presigned_post()
    response = send_post(client(emulator, post_now(post)), post["fields"], Origin=ORIGIN)
    assert response.status_code == 204
    assert response.headers["ETag"] == '"827ccb0eea8a706c4c34a16891f84e7b"'
    assert response.headers["Location"] == "http://127.0.0.1:4566/bucket-one/uploads/u/1/a.png"
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN  # the bucket's rule, not moto's "*"
    assert response.headers["Access-Control-Expose-Headers"] == "ETag"
    assert emulator.seen == [
        ("POST", "/bucket-one", multipart(post["fields"].items(), ("file", "a.png", b"12345")))
    ]


@pytest.mark.parametrize(
    ("change", "data", "code"),
    [
        ({"key": "uploads/v/1/a.png"}, b"12345", "AccessDenied"),
        ({"Content-Type": "text/html"}, b"12345", "AccessDenied"),
        ({"x-amz-meta-owner": "v"}, b"12345", "AccessDenied"),
        ({"x-amz-signature": "0" * 64}, b"12345", "SignatureDoesNotMatch"),
        ({}, b"x" * 101, "EntityTooLarge"),
        ({}, b"", "EntityTooSmall"),
    ],
)
def test_refused_post_never_reaches_the_emulator(
    emulator: Emulator, change: dict[str, str], data: bytes, code: str
) -> None:
    post = presigned_post()
    response = send_post(client(emulator, post_now(post)), {**post["fields"], **change}, data, Origin=ORIGIN)
    assert f"<Code>{code}</Code>" in response.text
    assert response.headers["Content-Type"] == "application/xml"
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN  # so the page can read the error
    assert emulator.seen == []


def test_expired_post_and_put(emulator: Emulator) -> None:
    post = presigned_post()
    late = client(emulator, post_now(post) + timedelta(seconds=301))
    response = send_post(late, post["fields"])
    assert response.status_code == 403
    assert "Policy expired." in response.text
    # Judged from its own signing time: the PUT may be signed a second after the POST.
    raw = presigned_put()
    url = urlsplit(raw)
    response = client(emulator, signed_at(raw) + timedelta(seconds=301)).put(
        f"{url.path}?{url.query}",
        data=b"12345",
        headers={"Host": url.netloc, "Content-Type": "image/png", "x-amz-meta-owner": "u"},
    )
    assert response.status_code == 403
    assert "<Message>Request has expired</Message>" in response.text
    assert emulator.seen == []


def test_valid_put_streams_through(emulator: Emulator) -> None:
    raw = presigned_put()
    url = urlsplit(raw)
    c = client(emulator, signed_at(raw))
    headers = {"Host": url.netloc, "Content-Type": "image/png", "x-amz-meta-owner": "u"}
    assert c.put(f"{url.path}?{url.query}", data=b"12345", headers=headers).status_code == 200
    assert emulator.seen == [("PUT", "/bucket-one/uploads/u/1/a.png", b"12345")]


def test_sdk_calls_and_other_services_pass_untouched(emulator: Emulator) -> None:
    c = client(emulator, datetime.now(UTC))
    auth = "AWS4-HMAC-SHA256 Credential=unknown/20260101/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=0"
    # Header-signed: the emulator checks (or not) as it does; even an unknown key passes here.
    assert c.put("/bucket-one/k", data=b"x", headers={"Authorization": auth.format("s3")}).status_code == 200
    response = c.post(
        "/",
        data=b"{}",
        headers={"X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth", "Origin": ORIGIN},
    )
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "x-amzn-ErrorType" in response.headers["Access-Control-Expose-Headers"]
    form = multipart([("Action", "x")])
    assert c.post("/", data=form, content_type=f"multipart/form-data; boundary={BOUNDARY}").status_code == 200
    assert [method for method, _, _ in emulator.seen] == ["PUT", "POST", "POST"]


def test_preflights(emulator: Emulator) -> None:
    c = client(emulator, datetime.now(UTC))
    ok = c.options("/bucket-one", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert ok.status_code == 200
    assert ok.headers["Access-Control-Allow-Origin"] == ORIGIN
    refused = c.options(
        "/bucket-one", headers={"Origin": "http://evil", "Access-Control-Request-Method": "POST"}
    )
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused.headers
    cognito = c.options(
        "/",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type, X-Amz-Target, X-Amz-User-Agent",
        },
    )
    assert cognito.status_code == 200
    assert cognito.headers["Access-Control-Allow-Origin"] == "*"
    assert cognito.headers["Access-Control-Allow-Headers"] == "content-type, x-amz-target, x-amz-user-agent"
    no_origin = c.options("/bucket-one", headers={"Access-Control-Request-Method": "POST"})
    assert no_origin.status_code == 400
    assert emulator.seen == []


def test_query_v2_and_double_auth_are_refused(emulator: Emulator) -> None:
    c = client(emulator, datetime.now(UTC))
    v2 = c.get("/bucket-one/k?AWSAccessKeyId=test&Expires=1&Signature=abc")
    assert (v2.status_code, "<Code>InvalidRequest</Code>" in v2.text) == (400, True)
    both = c.get(
        "/bucket-one/k?X-Amz-Signature=abc&X-Amz-Algorithm=AWS4-HMAC-SHA256",
        headers={"Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request"},
    )
    assert both.status_code == 400
    assert "Only one auth mechanism allowed" in both.text
    head = c.head("/bucket-one/k?AWSAccessKeyId=test&Expires=1&Signature=abc")
    assert (head.status_code, head.data) == (400, b"")
    assert emulator.seen == []
