"""What importing each handler loads, as Lambda imports it at a cold start (an import graph, no timing).

The handlers make botocore clients (intake.aws): boto3's resource layer and its S3 transfer manager
(s3transfer) are never needed, and they are about half of boto3's import. Pillow and the metadata
model are loaded only by the functions that use them, and powertools' parser models only by notify.
The notify function's idempotency persistence layer is powertools' own, which imports boto3: that one
is allowed there and listed, so a new import of boto3 anywhere else fails here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ("validate", "thumbnail", "index", "notify", "api")
ENV = {
    "INDEX_TABLE": "intake-index",
    "IDEMPOTENCY_TABLE": "intake-idempotency",
    "USER_SETTINGS_TABLE": "intake-user-settings",
    "THUMBNAIL_BUCKET": "intake-thumbnails",
    "UPLOAD_BUCKET": "intake-uploads",
    "FINISHED_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:intake-finished",
    "SENDER_EMAIL": "intake@example.com",
    "CDN_URL": "https://d111111abcdef8.cloudfront.net",
    "SIGNING_KEY_PAIR_ID": "K2JCJMDEHXQW5F",
    "SIGNING_KEY_PARAMETER": "/intake/cdn-signing-key",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing is called at import
}
# Loaded by no function at import.
NEVER = ("s3transfer", "boto3.resources", "boto3.s3", "boto3.dynamodb")
# package -> the functions that may load it at import.
ONLY = {
    "boto3": {"notify"},  # powertools' DynamoDBPersistenceLayer imports it
    "PIL": {"validate", "thumbnail"},
    "intake.validation": {"validate"},
    "intake.metadata": {"validate", "api"},
    "intake.thumbnails": {"thumbnail"},
    "aws_lambda_powertools.utilities.parser.models": {"notify"},
}


def _loaded(function: str) -> set[str]:
    code = "import json, sys; sys.path.insert(0, '.'); import handler; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "functions" / function,
        env={**os.environ, **ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.fixture(scope="module")
def loaded() -> dict[str, set[str]]:
    return {function: _loaded(function) for function in FUNCTIONS}


def _has(modules: set[str], package: str) -> bool:
    return any(m == package or m.startswith(package + ".") for m in modules)


@pytest.mark.parametrize("function", [f for f in FUNCTIONS if f != "notify"])
def test_no_handler_loads_boto3s_resources_or_transfer_manager(
    loaded: dict[str, set[str]], function: str
) -> None:
    assert [p for p in NEVER if _has(loaded[function], p)] == []
    assert "botocore.client" in loaded[function]  # the clients it makes, when it makes them


def test_notify_gets_boto3_only_through_powertools_idempotency(loaded: dict[str, set[str]]) -> None:
    """DynamoDBPersistenceLayer's module imports boto3 (and so s3transfer); nothing of ours does."""
    assert "aws_lambda_powertools.utilities.idempotency.persistence.dynamodb" in loaded["notify"]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_heavy_packages_only_where_they_are_used(loaded: dict[str, set[str]], function: str) -> None:
    unexpected = [p for p, users in ONLY.items() if _has(loaded[function], p) and function not in users]
    assert unexpected == []


def test_the_stages_load_what_their_first_message_needs(loaded: dict[str, set[str]]) -> None:
    """Loaded at init, not on the first message: the checks for validate, the engine for thumbnail."""
    assert {"intake.validation", "intake.metadata", "PIL.Image"} <= loaded["validate"]
    assert {"intake.thumbnails", "PIL.Image", "PIL.ImageCms"} <= loaded["thumbnail"]
