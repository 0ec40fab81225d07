"""AWS::ApiGateway::Authorizer, on moto's API Gateway backend.

moto 5.2.5 skips this type. As in the CloudFormation reference (CreateAuthorizer): RestApiId, Name,
Type (COGNITO_USER_POOLS | TOKEN | REQUEST), ProviderARNs, IdentitySource,
IdentityValidationExpression, AuthorizerUri, AuthorizerCredentials, AuthorizerResultTtlInSeconds,
AuthType. `Ref` and `GetAtt AuthorizerId` give the authorizer id, which an update keeps (changing
RestApiId replaces the authorizer). The local cloud's HTTP front does the actual JWT check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from moto.apigateway.exceptions import RestAPINotFound
from moto.apigateway.models import APIGatewayBackend, apigateway_backends
from moto.core.common_models import CloudFormationModel

from ._model import LocalModel
from ._props import as_int

_APPLIED = {
    "RestApiId", "Name", "Type", "ProviderARNs", "IdentitySource", "IdentityValidationExpression",
    "AuthorizerUri", "AuthorizerCredentials", "AuthorizerResultTtlInSeconds", "AuthType",
}  # fmt: skip


class ApiGatewayAuthorizer(LocalModel, CloudFormationModel):
    """AWS::ApiGateway::Authorizer."""

    TYPE = "AWS::ApiGateway::Authorizer"
    REF = "authorizer_id"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {"AuthorizerId": "authorizer_id"}
    REPLACING = ("RestApiId",)
    APPLIED = _APPLIED
    ALREADY_GONE = (RestAPINotFound, KeyError)  # the API may already be gone

    authorizer_id: str

    @property
    def _backend(self) -> APIGatewayBackend:
        return apigateway_backends[self.account_id][self.region_name]

    @property
    def _rest_api_id(self) -> str:
        return str(self.props["RestApiId"])

    def create(self, name: str) -> None:
        name = str(self.props.get("Name") or name)
        created = self._backend.create_authorizer(self._rest_api_id, name, str(self.props["Type"]))
        self.authorizer_id = str(created.id)
        self._put(name, self.props)

    def update(self, props: dict[str, Any]) -> None:
        current = self._backend.get_authorizer(self._rest_api_id, self.authorizer_id)
        self._put(str(props.get("Name") or current.name), props)

    def remove(self) -> None:
        self._backend.delete_authorizer(self._rest_api_id, self.authorizer_id)

    def _put(self, name: str, props: dict[str, Any]) -> None:
        """Create (or overwrite, keeping its id) the authorizer on its REST API."""
        ttl = props.get("AuthorizerResultTtlInSeconds")
        authorizer = self._backend.get_rest_api(self._rest_api_id).create_authorizer(
            self.authorizer_id,
            name,
            str(props["Type"]),
            provider_arns=[str(a) for a in props.get("ProviderARNs", [])] or None,
            auth_type=props.get("AuthType"),
            authorizer_uri=props.get("AuthorizerUri"),
            authorizer_credentials=props.get("AuthorizerCredentials"),
            identity_source=props.get("IdentitySource"),
            identiy_validation_expression=props.get("IdentityValidationExpression"),
            # API Gateway's default cache TTL is 300 s.
            authorizer_result_ttl=as_int(ttl) if ttl is not None else 300,
        )
        # moto passes the expression under a misspelt keyword; set it where to_json reads it.
        authorizer.identity_validation_expression = props.get("IdentityValidationExpression")
