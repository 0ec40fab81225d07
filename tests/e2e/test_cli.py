"""The `intake` CLI against the local cloud: sign-in, uploads through presigned POSTs, queries, errors.

Each test signs in as its own user, so the listings only hold what the test uploaded.
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from intake_cli import config
from intake_cli.api import IntakeApi
from intake_cli.app import app
from intake_cli.cognito import jwt_claims
from intake_cli.errors import IntakeError
from localcloud.cloud import LocalCloud
from localcloud.server import free_port
from localcloud.users import create_user
from tests.e2e.conftest import Uploader
from tests.support import images

pytestmark = pytest.mark.e2e

PASSWORD = "Cli-test-pass1!"
Run = Callable[..., Result]


def new_email() -> str:
    return f"cli-{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "intake-config"
    monkeypatch.setenv("INTAKE_CONFIG_DIR", str(directory))
    return directory


@pytest.fixture
def run(config_dir: Path) -> Run:
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        # A wide "terminal", so that table cells are not folded across lines.
        return runner.invoke(app, list(args), env={"INTAKE_CONFIG_DIR": str(config_dir), "COLUMNS": "200"})

    return invoke


@pytest.fixture
def signed_in(cloud: LocalCloud, run: Run) -> Iterator[str]:
    email = new_email()
    create_user(cloud.client("cognito-idp"), cloud.outputs["UserPoolId"], email, PASSWORD)
    result = run("login", "--api-url", cloud.api_url, "--email", email, "--password", PASSWORD)
    assert result.exit_code == 0, result.output
    yield email


def one_line_error(result: Result, *fragments: str) -> None:
    """An expected failure: non-zero exit, one `error:` line on stderr, no traceback."""
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_login_failures_are_one_line(cloud: LocalCloud, run: Run, config_dir: Path) -> None:
    one_line_error(run("ls"), "not signed in", "intake login")
    email = new_email()
    create_user(cloud.client("cognito-idp"), cloud.outputs["UserPoolId"], email, PASSWORD)
    wrong = run("login", "--api-url", cloud.api_url, "--email", email, "--password", "not-it-1A!")
    one_line_error(wrong, "sign-in refused")
    assert not (config_dir / "tokens.json").exists()

    ok = run("login", "--api-url", cloud.api_url, "--email", email, "--password", PASSWORD)
    assert ok.exit_code == 0, ok.output
    saved = json.loads((config_dir / "config.json").read_text())
    # The ids come from the front's config.js, the Cognito endpoint is the emulator's.
    assert saved["user_pool_id"] == cloud.outputs["UserPoolId"]
    assert saved["client_id"] == cloud.outputs["UserPoolClientId"]
    assert saved["cognito_endpoint"].rstrip("/") == cloud.endpoint
    assert (config_dir / "tokens.json").stat().st_mode & 0o077 == 0  # tokens readable by the user only


def test_new_password_required(cloud: LocalCloud, run: Run) -> None:
    cognito, pool = cloud.client("cognito-idp"), cloud.outputs["UserPoolId"]
    email = new_email()
    cognito.admin_create_user(
        UserPoolId=pool,
        Username=email,
        TemporaryPassword="Temp-pass-1A!",
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )
    base = ("login", "--api-url", cloud.api_url, "--email", email)
    one_line_error(run(*base, "--password", "Temp-pass-1A!"), "new password", "--new-password")
    result = run(*base, "--password", "Temp-pass-1A!", "--new-password", PASSWORD)
    assert result.exit_code == 0, result.output
    # The new password is the password now.
    assert run(*base, "--password", PASSWORD).exit_code == 0


def test_upload_wait_show_get_rm(signed_in: str, run: Run, tmp_path: Path) -> None:
    photo = write(tmp_path, "photo one.jpg", images.jpeg(640, 480))
    logo = write(tmp_path, "logo.png", images.png_with_alpha())
    broken = write(tmp_path, "broken.jpg", images.truncated_jpeg())
    notes = write(tmp_path, "notes.txt", b"not an image")

    result = run(
        "upload", str(photo), str(logo), str(broken), str(notes), "--wait", "--json", "--timeout", "90"
    )
    assert result.exit_code == 1, result.output  # not every file ended ready
    by_name = {Path(r["file"]).name: r for r in json.loads(result.stdout)}
    assert by_name["photo one.jpg"]["status"] == "ready"
    assert by_name["logo.png"]["status"] == "ready"
    assert by_name["broken.jpg"]["status"] == "rejected"
    assert by_name["broken.jpg"]["status_reasons"], by_name["broken.jpg"]
    assert "not allowed" in by_name["notes.txt"]["error"] and by_name["notes.txt"]["upload_id"] is None

    photo_id = by_name["photo one.jpg"]["upload_id"]
    shown = run("show", photo_id, "--json")
    assert shown.exit_code == 0, shown.output
    record = json.loads(shown.stdout)
    assert record["filename"] == "photo one.jpg" and (record["width"], record["height"]) == (640, 480)
    assert {t["size"] for t in record["thumbnails"]} == {1024, 512, 128}
    assert all(t["url"] for t in record["thumbnails"])
    table = run("show", photo_id)
    assert table.exit_code == 0 and "ready" in table.stdout and "640x480" in table.stdout

    target = tmp_path / "downloaded.jpg"
    assert run("get", photo_id, "-o", str(target)).exit_code == 0
    assert target.read_bytes() == photo.read_bytes()
    one_line_error(run("get", photo_id, "-o", str(target)), "exists", "--force")
    assert run("get", photo_id, "-o", str(target), "--force").exit_code == 0

    one_line_error(run("rm", photo_id), "--yes")  # no terminal to confirm on
    removed = run("rm", photo_id, "--yes")
    assert removed.exit_code == 0, removed.output
    one_line_error(run("show", photo_id), "no upload", photo_id)
    one_line_error(run("rm", photo_id, "--yes"), "no upload")
    listed = json.loads(run("ls", "--json").stdout)
    assert {i["filename"] for i in listed["items"]} == {"logo.png", "broken.jpg"}


def test_ls_pages_and_filters(signed_in: str, run: Run, tmp_path: Path) -> None:
    files = [write(tmp_path, f"page-{n}.png", images.png_with_alpha(40 + n, 30)) for n in range(3)]
    for path in files:  # one at a time, so created_at orders them
        assert run("upload", str(path)).exit_code == 0

    first = json.loads(run("ls", "--limit", "2", "--json").stdout)
    assert [i["filename"] for i in first["items"]] == ["page-2.png", "page-1.png"]  # newest first
    assert first["next_cursor"]
    rest = json.loads(run("ls", "--limit", "2", "--cursor", first["next_cursor"], "--json").stdout)
    assert [i["filename"] for i in rest["items"]] == ["page-0.png"] and rest["next_cursor"] is None
    everything = json.loads(run("ls", "--limit", "1", "--all", "--json").stdout)
    assert [i["filename"] for i in everything["items"]] == ["page-2.png", "page-1.png", "page-0.png"]

    table = run("ls", "--limit", "2")
    assert table.exit_code == 0 and "page-2.png" in table.stdout and "--cursor" in table.stdout
    one_line_error(run("ls", "--status", "nonsense"), "status must be one of", "400")


def _expired_copy(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["exp"] = int(time.time()) - 600
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


def test_expired_id_token_is_refreshed(signed_in: str, run: Run, config_dir: Path) -> None:
    tokens_file = config_dir / "tokens.json"
    tokens = json.loads(tokens_file.read_text())
    tokens["id_token"] = _expired_copy(tokens["id_token"])
    tokens_file.write_text(json.dumps(tokens))

    result = run("ls", "--json")
    assert result.exit_code == 0, result.output
    renewed = json.loads(tokens_file.read_text())["id_token"]
    assert renewed != tokens["id_token"] and jwt_claims(renewed)["exp"] > time.time()

    tokens["refresh_token"] = "not-a-refresh-token"
    tokens_file.write_text(json.dumps(tokens))  # the expired ID token again, and nothing to renew it
    one_line_error(run("ls"), "session expired", "intake login")


def test_unreachable_api_is_one_line(signed_in: str, run: Run, config_dir: Path) -> None:
    settings = json.loads((config_dir / "config.json").read_text())
    dead = f"http://127.0.0.1:{free_port()}"
    (config_dir / "config.json").write_text(json.dumps({**settings, "api_url": dead}))
    one_line_error(run("ls"), "cannot reach the API", dead)


def test_s3_refusal_is_reported(signed_in: str, config_dir: Path) -> None:
    settings, tokens = config.load_settings(), config.load_tokens()
    assert settings and tokens
    api = IntakeApi(settings, tokens)
    grant = api.create_upload("small.png", "image/png", 10)
    body = images.png_with_alpha()  # far more than the 10 bytes the policy allows
    with pytest.raises(IntakeError, match="S3 refused the upload: EntityTooLarge"):
        api.send(grant, io.BytesIO(body), len(body), "image/png", "small.png")


def test_console_script_prints_no_traceback(signed_in: str, config_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "intake_cli.app", "show", "0123456789abcdef"],
        env={"INTAKE_CONFIG_DIR": str(config_dir), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("error: no upload '0123456789abcdef'"), result.stderr


def test_the_cli_sets_the_preference_and_notify_follows_it(
    signed_in: str, run: Run, tmp_path: Path, uploader: Uploader
) -> None:
    shown = run("prefs")
    assert shown.exit_code == 0 and "email: digest" in shown.stdout, shown.output
    set_none = run("prefs", "--email", "none", "--json")
    assert set_none.exit_code == 0 and json.loads(set_none.stdout) == {"email": "none"}, set_none.output
    assert json.loads(run("prefs", "--json").stdout) == {"email": "none"}
    assert run("prefs", "--email", "weekly").exit_code == 2  # typer refuses the choice

    photo = write(tmp_path, "quiet.jpg", images.jpeg(200, 100))
    result = run("upload", str(photo), "--wait", "--json", "--timeout", "90")
    assert result.exit_code == 0, result.output
    (uploaded,) = json.loads(result.stdout)
    record = uploader.final(uploaded["upload_id"])
    assert record.notified is not None
    assert record.notified.detail == "not sent: the owner's email preference is none"
    assert uploader.emails_to(signed_in) == []
    assert json.loads(run("prefs", "--email", "each", "--json").stdout) == {"email": "each"}
