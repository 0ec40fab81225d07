"""The pure parts of `make deploy` and of the build: parameters, failure reasons, ELF needs, Pythons;
and `make destroy` against moto (mock_aws): what it empties and what it keeps."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws
from PIL import _imaging

from intake_build import deploy, destroy
from intake_build.artifacts import HOST_PYTHON, SHIPPED_TEMPLATES, elf_needed, find_python
from intake_tools.session import Target

DECLARED = ["ArtifactBucket", "ArtifactPrefix", "SenderEmail", "OpsEmail"]


def test_parameters_from_files_then_pairs(tmp_path: Path) -> None:
    as_dict = tmp_path / "a.json"
    as_dict.write_text(json.dumps({"SenderEmail": "a@example.com", "OpsEmail": "o@example.com"}))
    as_list = tmp_path / "b.json"
    as_list.write_text(json.dumps([{"ParameterKey": "SenderEmail", "ParameterValue": "b@example.com"}]))
    values = deploy.parse_parameters(["OpsEmail=x=y@example.com"], [as_dict, as_list])
    assert values == {"SenderEmail": "b@example.com", "OpsEmail": "x=y@example.com"}


@pytest.mark.parametrize("pair", ["NoEquals", "=value"])
def test_a_malformed_pair_is_refused(pair: str) -> None:
    with pytest.raises(deploy.DeployError, match="Key=Value"):
        deploy.parse_parameters([pair])


def test_a_malformed_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(deploy.DeployError, match="expected"):
        deploy.parse_parameters([], [bad])


def test_update_keeps_previous_values_of_parameters_not_given() -> None:
    parameters = deploy.stack_parameters(
        {"ArtifactPrefix": "p"}, DECLARED, existing=["SenderEmail", "ArtifactPrefix", "Removed"]
    )
    assert parameters == [
        {"ParameterKey": "ArtifactPrefix", "ParameterValue": "p"},
        {"ParameterKey": "SenderEmail", "UsePreviousValue": True},
    ]


def test_unknown_parameters_name_the_template_ones() -> None:
    with pytest.raises(deploy.DeployError, match=r"unknown parameter.*Typo.*the template has ArtifactBucket"):
        deploy.stack_parameters({"Typo": "1"}, DECLARED, existing=[])


def test_failure_rows_keep_the_real_reasons() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    events = [  # newest first, as describe_stack_events returns them
        {"EventId": "4", "Timestamp": at, "LogicalResourceId": "intake", "ResourceType": "AWS::CloudFormation::Stack", "ResourceStatus": "ROLLBACK_IN_PROGRESS"},
        {"EventId": "3", "Timestamp": at, "LogicalResourceId": "IndexTable", "ResourceType": "AWS::DynamoDB::Table", "ResourceStatus": "CREATE_FAILED", "ResourceStatusReason": "Resource creation cancelled"},
        {"EventId": "2", "Timestamp": at, "LogicalResourceId": "SenderIdentity", "ResourceType": "AWS::SES::EmailIdentity", "ResourceStatus": "CREATE_FAILED", "ResourceStatusReason": "Email address is invalid"},
    ]  # fmt: skip
    rows = deploy.failure_rows(events)
    assert rows == [
        ("SenderIdentity", "AWS::SES::EmailIdentity", "CREATE_FAILED", "Email address is invalid")
    ]


class PagedEvents:
    """describe_stack_events in pages of two, newest first."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids

    def describe_stack_events(self, StackName: str, NextToken: str = "0") -> dict[str, Any]:
        start = int(NextToken)
        page: dict[str, Any] = {"StackEvents": [{"EventId": i} for i in self.ids[start : start + 2]]}
        if start + 2 < len(self.ids):
            page["NextToken"] = str(start + 2)
        return page


def test_new_events_page_back_to_the_last_event_before_the_operation() -> None:
    client = PagedEvents(["9", "8", "7", "6", "5", "4"])
    assert [e["EventId"] for e in deploy.new_events(client, "stack", after="5")] == ["9", "8", "7", "6"]
    assert len(deploy.new_events(client, "stack", after=None)) == 6
    assert deploy.latest_event_id(client, "stack") == "9"


def test_template_parameters_read_the_real_template() -> None:
    names = deploy.template_parameters(deploy.TEMPLATE.read_text())
    assert {"ArtifactBucket", "ArtifactPrefix", "LambdaArchitecture", "SenderEmail"} <= set(names)


def test_every_file_the_template_reads_from_the_artifacts_is_shipped() -> None:
    """Nested stacks' TemplateURLs and AWS::Include Locations name files under ArtifactPrefix."""
    text = deploy.TEMPLATE.read_text()
    read = set(re.findall(r"\$\{ArtifactPrefix\}/([\w.-]+\.(?:yaml|json))", text))
    assert read == {"consumer.yaml", "openapi.yaml"}
    assert read <= {path.name for path in SHIPPED_TEMPLATES}
    assert all(path.is_file() for path in SHIPPED_TEMPLATES)


def test_elf_needed_reads_the_dynamic_section() -> None:
    needed = elf_needed(Path(_imaging.__file__))
    assert any(name.startswith("libc.so") for name in needed)
    assert elf_needed(Path(__file__)) == []


def test_find_python_uses_this_interpreter_for_its_own_version() -> None:
    assert find_python(HOST_PYTHON) == sys.executable
    assert find_python("2.1") is None


def test_the_template_requires_web_origin() -> None:
    """No localhost default for AWS: a new stack must be given WebOrigin."""
    required = deploy.required_parameters(deploy.TEMPLATE.read_text())
    assert "WebOrigin" in required
    assert "SenderEmail" not in required  # has a default


def test_a_new_stack_without_web_origin_is_refused_with_how_to_pass_it() -> None:
    with pytest.raises(
        deploy.DeployError, match=r"missing parameter\(s\) WebOrigin.*--param WebOrigin=https://"
    ):
        deploy.stack_parameters({"ArtifactPrefix": "p"}, [*DECLARED, "WebOrigin"], [], ["WebOrigin"])
    with pytest.raises(deploy.DeployError, match="WebOrigin"):
        deploy.require_parameters({"ArtifactBucket", "ArtifactPrefix"}, ["WebOrigin"], existing=[])


def test_web_origin_given_or_already_on_the_stack_is_enough() -> None:
    declared = [*DECLARED, "WebOrigin"]
    given = deploy.stack_parameters({"WebOrigin": "https://intake.example.com"}, declared, [], ["WebOrigin"])
    assert {"ParameterKey": "WebOrigin", "ParameterValue": "https://intake.example.com"} in given
    kept = deploy.stack_parameters({}, declared, ["WebOrigin"], ["WebOrigin"])
    assert kept == [{"ParameterKey": "WebOrigin", "UsePreviousValue": True}]


# --- destroy: what it empties, what it keeps ------------------------------------------------------


def test_the_deployed_template_says_what_a_deletion_keeps() -> None:
    retained = destroy.retained_logical_ids(deploy.TEMPLATE.read_text())
    assert {
        "UploadBucket",
        "ThumbnailBucket",
        "IndexTable",
        "UserSettingsTable",
        "UserPool",
        "DataKey",
    } <= retained
    assert not {"WebBucket", "IdempotencyTable", "ApiLogGroup"} & retained
    as_json = {"Resources": {"A": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"}, "B": {}}}
    assert destroy.retained_logical_ids(json.dumps(as_json)) == {"A"}  # GetTemplate's JSON string
    assert destroy.retained_logical_ids(as_json) == {"A"}  # or already parsed


def _resources() -> list[destroy.StackResource]:
    return [
        destroy.StackResource("DataKey", "AWS::KMS::Key", "key-1"),
        destroy.StackResource("UploadBucket", "AWS::S3::Bucket", "uploads-1"),
        destroy.StackResource("UploadBucketPolicy", "AWS::S3::BucketPolicy", "uploads-1"),
        destroy.StackResource("WebBucket", "AWS::S3::Bucket", "web-1"),
        destroy.StackResource("IndexTable", "AWS::DynamoDB::Table", "index-1"),
        destroy.StackResource("UserPool", "AWS::Cognito::UserPool", "us-east-1_pool"),
    ]


def test_only_the_buckets_the_deletion_deletes_are_emptied() -> None:
    buckets, kept = destroy.split_for_deletion(
        _resources(), {"DataKey", "UploadBucket", "UploadBucketPolicy", "IndexTable", "UserPool"}
    )
    assert buckets == ["web-1"]
    assert [r.logical_id for r in kept] == [
        "DataKey",
        "UploadBucket",
        "UploadBucketPolicy",
        "IndexTable",
        "UserPool",
    ]


def test_removal_commands_lift_the_table_protection_and_schedule_the_key_last() -> None:
    kept = [r for r in _resources() if r.logical_id != "WebBucket"]
    commands = destroy.removal_commands(kept, "eu-west-1")
    assert commands == [
        "aws s3 rb s3://uploads-1 --force --region eu-west-1",
        "aws dynamodb update-table --table-name index-1 --no-deletion-protection-enabled --region eu-west-1",
        "aws dynamodb delete-table --table-name index-1 --region eu-west-1",
        "aws cognito-idp delete-user-pool --user-pool-id us-east-1_pool --region eu-west-1",
        "aws kms schedule-key-deletion --key-id key-1 --pending-window-in-days 30 --region eu-west-1",
    ]


DESTROY_TEMPLATE = """
Resources:
  Kept:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
  Deleted:
    Type: AWS::S3::Bucket
"""


@mock_aws
def test_destroy_keeps_the_retained_bucket_and_its_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    target = Target.aws(region="us-east-1", stack="retain")
    cloudformation, s3 = target.client("cloudformation"), target.client("s3")
    cloudformation.create_stack(StackName="retain", TemplateBody=DESTROY_TEMPLATE)
    summaries = cloudformation.list_stack_resources(StackName="retain")["StackResourceSummaries"]
    names = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in summaries}
    for bucket in names.values():
        s3.put_object(Bucket=bucket, Key="uploads/a.jpg", Body=b"jpeg")

    assert destroy.destroy_stack(target, stack="retain", yes=True, poll_s=0)

    listed = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert names["Deleted"] not in listed
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=names["Kept"])["Contents"]] == ["uploads/a.jpg"]


class _Pages:
    def __init__(self, summaries: list[dict[str, str]]) -> None:
        self.summaries = summaries

    def get_paginator(self, name: str) -> _Pages:
        assert name == "list_stack_resources"
        return self

    def paginate(self, **_: Any) -> list[dict[str, Any]]:
        return [{"StackResourceSummaries": self.summaries}]


def test_what_a_rolled_back_creation_deleted_is_not_listed_as_kept() -> None:
    summaries = [
        {"LogicalResourceId": "DataKey", "ResourceType": "AWS::KMS::Key", "PhysicalResourceId": "k1"},
        {
            "LogicalResourceId": "UserPool",
            "ResourceType": "AWS::Cognito::UserPool",
            "PhysicalResourceId": "p1",
            "ResourceStatus": "DELETE_COMPLETE",
        },
        {"LogicalResourceId": "Never", "ResourceType": "AWS::S3::Bucket", "ResourceStatus": "CREATE_FAILED"},
    ]
    assert [r.logical_id for r in destroy.stack_resources(_Pages(summaries), "s")] == ["DataKey"]
