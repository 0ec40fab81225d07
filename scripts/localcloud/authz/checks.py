"""What one request asks for: a list of Checks, each (action, resource ARN, condition context, the
resource policy and KMS key policy that apply). A request is allowed when every check is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import resources
from .policy import Policy


@dataclass(frozen=True)
class Caller:
    """Who asks: an assumed-role session (or ANONYMOUS), in which account and region."""

    principal: str
    account: str
    region: str


@dataclass(frozen=True)
class Check:
    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)
    resource_policy: Policy | None = None
    key_policy: Policy | None = None


def base_context(caller: Caller) -> dict[str, Any]:
    # The local cloud is served over plain HTTP; it stands for AWS's HTTPS endpoints, so every request
    # counts as TLS (aws:SecureTransport true): a DenyInsecureTransport statement never fires locally,
    # and tests/unit/test_template_tls.py checks the shape of each one statically instead.
    return {
        "aws:SecureTransport": True,
        "aws:PrincipalArn": caller.principal,
        "aws:PrincipalAccount": caller.account,
        "aws:RequestedRegion": caller.region,
    }


def kms_checks(caller: Caller, key_id: str | None, actions: tuple[str, ...], service: str) -> list[Check]:
    """The KMS permissions a service asks for on the caller's behalf (kms:ViaService = that service)."""
    if not key_id or key_id.startswith("alias/aws/"):
        return []  # an AWS managed key: its key policy allows any caller of the account via the service
    region = key_id.split(":")[3] if key_id.startswith("arn:") else caller.region
    arn, policy = resources.key(caller.account, region, key_id)
    context = {**base_context(caller), "kms:ViaService": f"{service}.{caller.region}.amazonaws.com"}
    context["kms:CallerAccount"] = caller.account
    return [Check(action, arn, context, key_policy=policy) for action in actions]
