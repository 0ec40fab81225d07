"""`make destroy`: the stack deleted on AWS, through boto3.

Destroy deletes the stack after confirmation. It first empties the buckets the stack deletes
(CloudFormation cannot delete a bucket that holds objects); the resources the deployed template retains
(DeletionPolicy Retain: the users' data) it leaves untouched and lists at the end, with the commands
that remove them for good. The artifacts bucket is not part of the stack and is kept.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from botocore.exceptions import ClientError
from rich.table import Table

from intake_build.deploy import (
    CfnLoader,
    DeployError,
    confirm,
    console,
    latest_event_id,
    print_event,
    stack_status,
    target_of,
    wait_for_stack,
)
from intake_tools.session import Target

# --- what the deletion keeps ----------------------------------------------------------------------


@dataclass(frozen=True)
class StackResource:
    logical_id: str
    type: str
    physical_id: str


# The DeletionPolicy values under which a stack deletion leaves the resource in place
# (RetainExceptOnCreate: deleted only by the rollback of its creation, which list_stack_resources then
# shows as DELETE_COMPLETE; Snapshot: the resource goes, a snapshot stays, so it counts as kept).
_KEPT_POLICIES = ("Retain", "RetainExceptOnCreate", "Snapshot")


def stack_resources(cloudformation: Any, stack: str) -> list[StackResource]:
    """The root stack's resources that exist (a physical id, not deleted by a rollback), in
    CloudFormation's order."""
    resources = []
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack):
        for summary in page["StackResourceSummaries"]:
            if summary.get("PhysicalResourceId") and summary.get("ResourceStatus") != "DELETE_COMPLETE":
                resources.append(
                    StackResource(
                        summary["LogicalResourceId"], summary["ResourceType"], summary["PhysicalResourceId"]
                    )
                )
    return resources


def retained_logical_ids(template: str | Mapping[str, Any]) -> set[str]:
    """The resources a stack deletion leaves in place, by the DeletionPolicy of the template the stack
    was deployed with (GetTemplate's body: a YAML or JSON string, or JSON already parsed)."""
    loaded = yaml.load(template, Loader=CfnLoader) if isinstance(template, str) else template
    resources = (loaded or {}).get("Resources") or {}
    return {
        str(name)
        for name, spec in resources.items()
        if isinstance(spec, dict) and spec.get("DeletionPolicy") in _KEPT_POLICIES
    }


def split_for_deletion(
    resources: Iterable[StackResource], retained: set[str]
) -> tuple[list[str], list[StackResource]]:
    """The buckets to empty before the deletion (CloudFormation cannot delete a bucket that holds
    objects), and the resources the deletion keeps, which are left as they are."""
    kept = [r for r in resources if r.logical_id in retained]
    buckets = [
        r.physical_id for r in resources if r.type == "AWS::S3::Bucket" and r.logical_id not in retained
    ]
    return buckets, kept


def removal_commands(kept: Iterable[StackResource], region: str) -> list[str]:
    """AWS CLI commands that remove the kept resources for good, the key last: once it is deleted,
    whatever is still encrypted with it can never be read again."""
    commands: list[str] = []
    keys: list[str] = []
    for resource in kept:
        at = f"--region {region}"
        if resource.type == "AWS::S3::Bucket":
            commands.append(f"aws s3 rb s3://{resource.physical_id} --force {at}")
        elif resource.type == "AWS::DynamoDB::Table":
            commands.append(
                f"aws dynamodb update-table --table-name {resource.physical_id}"
                f" --no-deletion-protection-enabled {at}"
            )
            commands.append(f"aws dynamodb delete-table --table-name {resource.physical_id} {at}")
        elif resource.type == "AWS::Cognito::UserPool":
            commands.append(f"aws cognito-idp delete-user-pool --user-pool-id {resource.physical_id} {at}")
        elif resource.type == "AWS::S3::BucketPolicy":
            continue  # removed with its bucket
        elif resource.type == "AWS::KMS::Key":
            keys.append(
                f"aws kms schedule-key-deletion --key-id {resource.physical_id} --pending-window-in-days 30 {at}"
            )
        else:
            commands.append(f"# {resource.type} {resource.physical_id}: delete it with its service's CLI")
    return commands + keys


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version and delete marker; returns how many."""
    deleted = 0
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            keys = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            for start in range(0, len(keys), 1000):
                batch = keys[start : start + 1000]
                response = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
                if response.get("Errors"):
                    first = response["Errors"][0]
                    raise DeployError(f"cannot empty {bucket}: {first['Key']}: {first['Message']}")
                deleted += len(batch)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
            return deleted
        raise
    return deleted


def destroy_stack(target: Target, *, stack: str, yes: bool = False, poll_s: float = 5) -> bool:
    """Delete the stack. The buckets it deletes are emptied first; what its DeletionPolicy retains (the
    users' data) is left untouched and listed, with the commands that remove it for good."""
    cloudformation = target.client("cloudformation")
    current = stack_status(cloudformation, stack)
    if current is None:
        console.print(f"stack {stack} does not exist")
        return True
    retained = retained_logical_ids(cloudformation.get_template(StackName=stack)["TemplateBody"])
    buckets, kept = split_for_deletion(stack_resources(cloudformation, stack), retained)
    question = (
        f"Delete stack {stack} and every object in the buckets it deletes ({', '.join(buckets) or 'none'})?"
    )
    if kept:
        question += f" It keeps {', '.join(f'{r.logical_id} {r.physical_id}' for r in kept)}."
    if not confirm(question, yes):
        console.print("nothing deleted")
        return False
    s3 = target.client("s3")
    for bucket in buckets:
        console.print(f"emptying {bucket}: {empty_bucket(s3, bucket)} objects deleted")
    after = latest_event_id(cloudformation, current["StackId"])
    cloudformation.delete_stack(StackName=stack)
    wait_for_stack(cloudformation, current["StackId"], after, poll_s=poll_s, on_event=print_event)
    console.print(f"stack {stack} deleted")
    if kept:
        print_kept(kept, target.region_name)
    return True


def print_kept(kept: Sequence[StackResource], region: str) -> None:
    table = Table(title="Kept (DeletionPolicy Retain): the users' data, still billed")
    for column in ("logical id", "type", "name / id"):
        table.add_column(column, overflow="fold")
    for resource in kept:
        table.add_row(resource.logical_id, resource.type, resource.physical_id)
    console.print(table)
    console.print(
        "To remove them for good (irreversible; the key's deletion waits 30 days, cancel-key-deletion undoes it):"
    )
    for command in removal_commands(kept, region):
        console.print(f"  {command}", soft_wrap=True)


# --- command --------------------------------------------------------------------------------------


def destroy_command(args: argparse.Namespace) -> int:
    return 0 if destroy_stack(target_of(args), stack=args.stack_name, yes=args.yes) else 1
