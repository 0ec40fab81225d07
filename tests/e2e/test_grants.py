"""The roles are exact, proven on what the end-to-end suite really did.

Runs after every other test of the session (tests/e2e/conftest.py puts it last), on the requests the
local cloud's IAM allowed the functions' roles during the session (localcloud.authz.grants.ALLOWED).
A grant is one action of one Allow statement of the template, in the policies of the function roles
as deployed (each role's inline policies and the AWS::IAM::Policy resources attached to it). A
statement attached to several roles (StageFunctionsPolicy: validate, thumbnail, index) is one grant:
which stage settles a record, and so publishes or discards, is a race, and the template cannot grant it
to one stage and not another.

- **used:** every grant decided at least one allowed request of one of its roles;
- **needed:** with each grant removed in turn, re-evaluating the recorded requests of its roles with
  the policies so mutated denies at least one of them (AccessDenied), without redeploying.

Every grant counts, the error paths' too: the functions write their logs to CloudWatch Logs as their
roles (test_function_logs.py), notify's idempotency DeleteItem follows an email SES refused, and the
stages' ListUploads lets S3 answer 404 for an upload deleted before they ran (test_recovery.py). A
grant the suite cannot be the proof of would go in EXEMPT, with the reason.
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from dataclasses import dataclass

import pytest

from localcloud.authz import resources
from localcloud.authz.grants import ALLOWED, Allowed, reevaluate, statement_actions, without
from localcloud.authz.identity import DEFAULT_ACCOUNT
from localcloud.authz.policy import Policy
from localcloud.cloud import LocalCloud

# Modules of the end-to-end suite whose scenarios use the grants: without them the recording is partial.
SCENARIOS = (
    "test_pipeline.py",
    "test_api.py",
    "test_multipart_api.py",
    "test_delivery.py",
    "test_encryption.py",
    "test_function_logs.py",
    "test_recovery.py",
    "test_digest.py",
)
# ("<policy>:<Sid>", action) -> why the suite cannot be the proof of it.
EXEMPT: dict[tuple[str, str], str] = {
    ("notify-sends:ReadOutboxDigests", "dynamodb:GetItem"): (
        "read only when a delivery finds its upload claimed by another delivery's digest (a duplicate"
        " racing the original, or a retry after a crash); no scenario can force that race, and"
        " tests/integration/test_notify_digest.py proves the path"
    ),
}


@dataclass(frozen=True)
class Grant:
    statement: str  # "<policy>:<Sid>" as the template names it (the role prefix dropped)
    action: str  # one entry of its Action list


def _function_roles(cloud: LocalCloud) -> dict[str, str]:
    """Role ARN -> function name, for this stack's functions."""
    lambda_ = cloud.client("lambda")
    assert cloud.deployment is not None
    return {
        lambda_.get_function_configuration(FunctionName=name)["Role"]: name
        for name in cloud.deployment.code_dirs
    }


def _policies(role: str) -> list[Policy]:
    return resources.role_policies(DEFAULT_ACCOUNT, role.rsplit("/", 1)[-1])


def _template_name(statement: str) -> str:
    """ "role/<role>:<policy>:<Sid>" -> "<policy>:<Sid>" (role names have no colon)."""
    return statement.split(":", 1)[-1]


def _grants(roles: dict[str, str]) -> dict[Grant, dict[str, str]]:
    """Each non-exempt grant -> {role: the statement's name in that role's policies}."""
    found: dict[Grant, dict[str, str]] = defaultdict(dict)
    for role in roles:
        for policy in _policies(role):
            for index, statement in enumerate(policy.statements()):
                if statement.get("Effect") != "Allow":
                    continue
                sid = f"{policy.name}:{statement.get('Sid') or f'#{index}'}"
                for action in statement_actions(statement):
                    grant = Grant(_template_name(sid), action)
                    if (grant.statement, action) not in EXEMPT:
                        found[grant][role] = sid
    return found


def _decided_by(sid: str, action: str, entries: list[Allowed]) -> list[Allowed]:
    pattern = action.lower()
    return [
        e for e in entries if e.statement == sid and fnmatch.fnmatchcase(e.request.action.lower(), pattern)
    ]


@pytest.fixture(scope="module")
def recorded(request: pytest.FixtureRequest, cloud: LocalCloud) -> dict[str, list[Allowed]]:
    collected = {item.path.name for item in request.session.items}
    missing = [name for name in SCENARIOS if name not in collected]
    if missing or request.session.testsfailed:
        pytest.skip(f"needs the whole end-to-end suite, passing (not run: {missing or 'none'})")
    if not cloud.emulator.authorization.enforce:
        pytest.skip("the local cloud's IAM is off (LOCALCLOUD_ENFORCE_IAM=0)")
    by_role: dict[str, list[Allowed]] = defaultdict(list)
    for entry in ALLOWED.entries():
        by_role[entry.role].append(entry)
    return by_role


def _label(grant: Grant, holders: dict[str, str], roles: dict[str, str]) -> str:
    return f"{grant.statement} {grant.action} ({', '.join(sorted(roles[r] for r in holders))})"


def test_every_grant_of_every_function_role_is_used(
    cloud: LocalCloud, recorded: dict[str, list[Allowed]]
) -> None:
    roles = _function_roles(cloud)
    unused = [
        _label(grant, holders, roles)
        for grant, holders in _grants(roles).items()
        if not any(_decided_by(sid, grant.action, recorded.get(role, [])) for role, sid in holders.items())
    ]
    assert not unused, "granted but never used by the end-to-end suite:\n" + "\n".join(sorted(unused))


def test_removing_any_grant_denies_a_request_the_suite_made(
    cloud: LocalCloud, recorded: dict[str, list[Allowed]]
) -> None:
    roles = _function_roles(cloud)
    survivors = []
    for grant, holders in _grants(roles).items():
        denied = False
        for role, sid in holders.items():
            mutated = without(_policies(role), sid, grant.action)
            denied = denied or any(
                not reevaluate(e, mutated) for e in _decided_by(sid, grant.action, recorded[role])
            )
        if not denied:
            survivors.append(_label(grant, holders, roles))
    assert not survivors, "removing these grants denies nothing the suite does:\n" + "\n".join(
        sorted(survivors)
    )
