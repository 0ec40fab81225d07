"""Authorization: the local cloud's IAM, as a WSGI middleware in front of the emulator.

For each request it works out who asks: an assumed-role session from the access key of its SigV4
signature (header, query string or POST form); ANONYMOUS for an unsigned S3 request; the local test
key is the administrator and passes untouched. Any other key gets the service's own "invalid token"
error, and an unsigned request to an API that needs signing MissingAuthenticationToken, unless AWS
serves it unsigned by design (public.py). Then it works out what the request asks (checks.py: per
service), and evaluates the role's identity policies, the resource's policy and the KMS key policy
(policy.py). A denial gets the service's own AccessDenied (errors.py) and is logged and counted
(denials.py); what a role is allowed is recorded with its deciding statement (grants.py).

LOCALCLOUD_ENFORCE_IAM=0 turns enforcement off (denials are then neither answered nor counted).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.wsgi import get_input_stream

from . import deliveries, identity, json_services, public, query_services, resources, s3
from .checks import Caller, Check
from .denials import DENIALS, Denials
from .errors import Response, denied, message, unauthenticated, unrecognized
from .grants import ALLOWED, AllowedRequests
from .policy import ANONYMOUS, Policy, Request, evaluate

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

DENIALS_PATH = "/_localcloud/denials"
ALLOWED_PATH = "/_localcloud/allowed"  # what the roles' grants allowed (grants.py)
# The presign checks (in front) leave a POST form upload's x-amz-credential here.
FORM_CREDENTIAL = "localcloud.s3_presign.form_credential"
_NOT_S3 = ("/moto-api", "/_localcloud", "/.well-known")


def enforcing_from_env() -> bool:
    return os.environ.get("LOCALCLOUD_ENFORCE_IAM", "1").strip().lower() not in ("0", "false", "no", "off")


def _scope(credential: str) -> tuple[str, str, str]:
    """(access key id, region, service) of a SigV4 credential "AKID/date/region/service/aws4_request"."""
    parts = credential.split("/")
    if len(parts) < 5:
        return parts[0], "us-east-1", "s3"
    return parts[0], parts[2], parts[3]


def signer(environ: Environ) -> tuple[str, str, str] | None:
    """(access key id, region, service) of a signed request; None if it is unsigned."""
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    if authorization.startswith("AWS4-"):
        return _scope(authorization.split("Credential=", 1)[-1].split(",", 1)[0].strip())
    if authorization.startswith("AWS "):
        return authorization[4:].split(":", 1)[0], "us-east-1", "s3"
    query = str(environ.get("QUERY_STRING", ""))
    if "X-Amz-Credential" in query:
        return _scope(dict(parse_qsl(query)).get("X-Amz-Credential", ""))
    if "AWSAccessKeyId=" in query:
        return dict(parse_qsl(query)).get("AWSAccessKeyId", ""), "us-east-1", "s3"
    if environ.get(FORM_CREDENTIAL):
        return _scope(str(environ[FORM_CREDENTIAL]))
    return None


def is_anonymous_s3(environ: Environ) -> bool:
    """An unsigned request that S3 would get: path-style bucket, not another service's endpoint."""
    path = str(environ.get("PATH_INFO", ""))
    if environ.get("REQUEST_METHOD") == "OPTIONS" or "HTTP_X_AMZ_TARGET" in environ:
        return False
    if path.startswith(_NOT_S3) or "/.well-known/" in path or not path.strip("/"):
        return False
    return "Action=" not in str(environ.get("QUERY_STRING", ""))


def _read_body(environ: Environ) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    stream = environ["wsgi.input"]
    body: bytes = stream.read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("wsgi.input_terminated", None)
    return body


def request_checks(environ: Environ, service: str, caller: Caller) -> list[Check]:
    if service == "s3":
        return s3.checks(environ, caller)
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        body = _read_body(environ)
        try:
            parsed = json.loads(body or b"{}")
        except ValueError:
            parsed = {}
        return json_services.checks(str(target), parsed if isinstance(parsed, dict) else {}, caller)
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if content_type.startswith("application/x-www-form-urlencoded") or "Action=" in str(
        environ.get("QUERY_STRING", "")
    ):
        form = dict(parse_qsl(str(environ.get("QUERY_STRING", ""))))
        form.update(parse_qsl(_read_body(environ).decode("utf-8", "replace")))
        return query_services.checks(service, form, caller)
    return []  # REST APIs of other services (Lambda, API Gateway, ...): not evaluated


@dataclass(frozen=True)
class Refusal:
    """The service's own answer to a request it cannot authenticate."""

    response: Response


class Authorization:
    """WSGI middleware: ``Authorization(moto_app)``; the lookups can be replaced in tests."""

    def __init__(
        self,
        app: WsgiApp,
        *,
        enforce: bool | None = None,
        denials: Denials = DENIALS,
        allowed: AllowedRequests = ALLOWED,
        resolve: Callable[[str], identity.Caller | None] = identity.caller,
        administrator: Callable[[str], bool] = identity.is_local_administrator,
        policies: Callable[[str, str], list[Policy]] = resources.role_policies,
    ) -> None:
        self.app, self.denials, self.resolve, self.policies = app, denials, resolve, policies
        self.allowed, self.administrator = allowed, administrator
        self.enforce = enforcing_from_env() if enforce is None else enforce

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == DENIALS_PATH:
            return _serve_json(start_response, {**self.denials.snapshot(), "enforcing": self.enforce})
        if environ.get("PATH_INFO") == ALLOWED_PATH:
            return _serve_json(start_response, {**self.allowed.snapshot(), "enforcing": self.enforce})
        if not self.enforce:
            return self.app(environ, start_response)
        with deliveries.serving():  # deliveries this request causes are evaluated (see deliveries.py)
            return self._authorized(environ, start_response)

    def _authorized(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        asked = self._caller(environ)
        if asked is None:
            return self.app(environ, start_response)  # the local administrator, or not evaluated
        if isinstance(asked, Refusal):
            return _refuse(environ, start_response, asked.response)  # not authenticated
        caller, service, identity_policies = asked
        allowed = []
        for check in request_checks(environ, service, caller):
            request = Request(caller.principal, check.action, check.resource, caller.account, check.context)
            decision = evaluate(request, identity_policies, check.resource_policy, check.key_policy)
            if decision:
                allowed.append((request, decision, check.resource_policy, check.key_policy))
            else:
                self.denials.record(
                    caller.principal, check.action, check.resource, decision.statement, decision.reason
                )
                text = message(caller.principal, check.action, check.resource, decision.reason)
                head = environ.get("REQUEST_METHOD") == "HEAD"
                return _refuse(environ, start_response, denied(service, text, head=head))
        for entry in allowed:  # the request went through: every grant it used was needed
            self.allowed.record(*entry)
        return self.app(environ, start_response)

    def _caller(self, environ: Environ) -> tuple[Caller, str, list[Policy]] | Refusal | None:
        """Who asks (with the service and the caller's identity policies); None for the local
        administrator and for what is served unsigned by design; the service's own error for an
        unknown access key or a request that should have been signed."""
        signed = signer(environ)
        if signed is None:
            if is_anonymous_s3(environ):
                return Caller(ANONYMOUS, identity.DEFAULT_ACCOUNT, "us-east-1"), "s3", []
            refused = _unsigned(environ)
            return None if refused is None else Refusal(refused)
        access_key_id, region, service = signed
        if self.administrator(access_key_id):
            return None
        session = self.resolve(access_key_id)
        if session is None:
            head = environ.get("REQUEST_METHOD") == "HEAD"
            return Refusal(unrecognized(service, _protocol(environ), access_key_id, head=head))
        caller = Caller(session.session_arn, session.account, region)
        return caller, service, self.policies(session.account, session.role_name)


def _protocol(environ: Environ) -> str:
    """How the request is framed ("json", "query" or "rest"), and so what its error looks like."""
    if environ.get("HTTP_X_AMZ_TARGET"):
        return "json"
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if content_type.startswith("application/x-www-form-urlencoded") or "Action=" in str(
        environ.get("QUERY_STRING", "")
    ):
        return "query"
    return "rest"


def _unsigned(environ: Environ) -> Response | None:
    """None when AWS serves this unsigned request (CORS preflights, the local cloud's own paths, the
    JWKS, and the operations public.py lists); MissingAuthenticationToken otherwise."""
    path = str(environ.get("PATH_INFO", ""))
    if environ.get("REQUEST_METHOD") == "OPTIONS" or path.startswith(_NOT_S3) or "/.well-known/" in path:
        return None
    protocol = _protocol(environ)
    if protocol == "json":
        if public.unsigned_target(str(environ["HTTP_X_AMZ_TARGET"])):
            return None
        return unauthenticated(protocol)
    if protocol == "query":
        form = dict(parse_qsl(str(environ.get("QUERY_STRING", ""))))
        form.update(parse_qsl(_read_body(environ).decode("utf-8", "replace")))
        return None if public.unsigned_action(form.get("Action", "")) else unauthenticated(protocol)
    return None  # "/" and REST paths is_anonymous_s3 leaves: served as before


def _refuse(environ: Environ, start_response: StartResponse, response: Response) -> list[bytes]:
    status, headers, body = response
    _drain(environ)
    start_response(status, headers)
    return [body]


def _serve_json(start_response: StartResponse, document: dict[str, Any]) -> list[bytes]:
    body = json.dumps(document).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _drain(environ: Environ) -> None:
    # Read what the client sent before answering, so the connection is not reset under it.
    if "wsgi.input" not in environ:
        return
    stream = get_input_stream(environ)  # limited to Content-Length: never reads past the body
    while stream.read(64 * 1024):
        pass


def install(app: WsgiApp) -> Authorization:
    return Authorization(app)
