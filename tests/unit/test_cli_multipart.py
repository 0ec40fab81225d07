"""The CLI's multipart uploads: the part plan, the state file, the URL book (pure), and the transfer
against a fake API + S3 on 127.0.0.1 that speaks the multipart contract (MULTIPART_CONTRACT.md /
the OpenAPI document): parallel part PUTs, retries, expired URLs, an interrupted upload resumed
without re-sending what S3 holds, and the errors a user can meet. No sleeping: the retry policy's
sleep is injected."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from intake_cli import config
from intake_cli.api import IntakeApi
from intake_cli.app import app
from intake_cli.config import Settings, Tokens
from intake_cli.errors import IntakeError
from intake_cli.multipart import (
    FileFacts,
    OpenUpload,
    Part,
    PartReader,
    PartUrls,
    StateStore,
    UploadChanged,
    UploadClosed,
    check_unchanged,
    parts_to_send,
    plan_parts,
    resumed_note,
)
from intake_cli.retry import RetryPolicy
from tests.unit.test_retry_http import a_token

PART = 64 * 1024  # the fake API's part size: small, so that a test file has several parts


# --- the pure logic -----------------------------------------------------------------------------


def test_the_plan_covers_the_file_exactly() -> None:
    parts = plan_parts(10 * PART + 5, PART, 11)
    assert [p.number for p in parts] == list(range(1, 12))
    assert all(p.size == PART for p in parts[:-1]) and parts[-1] == Part(11, 10 * PART, 5)
    assert sum(p.size for p in parts) == 10 * PART + 5
    assert plan_parts(3 * PART, PART, 3)[-1] == Part(3, 2 * PART, PART)
    for size, part_size, count in [(3 * PART, PART, 4), (3 * PART, PART, 2), (0, PART, 0), (10, 0, 1)]:
        with pytest.raises(IntakeError, match="does not fit the file"):
            plan_parts(size, part_size, count)


def test_parts_held_with_their_size_are_skipped_others_sent() -> None:
    parts = plan_parts(4 * PART - 1, PART, 4)
    held = [
        {"part_number": 1, "etag": '"a"', "size": PART},
        {"part_number": 2, "etag": '"b"', "size": PART - 1},  # another size: sent again
        {"part_number": 4, "etag": '"d"', "size": PART - 1},  # the last, shorter
        {"part_number": 9, "etag": '"z"', "size": PART},  # not in the plan: ignored
        {"part_number": "3", "etag": '"c"', "size": PART},  # malformed: ignored
    ]
    missing, etags = parts_to_send(parts, held)
    assert [p.number for p in missing] == [2, 3]
    assert etags == {1: '"a"', 4: '"d"'}
    assert resumed_note(2, 4) == "resumed: 2 of 4 parts already uploaded"


def a_state(path: str = "/data/big.jpg", size: int = 100, mtime_ns: int = 7) -> OpenUpload:
    return OpenUpload(
        path=path,
        size=size,
        mtime_ns=mtime_ns,
        upload_id="u1",
        key="uploads/o/u1/big.jpg",
        part_size=PART,
        part_count=1,
        api_url="http://api",
        email="me@example.com",
        content_type="image/jpeg",
        started_at="2026-01-01T00:00:00Z",
    )


def test_the_state_file_round_trips_and_is_private(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "uploads")
    assert store.load("/data/big.jpg") is None
    store.save(a_state())
    assert store.load("/data/big.jpg") == a_state()
    assert store.load("/data/other.jpg") is None
    assert store.file_for("/data/big.jpg").stat().st_mode & 0o077 == 0
    store.forget("/data/big.jpg")
    assert store.load("/data/big.jpg") is None
    store.forget("/data/big.jpg")  # twice is fine
    store.file_for("/data/big.jpg").write_text("{not json")
    with pytest.raises(IntakeError, match=r"the upload state .* is not JSON \(delete it to start over\)"):
        store.load("/data/big.jpg")
    store.file_for("/data/big.jpg").write_text(json.dumps({"path": "/data/big.jpg"}))
    with pytest.raises(IntakeError, match="incomplete"):
        store.load("/data/big.jpg")


def test_a_changed_file_is_refused() -> None:
    state = a_state(size=100, mtime_ns=7)
    check_unchanged(state, FileFacts("/data/big.jpg", 100, 7))
    with pytest.raises(
        UploadChanged, match=r"changed since its upload u1 started \(100 bytes then, 99 now\)"
    ):
        check_unchanged(state, FileFacts("/data/big.jpg", 99, 7))
    with pytest.raises(UploadChanged, match=r"modified since.*without --resume"):
        check_unchanged(state, FileFacts("/data/big.jpg", 100, 8))


def signed_url(number: int, signed_at: float, expires_s: int = 900) -> str:
    stamp = datetime.fromtimestamp(signed_at, UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"http://s3/part/{number}?X-Amz-Date={stamp}&X-Amz-Expires={expires_s}&n={uuid.uuid4().hex}"


def test_urls_are_asked_in_batches_and_renewed_before_they_expire() -> None:
    now = [1_800_000_000.0]
    asked: list[list[int]] = []

    def ask(numbers: list[int]) -> dict[str, Any]:
        asked.append(numbers)
        return {"parts": [{"part_number": n, "url": signed_url(n, now[0])} for n in numbers]}

    known = [{"part_number": n, "url": signed_url(n, now[0])} for n in (1, 2)]
    urls = PartUrls(ask, [1, 2, 3, 4, 5, 6, 7], known, clock=lambda: now[0], batch=3, margin_s=60)
    first = urls.url(1)
    assert urls.url(1) == first and asked == []  # the API's first URLs serve
    urls.url(3)
    assert asked == [[3, 4, 5]]  # the part, and the next ones still lacking a URL
    now[0] += 900 - 59  # within the margin of the expiry: renewed
    assert urls.url(1) != first and asked[-1] == [1, 2, 3]
    renewed = urls.url(6)
    urls.expired(6, renewed)  # S3 said so
    assert urls.url(6) != renewed and asked[-1][0] == 6
    urls.expired(6, "some older url")  # a stale report does not drop the fresh URL
    assert urls.url(6) == urls.url(6) and urls.asked == len(asked)


def test_a_part_is_read_in_chunks_never_past_its_end(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(bytes(range(256)) * 100)
    cancel = threading.Event()
    seen: list[int] = []
    with path.open("rb") as handle:
        handle.seek(1000)
        reader = PartReader(handle, 5000, seen.append, cancel)
        chunks = [reader.read(2048), reader.read(2048), reader.read(2048), reader.read(2048)]
    assert len(reader) == 5000 and [len(c) for c in chunks] == [2048, 2048, 904, 0]
    assert b"".join(chunks) == path.read_bytes()[1000:6000] and sum(seen) == 5000
    cancel.set()
    with path.open("rb") as handle, pytest.raises(IntakeError, match="stopped"):
        PartReader(handle, 10, None, cancel).read(10)


# --- a fake API + S3 ----------------------------------------------------------------------------


@dataclass
class FakeUpload:
    upload_id: str
    size: int
    part_count: int
    open: bool = True
    status: str = "pending"
    parts: dict[int, bytes] = field(default_factory=dict)
    completed_with: dict[str, Any] | None = None  # the body of the /complete that completed it


@dataclass
class Fake:
    """The fake's state and its faults, set by each test."""

    base: str = ""
    uploads: dict[str, FakeUpload] = field(default_factory=dict)
    # Per part number: what its next PUTs answer before the real one (a status or "expired").
    part_faults: dict[int, list[Any]] = field(default_factory=dict)
    puts: list[int] = field(default_factory=list)  # part numbers of the PUTs that stored a part
    put_tries: list[int] = field(default_factory=list)  # every PUT, failed ones too
    asked: list[list[int]] = field(default_factory=list)  # POST /parts bodies
    calls: list[str] = field(default_factory=list)  # "METHOD /path" of the API calls
    url_ttl_s: int = 900
    initial_urls: int = 2  # URLs in the POST /uploads answer (the real API gives up to 100)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    gate: threading.Event | None = None  # when set by a test: PUTs of parts > 2 wait for it
    meet: threading.Barrier | None = None  # when set by a test: the first PUTs wait for each other

    def url(self, upload_id: str, number: int) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return f"{self.base}/s3/{upload_id}/{number}?X-Amz-Date={stamp}&X-Amz-Expires={self.url_ttl_s}"


def etag_of(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'  # S3's ETag of a part is its MD5


class FakeHandler(BaseHTTPRequestHandler):
    server: FakeServer
    # A part PUT counts as in flight until its answer starts: the client may send the next part as soon
    # as it has the answer, before this thread would otherwise get to count it done.
    _in_flight = False

    def _done(self) -> None:
        if self._in_flight:
            self._in_flight = False
            with self.server.fake.lock:
                self.server.fake.in_flight -= 1

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
        self._done()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(ConnectionError):  # a client that stopped its upload went away
            self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_PUT(self) -> None:
        fake = self.server.fake
        _, _, upload_id, number_text = urlsplit(self.path).path.split("/")
        number = int(number_text)
        with fake.lock:
            fake.in_flight += 1
            self._in_flight = True
            fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
            fake.put_tries.append(number)
            fault = fake.part_faults.get(number, []).pop(0) if fake.part_faults.get(number) else None
        meet = fake.meet
        if meet is not None:  # the first PUTs wait for each other: proof that they are in flight together
            with contextlib.suppress(threading.BrokenBarrierError):
                meet.wait(30)  # returns as soon as all have met; 5 s was short for a loaded machine
            fake.meet = None
        try:
            if fake.gate is not None and number > 2:
                fake.gate.wait(10)
            self._put(fake, upload_id, number, fault)
        finally:
            self._done()

    def _put(self, fake: Fake, upload_id: str, number: int, fault: Any) -> None:
        data = self._body()
        xml = {"Content-Type": "application/xml"}
        if fault == "expired":
            body = b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
            return self._answer(403, body, xml)
        if isinstance(fault, int):
            return self._answer(fault, b"<Error><Code>SlowDown</Code></Error>", xml)
        upload = fake.uploads.get(upload_id)
        if upload is None or not upload.open:
            return self._answer(404, b"<Error><Code>NoSuchUpload</Code></Error>", xml)
        with fake.lock:
            upload.parts[number] = data
            fake.puts.append(number)
        return self._answer(200, headers={"ETag": etag_of(data)})

    def do_GET(self) -> None:
        fake = self.server.fake
        fake.calls.append(f"GET {self.path}")
        upload = self._upload()
        if upload is None:
            return None
        parts = [
            {"part_number": n, "etag": etag_of(d), "size": len(d)} for n, d in sorted(upload.parts.items())
        ]
        return self._answer(200, {"part_size": PART, "part_count": upload.part_count, "parts": parts})

    def _upload(self) -> FakeUpload | None:
        segments = urlsplit(self.path).path.strip("/").split("/")
        upload = self.server.fake.uploads.get(segments[1]) if len(segments) > 1 else None
        if upload is None:
            self._answer(404, {"message": "upload not found"})
            return None
        if not upload.open:
            self._answer(409, {"message": "the upload is not an open multipart upload"})
            return None
        return upload

    def do_POST(self) -> None:
        fake = self.server.fake
        fake.calls.append(f"POST {self.path}")
        body = json.loads(self._body() or b"{}")
        if self.path == "/uploads":
            return self._create(fake, body)
        upload = self._upload()
        if upload is None:
            return None
        if self.path.endswith("/parts"):
            fake.asked.append(body["part_numbers"])
            urls = [{"part_number": n, "url": fake.url(upload.upload_id, n)} for n in body["part_numbers"]]
            return self._answer(200, {"parts": urls, "expires_at": "2099-01-01T00:00:00Z"})
        if self.path.endswith("/abort"):
            upload.open = False
            return self._answer(204)
        return self._complete(upload, body)

    def _create(self, fake: Fake, body: dict[str, Any]) -> None:
        upload_id = uuid.uuid4().hex
        count = math.ceil(body["size"] / PART)
        fake.uploads[upload_id] = FakeUpload(upload_id, body["size"], count)
        urls = [
            {"part_number": n, "url": fake.url(upload_id, n)}
            for n in range(1, min(count, fake.initial_urls) + 1)
        ]
        upload = {"method": "MULTIPART", "part_size": PART, "part_count": count, "parts": urls}
        key = f"uploads/me/{upload_id}/{body['filename']}"
        answer = {"upload_id": upload_id, "key": key, "expires_at": "2099-01-01T00:00:00Z", "upload": upload}
        return self._answer(201, answer)

    def _complete(self, upload: FakeUpload, body: dict[str, Any]) -> None:
        # As the API: from the parts held, and a list (if any) must match them.
        listed = {p["part_number"]: p["etag"] for p in body.get("parts") or []}
        for n in range(1, upload.part_count + 1):
            if n not in upload.parts or listed.get(n, etag_of(upload.parts[n])) != etag_of(upload.parts[n]):
                return self._answer(400, {"message": f"part {n} is missing or its ETag differs"})
        total = sum(len(d) for d in upload.parts.values())
        if total != upload.size:
            upload.open, upload.status = False, "rejected"
            return self._answer(400, {"message": f"the parts add up to {total} bytes, not {upload.size}"})
        upload.open, upload.completed_with = False, body
        return self._answer(200, {"upload_id": upload.upload_id, "status": "pending"})


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: Fake


@pytest.fixture
def fake() -> Iterator[Fake]:
    httpd = FakeServer(("127.0.0.1", 0), FakeHandler)
    httpd.fake = Fake(base=f"http://127.0.0.1:{httpd.server_address[1]}")
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield httpd.fake
    httpd.shutdown()
    httpd.server_close()


def api_for(fake: Fake, store: StateStore, attempts: int = 6) -> IntakeApi:
    settings = Settings(fake.base, "us-east-1", "us-east-1_x", "client", "http://127.0.0.1:1")
    tokens = Tokens("me@example.com", a_token(), "access", None)
    return IntakeApi(
        settings, tokens, retry=RetryPolicy(attempts=attempts, sleep=lambda _: None), uploads=store
    )


def big_file(tmp_path: Path, parts: float = 7.5) -> Path:
    path = tmp_path / "big.jpg"
    path.write_bytes(os.urandom(int(PART * parts)))
    return path


def stopped_at_part(
    fake: Fake, tmp_path: Path, part: int, *, parts: float = 2.5, fault: int = 400, match: str | None = None
) -> tuple[Path, StateStore, OpenUpload]:
    """An upload of a new file that S3 stops at `part` (answering `fault`): the file, the state store
    and the open upload the CLI remembers for --resume."""
    path, store = big_file(tmp_path, parts), StateStore(tmp_path / "state")
    fake.part_faults = {part: [fault]}
    with pytest.raises(IntakeError, match=match):
        api_for(fake, store).upload_file(path, parallel=1)
    state = store.load(str(path.absolute()))
    assert state is not None
    return path, store, state


def stored(fake: Fake, upload_id: str) -> bytes:
    upload = fake.uploads[upload_id]
    return b"".join(upload.parts[n] for n in range(1, upload.part_count + 1))


# --- the transfer -------------------------------------------------------------------------------


def test_a_large_file_goes_in_parallel_parts_then_completes(fake: Fake, tmp_path: Path) -> None:
    path, store = big_file(tmp_path), StateStore(tmp_path / "state")
    fake.part_faults = {3: [503], 5: [502, 429]}  # retried, the part sent again whole
    fake.meet = threading.Barrier(3)
    progress: list[int] = []
    started: list[int] = []
    grant = api_for(fake, store).upload_file(
        path, on_start=started.append, on_progress=progress.append, parallel=3
    )
    upload = fake.uploads[grant["upload_id"]]
    assert stored(fake, upload.upload_id) == path.read_bytes() and not upload.open
    assert upload.completed_with == {}  # the API completes from S3's parts: a tiny body at any size
    assert sorted(fake.puts) == list(range(1, 9)) and sorted(fake.put_tries) == sorted(
        [*range(1, 9), 3, 5, 5]
    )
    assert fake.max_in_flight == 3
    assert grant["multipart"] == {"part_count": 8, "part_size": PART, "parts_sent": 8, "parts_held": 0}
    assert started == [path.stat().st_size] and sum(progress) == path.stat().st_size
    # The first two URLs came with POST /uploads, the rest in one batch.
    assert fake.asked == [[3, 4, 5, 6, 7, 8]]
    assert store.load(str(path.absolute())) is None  # completed: nothing left to resume


def test_an_interrupted_upload_resumes_without_resending_what_s3_holds(fake: Fake, tmp_path: Path) -> None:
    # 403 is final: the upload stops, as when the connection drops for good.
    resume = r"S3 refused part 4: SlowDown.*`intake upload .*big.jpg --resume`"
    path, store, state = stopped_at_part(fake, tmp_path, 4, parts=7.5, fault=403, match=resume)
    assert state.part_count == 8
    held = set(fake.uploads[state.upload_id].parts)
    assert held == {1, 2, 3}
    fake.puts.clear()
    notes: list[str] = []
    progress: list[int] = []
    grant = api_for(fake, store).upload_file(
        path, resume=True, on_note=notes.append, on_progress=progress.append
    )
    assert grant["upload_id"] == state.upload_id and len(fake.uploads) == 1  # no new upload
    assert sorted(fake.puts) == [4, 5, 6, 7, 8]  # only what S3 lacked
    assert notes[-1] == "resumed: 3 of 8 parts already uploaded"
    assert grant["multipart"] == {"part_count": 8, "part_size": PART, "parts_sent": 5, "parts_held": 3}
    assert sum(progress) == path.stat().st_size  # the bar covers the whole file
    assert stored(fake, state.upload_id) == path.read_bytes()
    assert store.load(str(path.absolute())) is None


def test_without_resume_a_new_upload_replaces_the_open_one(fake: Fake, tmp_path: Path) -> None:
    path, store, old = stopped_at_part(fake, tmp_path, 2)
    grant = api_for(fake, store).upload_file(path)
    assert grant["upload_id"] != old.upload_id and not fake.uploads[old.upload_id].open  # aborted
    assert f"POST /uploads/{old.upload_id}/abort" in fake.calls


def test_an_expired_url_is_renewed(fake: Fake, tmp_path: Path) -> None:
    path, store = big_file(tmp_path, 2.5), StateStore(tmp_path / "state")
    fake.part_faults = {1: ["expired"]}
    grant = api_for(fake, store).upload_file(path)
    assert stored(fake, grant["upload_id"]) == path.read_bytes()
    assert [1] in [batch[:1] for batch in fake.asked]  # a fresh URL for part 1


def test_resume_refuses_a_changed_file_and_a_closed_upload(fake: Fake, tmp_path: Path) -> None:
    path, store, state = stopped_at_part(fake, tmp_path, 2)
    with path.open("ab") as handle:
        handle.write(b"more")
    with pytest.raises(UploadChanged, match=r"changed since its upload .* started .*without --resume"):
        api_for(fake, store).upload_file(path, resume=True)
    os.utime(path, ns=(state.mtime_ns, state.mtime_ns))
    with path.open("r+b") as handle:
        handle.truncate(state.size)
    os.utime(path, ns=(state.mtime_ns, state.mtime_ns))
    fake.uploads[state.upload_id].open = False  # completed or aborted elsewhere
    with pytest.raises(UploadClosed, match=r"is no longer open .*HTTP 409.*again without --resume"):
        api_for(fake, store).upload_file(path, resume=True)
    assert store.load(str(path.absolute())) is None  # nothing left to resume
    store.save(state)
    del fake.uploads[state.upload_id]
    with pytest.raises(UploadClosed, match="no longer exists"):
        api_for(fake, store).upload_file(path, resume=True)


def test_a_declared_size_refusal_forgets_the_upload(fake: Fake, tmp_path: Path) -> None:
    path, store, state = stopped_at_part(fake, tmp_path, 3)
    fake.uploads[state.upload_id].size += 1  # as if more had been declared
    fake.uploads[state.upload_id].status = "rejected"

    def get_upload(upload_id: str) -> dict[str, Any]:
        return {"upload_id": upload_id, "status": fake.uploads[upload_id].status}

    api = api_for(fake, store)
    api.get_upload = get_upload  # type: ignore[method-assign]
    with pytest.raises(IntakeError, match=r"the parts add up to .* \(HTTP 400\)$"):
        api.upload_file(path, resume=True)
    assert store.load(str(path.absolute())) is None


def test_a_failing_part_stops_the_others(fake: Fake, tmp_path: Path) -> None:
    path, store = big_file(tmp_path, 7.5), StateStore(tmp_path / "state")
    fake.part_faults = {1: [400]}
    fake.gate = threading.Event()
    threading.Timer(0.5, fake.gate.set).start()
    with pytest.raises(IntakeError, match="S3 refused part 1"):
        api_for(fake, store).upload_file(path, parallel=2)
    assert len(fake.put_tries) < 8  # the queued parts never started


def test_a_stream_goes_part_by_part_and_a_pipe_is_refused(fake: Fake, tmp_path: Path) -> None:
    data = os.urandom(int(PART * 2.5))
    api = api_for(fake, StateStore(tmp_path / "state"))
    stream = io.BytesIO(b"skipped" + data)
    stream.seek(7)
    grant = api.upload_stream(stream, "big.jpg", len(data))
    assert stored(fake, grant["upload_id"]) == data and fake.max_in_flight == 1
    assert grant["multipart"]["parts_sent"] == 3
    read, write = os.pipe()
    with (
        os.fdopen(read, "rb") as pipe,
        os.fdopen(write, "wb"),
        pytest.raises(IntakeError, match="needs a file it can seek in"),
    ):
        api.upload_stream(pipe, "big.jpg", len(data))


# --- the command ----------------------------------------------------------------------------------


def test_the_command_resumes_and_prints_json(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "config"
    monkeypatch.setenv("INTAKE_CONFIG_DIR", str(directory))
    config.save_settings(Settings(fake.base, "us-east-1", "us-east-1_x", "client", "http://127.0.0.1:1"))
    config.save_tokens(Tokens("me@example.com", a_token(), "access", None))
    path = big_file(tmp_path, 3.5)
    fake.part_faults = {2: [400]}
    env = {"INTAKE_CONFIG_DIR": str(directory)}
    runner = CliRunner()
    first = runner.invoke(app, ["upload", str(path), "--json", "--parallel", "1"], env=env)
    assert first.exit_code == 1, first.output
    [failed] = json.loads(first.stdout)
    assert "--resume" in failed["error"]
    [state_file] = (directory / "uploads").iterdir()
    upload_id = json.loads(state_file.read_text())["upload_id"]
    again = runner.invoke(app, ["upload", str(path), "--resume", "--json"], env=env)
    assert again.exit_code == 0, again.output
    [done] = json.loads(again.stdout)
    assert done["status"] == "pending" and done["upload_id"] == upload_id
    assert done["multipart"] == {"part_count": 4, "part_size": PART, "parts_sent": 3, "parts_held": 1}
    assert not list((directory / "uploads").iterdir())
    plain = runner.invoke(app, ["upload", str(path)], env={**env, "COLUMNS": "200"})
    assert plain.exit_code == 0 and ", 4 parts" in plain.stdout, plain.output
