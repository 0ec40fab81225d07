"""Data survives the stack: every stateful resource of the templates says what happens to it when the
stack is deleted or the resource replaced, and keeps the users' data.

A resource of a stateful type (STATEFUL_TYPES: it holds data, not configuration) must declare both
`DeletionPolicy` and `UpdateReplacePolicy`: `Retain` or `RetainExceptOnCreate` (deletion only) or
`Snapshot` (for the types CloudFormation can snapshot), unless DELETED_WITH_STACK names the resource
with the reason it may go. The retained tables also turn on DynamoDB deletion protection through the
`TableDeletionProtection` parameter, which defaults to on, and are plain `Retain`: the rollback of a
failed create could not delete a protected table. The checks read the effective template (nested consumer stacks
expanded, tests/support/templates.py), so a new stateful resource anywhere must decide.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.templates import effective_template, set_at

Template = dict[str, Any]

# Resource types that hold data a stack deletion or a replacement would destroy.
STATEFUL_TYPES = frozenset(
    {
        "AWS::DynamoDB::Table",
        "AWS::DynamoDB::GlobalTable",
        "AWS::S3::Bucket",
        "AWS::Cognito::UserPool",
        "AWS::KMS::Key",
        "AWS::Logs::LogGroup",
        "AWS::RDS::DBInstance",
        "AWS::RDS::DBCluster",
        "AWS::EFS::FileSystem",
        "AWS::SecretsManager::Secret",
    }
)
# The types CloudFormation can snapshot before deleting (DeletionPolicy / UpdateReplacePolicy Snapshot).
SNAPSHOT_TYPES = frozenset({"AWS::RDS::DBInstance", "AWS::RDS::DBCluster", "AWS::EC2::Volume"})
KEEPING = {"Retain", "RetainExceptOnCreate", "Snapshot"}
# Stateful resources that may be deleted with the stack, and why (the template says so too).
DELETED_WITH_STACK = {
    "IdempotencyTable": "Notify's deduplication keys, expired after a week by TTL",
    "WebBucket": "a copy of web/ that make deploy publishes from git",
    "ApiLogGroup": "operational logs with a fixed name a retained group would block",
    "ApiAccessLogGroup": "operational logs with a fixed name a retained group would block",
    **{
        f"{consumer}LogGroup": "operational logs with a fixed name a retained group would block"
        for consumer in ("Validate", "Thumbnail", "Index", "Notify")
    },
}
PROTECTION_PARAMETER = "TableDeletionProtection"


def retention_problems(t: Template) -> list[str]:
    problems = []
    for name, resource in sorted(t["Resources"].items()):
        kind = resource.get("Type", "")
        if kind not in STATEFUL_TYPES:
            continue
        for attribute in ("DeletionPolicy", "UpdateReplacePolicy"):
            policy = resource.get(attribute)
            if policy is None:
                problems.append(f"{name} ({kind}) has no {attribute}")
            elif name in DELETED_WITH_STACK:
                if policy != "Delete":
                    problems.append(f"{name}: {attribute} {policy}, but the test lists it as deleted")
            elif policy not in KEEPING:
                problems.append(f"{name} ({kind}): {attribute} {policy} loses its data")
            elif attribute == "UpdateReplacePolicy" and policy == "RetainExceptOnCreate":
                problems.append(f"{name}: UpdateReplacePolicy takes Retain, not RetainExceptOnCreate")
            elif policy == "Snapshot" and kind not in SNAPSHOT_TYPES:
                problems.append(f"{name} ({kind}): CloudFormation cannot snapshot this type")
    return problems


def table_protection_problems(t: Template) -> list[str]:
    problems = []
    parameter = t.get("Parameters", {}).get(PROTECTION_PARAMETER)
    if parameter is None or parameter.get("Default") != "true":
        problems.append(f"parameter {PROTECTION_PARAMETER} is missing or off by default")
    elif sorted(parameter.get("AllowedValues", [])) != ["false", "true"]:
        problems.append(f"parameter {PROTECTION_PARAMETER} allows {parameter.get('AllowedValues')}")
    conditions = t.get("Conditions", {})
    for name, resource in sorted(t["Resources"].items()):
        if resource.get("Type") != "AWS::DynamoDB::Table":
            continue
        setting = resource.get("Properties", {}).get("DeletionProtectionEnabled")
        if name in DELETED_WITH_STACK:
            # Protection would make the stack's deletion fail on this table.
            if setting not in (None, False, "false"):
                problems.append(f"{name} is deleted with the stack but has deletion protection")
            continue
        if resource.get("DeletionPolicy") != "Retain":
            problems.append(
                f"{name}: a protected table needs DeletionPolicy Retain (a rollback cannot delete it)"
            )
        branches = setting.get("Fn::If") if isinstance(setting, dict) else None
        if not branches or branches[1:] != [True, False]:
            problems.append(f"{name}: DeletionProtectionEnabled is not !If [<condition>, true, false]")
            continue
        condition = conditions.get(branches[0])
        if condition != {"Fn::Equals": [{"Ref": PROTECTION_PARAMETER}, "true"]}:
            problems.append(f"{name}: condition {branches[0]} is not {PROTECTION_PARAMETER} == true")
    return problems


@pytest.fixture(scope="module")
def template() -> Template:
    return effective_template()


def test_every_stateful_resource_is_retained_or_deleted_on_purpose(template: Template) -> None:
    assert retention_problems(template) == []


def test_the_retained_tables_have_deletion_protection_by_default(template: Template) -> None:
    assert table_protection_problems(template) == []


def test_the_users_data_is_retained(template: Template) -> None:
    """The users' data, named: no exemption can creep in for these."""
    for name in ("IndexTable", "UserSettingsTable", "UploadBucket", "ThumbnailBucket", "UserPool", "DataKey"):
        resource = template["Resources"][name]
        assert resource["DeletionPolicy"] in ("Retain", "RetainExceptOnCreate"), name
        assert resource["UpdateReplacePolicy"] == "Retain", name


def test_the_exemptions_name_real_resources(template: Template) -> None:
    missing = set(DELETED_WITH_STACK) - set(template["Resources"])
    assert not missing, f"DELETED_WITH_STACK names resources the template does not have: {missing}"


def _drop(name: str, key: str) -> Callable[[Template], None]:
    return lambda t: t["Resources"][name].pop(key)


R, P = "Resources", "Properties"
MUTATIONS: list[tuple[str, Callable[[Template], list[str]], Callable[[Template], None]]] = [
    ("bucket without DeletionPolicy", retention_problems, _drop("UploadBucket", "DeletionPolicy")),
    ("table without UpdateReplacePolicy", retention_problems, _drop("IndexTable", "UpdateReplacePolicy")),
    ("user pool deleted", retention_problems, set_at([R, "UserPool", "DeletionPolicy"], "Delete")),
    ("key snapshot", retention_problems, set_at([R, "DataKey", "UpdateReplacePolicy"], "Snapshot")),
    (
        "replace except on create",
        retention_problems,
        set_at([R, "UserPool", "UpdateReplacePolicy"], "RetainExceptOnCreate"),
    ),
    ("consumer log group unset", retention_problems, _drop("NotifyLogGroup", "DeletionPolicy")),
    (
        "exempt table retained",
        retention_problems,
        set_at([R, "IdempotencyTable", "DeletionPolicy"], "Retain"),
    ),
    (
        "a new stateful resource",
        retention_problems,
        set_at([R, "ExtraTable"], {"Type": "AWS::DynamoDB::Table", P: {}}),
    ),
    (
        "protection off by default",
        table_protection_problems,
        set_at(["Parameters", PROTECTION_PARAMETER, "Default"], "false"),
    ),
    (
        "protection missing",
        table_protection_problems,
        lambda t: t[R]["UserSettingsTable"][P].pop("DeletionProtectionEnabled"),
    ),
    (
        "protected table deleted on rollback",
        table_protection_problems,
        set_at([R, "IndexTable", "DeletionPolicy"], "RetainExceptOnCreate"),
    ),
    (
        "protection hardwired",
        table_protection_problems,
        set_at([R, "IndexTable", P, "DeletionProtectionEnabled"], False),
    ),
    (
        "exempt table protected",
        table_protection_problems,
        set_at([R, "IdempotencyTable", P, "DeletionProtectionEnabled"], True),
    ),
]


@pytest.mark.parametrize(("label", "check", "mutate"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_each_check_notices_a_broken_template(
    template: Template, label: str, check: Callable[[Template], list[str]], mutate: Callable[[Template], None]
) -> None:
    broken = copy.deepcopy(template)
    mutate(broken)
    assert check(broken), label
