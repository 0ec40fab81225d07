"""AWS clients, created lazily once per process (Lambda reuses them across invocations).

botocore clients, not boto3's: nothing here uses boto3's resources or its S3 transfer manager, and
importing boto3 loads both (s3transfer alone is about half of boto3's import), so the functions'
cold starts do without them. The clients are the same botocore clients boto3 would hand out, with the
same standard-mode retries.

The endpoint comes from the environment (AWS_ENDPOINT_URL), so the same code talks to AWS or to the
local cloud. On AWS (no endpoint configured) the S3 client addresses buckets on their regional
virtual-hosted endpoint, `<bucket>.s3.<region>.amazonaws.com`, the host CloudFormation's
`RegionalDomainName` names and the page's CSP admits: botocore would otherwise presign on the global
host `<bucket>.s3.amazonaws.com`, which the CSP refuses, and which can answer 307 (breaking CORS)
for a new bucket outside us-east-1.

SERVICES are the only ones the functions call (powertools' idempotency included): the Lambda layer
ships botocore's data for these alone (intake_build.artifacts), so a client for another one fails there.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_ssm import SSMClient

SERVICES = ("dynamodb", "s3", "ses", "sns", "ssm", "sts")  # sts: credential providers that assume roles

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, signature_version="s3v4")
# Only without a custom endpoint: a custom one (the local cloud) keeps botocore's own addressing.
_REGIONAL_VIRTUAL_HOSTS = Config(
    s3={"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"}
)
_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


def _config(service: str) -> Config:
    if service == "s3" and not any(os.environ.get(name) for name in _ENDPOINT_VARIABLES):
        return _CONFIG.merge(_REGIONAL_VIRTUAL_HOSTS)
    return _CONFIG


_session_lock = threading.Lock()


@functools.cache
def _session() -> botocore.session.Session:
    # One session per process: each new session loads botocore's endpoint and service data again,
    # which measured about twice the cold-start cost for three clients (see docs/scaling.md).
    return botocore.session.get_session()


@functools.cache
def _client(service: str) -> Any:
    if service not in SERVICES:
        raise ValueError(f"{service} is not in intake.aws.SERVICES: the layer ships no model for it")
    with _session_lock:  # a session is not thread-safe; the clients it makes are
        return _session().create_client(service, config=_config(service))


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
