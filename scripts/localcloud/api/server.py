"""HTTP for the API front, served by werkzeug: a WSGI app that turns each request into a
:class:`~localcloud.api.messages.Request` for the gateway and its :class:`Reply` into the response.

werkzeug does all of HTTP (chunked bodies, the 10 MB limit, HEAD, Content-Length). Two things WSGI
loses are kept for API Gateway's event: the headers as the client sent them (spelling, order, repeated
ones not joined with commas) and the raw, still percent-encoded path.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wrappers import Request as WsgiRequest
from werkzeug.wrappers import Response as WsgiResponse

from .messages import Reject, Reply, Request

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["MAX_PAYLOAD_BYTES", "RequestHandler", "wsgi_app"]

log = logging.getLogger("localcloud.api")

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's REST payload limit
_RAW_HEADERS = "localcloud.raw_headers"


class RequestHandler(WSGIRequestHandler):
    """werkzeug's handler, keeping the raw header list for the gateway and leaving the access log to it."""

    def make_environ(self) -> WSGIEnvironment:
        environ = super().make_environ()
        environ[_RAW_HEADERS] = list(self.headers.items())
        return environ

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # wsgi_app's access log replaces werkzeug's


class _WsgiRequest(WsgiRequest):
    max_content_length = MAX_PAYLOAD_BYTES


class _WsgiResponse(WsgiResponse):
    default_mimetype = None  # no Content-Type unless the reply has one, as API Gateway


def _request(wrapped: WsgiRequest, request_id: str) -> Request:
    """Our view of the request; reads the body (raises werkzeug's HTTPException on a bad or large one)."""
    environ = wrapped.environ
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or wrapped.path
    headers: Iterable[tuple[str, str]] = environ.get(_RAW_HEADERS) or wrapped.headers.items()
    return Request(
        method=wrapped.method,
        path=urlsplit(raw_uri).path or "/",
        query=list(wrapped.args.items(multi=True)),
        headers=list(headers),
        body=wrapped.get_data(),
        client_ip=wrapped.remote_addr or "",
        request_id=request_id,
        raw_query=urlsplit(raw_uri).query,
    )


def _reply(
    wrapped: WsgiRequest,
    request_id: str,
    handle: Callable[[Request], Reply],
    gateway_error: Callable[[Reject], Reply],
) -> tuple[Request | None, Reply]:
    try:
        request = _request(wrapped, request_id)
    except RequestEntityTooLarge:
        return None, gateway_error(Reject(413, "Request Too Long"))
    except (HTTPException, ValueError, OSError):
        return None, gateway_error(Reject(400, "Bad request"))
    try:
        return request, handle(request)
    except Exception:
        log.exception("API front failed on %s %s", request.method, request.path)
        return request, gateway_error(Reject(500, "Internal server error"))


def wsgi_app(
    handle: Callable[[Request], Reply],
    gateway_error: Callable[[Reject], Reply],
    answered: Callable[[Request, Reply], None] | None = None,
) -> WSGIApplication:
    """The WSGI app: ``handle`` answers requests, ``gateway_error`` the ones that cannot be read;
    ``answered`` sees each request (its $context completed with status and latency) once its response
    has been sent (the access log)."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        wrapped = _WsgiRequest(environ)
        request_id = str(uuid.uuid4())
        request, reply = _reply(wrapped, request_id, handle, gateway_error)
        headers = [*reply.headers, ("x-amzn-RequestId", request_id)]
        response = _WsgiResponse(reply.body, reply.status, headers)
        if request is not None and answered is not None:
            request.context.update(
                status=reply.status,
                responseLength=len(reply.body),
                responseLatency=round((time.perf_counter() - started) * 1000),
            )
            response.call_on_close(lambda: answered(request, reply))
        log.info(
            "%s %s -> %d (%.0f ms)",
            wrapped.method,
            wrapped.path,
            reply.status,
            (time.perf_counter() - started) * 1000,
        )
        return response(environ, start_response)

    return app
