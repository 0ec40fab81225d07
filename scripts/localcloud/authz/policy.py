"""A pure IAM policy evaluator: AWS's policy evaluation logic for one account.

    decision = evaluate(request, identity=[...], resource=policy_or_None, key=key_policy_or_None)

The order AWS documents ("Policy evaluation logic", same account):
1. an explicit Deny in any policy that applies wins;
2. KMS: the key policy must allow the caller, either naming it (or "*") or, through a statement whose
   principal is the account (``arn:aws:iam::<account>:root``), delegating to IAM; in that case the
   identity policies must allow too;
3. otherwise an Allow in the identity policies OR in the resource policy is enough. A resource policy
   statement that names the account only delegates to IAM: it grants nothing on its own.
Without an Allow the request is implicitly denied.

An identity policy statement without Resource or NotResource matches nothing (and is logged): IAM
refuses to store one. NotPrincipal exempts a role's session only when it lists the session, its role
and its account, as the IAM reference asks.

Principals: a role's session (``arn:aws:sts::<acct>:assumed-role/<role>/<session>``, matched by the
role's ARN as IAM does), a service principal (``s3.amazonaws.com``) for service deliveries, or
``ANONYMOUS`` for unsigned requests, which only a ``"*"`` principal matches.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .conditions import Context, any_glob, conditions_hold

ANONYMOUS = "anonymous"
LOG = logging.getLogger(__name__)
Effect = Literal["Allow", "Deny"]


@dataclass(frozen=True)
class Policy:
    """A policy document and the name a log line gives it ("role/api:inline api", "bucket policy")."""

    name: str
    document: Mapping[str, Any]

    @classmethod
    def parse(cls, name: str, document: str | Mapping[str, Any]) -> Policy:
        return cls(name, json.loads(document) if isinstance(document, str) else document)

    def statements(self) -> list[Mapping[str, Any]]:
        statements = self.document.get("Statement", [])
        return [statements] if isinstance(statements, Mapping) else list(statements)


@dataclass(frozen=True)
class Request:
    principal: str  # a session or role ARN, a service principal, or ANONYMOUS
    action: str  # "s3:GetObject"
    resource: str  # the ARN the request touches
    account: str  # the account that owns the principal and the resource
    context: Context = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # "explicit deny", "allowed", "no allow", "key policy does not allow"
    statement: str = ""  # "<policy name>:<Sid or #index>" of the deciding statement, if one decided

    def __bool__(self) -> bool:
        return self.allowed


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def role_arn(principal: str) -> str:
    """The role behind an assumed-role session ARN (the principal itself otherwise)."""
    if ":assumed-role/" not in principal:
        return principal
    head, _, path = principal.partition(":assumed-role/")
    return f"{head.replace(':sts:', ':iam:')}:role/{path.split('/', 1)[0]}"


def _statement_id(policy: Policy, index: int, statement: Mapping[str, Any]) -> str:
    return f"{policy.name}:{statement.get('Sid') or f'#{index}'}"


def _action_matches(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not any_glob(_list(statement["NotAction"]), action, case_sensitive=False)
    return any_glob(_list(statement.get("Action")), action, case_sensitive=False)


def _resource_matches(statement: Mapping[str, Any], resource: str) -> bool:
    if "NotResource" in statement:
        return not any_glob(_list(statement["NotResource"]), resource)
    if "Resource" not in statement:
        return True  # resource policies may leave it out: the resource they are attached to
    return any_glob(_list(statement["Resource"]), resource)


PrincipalMatch = Literal["none", "direct", "account"]


def _principal_match(statement: Mapping[str, Any], request: Request) -> PrincipalMatch:
    """How a resource-policy statement names the caller: directly, through its account, or not."""
    if "NotPrincipal" in statement:
        return "none" if _exempted(statement["NotPrincipal"], request) else "direct"
    return _principal_in(statement.get("Principal"), request)


def _exempted(not_principal: Any, request: Request) -> bool:
    """Whether NotPrincipal leaves the caller out. AWS may evaluate a role's session as the account,
    then the role, then the session, so each of them must be listed (no wildcards for sessions)."""
    if not isinstance(not_principal, Mapping):
        return False
    if request.principal in _list(not_principal.get("Service")):
        return True
    aws = _list(not_principal.get("AWS"))
    if request.principal == ANONYMOUS or "." in request.principal.split(":")[0]:
        return False
    chain = {request.principal, role_arn(request.principal)}
    account = {f"arn:aws:iam::{request.account}:root", request.account}
    return chain <= set(aws) and bool(account & set(aws))


def _principal_in(principal: Any, request: Request) -> PrincipalMatch:
    if principal == "*":
        return "direct"
    if not isinstance(principal, Mapping):
        return "none"
    aws = _list(principal.get("AWS"))
    if "*" in aws:
        return "direct"
    if request.principal in _list(principal.get("Service")):
        return "direct"
    if request.principal == ANONYMOUS or "." in request.principal.split(":")[0]:
        return "none"  # anonymous and service principals match only "*" or their Service name
    if request.principal in aws or role_arn(request.principal) in aws:
        return "direct"
    root = f"arn:aws:iam::{request.account}:root"
    if root in aws or request.account in aws:
        return "account"
    return "none"


_WARNED: set[str] = set()


def _warn_once(statement: str) -> None:
    if statement not in _WARNED:
        _WARNED.add(statement)
        LOG.warning(
            "%s has neither Resource nor NotResource: IAM refuses such a policy, so it grants nothing here",
            statement,
        )


@dataclass
class _Found:
    deny: str = ""
    allow: str = ""
    delegate: str = ""  # an Allow naming the account: defers to the identity policies


def _scan(policies: Iterable[Policy], request: Request, *, resource_policy: bool) -> _Found:
    found = _Found()
    for policy in policies:
        for index, statement in enumerate(policy.statements()):
            match: PrincipalMatch = _principal_match(statement, request) if resource_policy else "direct"
            if match == "none":
                continue
            if not resource_policy and "Resource" not in statement and "NotResource" not in statement:
                # IAM refuses such an identity policy (MalformedPolicyDocument): it grants nothing.
                _warn_once(_statement_id(policy, index, statement))
                continue
            if not (
                _action_matches(statement, request.action) and _resource_matches(statement, request.resource)
            ):
                continue
            if not conditions_hold(statement.get("Condition"), request.context):
                continue
            sid = _statement_id(policy, index, statement)
            if statement.get("Effect") == "Deny":
                found.deny = found.deny or sid
            elif match == "account":
                found.delegate = found.delegate or sid
            else:
                found.allow = found.allow or sid
    return found


def evaluate(
    request: Request,
    identity: Sequence[Policy] = (),
    resource: Policy | None = None,
    key: Policy | None = None,
) -> Decision:
    """Allow or deny ``request`` given the caller's identity policies, the resource's policy (if the
    service evaluates one) and, for a KMS key, its key policy."""
    ident = _scan(identity, request, resource_policy=False)
    res = _scan([resource] if resource else [], request, resource_policy=True)
    keyed = _scan([key] if key else [], request, resource_policy=True)
    for found in (ident, res, keyed):
        if found.deny:
            return Decision(False, "explicit deny", found.deny)
    if key is not None:
        if keyed.allow:
            return Decision(True, "allowed by the key policy", keyed.allow)
        if not keyed.delegate:
            return Decision(False, "the key policy does not allow it")
        if ident.allow:
            return Decision(True, "allowed by IAM, as the key policy delegates", ident.allow)
        return Decision(
            False, "no identity policy allows it (the key policy delegates to IAM)", keyed.delegate
        )
    if ident.allow:
        return Decision(True, "allowed by an identity policy", ident.allow)
    if res.allow:
        return Decision(True, "allowed by the resource policy", res.allow)
    return Decision(False, "no policy allows it")
