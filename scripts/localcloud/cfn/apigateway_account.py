"""AWS::ApiGateway::Account, on moto's API Gateway backend, and the access log checks it enables.

moto 5.2.5 skips this type. As in the CloudFormation reference: CloudWatchRoleArn sets API Gateway's
account-wide CloudWatch Logs role of the region (UpdateAccount, patch /cloudwatchRoleArn; GetAccount
shows it). `Ref` gives the account id. As API Gateway does, the role must exist and trust
apigateway.amazonaws.com, else "The role ARN does not have required permissions set to API Gateway".
Deleting the resource leaves the setting in place (the reference: "When you delete a stack containing
this resource, API Gateway can still assume the provided IAM role").

`check_access_log_setting` is what UpdateStage checks before it turns on access logging: the account
has a CloudWatch role, and the format contains $context.requestId. AWS::ApiGateway::Stage calls it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from moto.apigateway.models import APIGatewayBackend, apigateway_backends
from moto.cloudformation.exceptions import ValidationError
from moto.core.common_models import CloudFormationModel
from moto.iam.models import iam_backends

from ._model import LocalModel

_SERVICE = "apigateway.amazonaws.com"


def _trusts_api_gateway(document: Any) -> bool:
    if isinstance(document, str):
        document = json.loads(unquote(document))
    allowed = []
    for statement in document.get("Statement", []) if isinstance(document, dict) else []:
        services = (statement.get("Principal") or {}).get("Service", [])
        services = [services] if isinstance(services, str) else services
        if statement.get("Effect") == "Allow" and _SERVICE in services:
            allowed.append(statement)
    return bool(allowed)


def check_cloudwatch_role(account_id: str, role_arn: str) -> None:
    """UpdateAccount's check: the role exists and API Gateway may assume it."""
    role_name = role_arn.rsplit("/", 1)[-1]
    try:
        role = iam_backends[account_id][role_arn.split(":")[1]].get_role(role_name)  # per partition
    except Exception as exc:  # moto's IAMNotFoundException
        raise ValidationError(message=f"The role ARN {role_arn} does not exist") from exc
    if not _trusts_api_gateway(role.assume_role_policy_document):
        raise ValidationError(message="The role ARN does not have required permissions set to API Gateway")


def check_access_log_setting(backend: APIGatewayBackend, setting: Mapping[str, Any]) -> None:
    """UpdateStage's checks before access logging is on."""
    if not setting.get("DestinationArn"):
        return
    if not backend.get_account().cloudwatch_role_arn:
        raise ValidationError(
            message="CloudWatch Logs role ARN must be set in account settings to enable logging"
        )
    if "$context.requestId" not in str(setting.get("Format") or ""):
        raise ValidationError(message="Access Log format must contain at least '$context.requestId'")


class ApiGatewayAccount(LocalModel, CloudFormationModel):
    """AWS::ApiGateway::Account."""

    TYPE = "AWS::ApiGateway::Account"
    REF = "account_ref"
    APPLIED = ("CloudWatchRoleArn",)

    account_ref: str

    @property
    def _backend(self) -> APIGatewayBackend:
        return apigateway_backends[self.account_id][self.region_name]

    def create(self, name: str) -> None:
        self.account_ref = self.account_id
        self._set(self.props)

    def update(self, props: dict[str, Any]) -> None:
        self._set(props)

    def remove(self) -> None:
        pass  # the account-wide setting outlives the stack, as on AWS

    def _set(self, props: Mapping[str, Any]) -> None:
        role_arn = str(props.get("CloudWatchRoleArn") or "")
        if role_arn:
            check_cloudwatch_role(self.account_id, role_arn)
        self._backend.update_account([{"op": "replace", "path": "/cloudwatchRoleArn", "value": role_arn}])
