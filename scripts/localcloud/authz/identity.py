"""Who signed a request: the role behind an access key that moto's STS AssumeRole handed out.

Lambda gives every execution environment credentials for the function's role; the local runtime asks
the emulator's STS for them (:func:`role_credentials`). The emulator then resolves the access key of a
request back to that role (:func:`caller`), as IAM does. The local test key (``test``, and the key
in the local cloud's own environment, which it hands to the processes it starts) is the local
administrator (:func:`is_local_administrator`) and is not evaluated; any other key is unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .policy import role_arn

DEFAULT_ACCOUNT = "123456789012"  # moto's account: every resource of the local cloud lives in it


@dataclass(frozen=True)
class Caller:
    session_arn: str  # arn:aws:sts::<account>:assumed-role/<role>/<session>
    role_arn: str
    account: str
    secret_access_key: str
    session_token: str

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]


def is_local_administrator(access_key_id: str) -> bool:
    """Whether the key is one of the local cloud's own (the developer's local test credentials)."""
    from ..s3_presign.middleware import local_secrets

    return bool(access_key_id) and local_secrets(access_key_id) is not None


def caller(access_key_id: str) -> Caller | None:
    """The assumed-role session behind ``access_key_id``, read from moto's STS backends; None if the
    key is not one STS handed out."""
    if not access_key_id or access_key_id == "test":
        return None
    from moto.sts.models import sts_backends

    for account_id in list(sts_backends.keys()):
        found = sts_backends[account_id]["aws"].get_assumed_role_from_access_key(access_key_id)
        if found is not None:
            arn = found.arn
            return Caller(arn, role_arn(arn), account_id, found.secret_access_key, found.session_token)
    return None


def secrets_with_roles(local: Callable[[str], str | None]) -> Callable[[str], str | None]:
    """A secret-key lookup for signature checks: the local cloud's own keys, then STS-issued ones."""

    def secret(access_key_id: str) -> str | None:
        known = local(access_key_id)
        if known is not None:
            return known
        found = caller(access_key_id)
        return found.secret_access_key if found else None

    return secret


def role_credentials(role: str, session_name: str, endpoint_url: str, region: str) -> dict[str, str]:
    """Credentials for ``role`` from the emulator's STS, as the environment variables Lambda sets.

    Asked with the local administrator's key: Lambda's service principal does the AssumeRole on AWS."""
    import boto3

    sts: Any = boto3.client(
        "sts",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="test",  # the local administrator
        aws_secret_access_key="test",
    )
    credentials = sts.assume_role(RoleArn=role, RoleSessionName=session_name[:64])["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


def role_session(role: str, session_name: str, endpoint_url: str, region: str) -> Any:
    """A boto3 session with ``role``'s credentials from the emulator's STS, refreshed before they expire
    (botocore's RefreshableCredentials: the same AssumeRole the runtime does for the function)."""
    import boto3
    import botocore.session
    from botocore.credentials import RefreshableCredentials

    def fetch() -> dict[str, str]:
        sts: Any = boto3.client(
            "sts",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id="test",  # the local administrator, standing for Lambda's service principal
            aws_secret_access_key="test",
        )
        found = sts.assume_role(RoleArn=role, RoleSessionName=session_name[:64])["Credentials"]
        return {
            "access_key": found["AccessKeyId"],
            "secret_key": found["SecretAccessKey"],
            "token": found["SessionToken"],
            "expiry_time": found["Expiration"].isoformat(),
        }

    credentials = RefreshableCredentials.create_from_metadata(fetch(), fetch, "sts-assume-role")
    core = botocore.session.get_session()
    core._credentials = credentials  # type: ignore[attr-defined]  # botocore has no setter for refreshable ones
    return boto3.Session(botocore_session=core, region_name=region)
