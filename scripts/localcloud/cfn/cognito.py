"""AWS::Cognito::UserPool and AWS::Cognito::UserPoolClient, on moto's Cognito IdP backend.

moto 5.2.5 skips both types. As in the CloudFormation reference (CreateUserPool /
CreateUserPoolClient with the same property names, except UserPoolName -> PoolName):

- UserPool: `Ref` gives the pool id; `GetAtt Arn`, `ProviderName`
  (cognito-idp.<region>.amazonaws.com/<id>), `ProviderURL` (https://...) and `UserPoolId`.
  Updates go through UpdateUserPool; the pool keeps its id.
- UserPoolClient: `Ref` gives the client id; `GetAtt ClientId`, `Name` and `ClientSecret`
  (only with GenerateSecret). Changing UserPoolId or GenerateSecret replaces the client; other
  changes go through UpdateUserPoolClient.
"""

from __future__ import annotations

import contextlib
from typing import Any

from moto.cognitoidp.exceptions import ResourceNotFoundError
from moto.cognitoidp.models import CognitoIdpBackend, cognitoidp_backends
from moto.core.common_models import CloudFormationModel

from ._props import as_bool, properties_of, warn_unapplied

USER_POOL_TYPE = "AWS::Cognito::UserPool"
USER_POOL_CLIENT_TYPE = "AWS::Cognito::UserPoolClient"

# CloudFormation-only properties of a user pool (not CreateUserPool parameters).
_POOL_NOT_IN_API = {"UserPoolName", "EnabledMfas", "UserPoolTags"}
_CLIENT_INTEGERS = ("AccessTokenValidity", "IdTokenValidity", "RefreshTokenValidity", "AuthSessionValidity")


def _backend(account_id: str, region_name: str) -> CognitoIdpBackend:
    return cognitoidp_backends[account_id][region_name]


def _schema(schema: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Schema constraints are strings in the API; templates often give numbers."""
    result = []
    for attribute in schema:
        attribute = dict(attribute)
        for key in ("StringAttributeConstraints", "NumberAttributeConstraints"):
            if key in attribute:
                attribute[key] = {k: str(v) for k, v in attribute[key].items()}
        result.append(attribute)
    return result


def user_pool_config(props: dict[str, Any]) -> dict[str, Any]:
    """CreateUserPool parameters (besides PoolName) from the pool's properties."""
    config = {k: v for k, v in props.items() if k not in _POOL_NOT_IN_API}
    if "Schema" in config:
        config["Schema"] = _schema(config["Schema"])
    if "UserPoolTags" in props:
        config["UserPoolTags"] = {str(k): str(v) for k, v in props["UserPoolTags"].items()}
    return config


class CognitoUserPool(CloudFormationModel):
    """AWS::Cognito::UserPool."""

    def __init__(self, pool_id: str, arn: str, account_id: str, region_name: str) -> None:
        self.pool_id = pool_id
        self.arn = arn
        self.account_id = account_id
        self.region_name = region_name

    @property
    def physical_resource_id(self) -> str:
        return self.pool_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return "UserPoolName"

    @staticmethod
    def cloudformation_type() -> str:
        return USER_POOL_TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "ProviderName", "ProviderURL", "UserPoolId")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        provider = f"cognito-idp.{self.region_name}.amazonaws.com/{self.pool_id}"
        values = {
            "Arn": self.arn,
            "ProviderName": provider,
            "ProviderURL": f"https://{provider}",
            "UserPoolId": self.pool_id,
        }
        if attribute_name not in values:
            raise UnformattedGetAttTemplateException()
        return values[attribute_name]

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CognitoUserPool:
        props = properties_of(cloudformation_json)
        pool = _backend(account_id, region_name).create_user_pool(resource_name, user_pool_config(props))
        warn_unapplied(USER_POOL_TYPE, props, set(props) - {"EnabledMfas"})
        return cls(pool.id, pool.arn, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: CognitoUserPool,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> CognitoUserPool:
        props = properties_of(cloudformation_json)
        backend = _backend(original_resource.account_id, original_resource.region_name)
        backend.update_user_pool(original_resource.pool_id, user_pool_config(props))
        if "UserPoolName" in props:
            backend.describe_user_pool(original_resource.pool_id).name = str(props["UserPoolName"])
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        with contextlib.suppress(ResourceNotFoundError):
            _backend(self.account_id, self.region_name).delete_user_pool(self.pool_id)


class CognitoUserPoolClient(CloudFormationModel):
    """AWS::Cognito::UserPoolClient."""

    def __init__(
        self, client_id: str, pool_id: str, generate_secret: bool, account_id: str, region_name: str
    ) -> None:
        self.client_id = client_id
        self.pool_id = pool_id
        self.generate_secret = generate_secret
        self.account_id = account_id
        self.region_name = region_name

    @property
    def physical_resource_id(self) -> str:
        return self.client_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return USER_POOL_CLIENT_TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("ClientId", "ClientSecret", "Name")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        pool = _backend(self.account_id, self.region_name).describe_user_pool(self.pool_id)
        client = pool.clients[self.client_id]
        if attribute_name == "ClientId":
            return self.client_id
        if attribute_name == "Name":
            return str(client.extended_config.get("ClientName", ""))
        if attribute_name == "ClientSecret" and self.generate_secret:
            return client.secret
        raise UnformattedGetAttTemplateException()

    @staticmethod
    def _config(props: dict[str, Any]) -> dict[str, Any]:
        config = {k: v for k, v in props.items() if k not in ("UserPoolId", "GenerateSecret")}
        for key in _CLIENT_INTEGERS:
            if key in config:
                config[key] = int(config[key])
        return config

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CognitoUserPoolClient:
        props = properties_of(cloudformation_json)
        pool_id = str(props["UserPoolId"])
        generate_secret = as_bool(props.get("GenerateSecret", False))
        client = _backend(account_id, region_name).create_user_pool_client(
            pool_id, generate_secret, cls._config(props)
        )
        return cls(client.id, pool_id, generate_secret, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: CognitoUserPoolClient,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> CognitoUserPoolClient:
        props = properties_of(cloudformation_json)
        if (
            str(props["UserPoolId"]) != original_resource.pool_id
            or as_bool(props.get("GenerateSecret", False)) != original_resource.generate_secret
        ):
            new = cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
            original_resource.delete(account_id, region_name)
            return new
        _backend(account_id, region_name).update_user_pool_client(
            original_resource.pool_id, original_resource.client_id, cls._config(props)
        )
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        with contextlib.suppress(ResourceNotFoundError):  # the pool may already be gone
            _backend(self.account_id, self.region_name).delete_user_pool_client(self.pool_id, self.client_id)
