"""The retry policy on real HTTP: IntakeApi's calls, the presigned POST and PUT (the body is sent again
from its start, whole) and the download (the output starts over), against a scripted server on
127.0.0.1 that answers 502/503/429, resets the connection or cuts a body short. No sleeping: the
policy's sleep is injected."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from intake_cli.api import IntakeApi
from intake_cli.config import Settings, Tokens
from intake_cli.errors import ApiError, IntakeError
from intake_cli.retry import RetryPolicy
from intake_cli.transfer import download, send_presigned

# What the scripted server does with one request: answer a status, reset the connection after reading
# part of the body, or send only the first half of its body.
Step = tuple[str, int]  # ("status", 503) | ("reset", bytes to read first) | ("cut", 200)


@dataclass
class Script:
    steps: list[Step]
    body: bytes = b""  # what a 200 answers with
    received: list[tuple[str, str, bytes]] = field(default_factory=list)  # method, path, body


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        script = self.server.script
        kind, value = script.steps.pop(0) if script.steps else ("status", 200)
        length = int(self.headers.get("Content-Length") or 0)
        if kind == "reset":
            self.rfile.read(min(value, length))
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            self.connection.close()  # RST: the client sees the connection reset mid-request
            return
        body = self.rfile.read(length)
        script.received.append((self.command, self.path, body))
        answer = script.body if value == 200 else json.dumps({"message": f"status {value}"}).encode()
        self.send_response(value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        if kind == "cut":
            self.wfile.write(answer[: len(answer) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(answer)

    do_GET = do_POST = do_PUT = _serve


class Server(ThreadingHTTPServer):
    daemon_threads = True
    script: Script


@pytest.fixture
def server() -> Iterator[Callable[..., tuple[str, Script]]]:
    started: list[Server] = []

    def serve(steps: list[Step], body: bytes = b"") -> tuple[str, Script]:
        httpd = Server(("127.0.0.1", 0), Handler)
        httpd.script = Script(list(steps), body)
        threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
        started.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}", httpd.script

    yield serve
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


def no_sleep(policy_attempts: int = 6) -> tuple[RetryPolicy, list[float]]:
    sleeps: list[float] = []
    return RetryPolicy(attempts=policy_attempts, sleep=sleeps.append), sleeps


def file_part(multipart: bytes, content_type: str) -> bytes:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + multipart
    )
    parts = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
    return bytes(parts["file"].get_payload(decode=True))


def a_token() -> str:
    claims = base64.urlsafe_b64encode(json.dumps({"exp": time.time() + 3600}).encode()).decode().rstrip("=")
    return f"e30.{claims}.sig"


def api_at(url: str, policy: RetryPolicy) -> IntakeApi:
    settings = Settings(url, "us-east-1", "us-east-1_x", "client", "http://127.0.0.1:1")
    return IntakeApi(settings, Tokens("me@example.com", a_token(), "access", None), retry=policy)


BODY = bytes(range(256)) * 4096  # 1 MiB: larger than the sockets' buffers


def test_api_call_is_retried_and_its_body_resent(server: Callable[..., tuple[str, Script]]) -> None:
    grant = {"upload_id": "u1", "upload": {"method": "POST", "url": "x", "fields": {}}}
    steps: list[Step] = [("status", 502), ("reset", 10), ("status", 429), ("status", 200)]
    url, script = server(steps, json.dumps(grant).encode())
    policy, sleeps = no_sleep()
    created = api_at(url, policy).create_upload("cat.jpg", "image/jpeg", 10)
    assert created["upload_id"] == "u1" and len(sleeps) == 3
    bodies = [json.loads(body) for method, path, body in script.received if method == "POST"]
    assert len(bodies) == 3 and all(b == bodies[0] for b in bodies) and bodies[0]["filename"] == "cat.jpg"


def test_api_gives_up_with_the_last_answer(server: Callable[..., tuple[str, Script]]) -> None:
    url, script = server([("status", 503)] * 3)
    policy, _ = no_sleep(3)
    with pytest.raises(ApiError, match=r"status 503 \(HTTP 503\) \(after 3 tries\)") as raised:
        api_at(url, policy).list_uploads()
    assert raised.value.status == 503 and len(script.received) == 3
    url, script = server([("status", 400)])
    with pytest.raises(ApiError, match=r"status 400 \(HTTP 400\)$"):
        api_at(url, policy).list_uploads()


def test_presigned_post_resends_the_whole_file(
    server: Callable[..., tuple[str, Script]], tmp_path: Path
) -> None:
    url, script = server([("reset", 1000), ("status", 503), ("status", 204)])
    policy, sleeps = no_sleep()
    path = tmp_path / "big.bin"
    path.write_bytes(BODY)
    progress: list[int] = []
    upload = {"method": "POST", "url": url, "fields": {"key": "uploads/o/u/big.bin"}}
    with path.open("rb") as handle:
        send_presigned(
            upload,
            handle,
            len(BODY),
            "application/octet-stream",
            "big.bin",
            timeout_s=10,
            on_progress=progress.append,
            retry=policy,
        )
    assert len(sleeps) == 2 and len(script.received) == 2
    for _, _, multipart in script.received:
        assert file_part(multipart, f"multipart/form-data; boundary={multipart[2:34].decode()}") == BODY
    assert sum(progress) == len(BODY) and min(progress) < 0  # a retry starts the bar over


def test_presigned_put_resends_the_whole_body(server: Callable[..., tuple[str, Script]]) -> None:
    url, script = server([("status", 502), ("status", 200)])
    policy, _ = no_sleep()
    send_presigned(
        {"method": "PUT", "url": url, "headers": {}},
        io.BytesIO(BODY),
        len(BODY),
        "a/b",
        "f",
        timeout_s=10,
        retry=policy,
    )
    assert [body for _, _, body in script.received] == [BODY, BODY]


def test_an_unseekable_body_is_sent_once(server: Callable[..., tuple[str, Script]]) -> None:
    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.data = io.BytesIO(b"x" * 100)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            chunk = self.data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    url, script = server([("status", 503), ("status", 200)])
    policy, sleeps = no_sleep()
    with pytest.raises(IntakeError, match="S3 refused the upload"):
        send_presigned(
            {"method": "PUT", "url": url},
            io.BufferedReader(Pipe()),
            100,
            "a/b",
            "f",
            timeout_s=10,
            retry=policy,
        )
    assert sleeps == [] and len(script.received) == 1


def test_presigned_post_stops_at_the_policy_expiration(server: Callable[..., tuple[str, Script]]) -> None:
    url, script = server([("status", 503)] * 10)
    expiration = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    policy_field = base64.b64encode(json.dumps({"expiration": expiration}).encode()).decode()
    policy, sleeps = no_sleep()
    with pytest.raises(IntakeError, match="presigned URL expired"):
        send_presigned(
            {"method": "POST", "url": url, "fields": {"policy": policy_field}},
            io.BytesIO(b"x"),
            1,
            "a/b",
            "f",
            timeout_s=10,
            retry=policy,
        )
    assert len(script.received) == 1 and sleeps == []


def test_download_starts_over_after_a_cut(server: Callable[..., tuple[str, Script]], tmp_path: Path) -> None:
    url, _ = server([("cut", 200), ("status", 504), ("status", 200)], BODY)
    policy, sleeps = no_sleep()
    target = tmp_path / "out.bin"
    with target.open("wb") as handle:
        assert download(f"{url}/file", handle, timeout_s=10, retry=policy) == len(BODY)
    assert target.read_bytes() == BODY and len(sleeps) == 2


def test_download_into_a_pipe_cannot_start_over(server: Callable[..., tuple[str, Script]]) -> None:
    class Pipe(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            return len(data)

    url, _ = server([("cut", 200), ("status", 200)], BODY)
    policy, _ = no_sleep()
    with pytest.raises(IntakeError, match=r"download interrupted .* cannot rewind"):
        download(f"{url}/file", Pipe(), timeout_s=10, retry=policy)  # type: ignore[arg-type]
