"""The faults AWS's endpoints can cause, injected in front of the emulator (WSGI), for the requests a
function role signs only: the soak's own administrator calls and the presigned uploads pass untouched.

- A consumer function's call to S3, DynamoDB, SNS or SES may get the service's throttling error, a
  5xx, or a connection reset. Each happens before the request is performed, as a throttled request
  is never performed: the retry that botocore makes is the only one that acts.
- A consumer poller's DeleteMessageBatch may be acknowledged without being performed: the messages
  come back after the visibility timeout, as an SQS redelivery.
- A stage poller's ReceiveMessage may be held back a moment, so the stages of one upload finish in
  different orders.

Who signed a request comes from its SigV4 Authorization header: the access key is an STS session of
the function's role (lambda_runtime: session name = the function's name; esm: "esm-<function>").
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

from ..authz import identity
from ..authz.middleware import signer
from .aws_errors import error_response, service_of
from .rates import CONNECTION_RESET, SERVER_ERROR, SQS_REDELIVERY, STAGE_DELAY, THROTTLE, Counts, Rates

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

_POLLER_PREFIX = "esm-"
_DELETE_BATCH = "AmazonSQS.DeleteMessageBatch"
_RECEIVE = "AmazonSQS.ReceiveMessage"


def consumer_of(function_name: str) -> str:
    """The consumer a function is (validate, thumbnail, index, notify): its name's last part."""
    return function_name.rsplit("-", 1)[-1]


def _read_body(environ: Environ) -> bytes:
    # Read once and put back, so the app behind still gets the whole body.
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body: bytes = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("wsgi.input_terminated", None)
    return body


def _reset(environ: Environ) -> NoReturn:
    """Drop the connection without an answer. Linger 0 makes the close a TCP reset; the shutdown ends
    a keep-alive connection now (werkzeug would wait on it for the next request); werkzeug takes a
    ConnectionError from the app as a dropped connection (no response, no log)."""
    _read_body(environ)
    connection = environ.get("werkzeug.socket")
    if isinstance(connection, socket.socket):
        with contextlib.suppress(OSError):
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.shutdown(socket.SHUT_RDWR)
    raise ConnectionResetError("localcloud.faults: connection reset")


def _json_reply(start_response: StartResponse, document: dict[str, Any]) -> list[bytes]:
    body = json.dumps(document).encode()
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/x-amz-json-1.0"),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", str(time.time_ns())),
        ],
    )
    return [body]


class FaultInjection:
    """WSGI middleware: inert until :meth:`arm` names the consumer functions (and the stages)."""

    def __init__(
        self,
        app: WsgiApp,
        rates: Rates,
        counts: Counts,
        *,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        resolve: Callable[[str], identity.Caller | None] = identity.caller,
    ) -> None:
        self.app, self.rates, self.counts = app, rates, counts
        self._rng = rng or random.Random()
        self._sleep, self._resolve = sleep, resolve
        self._consumers: frozenset[str] = frozenset()
        self._stages: frozenset[str] = frozenset()
        self._sessions: dict[str, str] = {}  # access key -> STS session name ("" for other keys)
        self._lock = threading.Lock()

    def arm(self, consumers: Iterable[str], stages: Iterable[str]) -> None:
        """Inject into the calls of these functions (and delay the pollers of `stages`) from now on."""
        self._consumers, self._stages = frozenset(consumers), frozenset(stages)

    def disarm(self) -> None:
        self._consumers = self._stages = frozenset()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if self._consumers:
            signed = self._session(environ)
            if signed is not None:
                session, scope_service = signed
                if session in self._consumers:
                    fault = self._transient(environ, start_response, session, scope_service)
                    if fault is not None:
                        return fault
                elif session.startswith(_POLLER_PREFIX) and session[len(_POLLER_PREFIX) :] in self._consumers:
                    dropped = self._poller(environ, start_response, session[len(_POLLER_PREFIX) :])
                    if dropped is not None:
                        return dropped
        return self.app(environ, start_response)

    def _session(self, environ: Environ) -> tuple[str, str] | None:
        """(STS session name, credential scope service) of a header-signed request by a role session."""
        if not str(environ.get("HTTP_AUTHORIZATION", "")).startswith("AWS4-"):
            return None
        signed = signer(environ)
        if signed is None:
            return None
        access_key, _, scope_service = signed
        with self._lock:
            session = self._sessions.get(access_key)
        if session is None:
            found = self._resolve(access_key)
            session = found.session_arn.rsplit("/", 1)[-1] if found else ""
            with self._lock:
                self._sessions[access_key] = session
        return (session, scope_service) if session else None

    def _roll(self, *thresholds: float) -> int | None:
        """Which of the consecutive probabilities a random draw falls into, or None."""
        draw, edge = self._rng.random(), 0.0
        for i, probability in enumerate(thresholds):
            edge += probability
            if draw < edge:
                return i
        return None

    def _transient(
        self, environ: Environ, start_response: StartResponse, function: str, scope_service: str
    ) -> Iterable[bytes] | None:
        service = service_of(scope_service)
        if service is None:
            return None
        rates = self.rates
        picked = self._roll(rates.throttle, rates.server_error, rates.connection_reset)
        if picked is None:
            return None
        kind = (THROTTLE, SERVER_ERROR, CONNECTION_RESET)[picked]
        self.counts.add(kind, f"{consumer_of(function)} -> {service}")
        if kind == CONNECTION_RESET:
            _reset(environ)
        _read_body(environ)  # read what the client sent before answering
        head = environ.get("REQUEST_METHOD") == "HEAD"
        status, headers, body = error_response(service, kind, self._rng, head=head)
        start_response(status, headers)
        return [body]

    def _poller(
        self, environ: Environ, start_response: StartResponse, function: str
    ) -> Iterable[bytes] | None:
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target == _DELETE_BATCH and self._roll(self.rates.sqs_redelivery) is not None:
            entries = json.loads(_read_body(environ) or b"{}").get("Entries") or []
            self.counts.add(SQS_REDELIVERY, consumer_of(function))
            return _json_reply(
                start_response, {"Successful": [{"Id": e["Id"]} for e in entries], "Failed": []}
            )
        if target == _RECEIVE and function in self._stages and self._roll(self.rates.stage_delay) is not None:
            self.counts.add(STAGE_DELAY, consumer_of(function))
            self._sleep(self._rng.uniform(0, self.rates.max_delay_s))
        return None
