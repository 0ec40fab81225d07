"""API Gateway for the local cloud: the deployed REST API, served on http://127.0.0.1:3000.

moto stores REST APIs but cannot invoke them, and has no Cognito authorizer. This front reads what the
template deployed (through the API Gateway API: resources, methods, integrations, authorizers, gateway
responses, the function's resource policy) and serves it as API Gateway does for a REST API:

- routing by resource path templates (`/uploads/{upload_id}`); an unknown path or method gets
  `403 {"message": "Missing Authentication Token"}`;
- COGNITO_USER_POOLS authorizers: the `Authorization` header holds the ID token, raw or as
  `Bearer <token>`. The JWT must be RS256-signed by a key of the pool's JWKS (moto serves it at
  `{endpoint}/{pool_id}/.well-known/jwks.json`), with `iss` = `https://cognito-idp.<region>.amazonaws.com/
  <pool_id>` (moto's tokens carry the AWS form), `token_use` = `id`, unexpired, and `aud` one of the
  stack's app clients (stricter than API Gateway, which takes any client of the pool). Otherwise
  `401 {"message": "Unauthorized"}` and the function is never invoked;
- MOCK integrations (the CORS preflights) answer with their integration response's static headers;
- AWS_PROXY integrations build the REST proxy event (version 1.0) with `requestContext.authorizer.claims`
  (every claim a string, as API Gateway passes them) and invoke the function in a Lambda-like
  execution environment (its deployed env vars and timeout), after checking that the function's
  resource policy lets this API call it (SourceArn), as Lambda does;
- gateway-made errors (401, 403, 413, 502, 504) carry the DEFAULT_4XX / DEFAULT_5XX gateway response
  headers (CORS), and a malformed proxy response or a crashed function gives
  `502 {"message": "Internal server error"}`, a timeout `504 {"message": "Endpoint request timed out"}`.

It also serves the upload page from `web/` at `/` and `/config.js` (`window.INTAKE_CONFIG`, the same
shape the deploy step writes for AWS), on paths that are not API resources.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import mimetypes
import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import jwt
import requests

from intake_tools.webconfig import config_js, web_config

from .deploy import REGION, Deployment, client
from .esm import spec_from_api
from .lambda_runtime import ExecutionEnvironment, FunctionSpec, InvokeResult
from .server import HOST, PortInUse, port_free

__all__ = [
    "API_PORT",
    "ApiDefinition",
    "ApiFront",
    "CognitoVerifier",
]

log = logging.getLogger("localcloud.api")

API_PORT = 3000  # the product contract's local API (`make up`)
WEB_ROOT = Path(__file__).resolve().parents[2] / "web"
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's REST payload limit
MAX_ENVIRONMENTS = 4  # concurrent invocations per function, like the ESM pollers' default
_HOP_BY_HOP = frozenset({"connection", "content-length", "transfer-encoding", "keep-alive"})


class Reject(Exception):
    """A gateway-made error response (the integration is never reached)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


# --------------------------------------------------------------------------------------------------
# The deployed API
# --------------------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class ApiDefinition:
    """A REST API and one of its stages, as API Gateway serves them."""

    api_id: str
    stage: str
    region: str
    account_id: str
    routes: tuple[Route, ...]
    error_headers: Mapping[str, Mapping[str, str]]  # DEFAULT_4XX / DEFAULT_5XX -> static headers

    @classmethod
    def load(cls, apigateway: Any, api_id: str, stage: str, region: str, account_id: str) -> ApiDefinition:
        apigateway.get_stage(restApiId=api_id, stageName=stage)  # raises if the stage does not exist
        authorizers = {}
        for item in apigateway.get_authorizers(restApiId=api_id).get("items", []):
            source = item.get("identitySource") or "method.request.header.Authorization"
            authorizers[item["id"]] = Authorizer(
                id=item["id"],
                type=item["type"],
                header=source.removeprefix("method.request.header."),
                pool_ids=tuple(arn.rsplit("/", 1)[-1] for arn in item.get("providerARNs") or []),
            )
        routes = []
        for resource in apigateway.get_resources(restApiId=api_id, limit=500).get("items", []):
            methods = {}
            for verb in resource.get("resourceMethods") or {}:
                spec = apigateway.get_method(restApiId=api_id, resourceId=resource["id"], httpMethod=verb)
                integration = spec.get("methodIntegration") or {}
                kind = str(integration.get("type", "")).upper()
                # A MOCK integration answers with its default response (no selection pattern).
                responses = list((integration.get("integrationResponses") or {}).values())
                default: dict[str, Any] = next(
                    (r for r in responses if not r.get("selectionPattern")), responses[0] if responses else {}
                )
                methods[verb] = Method(
                    http_method=verb,
                    resource_id=resource["id"],
                    resource_path=resource["path"],
                    authorizer=authorizers.get(spec.get("authorizerId") or "")
                    if spec.get("authorizationType") not in (None, "NONE")
                    else None,
                    integration_type=kind,
                    function_arn=_function_arn(integration.get("uri") or ""),
                    mock_status=int(default.get("statusCode") or 200),
                    mock_headers=_static_values(default.get("responseParameters"), "method.response.header."),
                    timeout_s=float(integration.get("timeoutInMillis") or 29000) / 1000,
                )
            if methods:
                routes.append(Route(resource["path"], _path_pattern(resource["path"]), methods))
        error_headers = {
            item["responseType"]: _static_values(item.get("responseParameters"), "gatewayresponse.header.")
            for item in apigateway.get_gateway_responses(restApiId=api_id).get("items", [])
        }
        # Literal paths win over templated ones, as API Gateway matches the most specific resource.
        routes.sort(key=lambda r: (r.resource_path.count("{"), -len(r.resource_path)))
        return cls(api_id, stage, region, account_id, tuple(routes), error_headers)

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


# --------------------------------------------------------------------------------------------------
# Cognito user pool authorizer
# --------------------------------------------------------------------------------------------------


class CognitoVerifier:
    """Checks Cognito ID tokens against the pool's JWKS, as a COGNITO_USER_POOLS authorizer does."""

    def __init__(self, endpoint: str, region: str, audiences: frozenset[str]) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.region = region
        self.audiences = audiences
        self._keys: dict[str, dict[str, Any]] = {}  # pool id -> kid -> key
        self._lock = threading.Lock()

    def issuer(self, pool_id: str) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{pool_id}"

    def _key(self, pool_id: str, kid: str) -> Any:
        with self._lock:
            keys = self._keys.get(pool_id)
            if keys is None or kid not in keys:  # fetch once, and again for a new (rotated) key id
                url = f"{self.endpoint}/{pool_id}/.well-known/jwks.json"
                jwks = requests.get(url, timeout=10).json()
                keys = {k["kid"]: jwt.PyJWK(k).key for k in jwks.get("keys", []) if "kid" in k}
                self._keys[pool_id] = keys
        return keys.get(kid)

    def verify(self, header_value: str | None, pool_ids: tuple[str, ...]) -> dict[str, Any]:
        """The token's claims; Reject(401) for a missing or invalid token."""
        token = (header_value or "").strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not token:
            raise Reject(401, "Unauthorized")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise Reject(401, "Unauthorized") from None
        issuer = unverified.get("iss")
        pool_id = next((p for p in pool_ids if issuer == self.issuer(p)), None)
        if pool_id is None or header.get("alg") != "RS256":
            raise Reject(401, "Unauthorized")
        key = self._key(pool_id, str(header.get("kid", "")))
        if key is None:
            raise Reject(401, "Unauthorized")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                issuer=issuer,
                options={"require": ["exp", "iss", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.PyJWTError:
            raise Reject(401, "Unauthorized") from None
        if claims.get("token_use") != "id" or claims.get("aud") not in self.audiences:
            raise Reject(401, "Unauthorized")
        return claims


def claims_as_strings(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims as API Gateway hands them to a REST proxy integration: every value a string."""
    out = {}
    for name, value in claims.items():
        if name in ("exp", "iat") and isinstance(value, int | float):
            out[name] = datetime.fromtimestamp(value, UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, list):
            out[name] = "[" + " ".join(str(v) for v in value) + "]"
        else:
            out[name] = str(value)
    return out


# --------------------------------------------------------------------------------------------------
# Lambda side
# --------------------------------------------------------------------------------------------------


class FunctionPool:
    """Up to `size` execution environments of one function, created when needed and reused."""

    def __init__(self, spec: FunctionSpec, size: int = MAX_ENVIRONMENTS) -> None:
        self.spec, self.size = spec, size
        self._idle: list[ExecutionEnvironment] = []
        self._all: list[ExecutionEnvironment] = []
        self._ready = threading.Condition()
        self._closed = False

    def invoke(self, event: Mapping[str, Any]) -> InvokeResult:
        with self._ready:
            while not self._idle and len(self._all) >= self.size and not self._closed:
                self._ready.wait()
            if self._closed:
                raise RuntimeError(f"{self.spec.name} is shut down")
            if self._idle:
                env = self._idle.pop()
            else:
                env = ExecutionEnvironment(self.spec)
                self._all.append(env)
        try:
            return env.invoke(event)
        finally:
            with self._ready:
                self._idle.append(env)
                self._ready.notify()

    def close(self) -> None:
        with self._ready:
            self._closed = True
            envs, self._all, self._idle = self._all, [], []
            self._ready.notify_all()
        for env in envs:
            env.close()


def _arn_like(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def invoke_permitted(policy: Mapping[str, Any], source_arn: str, account_id: str) -> bool:
    """Whether a function's resource policy lets API Gateway call it from `source_arn`."""
    for statement in policy.get("Statement", []):
        principal = statement.get("Principal")
        service = principal.get("Service") if isinstance(principal, dict) else principal
        if statement.get("Effect") != "Allow" or service != "apigateway.amazonaws.com":
            continue
        if statement.get("Action") not in ("lambda:InvokeFunction", "lambda:*"):
            continue
        condition = statement.get("Condition") or {}
        arn = (condition.get("ArnLike") or {}).get("AWS:SourceArn")
        account = (condition.get("StringEquals") or {}).get("AWS:SourceAccount")
        if (arn is None or _arn_like(arn, source_arn)) and account in (None, account_id):
            return True
    return False


# --------------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class ApiFront:
    """`ApiFront.for_deployment(...).start()`; `url` is the API's base URL; `stop()` ends it."""

    def __init__(
        self,
        api: ApiDefinition,
        verifier: CognitoVerifier,
        functions: Mapping[str, FunctionSpec],
        policies: Mapping[str, Mapping[str, Any]],
        *,
        config: Mapping[str, str],
        host: str = HOST,
        port: int = API_PORT,
        web_root: Path = WEB_ROOT,
    ) -> None:
        if not port_free(host, port):
            raise PortInUse(f"{host}:{port} is already in use: is another local API running? (stop it first)")
        self.api, self.verifier = api, verifier
        self.pools = {arn: FunctionPool(spec) for arn, spec in functions.items()}
        self.policies = dict(policies)
        self.host, self.port = host, port
        self.web_root = web_root.resolve()
        self.config = dict(config) | {"apiUrl": self.url}
        self.invocations = 0  # function invocations so far (tests check that rejected calls made none)
        self._count = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @classmethod
    def for_deployment(
        cls,
        deployment: Deployment,
        endpoint: str,
        *,
        host: str = HOST,
        port: int = API_PORT,
        web_root: Path = WEB_ROOT,
        api_logical_id: str = "Api",
        stage_logical_id: str = "ApiStage",
    ) -> ApiFront:
        """The front for the stack's REST API, its functions as deployed, and the web page config."""
        lambda_ = client("lambda", endpoint)
        account_id = client("sts", endpoint).get_caller_identity()["Account"]
        api = ApiDefinition.load(
            client("apigateway", endpoint),
            deployment.resources[api_logical_id],
            deployment.resources[stage_logical_id],
            REGION,
            account_id,
        )
        functions, policies = {}, {}
        for arn in {m.function_arn for r in api.routes for m in r.methods.values() if m.function_arn}:
            configuration = lambda_.get_function_configuration(FunctionName=arn)
            name = configuration["FunctionName"]
            functions[arn] = spec_from_api(
                configuration,
                code_dir=deployment.code_dirs[name],
                layer_dirs=(deployment.layer_dir,),
                endpoint_url=endpoint,
            )
            with contextlib.suppress(lambda_.exceptions.ResourceNotFoundException):
                policies[arn] = json.loads(lambda_.get_policy(FunctionName=arn)["Policy"])
        audiences = frozenset(v for k, v in deployment.outputs.items() if k == "UserPoolClientId")
        config = web_config(deployment.outputs, REGION, cognitoEndpoint=endpoint.rstrip("/") + "/")
        return cls(
            api,
            CognitoVerifier(endpoint, REGION, audiences),
            functions,
            policies,
            config=config,
            host=host,
            port=port,
            web_root=web_root,
        )

    def start(self) -> ApiFront:
        front = self

        class Handler(_Handler):
            pass

        Handler.front = front
        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="api-front", daemon=True)
        self._thread.start()
        log.info("API front on %s (REST API %s, stage %s)", self.url, self.api.api_id, self.api.stage)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None
        for pool in self.pools.values():
            pool.close()

    def __enter__(self) -> ApiFront:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request handling --------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        matched = self.api.match(request.path)
        if matched is None and request.method in ("GET", "HEAD"):
            return self._static(request)
        try:
            if matched is None or request.method not in matched[0].methods:
                raise Reject(403, "Missing Authentication Token")
            route, path_parameters = matched
            method = route.methods[request.method]
            claims = None
            if method.authorizer is not None:
                if method.authorizer.type != "COGNITO_USER_POOLS":
                    raise Reject(500, "Internal server error")  # only Cognito authorizers are emulated
                header = request.header(method.authorizer.header)
                claims = self.verifier.verify(header, method.authorizer.pool_ids)
            if method.integration_type == "MOCK":
                headers = list(method.mock_headers.items())
                return Reply(method.mock_status, [*headers, ("Content-Type", "application/json")], b"")
            if method.integration_type != "AWS_PROXY" or method.function_arn not in self.pools:
                raise Reject(500, "Internal server error")
            if len(request.body) > MAX_PAYLOAD_BYTES:
                raise Reject(413, "Request Too Long")
            if not invoke_permitted(
                self.policies.get(method.function_arn, {}), self.api.source_arn(method), self.api.account_id
            ):
                log.error(
                    "Execution failed due to configuration error: Invalid permissions on Lambda function"
                )
                raise Reject(500, "Internal server error")
            event = self.proxy_event(request, route, method, path_parameters, claims)
            return self._invoke(method, event)
        except Reject as rejected:
            return self._gateway_error(rejected)

    def proxy_event(
        self,
        request: Request,
        route: Route,
        method: Method,
        path_parameters: Mapping[str, str],
        claims: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """The REST API Lambda proxy event (payload format 1.0)."""
        now = datetime.now(UTC)
        request_id = str(uuid.uuid4())
        headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        for name, value in [
            *request.headers,
            ("X-Forwarded-For", request.client_ip),
            ("X-Forwarded-Proto", "http"),
            ("X-Forwarded-Port", str(self.port)),
        ]:
            headers[name] = value
            multi_headers.setdefault(name, []).append(value)
        query: dict[str, str] = {}
        multi_query: dict[str, list[str]] = {}
        for name, value in request.query:
            query[name] = value
            multi_query.setdefault(name, []).append(value)
        body: str | None = None
        encoded = False
        if request.body:
            try:
                body = request.body.decode("utf-8")
            except UnicodeDecodeError:
                body, encoded = base64.b64encode(request.body).decode("ascii"), True
        context: dict[str, Any] = {
            "resourceId": method.resource_id,
            "resourcePath": route.resource_path,
            "httpMethod": request.method,
            "extendedRequestId": request_id[:16],
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{self.api.stage}{unquote(request.path)}",
            "accountId": self.api.account_id,
            "protocol": "HTTP/1.1",
            "stage": self.api.stage,
            "domainPrefix": self.api.api_id,
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": request.client_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": request.header("User-Agent"),
                "user": None,
            },
            "domainName": f"{self.api.api_id}.execute-api.{self.api.region}.amazonaws.com",
            "apiId": self.api.api_id,
        }
        if claims is not None:
            context["authorizer"] = {"claims": claims_as_strings(claims)}
        return {
            "resource": route.resource_path,
            "path": unquote(request.path),
            "httpMethod": request.method,
            "headers": headers or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": dict(path_parameters) or None,
            "stageVariables": None,
            "requestContext": context,
            "body": body,
            "isBase64Encoded": encoded,
        }

    def _invoke(self, method: Method, event: Mapping[str, Any]) -> Reply:
        assert method.function_arn is not None
        pool = self.pools[method.function_arn]
        with self._count:
            self.invocations += 1
        result = pool.invoke(event)
        if result.timed_out or result.duration_ms > method.timeout_s * 1000:
            raise Reject(504, "Endpoint request timed out")
        if not result.ok:
            log.error("Lambda execution failed: %s", (result.error or {}).get("errorMessage"))
            raise Reject(502, "Internal server error")
        reply = proxy_reply(result.payload)
        if reply is None:
            log.error("Execution failed due to configuration error: Malformed Lambda proxy response")
            raise Reject(502, "Internal server error")
        return reply

    def _gateway_error(self, rejected: Reject) -> Reply:
        kind = "DEFAULT_4XX" if rejected.status < 500 else "DEFAULT_5XX"
        headers = list((self.api.error_headers.get(kind) or {}).items())
        body = json.dumps({"message": rejected.message}).encode()
        return Reply(rejected.status, [*headers, ("Content-Type", "application/json")], body)

    def _static(self, request: Request) -> Reply:
        if request.path == "/config.js":
            body = config_js(self.config).encode()
            return Reply(200, [("Content-Type", "text/javascript"), ("Cache-Control", "no-store")], body)
        relative = "index.html" if request.path in ("", "/") else unquote(request.path).lstrip("/")
        target = (self.web_root / relative).resolve()
        if not target.is_relative_to(self.web_root) or not target.is_file():
            return self._gateway_error(Reject(403, "Missing Authentication Token"))
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type.endswith("javascript"):
            content_type += "; charset=utf-8"
        return Reply(
            200, [("Content-Type", content_type), ("Cache-Control", "no-store")], target.read_bytes()
        )


def proxy_reply(payload: Any) -> Reply | None:
    """The HTTP response a Lambda proxy integration result stands for; None if it is malformed."""
    if not isinstance(payload, dict):
        return None
    status = payload.get("statusCode")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return None
    single, multi = payload.get("headers") or {}, payload.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        return None
    merged: dict[str, list[str]] = {str(k): [str(v)] for k, v in single.items()}
    for name, values in multi.items():  # multiValueHeaders win for the same name
        if not isinstance(values, list):
            return None
        merged[str(name)] = [str(v) for v in values]
    body = payload.get("body")
    if body is not None and not isinstance(body, str):
        return None
    raw = (body or "").encode()
    if payload.get("isBase64Encoded") and body:
        try:
            raw = base64.b64decode(body, validate=True)
        except ValueError:
            return None
    headers = [(k, v) for k, values in merged.items() if k.lower() not in _HOP_BY_HOP for v in values]
    return Reply(status, headers, raw)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: bytes
    client_ip: str

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in reversed(self.headers) if k.lower() == wanted), None)


class _Handler(BaseHTTPRequestHandler):
    front: ApiFront
    protocol_version = "HTTP/1.1"  # keep-alive; every reply has a Content-Length
    server_version = "localcloud-apigateway"

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_PAYLOAD_BYTES:
            raise Reject(413, "Request Too Long")
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        started = time.perf_counter()
        split = urlsplit(self.path)
        try:
            body = self._read_body()
        except Reject as rejected:
            self.close_connection = True
            reply = self.front._gateway_error(rejected)
        except ValueError:
            self.close_connection = True
            reply = self.front._gateway_error(Reject(400, "Bad request"))
        else:
            request = Request(
                method=self.command,
                path=split.path or "/",
                query=parse_qsl(split.query, keep_blank_values=True),
                headers=list(self.headers.items()),
                body=body,
                client_ip=self.client_address[0],
            )
            try:
                reply = self.front.handle(request)
            except Exception:
                log.exception("API front failed on %s %s", self.command, split.path)
                reply = self.front._gateway_error(Reject(500, "Internal server error"))
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)
        log.info(
            "%s %s -> %d (%.0f ms)",
            self.command,
            split.path,
            reply.status,
            (time.perf_counter() - started) * 1000,
        )

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:  # the access log above replaces it
        pass
