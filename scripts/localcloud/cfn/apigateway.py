"""AWS::ApiGateway::Authorizer, on moto's API Gateway backend.

moto 5.2.5 skips this type. As in the CloudFormation reference (CreateAuthorizer): RestApiId, Name,
Type (COGNITO_USER_POOLS | TOKEN | REQUEST), ProviderARNs, IdentitySource,
IdentityValidationExpression, AuthorizerUri, AuthorizerCredentials, AuthorizerResultTtlInSeconds,
AuthType. `Ref` and `GetAtt AuthorizerId` give the authorizer id, which an update keeps (changing
RestApiId replaces the authorizer). The local cloud's HTTP front does the actual JWT check.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, ClassVar

from moto.apigateway.exceptions import RestAPINotFound
from moto.apigateway.models import APIGatewayBackend, Authorizer, apigateway_backends
from moto.core.common_models import CloudFormationModel

from localcloud.cfn._props import RefAndAttributes

from ._props import as_int, properties_of, warn_unapplied

AUTHORIZER_TYPE = "AWS::ApiGateway::Authorizer"
_APPLIED = {
    "RestApiId", "Name", "Type", "ProviderARNs", "IdentitySource", "IdentityValidationExpression",
    "AuthorizerUri", "AuthorizerCredentials", "AuthorizerResultTtlInSeconds", "AuthType",
}  # fmt: skip


def _backend(account_id: str, region_name: str) -> APIGatewayBackend:
    return apigateway_backends[account_id][region_name]


def _put(
    backend: APIGatewayBackend, rest_api_id: str, authorizer_id: str, name: str, props: dict[str, Any]
) -> Authorizer:
    """Create (or overwrite, keeping its id) the authorizer on its REST API."""
    ttl = props.get("AuthorizerResultTtlInSeconds")
    authorizer = backend.get_rest_api(rest_api_id).create_authorizer(
        authorizer_id,
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
    return authorizer


class ApiGatewayAuthorizer(RefAndAttributes, CloudFormationModel):
    """AWS::ApiGateway::Authorizer."""

    REF = "authorizer_id"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {"AuthorizerId": "authorizer_id"}

    def __init__(self, authorizer_id: str, rest_api_id: str, account_id: str, region_name: str) -> None:
        self.authorizer_id = authorizer_id
        self.rest_api_id = rest_api_id
        self.account_id = account_id
        self.region_name = region_name

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return AUTHORIZER_TYPE

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> ApiGatewayAuthorizer:
        props = properties_of(cloudformation_json)
        rest_api_id = str(props["RestApiId"])
        backend = _backend(account_id, region_name)
        name = str(props.get("Name") or resource_name)
        created = backend.create_authorizer(rest_api_id, name, str(props["Type"]))
        authorizer = _put(backend, rest_api_id, str(created.id), name, props)
        warn_unapplied(AUTHORIZER_TYPE, props, _APPLIED)
        return cls(str(authorizer.id), rest_api_id, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: ApiGatewayAuthorizer,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> ApiGatewayAuthorizer:
        props = properties_of(cloudformation_json)
        if str(props["RestApiId"]) != original_resource.rest_api_id:
            new = cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
            original_resource.delete(account_id, region_name)
            return new
        backend = _backend(account_id, region_name)
        current = backend.get_authorizer(original_resource.rest_api_id, original_resource.authorizer_id)
        _put(
            backend,
            original_resource.rest_api_id,
            original_resource.authorizer_id,
            str(props.get("Name") or current.name),
            props,
        )
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _backend(self.account_id, self.region_name)
        with contextlib.suppress(RestAPINotFound, KeyError):  # the API may already be gone
            backend.delete_authorizer(self.rest_api_id, self.authorizer_id)
