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
  (stored as GetStage shows them; the local front does not throttle), AccessLogSetting (checked as
  UpdateStage does, by `apigateway_account.check_access_log_setting`; the local front writes the
  lines). `Ref` gives the stage name. moto keeps no snapshot per deployment: a stage serves the API as
  currently defined.

The local API front reads all of this back through the API Gateway API and serves it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, ClassVar

from moto.apigateway.models import APIGatewayBackend, RestAPI, Stage, apigateway_backends
from moto.core.common_models import CloudFormationModel

from ._model import LocalModel
from ._props import as_bool
from .apigateway_account import check_access_log_setting
from .include import read_snippet

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
    "AccessLogSetting",
}  # fmt: skip


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


class _ApiGatewayModel(LocalModel):
    """What the three REST API types share: moto's API Gateway backend."""

    @property
    def _backend(self) -> APIGatewayBackend:
        return apigateway_backends[self.account_id][self.region_name]


class ApiGatewayRestApi(_ApiGatewayModel, CloudFormationModel):
    """AWS::ApiGateway::RestApi."""

    TYPE = "AWS::ApiGateway::RestApi"
    NAME_TYPE = "Name"
    REF = "api_id"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {"RestApiId": "api_id", "RootResourceId": "root_resource_id"}
    APPLIED = _REST_API_APPLIED
    ALREADY_GONE = (KeyError,)  # the API may already be gone

    api_id: str

    def create(self, name: str) -> None:
        document = _document(self.props, self.account_id)
        info = (document or {}).get("info") or {}
        api = self._backend.create_rest_api(
            name=str(self.props.get("Name") or info.get("title") or name),
            description=str(self.props.get("Description") or info.get("description") or ""),
            endpoint_configuration=_endpoint_configuration(self.props),  # type: ignore[arg-type]
            policy=self.props.get("Policy"),
        )
        self.api_id = api.id
        api.binaryMediaTypes = list(self.props.get("BinaryMediaTypes") or [])
        if document:
            import_document(self._backend, api, document)

    def update(self, props: dict[str, Any]) -> None:
        api = self._backend.get_rest_api(self.api_id)
        document = _document(props, self.account_id)
        if props.get("Name"):
            api.name = str(props["Name"])
        if "Description" in props:
            api.description = str(props["Description"])
        if document:
            import_document(self._backend, api, document)

    def remove(self) -> None:
        self._backend.delete_rest_api(self.api_id)

    def root_resource_id(self) -> str:
        return str(self._backend.get_rest_api(self.api_id).get_resource_for_path("/").id)


class ApiGatewayDeployment(_ApiGatewayModel, CloudFormationModel):
    """AWS::ApiGateway::Deployment."""

    TYPE = "AWS::ApiGateway::Deployment"
    REF = "deployment_id"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {"DeploymentId": "deployment_id"}
    APPLIED = ("RestApiId", "StageName", "Description")
    ALREADY_GONE = (Exception,)  # the API (and with it the deployment) may be gone

    deployment_id: str
    rest_api_id: str

    def create(self, name: str) -> None:
        self.rest_api_id = str(self.props["RestApiId"])
        deployment = self._backend.create_deployment(
            self.rest_api_id, str(self.props.get("StageName") or ""), str(self.props.get("Description") or "")
        )
        self.deployment_id = str(deployment.id)

    def update(self, props: dict[str, Any]) -> None:
        deployment = self._backend.get_deployment(self.rest_api_id, self.deployment_id)
        deployment.description = str(props.get("Description") or "")

    def remove(self) -> None:
        self._backend.delete_deployment(self.rest_api_id, self.deployment_id)


def _variables(props: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (props.get("Variables") or {}).items()}


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


class ApiGatewayStage(_ApiGatewayModel, CloudFormationModel):
    """AWS::ApiGateway::Stage."""

    TYPE = "AWS::ApiGateway::Stage"
    NAME_TYPE = "StageName"
    REF = "stage_name"
    REPLACING = ("RestApiId", "StageName")
    APPLIED = _STAGE_APPLIED
    ALREADY_GONE = (Exception,)  # the API (and with it the stage) may be gone

    stage_name: str

    def create(self, name: str) -> None:
        self.stage_name = str(self.props.get("StageName") or name)
        check_access_log_setting(self._backend, self.props.get("AccessLogSetting") or {})
        self._backend.create_stage(
            str(self.props["RestApiId"]),
            self.stage_name,
            str(self.props.get("DeploymentId") or ""),
            variables=_variables(self.props),
            description=str(self.props.get("Description") or ""),
            tracing_enabled=as_bool(self.props.get("TracingEnabled", False)),
        )
        self._stage().method_settings = _method_settings(self.props.get("MethodSettings"))
        self._set_access_log(self.props)

    def update(self, props: dict[str, Any]) -> None:
        check_access_log_setting(self._backend, props.get("AccessLogSetting") or {})
        stage = self._stage()
        stage.deployment_id = str(props.get("DeploymentId") or stage.deployment_id)
        stage.description = str(props.get("Description") or "")
        stage.variables = _variables(props)
        stage.method_settings = _method_settings(props.get("MethodSettings"))
        self._set_access_log(props)

    def remove(self) -> None:
        self._backend.delete_stage(str(self.props["RestApiId"]), self.stage_name)

    def _set_access_log(self, props: Mapping[str, Any]) -> None:
        """AccessLogSetting as GetStage shows it (accessLogSettings), or none."""
        setting = props.get("AccessLogSetting") or {}
        stage = self._stage()
        if setting.get("DestinationArn"):
            stage.access_log_settings = {
                "destinationArn": str(setting["DestinationArn"]),
                "format": str(setting.get("Format") or ""),
            }
        else:
            stage.access_log_settings = None

    def _stage(self) -> Stage:
        return self._backend.get_stage(str(self.props["RestApiId"]), self.stage_name)
