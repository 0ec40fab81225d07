"""The local CloudFront front: each of the stack's distributions, served over HTTP by werkzeug.

A request goes as at a CloudFront edge: the distribution's web ACL first (waf: 403 "Request blocked"
when a rule blocks); the behaviour whose path pattern matches (the default one
otherwise); for a behaviour with trusted key groups, the signed URL check (signed_urls: 403 with
CloudFront's XML error otherwise); the origin through its origin access control (origin: the bucket
policy, and the key policy of an SSE-KMS object, must allow this distribution, as the local cloud's IAM
evaluates them); the response headers policy's headers (headers), its Content-Security-Policy with the
AWS hosts mapped to the local ones (csp: the page here enforces the template's CSP). `/` serves the
default root object. No TLS locally: the front is http://127.0.0.1:<port>, and the API signs URLs for it
(the template's CdnUrlOverride), so the signature covers the URL the client really requests.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from werkzeug.wrappers import Request, Response

from localcloud.api.messages import Request as WafRequest
from localcloud.api.waf import Firewall
from localcloud.server import HOST, ServerThread, free_port

from . import distribution as dist
from . import headers as response_headers
from . import origin
from .csp import HostMap
from .signed_urls import Denied, error_body, resource_url, verify
from .waf import BLOCKED_PAGE, acl_reader

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger("localcloud.cdn")
CDN_PORT = 3001


class CdnFront:
    """Serves the distributions `distribution_ids` on http://host:port (port 0: a free one)."""

    def __init__(
        self,
        distribution_ids: list[str],
        s3: Any,
        *,
        host: str = HOST,
        port: int = 0,
        host_map: HostMap | None = None,
    ) -> None:
        self.distribution_ids = list(distribution_ids)
        self.s3 = s3
        self.host_map = host_map or HostMap()
        self.host, self.port = host, port or free_port(host)
        self._server: ServerThread | None = None
        self._firewalls = {i: Firewall(acl_reader(i)) for i in self.distribution_ids}

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> CdnFront:
        self._server = ServerThread(self.host, self.port, self.wsgi, name="cdn-front").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def wsgi(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        status, headers, body = self.handle(request)
        headers += [("X-Cache", "Miss from cloudfront" if status < 400 else "Error from cloudfront")]
        headers += [("X-Amz-Cf-Id", uuid.uuid4().hex), ("Via", "1.1 localcloud.cloudfront.net (CloudFront)")]
        log.info("%s %s -> %d", request.method, request.path, status)
        return Response(body, status, headers)(environ, start_response)

    def handle(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        raw_uri = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path
        parts = urlsplit(raw_uri)
        raw_path = parts.path or "/"
        host = request.host
        distribution = dist.select(self.distribution_ids, host)
        if distribution is None:
            return _denied(Denied("NoSuchDistribution", "The distribution does not exist"), 404)
        if self._blocked(distribution.id, request, raw_path, parts.query):
            return 403, [("Content-Type", "text/html"), ("Server", "CloudFront")], BLOCKED_PAGE
        path = raw_path if raw_path != "/" else "/" + str(distribution.config.get("DefaultRootObject") or "")
        behaviour = dist.behaviour(distribution, path)
        if request.method not in behaviour.allowed_methods:
            return _denied(Denied("MethodNotAllowed", "This distribution does not allow this method"), 403)
        query = parse_qsl(parts.query, keep_blank_values=True)
        if behaviour.trusted_keys is not None:
            resource = resource_url("http", host, raw_path, parts.query)
            try:
                verify(
                    resource,
                    query,
                    behaviour.trusted_keys,
                    now=time.time(),
                    client_ip=request.remote_addr or "",
                )
            except Denied as denied:
                return _denied(denied, 403, behaviour.response_headers, self.host_map)
        forwarded = {k: v for k, v in query if k in behaviour.forwarded_query}
        key = unquote(path.lstrip("/"))
        reply = origin.read(
            self.s3, distribution, behaviour.origin_bucket, key, forwarded, head=request.method == "HEAD"
        )
        headers = response_headers.apply(behaviour.response_headers, reply.headers, self.host_map.policy)
        return reply.status, headers, reply.body

    def _blocked(self, distribution_id: str, request: Request, raw_path: str, raw_query: str) -> bool:
        firewall = self._firewalls.get(distribution_id)
        if firewall is None:
            return False
        seen = WafRequest(
            method=request.method,
            path=raw_path,
            query=parse_qsl(raw_query, keep_blank_values=True),
            headers=list(request.headers.items()),
            body=b"",
            client_ip=request.remote_addr or "",
            raw_query=raw_query,
        )
        verdict = firewall.inspect(seen)
        if verdict.blocked_by:
            log.info("WAF blocked %s %s (rule %s)", request.method, raw_path, verdict.blocked_by)
        return verdict.blocked_by is not None


def _denied(
    denied: Denied, status: int, policy: Any = None, host_map: HostMap | None = None
) -> tuple[int, list[tuple[str, str]], bytes]:
    csp = host_map.policy if host_map else None
    headers = response_headers.apply(policy, [("Content-Type", "text/xml")], csp)
    return status, headers, error_body(denied)
