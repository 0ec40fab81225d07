"""AWS::Lambda::Permission with a physical id, an update and a delete.

moto 5.2.5 adds the statement to the function's policy but gives the resource no physical id (so the
stack lists it with an empty one) and cannot remove it again. As in the CloudFormation reference
(AddPermission): Action, FunctionName (name or ARN), Principal, SourceArn, SourceAccount,
EventSourceToken, PrincipalOrgID, FunctionUrlAuthType. The statement id is the generated physical id
("<stack>-<logical id>-<suffix>"); every change replaces the statement, as every property of this
type requires replacement.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.core.common_models import CloudFormationModel

from ._props import properties_of, warn_unapplied

PERMISSION_TYPE = "AWS::Lambda::Permission"
_APPLIED = {
    "Action", "FunctionName", "Principal", "SourceArn", "SourceAccount", "EventSourceToken",
    "PrincipalOrgID", "FunctionUrlAuthType",
}  # fmt: skip


class LambdaPermission(CloudFormationModel):
    """AWS::Lambda::Permission."""

    def __init__(self, statement_id: str, function: str, account_id: str, region_name: str) -> None:
        self.statement_id = statement_id
        self.function = function
        self.account_id = account_id
        self.region_name = region_name

    @property
    def physical_resource_id(self) -> str:
        return self.statement_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return PERMISSION_TYPE

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> LambdaPermission:
        props = properties_of(cloudformation_json)
        function = str(props["FunctionName"])
        statement = {k: v for k, v in props.items() if k in _APPLIED and k != "FunctionName"}
        statement["StatementId"] = resource_name
        lambda_backends[account_id][region_name].get_function(function).policy.add_statement(
            json.dumps(statement)
        )
        warn_unapplied(PERMISSION_TYPE, props, _APPLIED)
        return cls(resource_name, function, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: LambdaPermission,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> LambdaPermission:
        new = cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
        original_resource.delete(account_id, region_name)
        return new

    def delete(self, account_id: str, region_name: str) -> None:
        with contextlib.suppress(Exception):  # the function (and its policy) may already be gone
            backend = lambda_backends[self.account_id][self.region_name]
            backend.get_function(self.function).policy.del_statement(self.statement_id)
