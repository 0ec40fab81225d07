"""Where the tooling talks to: the local cloud or AWS, each through one reused boto3 session.

The local endpoint follows localstack-client's conventions ($AWS_ENDPOINT_URL, else $LOCALSTACK_HOST),
read through its own config module. Its `Session` is not used for the clients: it lets
$AWS_ENDPOINT_URL override an explicit endpoint (tests run clouds on free ports), and it builds every
client on boto3's global default session, which is not thread-safe; see docs/architecture.md.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from localstack_client import config as localstack_config

LOCAL_HOST = "127.0.0.1:4566"  # the LocalStack port, the product contract for `make up`
LOCAL_REGION = "us-east-1"
DEFAULT_STACK = "intake"
TEST_KEY = "test"  # the local cloud takes any key; this is the one moto's docs use


def local_endpoint() -> str:
    """The local cloud's endpoint: $AWS_ENDPOINT_URL, else $LOCALSTACK_HOST, else 127.0.0.1:4566."""
    host = os.environ.get("LOCALSTACK_HOST") or LOCAL_HOST
    return str(localstack_config.get_service_endpoint("sts", host))


_sessions: dict[tuple[str | None, str | None, bool], boto3.session.Session] = {}
_lock = threading.Lock()  # sessions are not thread-safe; the clients they make are


def _session(profile: str | None, region: str | None, local: bool) -> boto3.session.Session:
    # One session per (profile, region): each new session loads botocore's data again (~60 ms a client).
    key = (profile, region, local)
    if key not in _sessions:
        session = boto3.session.Session(profile_name=profile, region_name=region)
        if local and session.get_credentials() is None:
            session = boto3.session.Session(
                aws_access_key_id=TEST_KEY, aws_secret_access_key=TEST_KEY, region_name=region or LOCAL_REGION
            )
        _sessions[key] = session
    return _sessions[key]


@dataclass(frozen=True)
class Target:
    """The local cloud (`endpoint_url` set) or AWS (a profile and region, or boto3's defaults)."""

    endpoint_url: str | None = None
    profile: str | None = None
    region: str | None = None
    stack: str = DEFAULT_STACK

    @classmethod
    def local(cls, endpoint_url: str | None = None, *, stack: str = DEFAULT_STACK) -> Target:
        return cls(endpoint_url=endpoint_url or local_endpoint(), region=LOCAL_REGION, stack=stack)

    @classmethod
    def aws(
        cls, *, profile: str | None = None, region: str | None = None, stack: str = DEFAULT_STACK
    ) -> Target:
        return cls(profile=profile, region=region, stack=stack)

    @property
    def is_local(self) -> bool:
        return self.endpoint_url is not None

    @property
    def session(self) -> boto3.session.Session:
        with _lock:
            return _session(self.profile, self.region, self.is_local)

    @property
    def region_name(self) -> str:
        return self.region or self.session.region_name or LOCAL_REGION

    def client(self, service: str, *, config: Config | None = None) -> Any:
        if not self.is_local:  # AWS means AWS, whatever $AWS_ENDPOINT_URL says
            config = Config(ignore_configured_endpoint_urls=True).merge(config or Config())  # type: ignore[call-arg]
        with _lock:
            session = _session(self.profile, self.region, self.is_local)
            return session.client(service, endpoint_url=self.endpoint_url, config=config)  # type: ignore[call-overload]
