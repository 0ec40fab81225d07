"""The local cloud's WAF and API logging models (localcloud.cfn.wafv2, .apigateway_account and the Stage's
AccessLogSetting) against a real moto server: what the stack makes is visible through the WAFv2, API
Gateway and Logs APIs, updates keep the ACL's id, deletion cleans up, and what AWS refuses fails here too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.test_localcloud_cfn import client, deploy, endpoint, outputs, stack_resources

__all__ = ["client", "endpoint"]  # the module fixtures this file shares

FORMAT = (
    '{"requestId":"$context.requestId","sub":"$context.authorizer.claims.sub","status":"$context.status"}'
)
DOCUMENT = {
    "openapi": "3.0.1",
    "info": {"title": "waf-api", "version": "1"},
    "paths": {
        "/ping": {
            "get": {
                "x-amazon-apigateway-integration": {
                    "type": "mock",
                    "requestTemplates": {"application/json": '{"statusCode": 200}'},
                    "responses": {"default": {"statusCode": "200"}},
                }
            }
        }
    },
}


def managed(name: str, priority: int) -> dict[str, Any]:
    return {
        "Name": name,
        "Priority": priority,
        "OverrideAction": {"None": {}},
        "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": name}},
        "VisibilityConfig": visibility(name),
    }


def visibility(name: str) -> dict[str, Any]:
    return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": name}


def web_acl(name: str, scope: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Type": "AWS::WAFv2::WebACL",
        "Properties": {
            "Name": name,
            "Scope": scope,
            "DefaultAction": {"Allow": {}},
            "VisibilityConfig": visibility(name),
            "Rules": rules,
        },
    }


def template(
    *, stage_logs: bool = True, trusted: str = "apigateway.amazonaws.com", prefix: str = "waf"
) -> str:
    per_user = {
        "Name": "PerUserRateLimit",
        "Priority": 0,
        "Action": {"Block": {}},
        "Statement": {
            "RateBasedStatement": {
                "AggregateKeyType": "CUSTOM_KEYS",
                "CustomKeys": [
                    {
                        "Header": {
                            "Name": "Authorization",
                            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
                        }
                    }
                ],
                "Limit": {"Ref": "Limit"},
                "EvaluationWindowSec": "60",
            }
        },
        "VisibilityConfig": visibility("per-user"),
    }
    stage: dict[str, Any] = {
        "Type": "AWS::ApiGateway::Stage",
        "Properties": {"RestApiId": {"Ref": "Api"}, "DeploymentId": {"Ref": "Deployment"}, "StageName": "v1"},
        "Metadata": {"After": {"Ref": "Account"}},
    }
    if stage_logs:
        stage["Properties"]["AccessLogSetting"] = {
            "DestinationArn": {"Fn::GetAtt": ["AccessLogs", "Arn"]},
            "Format": FORMAT,
        }
    resources = {
        "Api": {
            "Type": "AWS::ApiGateway::RestApi",
            "Properties": {"Name": f"{prefix}-api", "Body": DOCUMENT},
        },
        "Deployment": {"Type": "AWS::ApiGateway::Deployment", "Properties": {"RestApiId": {"Ref": "Api"}}},
        "Stage": stage,
        "AccessLogs": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": f"/aws/apigateway/{prefix}", "RetentionInDays": 7},
        },
        "LogsRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": f"{prefix}-apigateway-logs",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": trusted}, "Action": "sts:AssumeRole"}
                    ],
                },
            },
        },
        "Account": {
            "Type": "AWS::ApiGateway::Account",
            "Properties": {"CloudWatchRoleArn": {"Fn::GetAtt": ["LogsRole", "Arn"]}},
        },
        "ApiAcl": web_acl(
            f"{prefix}-api", "REGIONAL", [per_user, managed("AWSManagedRulesCommonRuleSet", 1)]
        ),
        "Association": {
            "Type": "AWS::WAFv2::WebACLAssociation",
            "Properties": {
                "ResourceArn": {
                    "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${Api}/stages/${Stage}"
                },
                "WebACLArn": {"Fn::GetAtt": ["ApiAcl", "Arn"]},
            },
        },
        "CdnAcl": web_acl(
            f"{prefix}-cdn", "CLOUDFRONT", [managed("AWSManagedRulesKnownBadInputsRuleSet", 0)]
        ),
    }
    return json.dumps(
        {
            "Parameters": {"Limit": {"Type": "Number", "Default": 10}},
            "Resources": resources,
            "Outputs": {
                "ApiAclRef": {"Value": {"Ref": "ApiAcl"}},
                "ApiAclArn": {"Value": {"Fn::GetAtt": ["ApiAcl", "Arn"]}},
                "ApiAclId": {"Value": {"Fn::GetAtt": ["ApiAcl", "Id"]}},
                "CdnAclArn": {"Value": {"Fn::GetAtt": ["CdnAcl", "Arn"]}},
                "ApiId": {"Value": {"Ref": "Api"}},
                "RoleArn": {"Value": {"Fn::GetAtt": ["LogsRole", "Arn"]}},
            },
        }
    )


def stage_arn(api_id: str) -> str:
    return f"arn:aws:apigateway:us-east-1::/restapis/{api_id}/stages/v1"


def clear_account_role(apigateway: Any) -> None:
    apigateway.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": ""}])


def fails(cfn: Any, name: str, body: str, match: str) -> None:
    """create_stack of `body` fails (moto answers with the error, or the stack ends CREATE_FAILED)."""
    try:
        cfn.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"])
    except ClientError as error:
        assert match in str(error), error
        return
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] != "CREATE_COMPLETE" and match in stack.get("StackStatusReason", ""), stack


def test_the_web_acls_association_and_access_log_are_real(client: Callable[[str], Any]) -> None:
    cfn, wafv2, apigateway = client("cloudformation"), client("wafv2"), client("apigateway")
    clear_account_role(apigateway)
    out = outputs(deploy(cfn, "waf-stack", template(), {"Limit": "25"}))
    listed = stack_resources(cfn, "waf-stack")
    assert all(summary["PhysicalResourceId"] for summary in listed.values()), listed

    regional = {a["ARN"]: a for a in wafv2.list_web_acls(Scope="REGIONAL")["WebACLs"]}
    assert out["ApiAclArn"] in regional
    assert out["ApiAclRef"] == f"waf-api|{out['ApiAclId']}|REGIONAL"
    acl = wafv2.get_web_acl_for_resource(ResourceArn=stage_arn(out["ApiId"]))["WebACL"]
    assert acl["ARN"] == out["ApiAclArn"]
    rule = acl["Rules"][0]["Statement"]["RateBasedStatement"]
    assert (rule["Limit"], rule["EvaluationWindowSec"]) == (25, 60)  # the parameter, as integers
    assert rule["CustomKeys"][0]["Header"]["Name"] == "Authorization"
    assert acl["Rules"][1]["OverrideAction"] == {"None": {}}

    cdn = {a["ARN"] for a in wafv2.list_web_acls(Scope="CLOUDFRONT")["WebACLs"]}
    assert out["CdnAclArn"] in cdn and ":global/webacl/waf-cdn/" in out["CdnAclArn"]

    stage = apigateway.get_stage(restApiId=out["ApiId"], stageName="v1")
    assert stage["webAclArn"] == out["ApiAclArn"]
    assert stage["accessLogSettings"]["format"] == FORMAT
    assert ":log-group:/aws/apigateway/waf" in stage["accessLogSettings"]["destinationArn"]
    assert apigateway.get_account()["cloudwatchRoleArn"] == out["RoleArn"]


def test_an_update_keeps_the_acl_and_changes_its_rules(client: Callable[[str], Any]) -> None:
    cfn, wafv2 = client("cloudformation"), client("wafv2")
    before = outputs(cfn.describe_stacks(StackName="waf-stack")["Stacks"][0])
    cfn.update_stack(
        StackName="waf-stack",
        TemplateBody=template(),
        Parameters=[{"ParameterKey": "Limit", "ParameterValue": "40"}],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    after = outputs(cfn.describe_stacks(StackName="waf-stack")["Stacks"][0])
    assert after["ApiAclArn"] == before["ApiAclArn"]
    acl = wafv2.get_web_acl_for_resource(ResourceArn=stage_arn(after["ApiId"]))["WebACL"]
    assert acl["Rules"][0]["Statement"]["RateBasedStatement"]["Limit"] == 40


def test_deleting_the_stack_removes_acls_and_association_but_keeps_the_account_setting(
    client: Callable[[str], Any],
) -> None:
    cfn, wafv2, apigateway = client("cloudformation"), client("wafv2"), client("apigateway")
    out = outputs(cfn.describe_stacks(StackName="waf-stack")["Stacks"][0])
    cfn.delete_stack(StackName="waf-stack")
    assert out["ApiAclArn"] not in {a["ARN"] for a in wafv2.list_web_acls(Scope="REGIONAL")["WebACLs"]}
    assert out["CdnAclArn"] not in {a["ARN"] for a in wafv2.list_web_acls(Scope="CLOUDFRONT")["WebACLs"]}
    assert wafv2.get_web_acl_for_resource(ResourceArn=stage_arn(out["ApiId"])).get("WebACL") is None
    assert apigateway.get_account()["cloudwatchRoleArn"] == out["RoleArn"]  # account-wide, as on AWS


def test_access_logging_needs_the_accounts_cloudwatch_role(client: Callable[[str], Any]) -> None:
    cfn, apigateway = client("cloudformation"), client("apigateway")
    clear_account_role(apigateway)
    body = json.loads(template(prefix="nolog"))
    del body["Resources"]["Account"], body["Resources"]["Stage"]["Metadata"]
    fails(cfn, "waf-no-role", json.dumps(body), "CloudWatch Logs role ARN must be set in account settings")


def test_the_role_must_trust_api_gateway(client: Callable[[str], Any]) -> None:
    cfn = client("cloudformation")
    clear_account_role(client("apigateway"))
    fails(
        cfn,
        "waf-bad-role",
        template(trusted="lambda.amazonaws.com", prefix="badrole"),
        "does not have required permissions set to API Gateway",
    )


def test_a_cloudfront_acl_cannot_be_associated_with_a_stage(client: Callable[[str], Any]) -> None:
    body = json.loads(template(stage_logs=False, prefix="cfassoc"))
    body["Resources"]["Association"]["Properties"]["WebACLArn"] = {"Fn::GetAtt": ["CdnAcl", "Arn"]}
    fails(client("cloudformation"), "waf-cf-assoc", json.dumps(body), "WebACLId")


@pytest.mark.parametrize("missing", ["$context.requestId"])
def test_the_access_log_format_must_carry_the_request_id(client: Callable[[str], Any], missing: str) -> None:
    body = json.loads(template(prefix="noreqid"))
    body["Resources"]["Stage"]["Properties"]["AccessLogSetting"]["Format"] = FORMAT.replace(missing, "x")
    fails(client("cloudformation"), "waf-no-request-id", json.dumps(body), "requestId")
