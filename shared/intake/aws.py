"""boto3 clients, created lazily once per process (Lambda reuses them across invocations).

The endpoint comes from the environment (AWS_ENDPOINT_URL), so the same code talks to AWS or to the
local cloud.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sns import SNSClient

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, signature_version="s3v4")


@functools.cache
def _client(service: str) -> Any:
    return boto3.session.Session().client(service, config=_CONFIG)  # type: ignore[call-overload]


def s3() -> S3Client:
    return _client("s3")  # type: ignore[no-any-return]


def dynamodb() -> DynamoDBClient:
    return _client("dynamodb")  # type: ignore[no-any-return]


def sns() -> SNSClient:
    return _client("sns")  # type: ignore[no-any-return]


def ses() -> SESClient:
    return _client("ses")  # type: ignore[no-any-return]
