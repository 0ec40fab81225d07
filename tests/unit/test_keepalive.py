"""The emulator's keep-alive handler (localcloud.keepalive) over a real socket: a body sent in full keeps
the connection for the next request; a client that leaves mid-body (a reset, a killed caller) ends its
connection quietly, and the server goes on serving."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from localcloud import keepalive
from localcloud.server import ServerThread, free_port

HOST = "127.0.0.1"


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]  # answers without reading the body: the handler drains it


@pytest.fixture
def port() -> Iterator[int]:
    connections = keepalive.Connections()
    number = free_port(HOST)
    server = ServerThread(
        HOST, number, app, name="keepalive-test", request_handler=keepalive.handler_for(connections)
    )
    server.start()
    try:
        yield number
    finally:
        server.stop()
        connections.close_all()


def request(body: bytes, declared: int) -> bytes:
    head = f"PUT /x HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: {declared}\r\n\r\n"
    return head.encode() + body


def read_response(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"ok"):
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_a_drained_body_keeps_the_connection_for_the_next_request(port: int) -> None:
    with socket.create_connection((HOST, port), timeout=10) as conn:
        for _ in range(2):
            conn.sendall(request(b"0123456789", 10))
            assert read_response(conn).startswith(b"HTTP/1.1 200")


def test_a_client_leaving_mid_body_ends_quietly_and_the_server_serves_on(
    port: int, capfd: pytest.CaptureFixture[str]
) -> None:
    with socket.create_connection((HOST, port), timeout=10) as conn:
        conn.sendall(request(b"0123456789", 100))  # 90 bytes never come
        assert read_response(conn).startswith(b"HTTP/1.1 200")
        conn.shutdown(socket.SHUT_WR)
        assert conn.recv(4096) == b""  # the server closed its side: nothing follows
    with socket.create_connection((HOST, port), timeout=10) as conn:
        conn.sendall(request(b"", 0))
        assert read_response(conn).startswith(b"HTTP/1.1 200")
    err = capfd.readouterr().err
    assert "Traceback" not in err and "ClientDisconnected" not in err
