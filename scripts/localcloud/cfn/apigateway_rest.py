"""AWS::ApiGateway::RestApi (with its OpenAPI Body), AWS::ApiGateway::Deployment and AWS::ApiGateway::Stage.

moto 5.2.5 creates a RestApi from CloudFormation but ignores Body/BodyS3Location, gives a Deployment no
physical id (so `Ref` to it yields an object), and skips AWS::ApiGateway::Stage. As in the
CloudFormation reference:

- RestApi: Name (else the document's info.title), Description, EndpointConfiguration, Policy,
  BinaryMediaTypes, and the OpenAPI document from Body or BodyS3Location, imported as PutRestApi does:
  paths and methods, `x-amazon-apigateway-integration` (type, uri, responses...), the authorizers of
  `components.securitySchemes` (`x-amazon-apigateway-authorizer`), each method's `security` (the
  operation's, else the document's; `[]` means none) and `x-amazon-apigateway-gateway-responses`.
  `Ref` gives the API id; `GetAtt RestApiId`, `RootResourceId`. An update re-imports the document
  (mode overwrite) and keeps the id.
- Deployment: RestApiId, Description, StageName (creates that stage). `Ref` gives the deployment id.
- Stage: RestApiId, DeploymentId, StageName, Description, Variables, TracingEnabled, MethodSettings
  (stored as GetStage shows them; the local front does not throttle). `Ref` gives the stage name. moto keeps no snapshot per deployment: a stage serves the API as currently defined.

The local API front reads all of this back through the API Gateway API and serves it.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Mapping
from typing import Any, ClassVar

from moto.apigateway.models import APIGatewayBackend, RestAPI, apigateway_backends
from moto.core.common_models import CloudFormationModel

from localcloud.cfn._props import RefAndAttributes

from ._props import as_bool, properties_of, warn_unapplied
from .include import read_snippet

REST_API_TYPE = "AWS::ApiGateway::RestApi"
DEPLOYMENT_TYPE = "AWS::ApiGateway::Deployment"
STAGE_TYPE = "AWS::ApiGateway::Stage"
HTTP_METHODS = frozenset(
    {"get", "put", "post", "delete", "options", "head", "patch", "x-amazon-apigateway-any-method"}
)
AUTHORIZER_TYPES = {"cognito_user_pools": "COGNITO_USER_POOLS", "token": "TOKEN", "request": "REQUEST"}
_REST_API_APPLIED = {
    "Name", "Description", "EndpointConfiguration", "Policy", "BinaryMediaTypes", "Body", "BodyS3Location",
    "FailOnWarnings", "Mode",
}  # fmt: skip
_STAGE_APPLIED = {
    "RestApiId", "DeploymentId", "StageName", "Description", "Variables", "TracingEnabled", "MethodSettings",
}  # fmt: skip


def _backend(account_id: str, region_name: str) -> APIGatewayBackend:
    return apigateway_backends[account_id][region_name]


def _document(props: dict[str, Any], account_id: str) -> dict[str, Any] | None:
    """The OpenAPI document of Body (already resolved) or BodyS3Location."""
    body = props.get("Body")
    if isinstance(body, dict):
        return body
    location = props.get("BodyS3Location")
    if isinstance(location, dict):
        document = read_snippet(account_id, "aws", f"s3://{location['Bucket']}/{location['Key']}")
        return document if isinstance(document, dict) else None
    return None


def _normalised(document: dict[str, Any]) -> dict[str, Any]:
    """What moto's PutRestApi understands: only HTTP methods under a path, integration enums upper case."""
    document = copy.deepcopy(document)
    paths = {}
    for path, item in (document.get("paths") or {}).items():
        operations = {}
        for method, operation in (item or {}).items():
            if method.lower() not in HTTP_METHODS:
                continue  # path-level parameters, summary, ...
            method = "ANY" if method.lower() == "x-amazon-apigateway-any-method" else method
            integration = operation.get("x-amazon-apigateway-integration")
            if isinstance(integration, dict):
                for key in ("type", "passthroughBehavior", "httpMethod", "connectionType", "contentHandling"):
                    if isinstance(integration.get(key), str):
                        integration[key] = integration[key].upper()
                # A MOCK integration has neither; moto's PutIntegration requires both arguments.
                integration.setdefault("uri", "")
                integration.setdefault("httpMethod", "")
            operations[method] = operation
        paths[path] = operations
    document["paths"] = paths
    return document


def _security_of(document: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
    security = operation.get("security", document.get("security", []))
    return security if isinstance(security, list) else []


def import_document(backend: APIGatewayBackend, api: RestAPI, document: dict[str, Any]) -> None:
    """PutRestApi (overwrite) plus what moto's import leaves out: authorizers, method auth, gateway responses."""
    for authorizer_id in list(api.authorizers):
        backend.delete_authorizer(api.id, authorizer_id)
    api.gateway_responses.clear()
    normalised = _normalised(document)
    backend.put_rest_api(api.id, normalised, fail_on_warnings=False, mode="overwrite")

    authorizers: dict[str, str] = {}
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    for name, scheme in schemes.items():
        spec = scheme.get("x-amazon-apigateway-authorizer") if isinstance(scheme, dict) else None
        if not isinstance(spec, dict):
            continue
        header = scheme.get("name", "Authorization")
        ttl = spec.get("authorizerResultTtlInSeconds")
        created = backend.create_authorizer(
            api.id,
            name,
            AUTHORIZER_TYPES.get(str(spec.get("type", "")).lower(), str(spec.get("type", "")).upper()),
            provider_arns=spec.get("providerARNs"),
            authorizer_uri=spec.get("authorizerUri"),
            authorizer_credentials=spec.get("authorizerCredentials"),
            identity_source=spec.get("identitySource") or f"method.request.header.{header}",
            identiy_validation_expression=spec.get("identityValidationExpression"),
            authorizer_result_ttl=int(ttl) if ttl is not None else 300,
        )
        authorizers[name] = str(created.id)

    for path, operations in normalised["paths"].items():
        resource = api.get_resource_for_path(path)
        for method, operation in operations.items():
            target = resource.resource_methods[method.upper()]
            target.authorization_type, target.authorizer_id = "NONE", None
            for requirement in _security_of(document, operation):
                for scheme_name, scopes in requirement.items():
                    if scheme_name in authorizers:
                        authorizer = api.authorizers[authorizers[scheme_name]]
                        target.authorization_type = authorizer.type
                        target.authorizer_id = authorizers[scheme_name]
                        target.authorization_scopes = scopes or None

    for response_type, response in (document.get("x-amazon-apigateway-gateway-responses") or {}).items():
        backend.put_gateway_response(
            api.id,
            response_type,
            status_code=response.get("statusCode"),
            response_parameters=response.get("responseParameters"),
            response_templates=response.get("responseTemplates"),
        )


def _endpoint_configuration(props: dict[str, Any]) -> dict[str, Any] | None:
    config = props.get("EndpointConfiguration")
    if not isinstance(config, dict):
        return None
    return {"types": list(config.get("Types") or ["EDGE"])}


class ApiGatewayRestApi(CloudFormationModel):
    """AWS::ApiGateway::RestApi."""

    def __init__(self, api_id: str, account_id: str, region_name: str) -> None:
        self.api_id = api_id
        self.account_id = account_id
        self.region_name = region_name

    @property
    def physical_resource_id(self) -> str:
        return self.api_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return REST_API_TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("RestApiId", "RootResourceId")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        api = _backend(self.account_id, self.region_name).get_rest_api(self.api_id)
        if attribute_name == "RestApiId":
            return self.api_id
        if attribute_name == "RootResourceId":
            return str(api.get_resource_for_path("/").id)
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> ApiGatewayRestApi:
        props = properties_of(cloudformation_json)
        document = _document(props, account_id)
        info = (document or {}).get("info") or {}
        name = str(props.get("Name") or info.get("title") or resource_name)
        backend = _backend(account_id, region_name)
        api = backend.create_rest_api(
            name=name,
            description=str(props.get("Description") or info.get("description") or ""),
            endpoint_configuration=_endpoint_configuration(props),  # type: ignore[arg-type]
            policy=props.get("Policy"),
        )
        api.binaryMediaTypes = list(props.get("BinaryMediaTypes") or [])
        if document:
            import_document(backend, api, document)
        warn_unapplied(REST_API_TYPE, props, _REST_API_APPLIED)
        return cls(api.id, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: ApiGatewayRestApi,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> ApiGatewayRestApi:
        props = properties_of(cloudformation_json)
        backend = _backend(account_id, region_name)
        api = backend.get_rest_api(original_resource.api_id)
        document = _document(props, account_id)
        if props.get("Name"):
            api.name = str(props["Name"])
        if "Description" in props:
            api.description = str(props["Description"])
        if document:
            import_document(backend, api, document)
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        with contextlib.suppress(KeyError):
            _backend(self.account_id, self.region_name).delete_rest_api(self.api_id)


class ApiGatewayDeployment(RefAndAttributes, CloudFormationModel):
    """AWS::ApiGateway::Deployment."""

    REF = "deployment_id"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {"DeploymentId": "deployment_id"}

    def __init__(self, deployment_id: str, rest_api_id: str, account_id: str, region_name: str) -> None:
        self.deployment_id = deployment_id
        self.rest_api_id = rest_api_id
        self.account_id = account_id
        self.region_name = region_name

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return DEPLOYMENT_TYPE

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> ApiGatewayDeployment:
        props = properties_of(cloudformation_json)
        rest_api_id = str(props["RestApiId"])
        deployment = _backend(account_id, region_name).create_deployment(
            rest_api_id, str(props.get("StageName") or ""), str(props.get("Description") or "")
        )
        warn_unapplied(DEPLOYMENT_TYPE, props, {"RestApiId", "StageName", "Description"})
        return cls(str(deployment.id), rest_api_id, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: ApiGatewayDeployment,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> ApiGatewayDeployment:
        props = properties_of(cloudformation_json)
        deployment = _backend(account_id, region_name).get_deployment(
            original_resource.rest_api_id, original_resource.deployment_id
        )
        deployment.description = str(props.get("Description") or "")
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        with contextlib.suppress(Exception):  # the API (and with it the deployment) may be gone
            _backend(self.account_id, self.region_name).delete_deployment(
                self.rest_api_id, self.deployment_id
            )


def _method_settings(settings: Any) -> dict[str, Any]:
    """CloudFormation MethodSettings as GetStage shows them: "<resource path>/<method>" -> settings."""
    shown = {}
    for setting in settings or []:
        path = str(setting.get("ResourcePath", "/*")).removeprefix("/") or "*"
        values = {
            k[0].lower() + k[1:]: v for k, v in setting.items() if k not in ("ResourcePath", "HttpMethod")
        }
        shown[f"{path}/{setting.get('HttpMethod', '*')}"] = values
    return shown


class ApiGatewayStage(CloudFormationModel):
    """AWS::ApiGateway::Stage."""

    def __init__(self, stage_name: str, rest_api_id: str, account_id: str, region_name: str) -> None:
        self.stage_name = stage_name
        self.rest_api_id = rest_api_id
        self.account_id = account_id
        self.region_name = region_name

    @property
    def physical_resource_id(self) -> str:
        return self.stage_name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "StageName"

    @staticmethod
    def cloudformation_type() -> str:
        return STAGE_TYPE

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> ApiGatewayStage:
        props = properties_of(cloudformation_json)
        rest_api_id = str(props["RestApiId"])
        name = str(props.get("StageName") or resource_name)
        _backend(account_id, region_name).create_stage(
            rest_api_id,
            name,
            str(props.get("DeploymentId") or ""),
            variables={str(k): str(v) for k, v in (props.get("Variables") or {}).items()},
            description=str(props.get("Description") or ""),
            tracing_enabled=as_bool(props.get("TracingEnabled", False)),
        )
        stage = _backend(account_id, region_name).get_stage(rest_api_id, name)
        stage.method_settings = _method_settings(props.get("MethodSettings"))
        warn_unapplied(STAGE_TYPE, props, _STAGE_APPLIED)
        return cls(name, rest_api_id, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: ApiGatewayStage,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> ApiGatewayStage:
        props = properties_of(cloudformation_json)
        if (
            str(props["RestApiId"]) != original_resource.rest_api_id
            or str(props.get("StageName") or original_resource.stage_name) != original_resource.stage_name
        ):
            new = cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
            original_resource.delete(account_id, region_name)
            return new
        stage = _backend(account_id, region_name).get_stage(
            original_resource.rest_api_id, original_resource.stage_name
        )
        stage.deployment_id = str(props.get("DeploymentId") or stage.deployment_id)
        stage.description = str(props.get("Description") or "")
        stage.variables = {str(k): str(v) for k, v in (props.get("Variables") or {}).items()}
        stage.method_settings = _method_settings(props.get("MethodSettings"))
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        with contextlib.suppress(Exception):  # the API (and with it the stage) may be gone
            _backend(self.account_id, self.region_name).delete_stage(self.rest_api_id, self.stage_name)
