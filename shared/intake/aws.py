"""boto3 clients, created lazily once per process (Lambda reuses them across invocations).

The endpoint comes from the environment (AWS_ENDPOINT_URL), so the same code talks to AWS or to the
local cloud.
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_ssm import SSMClient

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, signature_version="s3v4")


_session_lock = threading.Lock()


@functools.cache
def _session() -> boto3.session.Session:
    # One session per process: each new session loads botocore's endpoint and service data again,
    # which measured about twice the cold-start cost for three clients (see docs/scaling.md).
    return boto3.session.Session()


@functools.cache
def _client(service: str) -> Any:
    with _session_lock:  # a session is not thread-safe; the clients it makes are
        return _session().client(service, config=_CONFIG)  # type: ignore[call-overload]


def s3() -> S3Client:
    return _client("s3")  # type: ignore[no-any-return]


def dynamodb() -> DynamoDBClient:
    return _client("dynamodb")  # type: ignore[no-any-return]


def sns() -> SNSClient:
    return _client("sns")  # type: ignore[no-any-return]


def ses() -> SESClient:
    return _client("ses")  # type: ignore[no-any-return]


def ssm() -> SSMClient:
    return _client("ssm")  # type: ignore[no-any-return]
