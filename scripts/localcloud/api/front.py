"""The gateway itself: a request is routed, authorized and integrated as API Gateway does for a REST API.

- AWS WAF first (:mod:`.waf`): the rate-based rules of the WebACL associated with the stage; a blocked
  request gets the WAF_FILTERED gateway response, `403 {"message": "Forbidden"}`;
- routing by resource path templates (`/uploads/{upload_id}`); an unknown path or method gets
  `403 {"message": "Missing Authentication Token"}`;
- the stage's throttling (:mod:`.throttle`, its method settings): `429 {"message": "Too Many Requests"}`;
- COGNITO_USER_POOLS authorizers (:mod:`.authorizer`): `401 {"message": "Unauthorized"}` and the
  function is never invoked;
- MOCK integrations (the CORS preflights) answer with their integration response's static headers;
- AWS_PROXY integrations build the REST proxy event (:mod:`.proxy`) and invoke the function through
  the local cloud's one invoker (its deployed env vars and timeout), after checking that the function's
  resource policy lets this API call it (:mod:`.permissions`), as Lambda does;
- gateway-made errors (401, 403, 413, 502, 504) carry the DEFAULT_4XX / DEFAULT_5XX gateway response
  headers (CORS), and a malformed proxy response or a crashed function gives
  `502 {"message": "Internal server error"}`, a timeout `504 {"message": "Endpoint request timed out"}`.
  :meth:`ApiFront.kill_next` makes that crash happen (fault injection: the environment is killed
  mid-request).

Paths that are no API resource serve the upload page (:mod:`.web`). Every other request gets an access
log line in the stage's format (:mod:`.access_log`) when the stage has an AccessLogSetting.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from intake_tools.webconfig import web_config

from ..deploy import REGION, Deployment, client
from ..esm import spec_from_api
from ..invoker import DEFAULT_LIMIT, FunctionPool, Invoker
from ..lambda_runtime import FunctionSpec
from ..server import HOST, PortInUse, ServerThread, port_free
from .access_log import AccessLog
from .authorizer import CognitoVerifier, claims_as_strings
from .messages import Reject, Reply, Request
from .permissions import invoke_permitted
from .proxy import proxy_event, proxy_reply
from .routes import ApiDefinition, Method
from .server import MAX_PAYLOAD_BYTES, RequestHandler, wsgi_app
from .throttle import StageThrottle, stage_settings_reader
from .waf import Firewall, Verdict, acl_reader
from .web import WEB_ROOT, WebPage

__all__ = ["API_PORT", "LOCAL_UNRESERVED_CONCURRENCY", "ApiFront"]

log = logging.getLogger("localcloud.api")

API_PORT = 3000  # the product contract's local API (`make up`)
# Environments of an API function at most, as Lambda's concurrency decides: the function's reserved
# concurrency when it has one; otherwise it shares the account's unreserved concurrency (1000 by
# default on AWS), which the local cloud caps at this many processes per function.
LOCAL_UNRESERVED_CONCURRENCY = 10


class ApiFront:
    """`ApiFront.for_deployment(...).start()`; `url` is the API's base URL; `stop()` ends it.

    Functions run in ``invoker``'s environments (the local cloud's one invoker), or in an invoker of
    its own when none is given.
    """

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
        invoker: Invoker | None = None,
        firewall: Firewall | None = None,
        access_log: AccessLog | None = None,
        throttle: StageThrottle | None = None,
        limits: Mapping[str, int] | None = None,
    ) -> None:
        if not port_free(host, port):
            raise PortInUse(f"{host}:{port} is already in use: is another local API running? (stop it first)")
        self.api, self.verifier = api, verifier
        self._owns_invoker = invoker is None
        self.invoker = invoker or Invoker()
        # Per function ARN, its environments at most (`limits`, else the invoker's DEFAULT_LIMIT).
        self.functions: dict[str, FunctionPool] = {
            arn: self.invoker.pool(spec, limit=(limits or {}).get(arn, DEFAULT_LIMIT))
            for arn, spec in functions.items()
        }
        self.policies = dict(policies)
        self.firewall, self.access_log, self.throttle = firewall, access_log, throttle
        self.host, self.port = host, port
        self.page = WebPage(web_root, dict(config) | {"apiUrl": self.url})
        self.invocations = 0  # function invocations so far (tests check that rejected calls made none)
        self._count = threading.Lock()
        self._server: ServerThread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def config(self) -> dict[str, str]:
        """What the page's config.js holds."""
        return self.page.config

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
        invoker: Invoker | None = None,
    ) -> ApiFront:
        """The front for the stack's REST API, its functions as deployed, and the web page config."""
        account_id = client("sts", endpoint).get_caller_identity()["Account"]
        api = ApiDefinition.load(
            client("apigateway", endpoint),
            deployment.resources[api_logical_id],
            deployment.resources[stage_logical_id],
            REGION,
            account_id,
        )
        functions, policies, limits = _deployed_functions(api, deployment, endpoint)
        access_log = None
        if api.access_log:
            stream = f"{api.api_id}_{api.stage}"
            settings = api.access_log
            access_log = AccessLog(
                client("logs", endpoint), settings["destinationArn"], settings["format"], stream
            )
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
            invoker=invoker,
            firewall=Firewall(acl_reader(client("wafv2", endpoint), api.stage_arn)),
            access_log=access_log,
            throttle=StageThrottle(
                stage_settings_reader(client("apigateway", endpoint), api.api_id, api.stage)
            ),
            limits=limits,
        )

    def start(self) -> ApiFront:
        app = wsgi_app(self.handle, self.gateway_error, self._answered)
        self._server = ServerThread(
            self.host, self.port, app, name="api-front", request_handler=RequestHandler
        ).start()
        log.info("API front on %s (REST API %s, stage %s)", self.url, self.api.api_id, self.api.stage)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._server = None
        if self._owns_invoker:
            self.invoker.close()

    def kill_next(self, *, after_s: float = 0.0, count: int = 1) -> None:
        """Fault injection: the next `count` invocations of the API's functions lose their execution
        environment `after_s` into the request, or as the reply comes back if sooner (see
        :meth:`FunctionPool.kill_next`): the client gets `502 {"message": "Internal server error"}`."""
        for pool in self.functions.values():
            pool.kill_next(after_s=after_s, count=count)

    def __enter__(self) -> ApiFront:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request handling --------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        matched = self.api.match(request.path)
        if matched is None and request.method in ("GET", "HEAD"):
            page = self.page.reply(request.path)
            if page is not None:
                return page
        self._open_context(request)
        try:
            self._filter(request)
            if matched is None or request.method not in matched[0].methods:
                raise Reject(403, "Missing Authentication Token")
            route, path_parameters = matched
            method = route.methods[request.method]
            request.context["resourcePath"] = method.resource_path
            if self.throttle and not self.throttle.admit(method.resource_path, method.http_method):
                raise Reject(429, "Too Many Requests", response_type="THROTTLED")
            claims = self._authorize(request, method)
            if method.integration_type == "MOCK":
                headers = list(method.mock_headers.items())
                return Reply(method.mock_status, [*headers, ("Content-Type", "application/json")], b"")
            self._check_integration(request, method)
            event = proxy_event(request, self.api, method, path_parameters, claims, self.port)
            return self._invoke(method, event, request.context)
        except Reject as rejected:
            request.context["error.message"] = rejected.message
            return self.gateway_error(rejected)

    def _open_context(self, request: Request) -> None:
        """The $context variables known when the request reaches the gateway."""
        now = time.time()
        request.context.update(
            {
                "requestId": request.request_id,
                "apiId": self.api.api_id,
                "stage": self.api.stage,
                "httpMethod": request.method,
                "path": f"/{self.api.stage}{unquote(request.path)}",
                "protocol": "HTTP/1.1",
                "identity.sourceIp": request.client_ip,
                "identity.userAgent": request.header("User-Agent"),
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "requestTimeEpoch": int(now * 1000),
            }
        )

    def _filter(self, request: Request) -> None:
        """AWS WAF: Reject(403) with the WAF_FILTERED response when a rule of the stage's WebACL blocks."""
        verdict = self.firewall.inspect(request) if self.firewall else Verdict(None)
        if verdict.acl_arn:
            request.context.update({"wafResponseCode": verdict.response_code, "webaclArn": verdict.acl_arn})
        if verdict.blocked_by:
            log.info("WAF blocked %s %s (rule %s)", request.method, request.path, verdict.blocked_by)
            raise Reject(403, "Forbidden", response_type="WAF_FILTERED")

    def _answered(self, request: Request, reply: Reply) -> None:
        if self.access_log is not None and "requestId" in request.context:
            self.access_log.write(request.context)

    def _authorize(self, request: Request, method: Method) -> dict[str, Any] | None:
        """The caller's claims (None for an open method); Reject(401) for a bad token."""
        if method.authorizer is None:
            return None
        if method.authorizer.type != "COGNITO_USER_POOLS":
            raise Reject(500, "Internal server error")  # only Cognito authorizers are emulated
        header = request.header(method.authorizer.header)
        claims = self.verifier.verify(header, method.authorizer.pool_ids)
        request.context.update({f"authorizer.claims.{k}": v for k, v in claims_as_strings(claims).items()})
        return claims

    def _check_integration(self, request: Request, method: Method) -> None:
        if method.integration_type != "AWS_PROXY" or method.function_arn not in self.functions:
            raise Reject(500, "Internal server error")
        if len(request.body) > MAX_PAYLOAD_BYTES:
            raise Reject(413, "Request Too Long")
        policy = self.policies.get(method.function_arn, {})
        if not invoke_permitted(policy, self.api.source_arn(method), self.api.account_id):
            log.error("Execution failed due to configuration error: Invalid permissions on Lambda function")
            raise Reject(500, "Internal server error")

    def _invoke(self, method: Method, event: Mapping[str, Any], context: dict[str, Any]) -> Reply:
        assert method.function_arn is not None
        with self._count:
            self.invocations += 1
        started = time.perf_counter()
        result = self.functions[method.function_arn].invoke(event)
        context["integrationLatency"] = round((time.perf_counter() - started) * 1000)
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

    def gateway_error(self, rejected: Reject) -> Reply:
        """A gateway-made response, with the DEFAULT_4XX / DEFAULT_5XX gateway response headers."""
        kind = "DEFAULT_4XX" if rejected.status < 500 else "DEFAULT_5XX"
        # A specific response type (WAF_FILTERED) uses its own headers if the API declares it.
        declared = self.api.error_headers.get(rejected.response_type or "")
        headers = list((declared if declared is not None else self.api.error_headers.get(kind) or {}).items())
        if rejected.response_type == "WAF_FILTERED":
            headers.append(("x-amzn-ErrorType", "ForbiddenException"))
        body = json.dumps({"message": rejected.message}).encode()
        return Reply(rejected.status, [*headers, ("Content-Type", "application/json")], body)


def _deployed_functions(
    api: ApiDefinition, deployment: Deployment, endpoint: str
) -> tuple[dict[str, FunctionSpec], dict[str, Any], dict[str, int]]:
    """The functions the API's integrations call, as deployed, their resource policies and their
    concurrency (reserved, else LOCAL_UNRESERVED_CONCURRENCY)."""
    lambda_ = client("lambda", endpoint)
    functions, policies, limits = {}, {}, {}
    for arn in {m.function_arn for r in api.routes for m in r.methods.values() if m.function_arn}:
        configuration = lambda_.get_function_configuration(FunctionName=arn)
        functions[arn] = spec_from_api(
            configuration,
            code_dir=deployment.code_dirs[configuration["FunctionName"]],
            layer_dirs=(deployment.layer_dir,),
            endpoint_url=endpoint,
        )
        with contextlib.suppress(lambda_.exceptions.ResourceNotFoundException):
            policies[arn] = json.loads(lambda_.get_policy(FunctionName=arn)["Policy"])
        reserved = lambda_.get_function_concurrency(FunctionName=arn).get("ReservedConcurrentExecutions")
        limits[arn] = max(1, int(reserved)) if reserved is not None else LOCAL_UNRESERVED_CONCURRENCY
    return functions, policies, limits
