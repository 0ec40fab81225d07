"""Where `intake ops` talks to, from its options; the records queries' pure parts; the client's parts."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from intake.records import UploadRecord
from intake.status import Status
from intake_cli.app import app
from intake_cli.cognito import jwt_claims, token_expired
from intake_cli.errors import IntakeError, OpsError
from intake_cli.records import dead_letter_fields, parse_since, upload_row
from intake_cli.target import Deployment, OpsTarget, TargetOptions, describe, make_target
from intake_cli.transfer import MultipartBody


@pytest.fixture(autouse=True)
def _no_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "LOCALSTACK_HOST"):
        monkeypatch.delenv(name, raising=False)


def test_the_local_cloud_by_default() -> None:
    target = make_target(TargetOptions())
    assert describe(target) == {"endpoint": "http://127.0.0.1:4566", "region": "us-east-1", "stack": "intake"}


def test_an_endpoint_and_a_region_and_a_stack() -> None:
    target = make_target(TargetOptions(endpoint="http://127.0.0.1:5000/", region="eu-west-1", stack="s"))
    assert (target.endpoint_url, target.region_name, target.stack) == (
        "http://127.0.0.1:5000",
        "eu-west-1",
        "s",
    )


def test_aws_with_a_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    target = make_target(TargetOptions(aws=True, region="eu-central-1"))
    assert describe(target) == {"endpoint": "aws", "region": "eu-central-1", "stack": "intake"}
    assert not target.is_local


def test_an_endpoint_and_aws_conflict() -> None:
    with pytest.raises(OpsError, match="pick one"):
        make_target(TargetOptions(endpoint="http://x", profile="p"))


def test_a_missing_output_says_what_it_is() -> None:
    deployment = Deployment(OpsTarget(endpoint_url="http://x", stack="other"), {"IndexQueueUrl": "u"})
    assert deployment.queue_url("index") == "u"
    with pytest.raises(OpsError, match="stack 'other' has no output 'IndexDLQUrl': is it an Intake stack"):
        deployment.dlq_url("index")


def test_the_target_options_follow_the_command_and_fail_in_one_line() -> None:
    result = CliRunner().invoke(app, ["ops", "dlq", "peek", "thumbnail", "--endpoint", "http://x", "--aws"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: --endpoint talks to an emulator; --aws/--profile to AWS: pick one"


def test_parse_since() -> None:
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_since("30m", now) == "2026-05-01T11:30:00.000Z"
    assert parse_since("2d", now) == "2026-04-29T12:00:00.000Z"
    assert parse_since("2026-04-01T10:00", now) == "2026-04-01T10:00:00.000Z"
    with pytest.raises(OpsError, match="--since 'soon'"):
        parse_since("soon", now)


def test_ops_reads_records_in_its_json_shapes() -> None:
    record = UploadRecord(
        upload_id="u",
        owner="o",
        filename="f.png",
        key="uploads/o/u/f.png",
        created_at="c",
        updated_at="t",
        status=Status.FAILED,
        status_reasons=("r",),
    )
    assert upload_row(record) == {
        "upload_id": "u",
        "owner": "o",
        "filename": "f.png",
        "key": "uploads/o/u/f.png",
        "status": "failed",
        "reasons": ["r"],
        "updated_at": "t",
        "created_at": "c",
    }
    assert dead_letter_fields(record) == {
        "key": "uploads/o/u/f.png",
        "owner": "o",
        "status": "failed",
        "status_reasons": ["r"],
    }
    assert json.dumps(upload_row(record))  # plain values only


def _token(claims: dict[str, Any]) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"header.{payload}.signature"


def test_token_expiry_with_leeway() -> None:
    assert jwt_claims(_token({"email": "a@b"}))["email"] == "a@b"
    assert token_expired(_token({"exp": 1000}), now=950)  # within the minute of leeway
    assert not token_expired(_token({"exp": 1000}), now=900)
    with pytest.raises(IntakeError, match="malformed"):
        jwt_claims("not-a-jwt")


def test_multipart_body_streams_fields_then_the_file() -> None:
    seen: list[int] = []
    body = MultipartBody({"key": "k"}, 'a"b.png', "image/png", io.BytesIO(b"x" * 20000), 20000, seen.append)
    data = b"".join(iter(lambda: body.read(8192), b""))
    assert len(data) == len(body) and sum(seen) == 20000
    assert b'name="key"\r\n\r\nk\r\n' in data and b'filename="a%22b.png"' in data
    assert data.endswith(b"--\r\n") and body.content_type.startswith("multipart/form-data; boundary=")
