"""A 150 MiB JPEG through the `intake` CLI on the local cloud, by presigned multipart: the CLI process
is killed after some parts, `intake upload FILE --resume` sends only the parts S3 lacks (counted on
the emulator: the presigned PUTs it served), and the upload ends `ready` with its thumbnails.

The e2e stack cuts parts of 5 MiB (MultipartMinPartBytes, tests/e2e/conftest.py), so the file has 30.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intake_cli import config
from intake_cli.api import IntakeApi
from intake_cli.app import app
from intake_cli.multipart import StateStore
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
# A presigned request (no Authorization header) for an object, as the emulator's request stats count
# it: every PUT of a part is one (the CLI's single-PUT uploads are POSTs, and nothing else runs here).
PRESIGNED_PUT = ("s3", "PUT object", "anonymous")


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


def presigned_puts(cloud: LocalCloud) -> int:
    return cloud.emulator.requests.counts()[PRESIGNED_PUT]


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
    cloud: LocalCloud, config_dir: Path, tmp_path: Path
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
    held = api.list_parts(state.upload_id)["parts"]
    assert 5 <= len(held) < PART_COUNT, f"{len(held)} parts held: the kill came too late to prove anything"
    assert api.get_upload(state.upload_id)["status"] == "pending"

    # The second run resumes: only the parts S3 lacks go, then complete, then the pipeline.
    before = presigned_puts(cloud)
    second = cli(config_dir, str(photo), "--resume", "--json", "--wait", "--timeout", "300")
    out, err = second.communicate(timeout=600)
    assert second.returncode == 0, err
    [result] = json.loads(out)
    assert result["upload_id"] == state.upload_id and result["status"] == "ready", result
    assert result["multipart"] == {
        "part_count": PART_COUNT,
        "part_size": PART,
        "parts_sent": PART_COUNT - len(held),
        "parts_held": len(held),
    }
    assert presigned_puts(cloud) - before == PART_COUNT - len(held)  # not one held part sent again
    assert store.load(str(photo.absolute())) is None  # nothing left to resume

    record = api.get_upload(state.upload_id)
    assert record["size"] == SIZE and (record["width"], record["height"]) == (1600, 1200)
    assert {t["size"] for t in record["thumbnails"]} == {1024, 512, 128}
    assert all(t["url"] for t in record["thumbnails"])
