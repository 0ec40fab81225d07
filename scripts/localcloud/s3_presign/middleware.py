"""PresignChecks: S3's checks of presigned requests, as a WSGI middleware in front of the emulator.

moto accepts presigned URLs and POST uploads without looking at their signature, expiry or policy.
This middleware checks them as S3 does and answers S3's error before the emulator sees the request,
so a refused upload stores nothing. It also answers CORS as S3 does from the bucket's configuration
(moto's own answer allows every origin), and lets the JSON services a browser page calls (Cognito)
answer any origin, as the real endpoints do.

Untouched, with no parsing: requests signed in the Authorization header (the SDK's own calls), other
services' calls, and anonymous requests, which the emulator handles as before.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape

from werkzeug.http import parse_options_header
from werkzeug.wsgi import ClosingIterator, get_input_stream

from . import cors, post_policy
from .cors import CorsRule
from .errors import S3Error
from .post_form import PostForm, malformed
from .sigv4 import QueryRequest, Secrets, is_query_auth, is_query_auth_v2, v2_refused, verify_query_auth

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

# The local cloud's signers (function workers, CLI, tests) use their environment's key or test/test.
LOCAL_CREDENTIALS = {"test": "test"}
_WELL_KNOWN = ("/.well-known/jwks.json", "/.well-known/openid-configuration")
_CONSUMED = "localcloud.s3_presign.body_consumed"


def local_secrets(access_key_id: str) -> str | None:
    """test/test, plus the key this process has itself (the one it hands its workers)."""
    if access_key_id == os.environ.get("AWS_ACCESS_KEY_ID"):
        return os.environ.get("AWS_SECRET_ACCESS_KEY")
    return LOCAL_CREDENTIALS.get(access_key_id)


class BucketView(NamedTuple):
    region: str
    cors: tuple[CorsRule, ...]


Buckets = Callable[[str], BucketView | None]


def moto_bucket(name: str) -> BucketView | None:
    """The bucket's region and CORS rules, read from moto's S3 backend (same process)."""
    from moto.s3.models import s3_backends

    located = s3_backends.bucket_accounts.get(name)
    if located is None:
        return None
    partition, account_id = located
    bucket = s3_backends[account_id][partition].buckets.get(name)
    if bucket is None:
        return None
    rules = tuple(
        CorsRule(
            allowed_origins=tuple(rule.allowed_origins or ()),
            allowed_methods=tuple(rule.allowed_methods or ()),
            allowed_headers=tuple(rule.allowed_headers or ()),
            expose_headers=tuple(rule.exposed_headers or ()),
            max_age_seconds=None if rule.max_age_seconds is None else int(rule.max_age_seconds),
        )
        for rule in bucket.cors
    )
    return BucketView(bucket.region_name, rules)


def utc_now() -> datetime:
    return datetime.now(UTC)


def _auth_service(authorization: str) -> str:
    """The service of a header-signed request: SigV4's credential scope; SigV2 ("AWS key:sig") is S3."""
    if not authorization.startswith("AWS4-"):
        return "s3"
    try:
        scope = authorization.split("Credential=", 1)[1].split(",", 1)[0]
        return scope.split("/")[3]
    except IndexError:
        return ""


def _query_params(query: str) -> list[tuple[str, str]]:
    pairs = (part.partition("=") for part in query.split("&") if part)
    return [(unquote(name), unquote(value)) for name, _, value in pairs]


def _request_headers(environ: Environ) -> dict[str, str]:
    headers = {
        key[5:].lower().replace("_", "-"): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.lower().replace("_", "-")] = str(environ[key])
    return headers


def _decoded_path(environ: Environ) -> str:
    # WSGI hands the percent-decoded path as latin-1; S3 keys are UTF-8.
    return str(environ.get("PATH_INFO", "")).encode("latin-1").decode("utf-8", "replace")


def _respond(error: S3Error, environ: Environ, start_response: StartResponse, *, head: bool) -> list[bytes]:
    if not environ.get(_CONSUMED):
        # Read the unread body first: the server closes the connection after answering, and unread
        # bytes would make it a reset the client may see instead of the error.
        stream = get_input_stream(environ)
        while stream.read(64 * 1024):
            pass
    status, headers, body = error.response(head=head)
    start_response(status, headers)
    return [body]


def _with_cors(start_response: StartResponse, headers: cors.Headers) -> StartResponse:
    def start(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        return start_response(status, [*cors.without_cors(response_headers), *headers], exc_info)

    return start


class PresignChecks:
    """WSGI middleware: `PresignChecks(moto_app)`; `secrets`, `buckets` and `clock` can be replaced."""

    def __init__(
        self,
        app: WsgiApp,
        secrets: Secrets = local_secrets,
        buckets: Buckets = moto_bucket,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.app, self.secrets, self.buckets, self.clock = app, secrets, buckets, clock

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        origin = environ.get("HTTP_ORIGIN")
        query = environ.get("QUERY_STRING", "")
        if origin is None and method != "OPTIONS" and not self._may_need_checks(environ, method, query):
            return self.app(environ, start_response)

        bucket = self._bucket(environ)
        if bucket is None:
            return self._service(environ, start_response, origin)
        view = self.buckets(bucket)
        head = method == "HEAD"
        try:
            if method == "OPTIONS":
                return self._preflight(environ, start_response, view, origin)
            if origin is not None:
                rules = view.cors if view else None
                start_response = _with_cors(start_response, cors.actual(rules, origin, method))
            self._check_query(environ, method, query, view)
            if method == "POST" and self._is_form_upload(environ):
                return self._post(environ, start_response, bucket)
        except S3Error as error:
            return _respond(error, environ, start_response, head=head)
        return self.app(environ, start_response)

    # --- what a request is ------------------------------------------------------------------------

    @staticmethod
    def _may_need_checks(environ: Environ, method: str, query: str) -> bool:
        """Cheap test that lets SDK calls and other services through without any parsing."""
        if "X-Amz-" in query or "Signature=" in query:
            return True
        return method == "POST" and "HTTP_AUTHORIZATION" not in environ and PresignChecks._is_form(environ)

    @staticmethod
    def _is_form(environ: Environ) -> bool:
        return str(environ.get("CONTENT_TYPE", "")).lower().startswith("multipart/form-data")

    @staticmethod
    def _is_form_upload(environ: Environ) -> bool:
        path = str(environ.get("PATH_INFO", ""))
        return (
            "HTTP_AUTHORIZATION" not in environ
            and PresignChecks._is_form(environ)
            and "/" not in path.strip("/")
        )

    @staticmethod
    def _bucket(environ: Environ) -> str | None:
        """The bucket of an S3 request (path style); None for other services and the service root."""
        if "HTTP_X_AMZ_TARGET" in environ:
            return None
        authorization = environ.get("HTTP_AUTHORIZATION")
        if authorization and _auth_service(authorization) != "s3":
            return None
        path = _decoded_path(environ)
        name = path.lstrip("/").split("/", 1)[0]
        if not name or name == "moto-api" or path.endswith(_WELL_KNOWN):
            return None
        return name

    # --- answers ----------------------------------------------------------------------------------

    def _service(
        self, environ: Environ, start_response: StartResponse, origin: str | None
    ) -> Iterable[bytes]:
        if origin is None:
            return self.app(environ, start_response)
        asked_method = environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")
        if environ.get("REQUEST_METHOD") == "OPTIONS" and asked_method:
            asked = cors.requested_headers(environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", ""))
            start_response("200 OK", [*cors.service_preflight(asked_method, asked), ("Content-Length", "0")])
            return [b""]
        return self.app(environ, _with_cors(start_response, cors.service_actual()))

    def _preflight(
        self, environ: Environ, start_response: StartResponse, view: BucketView | None, origin: str | None
    ) -> Iterable[bytes]:
        if origin is None:
            raise S3Error(400, "BadRequest", "Insufficient information. Origin request header needed.")
        method = environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")
        if not method:
            raise S3Error(400, "BadRequest", "Invalid Access-Control-Request-Method: null")
        asked = cors.requested_headers(environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", ""))
        kind = "OBJECT" if "/" in _decoded_path(environ).strip("/") else "BUCKET"
        headers = cors.preflight(view.cors if view else None, origin, method, asked, kind)
        start_response("200 OK", [*headers, ("Content-Length", "0")])
        return [b""]

    def _check_query(self, environ: Environ, method: str, query: str, view: BucketView | None) -> None:
        if "X-Amz-" not in query and "Signature=" not in query:
            return
        params = _query_params(query)
        if is_query_auth(params):
            if "HTTP_AUTHORIZATION" in environ:
                raise S3Error(
                    400,
                    "InvalidArgument",
                    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature "
                    "query string parameter or the Authorization header should be specified",
                    {"ArgumentName": "Authorization", "ArgumentValue": environ["HTTP_AUTHORIZATION"]},
                )
            request = QueryRequest(method, _decoded_path(environ), params, _request_headers(environ))
            verify_query_auth(request, self.secrets, self.clock(), view.region if view else None)
        elif is_query_auth_v2(params) and "HTTP_AUTHORIZATION" not in environ:
            raise v2_refused()

    def _post(self, environ: Environ, start_response: StartResponse, bucket: str) -> Iterable[bytes]:
        _, options = parse_options_header(str(environ.get("CONTENT_TYPE", "")))
        if not options.get("boundary"):
            raise malformed()
        if not environ.get("CONTENT_LENGTH") and not environ.get("wsgi.input_terminated"):
            raise S3Error(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
        form = PostForm(get_input_stream(environ, safe_fallback=False), options["boundary"].encode())
        try:
            fields = form.fields()
            signed = post_policy.is_signed(fields)
            if signed:
                policy = post_policy.verify_post(fields, form.filename, bucket, self.secrets, self.clock())
                post_policy.check_size(policy, form.file_size(policy.max_size))
            else:
                form.file_size()
            body = form.body()
        except S3Error:
            form.discard()
            environ[_CONSUMED] = True
            raise
        # For the authorization middleware behind this one: who signed the form, and the key it writes.
        environ["localcloud.s3_presign.form_credential"] = fields.get("x-amz-credential", "")
        environ["localcloud.s3_presign.form_key"] = post_policy.expand(fields, form.filename).get("key", "")
        # The emulator reads the very bytes the client sent.
        environ["wsgi.input"] = body
        environ["CONTENT_LENGTH"] = str(form.length)
        environ.pop("wsgi.input_terminated", None)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        if not signed:
            return ClosingIterator(self.app(environ, start_response), form.close)
        key = post_policy.expand(fields, form.filename)["key"]
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        answer = PostAnswer(
            status=fields.get("success_action_status", ""),
            redirect="success_action_redirect" in fields or "redirect" in fields,
            location=f"{environ.get('wsgi.url_scheme', 'http')}://{host}/{bucket}/{quote(key, safe='/')}",
            bucket=bucket,
            key=key,
            etag=f'"{form.md5.hexdigest()}"',
        )
        return answer.respond(self.app, environ, start_response, form.close)


class PostAnswer(NamedTuple):
    """S3's answer to a stored POST upload, which moto gives only in part (no ETag, no Location,
    no XML for 201, and any success_action_status echoed as the HTTP status)."""

    status: str  # the form's success_action_status
    redirect: bool
    location: str
    bucket: str
    key: str
    etag: str

    def respond(
        self, app: WsgiApp, environ: Environ, start_response: StartResponse, close: Callable[[], None]
    ) -> Iterable[bytes]:
        status = self.status if self.status in ("200", "201") else "204"  # S3 ignores other values
        body = b""
        if status == "201":
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse>'
                f"<Location>{escape(self.location)}</Location><Bucket>{escape(self.bucket)}</Bucket>"
                f"<Key>{escape(self.key)}</Key><ETag>{escape(self.etag)}</ETag></PostResponse>"
            ).encode()
        replaced = False

        def start(emulator_status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            nonlocal replaced
            code, _, reason = emulator_status.partition(" ")
            # moto answers with success_action_status as given, even "404" or "abc" (as status "0 abc").
            echoed = bool(self.status) and self.status in (code, reason)
            if self.redirect or not (code.startswith("2") or echoed):
                return start_response(emulator_status, headers, exc_info)  # an error, or 303 to the redirect
            replaced = True
            kept = [(n, v) for n, v in headers if n.lower() not in ("content-type", "content-length")]
            ours = [("ETag", self.etag), ("Location", self.location)]
            if status != "204":
                ours += [("Content-Length", str(len(body)))]
            if body:
                ours += [("Content-Type", "application/xml")]
            return start_response(f"{status} {_SUCCESS_REASONS[status]}", [*kept, *ours], exc_info)

        emulator_body = app(environ, start)
        if not replaced:
            return ClosingIterator(emulator_body, close)
        return ClosingIterator([body], [getattr(emulator_body, "close", lambda: None), close])


_SUCCESS_REASONS = {"200": "OK", "201": "Created", "204": "No Content"}


def install(app: WsgiApp) -> PresignChecks:
    """Wrap the emulator's WSGI app with the checks, using the local cloud's credentials and clock."""
    return PresignChecks(app)
