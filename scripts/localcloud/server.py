"""moto in server mode, with the local cloud's CloudFormation additions loaded first, S3's
presigned-request checks (localcloud.s3_presign) in front of it and, behind those, the local cloud's
IAM (localcloud.authz)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

from localcloud import (
    cfn,
    dynamodb_atomic,
    keepalive,
    moto_dispatch,
    moto_dynamodb,
    moto_s3_parts,
    moto_serialize,
    moto_sqs,
    no_docker,
    s3_presign,
)
from localcloud.authz import deliveries
from localcloud.authz import middleware as authz
from localcloud.authz.identity import secrets_with_roles
from localcloud.request_stats import RequestStats

HOST = "127.0.0.1"
PORT = 4566  # LocalStack's port, so AWS_ENDPOINT_URL / localstack-client defaults work


class PortInUse(RuntimeError):
    pass


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class ServerThread:
    """A threaded werkzeug server for a WSGI app, serving on a thread of its own until :meth:`stop`."""

    def __init__(
        self,
        host: str,
        port: int,
        app: WSGIApplication,
        *,
        name: str,
        request_handler: type[WSGIRequestHandler] | None = None,
    ) -> None:
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=request_handler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop serving and close the socket; idempotent, and bounded: requests in progress run on
        daemon threads, which nothing waits for."""
        if self._thread.is_alive():
            # shutdown() waits for serve_forever to return: only ever call it while it runs.
            self._server.shutdown()
            self._thread.join(timeout_s)
        self._server.server_close()


class Emulator:
    """The moto server; `endpoint` is what AWS_ENDPOINT_URL points at."""

    def __init__(self, host: str = HOST, port: int = PORT) -> None:
        if not port_free(host, port):
            raise PortInUse(
                f"{host}:{port} is already in use: is another local cloud running? (stop it first)"
            )
        cfn.install()  # before the first request: moto caches its CloudFormation model map on first use
        no_docker.install()
        dynamodb_atomic.install()
        moto_dispatch.install()  # speed-ups of moto that change no answer (see each module)
        moto_serialize.install()
        moto_sqs.install()
        moto_dynamodb.install()
        moto_s3_parts.install()  # multipart parts in moto's state dump (tests read SES mail there)
        self.host, self.port = host, port
        # moto's ThreadedMotoServer serves DomainDispatcherApplication as is; this serves it wrapped.
        # The local cloud's IAM (localcloud.authz) right in front of moto; the presign checks before it.
        # Right in front of moto, behind IAM: S3's NoSuchUpload for a multipart request (s3_presign.multipart).
        moto_app = s3_presign.MultipartChecks(DomainDispatcherApplication(create_backend_app))
        self.authorization = authz.install(moto_app)
        # Presigned URLs are signed with a function role's credentials (STS), as on AWS.
        self.presign_checks = s3_presign.PresignChecks(
            self.authorization,
            secrets=secrets_with_roles(s3_presign.local_secrets),
        )
        # Outermost: counts every request by service and action (the bench reports them per upload).
        self.requests = RequestStats(self.presign_checks)
        self.connections = keepalive.Connections()  # kept-alive client connections, ended by stop()
        # What the port serves: the request counter, or middlewares around it (`wrap`).
        self._front: WSGIApplication = self.requests
        self._server: ServerThread | None = None

    def wrap(self, middleware: Callable[[WSGIApplication], WSGIApplication]) -> None:
        """Put a WSGI middleware in front of everything (before `start`): the soak's fault injection
        (localcloud.faults) sees each request first."""
        self._front = middleware(self._front)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        if self.authorization.enforce:
            deliveries.install()  # S3 -> SNS and SNS -> SQS evaluated against topic, queue and key policies
        self._server = ServerThread(
            self.host,
            self.port,
            self._front,
            name="moto-server",
            request_handler=keepalive.handler_for(self.connections),
        ).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self.connections.close_all()
        self._server = None
        deliveries.uninstall()
