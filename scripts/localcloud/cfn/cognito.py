"""AWS::Cognito::UserPool and AWS::Cognito::UserPoolClient, on moto's Cognito IdP backend.

moto 5.2.5 skips both types. As in the CloudFormation reference (CreateUserPool /
CreateUserPoolClient with the same property names, except UserPoolName -> PoolName):

- UserPool: `Ref` gives the pool id; `GetAtt Arn`, `ProviderName`
  (cognito-idp.<region>.amazonaws.com/<id>), `ProviderURL` (https://...) and `UserPoolId`.
  Updates go through UpdateUserPool; the pool keeps its id. MfaConfiguration with EnabledMfas (a
  CloudFormation-only property) goes through SetUserPoolMfaConfig, as CloudFormation does: moto then
  offers the TOTP challenges. moto stores, but does not act on, UserAttributeUpdateSettings (a
  changed email is not held back until verified), UserPoolAddOns (no threat protection) and
  UserPoolTier: those are logged as not emulated. It enforces Policies.PasswordPolicy.
- UserPoolClient: `Ref` gives the client id; `GetAtt ClientId`, `Name` and `ClientSecret`
  (only with GenerateSecret). Changing UserPoolId or GenerateSecret replaces the client; other
  changes go through UpdateUserPoolClient. moto stores WriteAttributes but lets a client write any
  attribute: logged as not emulated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.cognitoidp.exceptions import ResourceNotFoundError
from moto.cognitoidp.models import CognitoIdpBackend, CognitoIdpUserPoolClient, cognitoidp_backends
from moto.core.common_models import CloudFormationModel

from ._model import LocalModel
from ._props import as_bool, warn_unapplied

# CloudFormation-only properties of a user pool (not CreateUserPool parameters).
_POOL_NOT_IN_API = {"UserPoolName", "EnabledMfas", "UserPoolTags"}
# Stored by moto (DescribeUserPool / DescribeUserPoolClient show them) but not acted on.
_POOL_NOT_EMULATED = {"UserAttributeUpdateSettings", "UserPoolAddOns", "UserPoolTier"}
_CLIENT_NOT_EMULATED = {"WriteAttributes"}
# EnabledMfas value -> SetUserPoolMfaConfig's configuration of that factor.
_MFA_FACTORS = {"SOFTWARE_TOKEN_MFA": "SoftwareTokenMfaConfiguration", "SMS_MFA": "SmsMfaConfiguration"}
_CLIENT_INTEGERS = ("AccessTokenValidity", "IdTokenValidity", "RefreshTokenValidity", "AuthSessionValidity")


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


def _generates_secret(props: Mapping[str, Any]) -> bool:
    return as_bool(props.get("GenerateSecret", False))


def _client_config(props: Mapping[str, Any]) -> dict[str, Any]:
    """CreateUserPoolClient's configuration (besides UserPoolId and GenerateSecret)."""
    config = {k: v for k, v in props.items() if k not in ("UserPoolId", "GenerateSecret")}
    for key in _CLIENT_INTEGERS:
        if key in config:
            config[key] = int(config[key])
    return config


def user_pool_config(props: dict[str, Any]) -> dict[str, Any]:
    """CreateUserPool parameters (besides PoolName) from the pool's properties."""
    config = {k: v for k, v in props.items() if k not in _POOL_NOT_IN_API}
    if "Schema" in config:
        config["Schema"] = _schema(config["Schema"])
    if "UserPoolTags" in props:
        config["UserPoolTags"] = {str(k): str(v) for k, v in props["UserPoolTags"].items()}
    return config


def mfa_config(props: Mapping[str, Any]) -> tuple[Any, Any, str]:
    """SetUserPoolMfaConfig's SMS and TOTP configurations (None: off) and mode, from
    MfaConfiguration/EnabledMfas (moto's signature says dict; its API handler passes None too)."""
    mode = str(props.get("MfaConfiguration", "OFF"))
    enabled = {str(m) for m in props.get("EnabledMfas") or []}
    unknown = enabled - set(_MFA_FACTORS)
    if unknown:
        raise ValueError(f"EnabledMfas: unsupported {sorted(unknown)} (supported: {sorted(_MFA_FACTORS)})")
    token = {"Enabled": True} if "SOFTWARE_TOKEN_MFA" in enabled else None
    sms: dict[str, Any] | None = None
    if "SMS_MFA" in enabled:
        sms = {"SmsConfiguration": props.get("SmsConfiguration") or {}}
    return sms, token, mode


class _CognitoModel(LocalModel):
    """What both types share: moto's Cognito IdP backend."""

    @property
    def _backend(self) -> CognitoIdpBackend:
        return cognitoidp_backends[self.account_id][self.region_name]


class CognitoUserPool(_CognitoModel, CloudFormationModel):
    """AWS::Cognito::UserPool."""

    TYPE = "AWS::Cognito::UserPool"
    NAME_TYPE = "UserPoolName"
    REF = "pool_id"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {
        "Arn": "arn",
        "ProviderName": "provider_name",
        "ProviderURL": "provider_url",
        "UserPoolId": "pool_id",
    }
    ALREADY_GONE = (ResourceNotFoundError,)

    pool_id: str
    arn: str

    def create(self, name: str) -> None:
        pool = self._backend.create_user_pool(name, user_pool_config(self.props))
        self.pool_id, self.arn = pool.id, pool.arn
        self._backend.set_user_pool_mfa_config(self.pool_id, *mfa_config(self.props))
        warn_unapplied(self.TYPE, self.props, set(self.props) - _POOL_NOT_EMULATED)

    def update(self, props: dict[str, Any]) -> None:
        self._backend.update_user_pool(self.pool_id, user_pool_config(props))
        self._backend.set_user_pool_mfa_config(self.pool_id, *mfa_config(props))
        if "UserPoolName" in props:
            self._backend.describe_user_pool(self.pool_id).name = str(props["UserPoolName"])

    def remove(self) -> None:
        self._backend.delete_user_pool(self.pool_id)

    def provider_name(self) -> str:
        return f"cognito-idp.{self.region_name}.amazonaws.com/{self.pool_id}"

    def provider_url(self) -> str:
        return f"https://{self.provider_name()}"


class CognitoUserPoolClient(_CognitoModel, CloudFormationModel):
    """AWS::Cognito::UserPoolClient."""

    TYPE = "AWS::Cognito::UserPoolClient"
    REF = "client_id"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {
        "ClientId": "client_id",
        "Name": "client_name",
        "ClientSecret": "client_secret",
    }
    REPLACING = ("UserPoolId",)
    ALREADY_GONE = (ResourceNotFoundError,)  # the pool may already be gone

    client_id: str

    @property
    def _pool_id(self) -> str:
        return str(self.props["UserPoolId"])

    def create(self, name: str) -> None:
        generate_secret = _generates_secret(self.props)
        client = self._backend.create_user_pool_client(
            self._pool_id, generate_secret, _client_config(self.props)
        )
        self.client_id = client.id
        warn_unapplied(self.TYPE, self.props, set(self.props) - _CLIENT_NOT_EMULATED)

    def replaced_by(self, props: Mapping[str, Any]) -> bool:
        # GenerateSecret requires replacement too (compared as the Boolean it is).
        return super().replaced_by(props) or _generates_secret(props) != _generates_secret(self.props)

    def update(self, props: dict[str, Any]) -> None:
        self._backend.update_user_pool_client(self._pool_id, self.client_id, _client_config(props))

    def remove(self) -> None:
        self._backend.delete_user_pool_client(self._pool_id, self.client_id)

    def _client(self) -> CognitoIdpUserPoolClient:
        return self._backend.describe_user_pool(self._pool_id).clients[self.client_id]

    def client_name(self) -> str:
        return str(self._client().extended_config.get("ClientName", ""))

    def client_secret(self) -> str:
        if not _generates_secret(self.props):
            raise UnformattedGetAttTemplateException()  # only a client with GenerateSecret has one
        return str(self._client().secret)
