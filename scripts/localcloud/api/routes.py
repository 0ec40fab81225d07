"""The deployed REST API as API Gateway serves it: resources, methods, integrations, authorizers and
gateway responses, read through the API Gateway API, and routing by resource path templates."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

__all__ = ["ApiDefinition", "Authorizer", "Method", "Route"]


@dataclass(frozen=True)
class Authorizer:
    id: str
    type: str
    header: str  # from identitySource method.request.header.<name>
    pool_ids: tuple[str, ...]  # COGNITO_USER_POOLS providerARNs


@dataclass(frozen=True)
class Method:
    http_method: str
    resource_id: str
    resource_path: str
    authorizer: Authorizer | None
    integration_type: str  # AWS_PROXY | MOCK
    function_arn: str | None = None
    mock_status: int = 200
    mock_headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 29.0


@dataclass(frozen=True)
class Route:
    resource_path: str
    pattern: re.Pattern[str]
    methods: Mapping[str, Method]


def _static_values(parameters: Mapping[str, str] | None, prefix: str) -> dict[str, str]:
    """Header values mapped from static literals ('value'); API Gateway's other sources are unused here."""
    headers = {}
    for name, value in (parameters or {}).items():
        if name.startswith(prefix) and len(value) >= 2 and value[0] == value[-1] == "'":
            headers[name.removeprefix(prefix)] = value[1:-1]
    return headers


def _path_pattern(resource_path: str) -> re.Pattern[str]:
    parts = []
    for segment in resource_path.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("+}"):
            parts.append(f"(?P<{segment[1:-2]}>.+)")
        elif segment.startswith("{") and segment.endswith("}"):
            parts.append(f"(?P<{segment[1:-1]}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "/?$" if parts != [""] else "^/$")


def _function_arn(uri: str) -> str | None:
    match = re.search(r":lambda:path/[^/]+/functions/(?P<arn>.+?)/invocations$", uri)
    return match.group("arn") if match else None


def _authorizers(apigateway: Any, api_id: str) -> dict[str, Authorizer]:
    authorizers = {}
    for item in apigateway.get_authorizers(restApiId=api_id).get("items", []):
        source = item.get("identitySource") or "method.request.header.Authorization"
        authorizers[item["id"]] = Authorizer(
            id=item["id"],
            type=item["type"],
            header=source.removeprefix("method.request.header."),
            pool_ids=tuple(arn.rsplit("/", 1)[-1] for arn in item.get("providerARNs") or []),
        )
    return authorizers


def _method(
    apigateway: Any,
    api_id: str,
    resource: Mapping[str, Any],
    verb: str,
    authorizers: Mapping[str, Authorizer],
) -> Method:
    spec = apigateway.get_method(restApiId=api_id, resourceId=resource["id"], httpMethod=verb)
    integration = spec.get("methodIntegration") or {}
    # A MOCK integration answers with its default response (no selection pattern).
    responses = list((integration.get("integrationResponses") or {}).values())
    default: dict[str, Any] = next(
        (r for r in responses if not r.get("selectionPattern")), responses[0] if responses else {}
    )
    authorized = spec.get("authorizationType") not in (None, "NONE")
    return Method(
        http_method=verb,
        resource_id=resource["id"],
        resource_path=resource["path"],
        authorizer=authorizers.get(spec.get("authorizerId") or "") if authorized else None,
        integration_type=str(integration.get("type", "")).upper(),
        function_arn=_function_arn(integration.get("uri") or ""),
        mock_status=int(default.get("statusCode") or 200),
        mock_headers=_static_values(default.get("responseParameters"), "method.response.header."),
        timeout_s=float(integration.get("timeoutInMillis") or 29000) / 1000,
    )


@dataclass(frozen=True)
class ApiDefinition:
    """A REST API and one of its stages, as API Gateway serves them."""

    api_id: str
    stage: str
    region: str
    account_id: str
    routes: tuple[Route, ...]
    error_headers: Mapping[str, Mapping[str, str]]  # DEFAULT_4XX / DEFAULT_5XX -> static headers
    #: The stage's accessLogSettings (destinationArn, format), if access logging is on.
    access_log: Mapping[str, str] | None = None

    @property
    def stage_arn(self) -> str:
        """The stage's ARN, as WAF associations name it."""
        return f"arn:aws:apigateway:{self.region}::/restapis/{self.api_id}/stages/{self.stage}"

    @classmethod
    def load(cls, apigateway: Any, api_id: str, stage: str, region: str, account_id: str) -> ApiDefinition:
        settings = apigateway.get_stage(restApiId=api_id, stageName=stage).get("accessLogSettings")
        authorizers = _authorizers(apigateway, api_id)
        routes = []
        for resource in apigateway.get_resources(restApiId=api_id, limit=500).get("items", []):
            methods = {
                verb: _method(apigateway, api_id, resource, verb, authorizers)
                for verb in resource.get("resourceMethods") or {}
            }
            if methods:
                routes.append(Route(resource["path"], _path_pattern(resource["path"]), methods))
        error_headers = {
            item["responseType"]: _static_values(item.get("responseParameters"), "gatewayresponse.header.")
            for item in apigateway.get_gateway_responses(restApiId=api_id).get("items", [])
        }
        # Literal paths win over templated ones, as API Gateway matches the most specific resource.
        routes.sort(key=lambda r: (r.resource_path.count("{"), -len(r.resource_path)))
        access_log = settings if settings and settings.get("destinationArn") else None
        return cls(api_id, stage, region, account_id, tuple(routes), error_headers, access_log)

    def match(self, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            found = route.pattern.match(path)
            if found:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
        return None

    def source_arn(self, method: Method) -> str:
        """The execute-api ARN API Gateway calls a function with (what a Lambda permission matches)."""
        path = method.resource_path.lstrip("/")
        return (
            f"arn:aws:execute-api:{self.region}:{self.account_id}:{self.api_id}/{self.stage}/"
            f"{method.http_method}/{path}"
        )
