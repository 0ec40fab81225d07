"""The uploads API's pure rules (intake.uploads) and the local API front's (localcloud.api)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml
from cfnlint.decode import cfn_yaml
from cryptography.hazmat.primitives.asymmetric import rsa
from openapi_spec_validator import validate

from intake.record import UploadRecord
from intake.uploads import (
    MAX_LIMIT,
    BadRequest,
    NewUpload,
    email_verified,
    parse_list_query,
    parse_new_upload,
    public_view,
    upload_method,
    upload_terms,
    valid_upload_id,
)
from intake_tools import webconfig
from localcloud.api import CognitoVerifier, Reject, claims_as_strings, invoke_permitted, proxy_reply
from localcloud.api import routes as api_front  # the routing helpers

ALLOWED = frozenset({"image/jpeg", "image/png"})
MAX = 1000
OWNER = "5f0c2a9e-1b2c-4d3e-8f90-123456789abc"
UPLOAD_ID = "0123456789abcdef0123456789abcdef"


def parse(body: Any) -> NewUpload:
    text = body if isinstance(body, str) or body is None else json.dumps(body)
    return parse_new_upload(text, allowed_content_types=ALLOWED, max_bytes=MAX)


def message(body: Any) -> str:
    with pytest.raises(BadRequest) as raised:
        parse(body)
    return str(raised.value)


VALID = {"filename": "cat.jpg", "content_type": "image/jpeg", "size": 10}


# --- POST /uploads body ---------------------------------------------------------------------------


def test_a_valid_body_is_parsed_and_the_filename_sanitized() -> None:
    upload = parse(
        {
            "filename": "../../etc/Ünïcode name.JPG",
            "content_type": " Image/JPEG ",
            "size": MAX,
            "metadata": {"title": "T", "description": "", "tags": ["a", "b"]},
        }
    )
    assert upload == NewUpload("Ünïcode name.JPG", "image/jpeg", MAX, "T", None, ("a", "b"))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (None, "JSON object"),
        ("", "JSON object"),
        ("{not json", "not valid JSON"),
        ("[" * 5000, "not valid JSON"),
        ([1, 2], "JSON object"),
        ({"content_type": "image/jpeg", "size": 1}, "filename is required"),
        ({**VALID, "filename": ""}, "filename must not be empty"),
        ({**VALID, "filename": 7}, "filename must be a string"),
        ({**VALID, "size": "10"}, "size must be an integer"),
        ({**VALID, "size": True}, "size must be an integer"),
        ({**VALID, "size": 0}, "at least 1 byte"),
        ({**VALID, "size": MAX + 1}, f"over the {MAX} byte limit"),
        (
            {**VALID, "content_type": "text/html"},
            "'text/html' is not allowed; allowed: image/jpeg, image/png",
        ),
        ({**VALID, "owner": "someone"}, "owner is not a known field"),
        ({**VALID, "metadata": {"tags": "a,b"}}, "metadata.tags must be a list"),
        ({**VALID, "metadata": {"colour": "red"}}, "metadata.colour is not a known field"),
        ({**VALID, "metadata": []}, "metadata must be an object"),
    ],
)
def test_bad_bodies_get_a_sentence_naming_the_problem(body: Any, expected: str) -> None:
    assert expected in message(body)


def terms_error(**metadata: Any) -> str:
    upload = NewUpload("a.jpg", "image/jpeg", 10, **metadata)
    with pytest.raises(BadRequest) as raised:
        upload_terms(OWNER, UPLOAD_ID, upload)
    return str(raised.value)


def test_metadata_limits_are_those_of_the_object_metadata() -> None:
    assert terms_error(title="x" * 201) == "metadata.title is longer than 200 characters"
    assert terms_error(description="x" * 2001) == "metadata.description is longer than 2000 characters"
    assert terms_error(tags=tuple(f"t{i}" for i in range(21))) == "metadata.tags has more than 20 items"
    assert terms_error(tags=("a,b",)) == "tag 'a,b' must not contain a comma"
    assert terms_error(tags=("x" * 51,)) == "metadata.tags[0] is longer than 50 characters"
    # 1900 characters of non-ASCII percent-encode to far more than S3's 2 KB of metadata
    assert "S3 allows 2048" in terms_error(description="é" * 1900)


# --- presigned request terms ----------------------------------------------------------------------


def test_the_post_policy_pins_key_type_size_and_every_metadata_field() -> None:
    upload = NewUpload("my café.jpg", "image/jpeg", 1234, "Été", None, ("a", "b c"))
    terms = upload_terms(OWNER, UPLOAD_ID, upload)
    assert terms.key.key == f"uploads/{OWNER}/{UPLOAD_ID}/my café.jpg"
    fields = terms.post_fields()
    assert fields == {
        "Content-Type": "image/jpeg",
        "x-amz-meta-owner": OWNER,
        "x-amz-meta-upload-id": UPLOAD_ID,
        "x-amz-meta-filename": "my%20caf%C3%A9.jpg",
        "x-amz-meta-title": "%C3%89t%C3%A9",
        "x-amz-meta-tags": "a,b%20c",
    }
    conditions = terms.post_conditions()
    assert ["content-length-range", 1, 1234] in conditions
    for name, value in fields.items():
        assert {name: value} in conditions  # exact match, not starts-with
    assert terms.put_headers() == fields


def test_upload_method_defaults_to_post() -> None:
    assert upload_method(None) == "POST"
    assert upload_method("put") == "PUT"
    with pytest.raises(BadRequest, match="method must be POST or PUT"):
        upload_method("PATCH")


# --- GET /uploads query ---------------------------------------------------------------------------


def test_list_query() -> None:
    assert parse_list_query(None).limit == 20
    query = parse_list_query({"limit": "5", "cursor": "abc", "status": "ready"})
    assert (query.limit, query.cursor, query.status) == (5, "abc", "ready")


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": str(MAX_LIMIT + 1)},
        {"limit": "-1"},
        {"limit": "ten"},
        {"limit": "1e3"},
        {"status": "done"},
        {"cursor": "x" * 1025},
    ],
)
def test_bad_list_queries(params: dict[str, str]) -> None:
    with pytest.raises(BadRequest):
        parse_list_query(params)


def test_upload_ids_outside_our_alphabet_are_never_looked_up() -> None:
    assert valid_upload_id(UPLOAD_ID)
    for bad in ("", "a/b", "x" * 129, "é", "a b", "%00"):
        assert not valid_upload_id(bad)


def test_public_view_hides_bookkeeping_and_falls_back_to_declared_values() -> None:
    item = {
        "upload_id": UPLOAD_ID,
        "owner": OWNER,
        "owner_email": "a@example.com",
        "filename": "a.jpg",
        "key": f"uploads/{OWNER}/{UPLOAD_ID}/a.jpg",
        "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:00.000Z",
        "status": "pending",
        "declared_size": 10,
        "declared_content_type": "image/png",
        "rev": 3,
        "stage_validate": {"state": "done", "version": "t1"},
        "thumbnails": [{"size": 128, "key": "k", "width": 128, "height": 96, "bytes": 5}],
    }
    view = public_view(UploadRecord.from_item(item))
    assert (view["size"], view["content_type"]) == (10, "image/png")
    assert view["thumbnails"] == [{"size": 128, "width": 128, "height": 96}]
    assert not {"owner", "owner_email", "rev", "stage_validate", "key"} & set(view)


# --- the local API front --------------------------------------------------------------------------


def test_routes_match_literal_before_templated_and_decode_parameters() -> None:
    pattern = api_front._path_pattern("/uploads/{upload_id}")
    found = pattern.match("/uploads/a%20b")
    assert found and found.group("upload_id") == "a%20b"
    assert not pattern.match("/uploads/a/b")
    assert api_front._path_pattern("/uploads").match("/uploads/")
    assert api_front._path_pattern("/").match("/")


def test_function_arn_is_read_from_the_integration_uri() -> None:
    uri = (
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
        "arn:aws:lambda:us-east-1:123456789012:function:intake-api/invocations"
    )
    assert api_front._function_arn(uri) == "arn:aws:lambda:us-east-1:123456789012:function:intake-api"
    assert api_front._function_arn("") is None


def test_proxy_replies_are_validated_as_api_gateway_does() -> None:
    reply = proxy_reply(
        {
            "statusCode": 201,
            "headers": {"A": "1", "Content-Length": "99"},
            "multiValueHeaders": {"A": ["2", "3"]},
            "body": "{}",
        }
    )
    assert reply is not None and reply.status == 201 and reply.body == b"{}"
    assert reply.headers == [("A", "2"), ("A", "3")]  # multiValueHeaders win; no hop-by-hop headers
    encoded = proxy_reply(
        {"statusCode": 200, "body": base64.b64encode(b"\xff").decode(), "isBase64Encoded": True}
    )
    assert encoded is not None and encoded.body == b"\xff"
    malformed: Any
    for malformed in (
        None,
        [],
        {},
        {"statusCode": "200"},
        {"statusCode": True},
        {"statusCode": 200, "body": 5},
    ):
        assert proxy_reply(malformed) is None


@pytest.mark.parametrize(
    ("claims", "verified"),
    [
        ({"email_verified": "true"}, True),  # as API Gateway passes it
        ({"email_verified": True}, True),  # as the token has it
        ({"email_verified": "false"}, False),
        ({"email_verified": False}, False),
        ({}, False),
        ({"email_verified": "True"}, False),
        ({"email_verified": "1"}, False),
        ({"email_verified": None}, False),
    ],
)
def test_only_a_true_email_verified_claim_counts(claims: dict[str, Any], verified: bool) -> None:
    assert email_verified(claims) is verified


def test_claims_reach_the_function_as_strings() -> None:
    claims = claims_as_strings(
        {"sub": "s", "email_verified": True, "exp": 0, "auth_time": 5, "groups": ["a", "b"]}
    )
    assert claims == {
        "sub": "s",
        "email_verified": "true",
        "exp": "Thu Jan 01 00:00:00 UTC 1970",
        "auth_time": "5",
        "groups": "[a b]",
    }


def test_lambda_permission_is_matched_on_the_source_arn() -> None:
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Principal": {"Service": "apigateway.amazonaws.com"},
                "Condition": {
                    "ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:us-east-1:1:api/v1/*/uploads*"},
                    "StringEquals": {"AWS:SourceAccount": "1"},
                },
            }
        ]
    }
    assert invoke_permitted(policy, "arn:aws:execute-api:us-east-1:1:api/v1/GET/uploads/{upload_id}", "1")
    assert not invoke_permitted(policy, "arn:aws:execute-api:us-east-1:1:api/v2/GET/uploads", "1")
    assert not invoke_permitted(policy, "arn:aws:execute-api:us-east-1:1:other/v1/GET/uploads", "1")
    assert not invoke_permitted({"Statement": []}, "arn:aws:execute-api:us-east-1:1:api/v1/GET/uploads", "1")


# --- Cognito ID token checks ----------------------------------------------------------------------

POOL = "us-east-1_pool"
ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FixedKeyVerifier(CognitoVerifier):
    """The JWKS fetch replaced by one known key (kid "k1")."""

    def _key(self, pool_id: str, kid: str) -> Any:
        return KEY.public_key() if (pool_id, kid) == (POOL, "k1") else None


def token(key: Any = KEY, kid: str = "k1", **overrides: Any) -> str:
    now = int(time.time())
    claims = {"sub": "s", "iss": ISSUER, "aud": "client", "token_use": "id", "iat": now, "exp": now + 60}
    claims = {k: v for k, v in (claims | overrides).items() if v is not None}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


# Tokens are made inside the test (they expire after 60 s; a long suite runs for minutes first).
@pytest.mark.parametrize(
    ("make_header", "valid"),
    [
        (lambda: token(), True),
        (lambda: f"Bearer {token()}", True),
        (lambda: f"bearer  {token()}", True),
        (lambda: None, False),
        (lambda: "", False),
        (lambda: "Bearer ", False),
        (lambda: "not.a.jwt", False),
        (lambda: token(key=OTHER_KEY), False),  # signed by someone else
        (lambda: token(kid="k2"), False),  # a key the pool does not have
        (lambda: token(aud="other-client"), False),
        (lambda: token(token_use="access"), False),
        (lambda: token(exp=int(time.time()) - 5), False),
        (lambda: token(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"), False),
        (lambda: token(sub=None), False),
    ],
)
def test_id_token_checks(make_header: Callable[[], str | None], valid: bool) -> None:
    header = make_header()
    verifier = FixedKeyVerifier("http://127.0.0.1:1", "us-east-1", frozenset({"client"}))
    if valid:
        assert verifier.verify(header, (POOL,))["sub"] == "s"
    else:
        with pytest.raises(Reject) as raised:
            verifier.verify(header, (POOL,))
        assert (raised.value.status, raised.value.message) == (401, "Unauthorized")


def test_a_hs256_token_made_with_the_public_key_is_refused() -> None:
    """The classic algorithm-confusion attack: only RS256 is accepted."""
    forged = jwt.encode(
        {"sub": "s", "iss": ISSUER, "aud": "client", "token_use": "id", "exp": int(time.time()) + 60},
        "a-shared-secret-of-at-least-32-bytes!",
        algorithm="HS256",
        headers={"kid": "k1"},
    )
    verifier = FixedKeyVerifier("http://127.0.0.1:1", "us-east-1", frozenset({"client"}))
    with pytest.raises(Reject):
        verifier.verify(forged, (POOL,))


def test_web_config_has_the_shape_the_page_reads() -> None:
    outputs = {"ApiUrl": "https://x/v1", "UserPoolId": "p", "UserPoolClientId": "c", "Other": "o"}
    config = webconfig.web_config(outputs, "eu-west-1", cognitoEndpoint="http://127.0.0.1:4566/")
    assert config == {
        "region": "eu-west-1",
        "apiUrl": "https://x/v1",
        "userPoolId": "p",
        "userPoolClientId": "c",
        "cognitoEndpoint": "http://127.0.0.1:4566/",
    }
    script = webconfig.config_js(config)
    assert script.startswith("window.INTAKE_CONFIG = ") and script.endswith(";\n")
    assert json.loads(script.removeprefix("window.INTAKE_CONFIG = ").rstrip(";\n")) == config


def test_expiry_timestamps_are_utc_iso() -> None:
    from intake.uploads import expiry

    assert expiry(datetime(2026, 1, 1, tzinfo=UTC), 300) == "2026-01-01T00:05:00Z"


# --- the OpenAPI document -------------------------------------------------------------------------

OPENAPI = Path(__file__).resolve().parents[2] / "infra" / "cloudformation" / "openapi.yaml"
FUNCTION_URI = {
    "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
    "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-api/invocations"
}


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "put", "post", "delete", "options", "patch", "head")
    ]


def test_openapi_document_is_valid_and_wires_every_operation() -> None:
    document = yaml.safe_load(OPENAPI.read_text())  # safe_load: AWS::Include takes no short-form tags
    validate(document)
    assert document["openapi"].startswith("3.0")  # API Gateway imports 3.0, not 3.1
    scheme = document["components"]["securitySchemes"]["CognitoUserPool"]
    assert scheme["x-amazon-apigateway-authorizer"] == {
        "type": "cognito_user_pools",
        "providerARNs": [{"Fn::GetAtt": ["UserPool", "Arn"]}],
    }
    assert (scheme["in"], scheme["name"]) == ("header", "Authorization")
    seen = set()
    for path, method, operation in operations(document):
        integration = operation["x-amazon-apigateway-integration"]
        seen.add((method.upper(), path))
        if method == "options":
            assert operation["security"] == [] and integration["type"] == "mock", path
            origin = integration["responses"]["default"]["responseParameters"][
                "method.response.header.Access-Control-Allow-Origin"
            ]
            assert origin == {"Fn::Sub": "'${WebOrigin}'"}
        else:
            assert operation["security"] == [{"CognitoUserPool": []}], (method, path)
            assert integration["type"] == "aws_proxy" and integration["httpMethod"] == "POST"
            assert integration["uri"] == FUNCTION_URI
            assert "401" in operation["responses"], (method, path)
    assert seen == {
        ("POST", "/uploads"),
        ("GET", "/uploads"),
        ("OPTIONS", "/uploads"),
        ("GET", "/uploads/{upload_id}"),
        ("DELETE", "/uploads/{upload_id}"),
        ("OPTIONS", "/uploads/{upload_id}"),
        ("POST", "/uploads/{upload_id}/parts"),
        ("GET", "/uploads/{upload_id}/parts"),
        ("OPTIONS", "/uploads/{upload_id}/parts"),
        ("POST", "/uploads/{upload_id}/complete"),
        ("OPTIONS", "/uploads/{upload_id}/complete"),
        ("POST", "/uploads/{upload_id}/abort"),
        ("OPTIONS", "/uploads/{upload_id}/abort"),
        ("GET", "/me/preferences"),
        ("PUT", "/me/preferences"),
        ("OPTIONS", "/me/preferences"),
    }
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        response = document["x-amazon-apigateway-gateway-responses"][kind]
        assert "gatewayresponse.header.Access-Control-Allow-Origin" in response["responseParameters"]
        assert "$context.error.messageString" in response["responseTemplates"]["application/json"]


def test_the_template_includes_the_document_as_the_rest_api_body() -> None:
    template = cfn_yaml.load(str(OPENAPI.parent / "intake.yaml"))
    body = template["Resources"]["Api"]["Properties"]["Body"]
    assert body["Fn::Transform"]["Name"] == "AWS::Include"
    assert body["Fn::Transform"]["Parameters"]["Location"] == {
        "Fn::Sub": "s3://${ArtifactBucket}/${ArtifactPrefix}/openapi.yaml"
    }
