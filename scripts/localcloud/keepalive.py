"""HTTP/1.1 keep-alive for the emulator's werkzeug server: one connection and one thread per client, not
per request.

Why: werkzeug's development server answers every request with ``Connection: close``. Each SDK call then
opens a new TCP connection, and the server accepts it on its one accept thread and starts a thread for
it, both needing the GIL that the request threads hold: under the bench's load the emulator sat half
idle while calls queued for a connection (the probe's DescribeLimits took 180 ms at p50). With
keep-alive the SDK's pooled connections are reused and each keeps its own server thread.

werkzeug closes because a handler that did not read the whole request body would read the rest as the
next request. Here the body is a :class:`~werkzeug.wsgi.LimitedStream` of exactly ``Content-Length``
bytes, drained after the response. Requests this does not handle that way (chunked bodies,
``Expect: 100-continue``, HTTP/1.0, ``Connection: close``) go through werkzeug's own code, which
closes the connection as before. The response goes out in one write (status, headers and body), with
Nagle off, so a small response is never held back waiting for an ACK.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterable
from email.utils import formatdate
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.exceptions import ClientDisconnected, InternalServerError
from werkzeug.wsgi import LimitedStream

IDLE_TIMEOUT_S = 300.0  # an idle client connection is closed after this (the SDK reconnects)
_NO_BODY = frozenset({204, 304})


class Connections:
    """The server's open client connections, so that stopping the server also ends the kept-alive ones."""

    def __init__(self) -> None:
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def discard(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def close_all(self) -> None:
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):  # the handler's blocked read returns, its thread ends
                sock.shutdown(socket.SHUT_RDWR)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sockets)


def _keeps_alive(handler: MotoRequestHandler) -> bool:
    headers = handler.headers
    if handler.request_version != "HTTP/1.1" or handler.close_connection:
        return False
    if "chunked" in headers.get("Transfer-Encoding", "").lower():
        return False
    if headers.get("Expect", "").lower().strip() == "100-continue":
        return False
    length = headers.get("Content-Length")
    return length is None or length.strip().isdigit()


class KeepAliveHandler(MotoRequestHandler):
    """moto's request handler (its environ keeps underscored header names), with keep-alive."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_S
    connections: Connections  # set per server by handler_for()

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connections.add(self.connection)

    def finish(self) -> None:
        self.connections.discard(self.connection)
        super().finish()

    def log_error(self, format: str, *args: Any) -> None:
        if "timed out" not in format % args:  # an idle keep-alive connection ending is no error
            super().log_error(format, *args)

    def run_wsgi(self) -> None:
        if not _keeps_alive(self):
            self.close_connection = True
            super().run_wsgi()
            return
        environ = self.make_environ()
        stream = LimitedStream(self.rfile, int(self.headers.get("Content-Length") or 0))  # type: ignore[arg-type]
        environ["wsgi.input"] = stream
        try:
            status, headers, body = self._call(environ, self.server.app)
        except Exception:
            self.close_connection = True
            status, headers, body = self._call(environ, InternalServerError())
        self._send(environ, status, headers, body)
        try:
            stream.exhaust()  # the next request starts right after this one's body
        except ClientDisconnected:  # the client left before sending all of it: nothing follows
            self.close_connection = True

    @staticmethod
    def _call(environ: dict[str, Any], app: Any) -> tuple[str, list[tuple[str, str]], bytes]:
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = [status, list(headers)]
            return lambda data: chunks.append(data)

        chunks: list[bytes] = []
        result: Iterable[bytes] = app(environ, start_response)
        try:
            chunks.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return started[0], started[1], b"".join(chunks)

    def _send(
        self, environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes
    ) -> None:
        code = int(status.split(None, 1)[0])
        names = {name.lower() for name, _ in headers}
        lines = [f"{self.protocol_version} {status}", f"Server: {self.version_string()}"]
        if "date" not in names:
            lines.append(f"Date: {formatdate(usegmt=True)}")
        lines.extend(f"{name}: {value}" for name, value in headers)
        bodyless = environ["REQUEST_METHOD"] == "HEAD" or code in _NO_BODY or 100 <= code < 200
        if "content-length" not in names and not bodyless:
            lines.append(f"Content-Length: {len(body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + (b"" if bodyless else body))
        self.log_request(code, len(body))


def handler_for(connections: Connections) -> type[KeepAliveHandler]:
    """A handler class bound to one server's connection registry."""
    return type("EmulatorRequestHandler", (KeepAliveHandler,), {"connections": connections})
