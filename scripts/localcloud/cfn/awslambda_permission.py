"""AWS::Lambda::Permission with a physical id, an update and a delete.

moto 5.2.5 adds the statement to the function's policy but gives the resource no physical id (so the
stack lists it with an empty one) and cannot remove it again. As in the CloudFormation reference
(AddPermission): Action, FunctionName (name or ARN), Principal, SourceArn, SourceAccount,
EventSourceToken, PrincipalOrgID, FunctionUrlAuthType. The statement id is the generated physical id
("<stack>-<logical id>-<suffix>"); every change replaces the statement, as every property of this
type requires replacement.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.awslambda.policy import Policy
from moto.core.common_models import CloudFormationModel

from ._model import LocalModel

_APPLIED = {
    "Action", "FunctionName", "Principal", "SourceArn", "SourceAccount", "EventSourceToken",
    "PrincipalOrgID", "FunctionUrlAuthType",
}  # fmt: skip


class LambdaPermission(LocalModel, CloudFormationModel):
    """AWS::Lambda::Permission."""

    TYPE = "AWS::Lambda::Permission"
    REF = "statement_id"
    APPLIED = _APPLIED
    ALREADY_GONE = (Exception,)  # the function (and its policy) may already be gone

    statement_id: str

    @property
    def _policy(self) -> Policy:
        backend = lambda_backends[self.account_id][self.region_name]
        return backend.get_function(str(self.props["FunctionName"])).policy

    def create(self, name: str) -> None:
        self.statement_id = name
        statement = {k: v for k, v in self.props.items() if k in _APPLIED and k != "FunctionName"}
        self._policy.add_statement(json.dumps({**statement, "StatementId": name}))

    def replaced_by(self, props: Mapping[str, Any]) -> bool:
        return True  # every Permission property requires replacement: a new statement

    def remove(self) -> None:
        self._policy.del_statement(self.statement_id)
