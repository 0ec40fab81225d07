"""A 150 MiB JPEG through the `intake` CLI on the local cloud, by presigned multipart: the CLI process
is killed after some parts (or interrupted with Ctrl-C), `intake upload FILE --resume` sends only the
parts S3 lacks (the part PUTs
the emulator served are logged by a test-side WSGI wrapper, with their answers), and the upload ends
`ready` with its thumbnails.

The e2e stack cuts parts of 5 MiB (MultipartMinPartBytes, tests/e2e/conftest.py), so the file has 30.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from typer.testing import CliRunner

from intake_cli import config
from intake_cli.api import IntakeApi
from intake_cli.app import app
from intake_cli.errors import ApiError
from intake_cli.multipart import FileFacts, OpenUpload, StateStore
from localcloud.cloud import LocalCloud
from localcloud.users import create_user
from tests.e2e.conftest import wait_for
from tests.support import images

pytestmark = pytest.mark.e2e

PASSWORD = "Multipart-pass-1A!"
MIB = 1024 * 1024
SIZE = 150 * MIB
PART = 5 * MIB  # the e2e stack's MultipartMinPartBytes
PART_COUNT = SIZE // PART


def big_jpeg(path: Path, size: int) -> None:
    """A valid JPEG of exactly `size` bytes: a small photo, then zeros after its end-of-image marker,
    which decoders ignore (its pixels stay far below the pixel limit). Written 1 MiB at a time."""
    photo = images.jpeg(1600, 1200)
    assert photo.endswith(b"\xff\xd9")
    with path.open("wb") as handle:
        handle.write(photo)
        left = size - len(photo)
        while left:
            chunk = min(left, MIB)
            handle.write(bytes(chunk))
            left -= chunk


class PartLog:
    """In front of the emulator (inside its request counter): every UploadPart it serves, as
    (part number, HTTP status), and how many are being served right now."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.served: list[tuple[int, int]] = []
        self.in_flight = 0
        self.delay_s = 0.0  # held before each part is served: a slow S3
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        query = parse_qs(str(environ.get("QUERY_STRING", "")))
        if environ.get("REQUEST_METHOD") != "PUT" or "uploadId" not in query or "partNumber" not in query:
            return self.app(environ, start_response)
        number = int(query["partNumber"][0])
        with self._lock:
            self.in_flight += 1
        if self.delay_s:
            time.sleep(self.delay_s)

        def answered(status: str, headers: Any, *exc_info: Any) -> Any:
            with self._lock:
                self.served.append((number, int(status.split()[0])))
                self.in_flight -= 1
            return start_response(status, headers, *exc_info)

        try:
            return self.app(environ, answered)
        except BaseException:
            with self._lock:
                self.in_flight -= 1
            raise


@pytest.fixture
def part_log(cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch) -> PartLog:
    log = PartLog(cloud.emulator.requests.app)
    monkeypatch.setattr(cloud.emulator.requests, "app", log)
    return log


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cloud: LocalCloud) -> Path:
    directory = tmp_path / "intake-config"
    monkeypatch.setenv("INTAKE_CONFIG_DIR", str(directory))
    email = f"mp-{uuid.uuid4().hex[:10]}@example.com"
    create_user(cloud.client("cognito-idp"), cloud.outputs["UserPoolId"], email, PASSWORD)
    login = ["login", "--api-url", cloud.api_url, "--email", email, "--password", PASSWORD]
    result = CliRunner().invoke(app, login, env={"INTAKE_CONFIG_DIR": str(directory)})
    assert result.exit_code == 0, result.output
    return directory


def cli(config_dir: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "INTAKE_CONFIG_DIR": str(config_dir)}
    command = [sys.executable, "-m", "intake_cli.app", "upload", *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_150_mib_jpeg_is_interrupted_resumed_and_ready(
    cloud: LocalCloud, config_dir: Path, tmp_path: Path, part_log: PartLog
) -> None:
    photo = tmp_path / "panorama.jpg"
    big_jpeg(photo, SIZE)
    settings, tokens = config.load_settings(), config.load_tokens()
    assert settings and tokens
    api = IntakeApi(settings, tokens)
    store = StateStore(config.uploads_dir())

    # The first run: killed (SIGKILL, no goodbye) once S3 holds a few parts.
    first = cli(config_dir, str(photo), "--json", "--parallel", "2")
    try:
        state = wait_for(lambda: store.load(str(photo.absolute())), 60, "the CLI to open its upload")
        assert (state.part_count, state.part_size) == (PART_COUNT, PART)

        def some_parts() -> bool:
            return len(api.list_parts(state.upload_id)["parts"]) >= 5

        wait_for(some_parts, 180, "S3 to hold 5 parts")
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=60)
    wait_for(lambda: part_log.in_flight == 0, 60, "the emulator to finish the killed CLI's requests")
    held = sorted(p["part_number"] for p in api.list_parts(state.upload_id)["parts"])
    assert 5 <= len(held) < PART_COUNT, f"{len(held)} parts held: the kill came too late to prove anything"
    assert api.get_upload(state.upload_id)["status"] == "pending"
    missing = sorted(set(range(1, PART_COUNT + 1)) - set(held))

    # The second run resumes: only the parts S3 lacks go, then complete, then the pipeline.
    before = len(part_log.served)
    second = cli(config_dir, str(photo), "--resume", "--json", "--wait", "--timeout", "300")
    out, err = second.communicate(timeout=600)
    assert second.returncode == 0, err
    [result] = json.loads(out)
    assert result["upload_id"] == state.upload_id and result["status"] == "ready", result
    assert result["multipart"] == {
        "part_count": PART_COUNT,
        "part_size": PART,
        "parts_sent": len(missing),
        "parts_held": len(held),
    }
    resumed = part_log.served[before:]
    assert not [n for n, _ in resumed if n in held]  # not one held part sent again
    assert sorted(n for n, status in resumed if status == 200) == missing  # each missing one once
    assert store.load(str(photo.absolute())) is None  # nothing left to resume

    record = api.get_upload(state.upload_id)
    assert record["size"] == SIZE and (record["width"], record["height"]) == (1600, 1200)
    assert {t["size"] for t in record["thumbnails"]} == {1024, 512, 128}
    assert all(t["url"] for t in record["thumbnails"])
    # Later tests read moto's whole state (/moto-api/data.json), 150 MiB objects included: gone.
    api.delete_upload(state.upload_id)


def test_without_resume_a_new_upload_replaces_the_open_one(
    cloud: LocalCloud, config_dir: Path, tmp_path: Path, part_log: PartLog
) -> None:
    photo = tmp_path / "again.jpg"
    big_jpeg(photo, 11 * MIB)  # three parts
    settings, tokens = config.load_settings(), config.load_tokens()
    assert settings and tokens
    store = StateStore(config.uploads_dir())
    api = IntakeApi(settings, tokens, uploads=store)
    # An upload of this file left open, as a killed CLI leaves it (no part sent yet).
    grant = api.create_upload(photo.name, "image/jpeg", photo.stat().st_size)
    assert grant["upload"]["method"] == "MULTIPART" and grant["upload"]["part_count"] == 3
    facts = FileFacts.of(photo)
    store.save(
        OpenUpload(
            path=facts.path,
            size=facts.size,
            mtime_ns=facts.mtime_ns,
            upload_id=grant["upload_id"],
            key=grant["key"],
            part_size=PART,
            part_count=3,
            api_url=settings.api_url,
            email=tokens.email,
            content_type="image/jpeg",
            started_at="2026-01-01T00:00:00Z",
        )
    )
    run = cli(config_dir, str(photo), "--json", "--wait", "--timeout", "120")
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    [result] = json.loads(out)
    assert result["status"] == "ready" and result["upload_id"] != grant["upload_id"]
    assert result["multipart"]["parts_held"] == 0 and result["multipart"]["parts_sent"] == 3
    # The open one was aborted: gone from S3 and from the index (as DELETE removes an upload).
    with pytest.raises(ApiError) as gone:
        api.get_upload(grant["upload_id"])
    assert gone.value.status == 404
    key = grant["key"]
    listed = cloud.client("s3").list_multipart_uploads(Bucket=cloud.outputs["UploadBucketName"], Prefix=key)
    assert not listed.get("Uploads")
    assert sorted(n for n, status in part_log.served if status == 200) == [1, 2, 3]


def test_ctrl_c_stops_the_parts_names_the_resume_command_and_resume_finishes(
    config_dir: Path, tmp_path: Path, part_log: PartLog
) -> None:
    """SIGINT (Ctrl-C) rather than a kill: the CLI stops its parts, says how to go on, exits 130 and
    keeps its state file; --resume then completes the upload."""
    photo = tmp_path / "interrupted.jpg"
    big_jpeg(photo, 6 * PART)
    settings, tokens = config.load_settings(), config.load_tokens()
    assert settings and tokens
    api = IntakeApi(settings, tokens)
    store = StateStore(config.uploads_dir())
    part_log.delay_s = 0.5  # a slow S3: the interrupt lands while parts are still to go

    first = cli(config_dir, str(photo), "--parallel", "1")
    try:
        state = wait_for(lambda: store.load(str(photo.absolute())), 60, "the CLI to open its upload")
        wait_for(lambda: len(api.list_parts(state.upload_id)["parts"]) >= 2, 120, "S3 to hold 2 parts")
    finally:
        first.send_signal(signal.SIGINT)
        _, err = first.communicate(timeout=60)
    assert first.returncode == 130, err
    assert f"interrupted: `intake upload {photo} --resume` continues the large files" in " ".join(err.split())
    wait_for(lambda: part_log.in_flight == 0, 60, "the emulator to finish the interrupted parts")
    held = len(api.list_parts(state.upload_id)["parts"])
    assert 2 <= held < 6, f"{held} parts held: the interrupt came too late to prove anything"
    assert store.load(str(photo.absolute())) == state  # kept for --resume

    part_log.delay_s = 0.0
    second = cli(config_dir, str(photo), "--resume", "--json")
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    [result] = json.loads(out)
    assert result["upload_id"] == state.upload_id
    assert (result["multipart"]["parts_held"], result["multipart"]["parts_sent"]) == (held, 6 - held)
    assert store.load(str(photo.absolute())) is None
    api.delete_upload(state.upload_id)
