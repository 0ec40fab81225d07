"""Reading stacks on the local cloud's moto server (localcloud.cfn): while a stack deploys, and after.

DescribeStacks and ListStackResources during CreateStack create nothing (each resource is created once,
by CreateStack), ListStackResources has no row for a resource whose Condition is false, and GetRolePolicy
answers JSON for the policies a role declares in its own `Policies` property.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto.cloudformation import parsing
from moto.server import ThreadedMotoServer

import localcloud.cfn

REGION = "us-east-1"


@pytest.fixture(scope="module")
def client() -> Iterator[Callable[[str], Any]]:
    localcloud.cfn.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()

    def make(service: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            region_name=REGION,
            endpoint_url=f"http://{host}:{port}",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    try:
        yield make
    finally:
        server.stop()


def rows(cloudformation: Any, stack: str) -> list[dict[str, Any]]:
    return list(cloudformation.list_stack_resources(StackName=stack)["StackResourceSummaries"])


Gate = tuple[threading.Event, threading.Event, list[str]]


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    """CreateStack holds before it creates the resource `Gate` (once) until `release` is set; every
    logical id that moto creates a resource for is recorded, in order."""
    reached, release, creations = threading.Event(), threading.Event(), []
    original = parsing.parse_and_create_resource

    def held(logical_id: str, *args: Any, **kwargs: Any) -> Any:
        creations.append(logical_id)
        if logical_id == "Gate" and not reached.is_set():
            reached.set()
            release.wait(60)
        return original(logical_id, *args, **kwargs)

    monkeypatch.setattr(parsing, "parse_and_create_resource", held)
    yield reached, release, creations
    release.set()


def test_reads_during_create_stack_create_nothing(client: Callable[[str], Any], gate: Gate) -> None:
    reached, release, creations = gate
    name = f"reads-{uuid.uuid4().hex[:8]}"
    template = {
        "Resources": {
            "First": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": f"{name}-first"}},
            "Gate": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-gate"}},
            "Later": {
                "Type": "AWS::Logs::LogGroup",
                "DependsOn": "Gate",
                "Properties": {"LogGroupName": f"{name}-later"},
            },
        },
        "Outputs": {"Later": {"Value": {"Ref": "Later"}}, "Gate": {"Value": {"Fn::GetAtt": ["Gate", "Arn"]}}},
    }
    cloudformation = client("cloudformation")
    created: list[Any] = []

    def create() -> None:
        try:
            created.append(
                client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
            )
        except Exception as exc:  # the assertion below shows it
            created.append(exc)

    creator = threading.Thread(target=create)
    creator.start()
    try:
        assert reached.wait(60), "CreateStack never reached the resource Gate"
        (during,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
        every = cloudformation.describe_stacks()["Stacks"]
        listed = rows(cloudformation, name)
    finally:
        release.set()
        creator.join(60)

    assert not isinstance(created[0], Exception), created[0]
    assert creations == ["First", "Gate", "Later"]  # each once, by CreateStack
    # While it deploys: in progress, no outputs yet, and only what CreateStack has created so far.
    assert during["StackStatus"] == "CREATE_IN_PROGRESS"
    assert "Outputs" not in during
    assert name in [stack["StackName"] for stack in every]
    assert [row["LogicalResourceId"] for row in listed] == ["First"]
    # Afterwards: each resource once, the outputs answered.
    (after,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    assert after["StackStatus"] == "CREATE_COMPLETE"
    assert {o["OutputKey"]: o["OutputValue"] for o in after["Outputs"]}["Later"] == f"{name}-later"
    groups = client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    assert sorted(g["logGroupName"] for g in groups) == [f"{name}-first", f"{name}-later"]
    assert [row["LogicalResourceId"] for row in rows(cloudformation, name)] == ["First", "Gate", "Later"]


def test_no_row_for_a_resource_whose_condition_is_false(client: Callable[[str], Any]) -> None:
    name = f"conditions-{uuid.uuid4().hex[:8]}"
    template = {
        "Conditions": {"Never": {"Fn::Equals": ["a", "b"]}},
        "Resources": {
            "Kept": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-kept"}},
            "Skipped": {"Type": "AWS::SQS::Queue", "Condition": "Never"},
        },
    }
    cloudformation = client("cloudformation")
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))

    listed = rows(cloudformation, name)
    assert [(row["LogicalResourceId"], row["ResourceType"]) for row in listed] == [
        ("Kept", "AWS::SQS::Queue")
    ]
    described = cloudformation.describe_stack_resources(StackName=name)["StackResources"]
    assert [row["LogicalResourceId"] for row in described] == ["Kept"]


def test_get_role_policy_answers_json_for_a_role_s_own_policies(client: Callable[[str], Any]) -> None:
    name = f"role-{uuid.uuid4().hex[:8]}"
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/a b+c"}
        ],
    }
    template = {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": name,
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    },
                    "Policies": [{"PolicyName": "Own", "PolicyDocument": document}],
                },
            }
        }
    }
    client("cloudformation").create_stack(
        StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_NAMED_IAM"]
    )
    iam = client("iam")
    bodies: list[bytes] = []
    iam.meta.events.register(
        "before-parse.iam.GetRolePolicy", lambda **kwargs: bodies.append(kwargs["response_dict"]["body"])
    )

    answered = iam.get_role_policy(RoleName=name, PolicyName="Own")["PolicyDocument"]

    # botocore decodes IAM's URL-encoded JSON into a dict; a Python repr stays a string.
    assert answered == document
    assert b"%22Statement%22" in bodies[-1], bodies[-1]
