"""A deployed stack's outputs and resources, read the one way every tool reads them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from intake_tools.session import Target


class StackNotFound(Exception):
    """The stack cannot be read; the message says which and why."""


@dataclass(frozen=True)
class Stack:
    name: str
    status: str
    outputs: dict[str, str]

    def output(self, key: str) -> str:
        try:
            return self.outputs[key]
        except KeyError:
            raise StackNotFound(f"stack {self.name!r} has no output {key!r}") from None


def _first_stack(cloudformation: Any, name: str) -> dict[str, Any]:
    try:
        stacks: list[dict[str, Any]] = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except (BotoCoreError, ClientError) as exc:
        raise StackNotFound(f"cannot read stack {name!r}: {exc}") from exc
    if not stacks:
        raise StackNotFound(f"stack {name!r} does not exist")
    return stacks[0]


def outputs_of(described: dict[str, Any]) -> dict[str, str]:
    """The Outputs of one DescribeStacks entry, as a dict."""
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def read_stack(target: Target, name: str | None = None) -> Stack:
    name = name or target.stack
    described = _first_stack(target.client("cloudformation"), name)
    return Stack(name=name, status=described["StackStatus"], outputs=outputs_of(described))


def stack_resources(target: Target, name: str | None = None) -> dict[str, str]:
    """Logical id -> physical id of the stack's resources and, flattened, of its nested stacks'.

    A nested stack's resources are named "<its logical id in the parent><their logical id>", so the
    consumer stack `Validate`'s `Queue` is `ValidateQueue`, as if it were declared in the parent.
    """
    try:
        return nested_resources(target.client("cloudformation"), name or target.stack)
    except (BotoCoreError, ClientError) as exc:
        raise StackNotFound(f"cannot list the resources of stack {name or target.stack!r}: {exc}") from exc


def nested_resources(cloudformation: Any, stack: str, prefix: str = "") -> dict[str, str]:
    """stack_resources with a CloudFormation client of one's own."""
    resources: dict[str, str] = {}
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack):
        for summary in page["StackResourceSummaries"]:
            logical, physical = prefix + summary["LogicalResourceId"], summary.get("PhysicalResourceId", "")
            resources[logical] = physical
            if summary["ResourceType"] == "AWS::CloudFormation::Stack" and physical:
                resources.update(nested_resources(cloudformation, physical, logical))
    return resources
