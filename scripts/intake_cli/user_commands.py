"""The client commands of `intake`: login, logout, upload, ls, show, get, rm, prefs.

They parse options, call the API client (api, cognito, config) and print (output).
"""

from __future__ import annotations

import shlex
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from intake_cli import config
from intake_cli.api import IntakeApi, UploadPlan, original_url, upload_files
from intake_cli.cognito import sign_in
from intake_cli.config import ConfigError, Settings
from intake_cli.errors import IntakeError
from intake_cli.multipart import DEFAULT_PARALLEL, StateStore
from intake_cli.output import (
    UploadProgress,
    fail,
    human_size,
    one_line_errors,
    out,
    print_json,
    print_page,
    print_record,
    print_upload_results,
)


def connect() -> IntakeApi:
    """The signed-in API from the saved settings and tokens."""
    with one_line_errors():
        settings, tokens = config.load_settings(), config.load_tokens()
    if not settings or not tokens:
        fail("not signed in: run `intake login`")
    return IntakeApi(settings, tokens, on_tokens=config.save_tokens, uploads=StateStore(config.uploads_dir()))


def _settings_for_login(api_url: str | None, stack: str, overrides: dict[str, str | None]) -> Settings:
    """The saved settings for the same API on AWS; else discovered anew (the local cloud gets new ids on
    every start)."""
    try:
        saved = config.load_settings()
    except ConfigError:
        saved = None
    target = (api_url or (saved.api_url if saved else config.LOCAL_API_URL)).rstrip("/")
    overridden = any(overrides.values())
    if saved and saved.api_url == target and not config.is_local(target) and not overridden:
        return saved
    with one_line_errors():
        return config.discover(
            api_url=api_url or (saved.api_url if saved and not overridden else None), stack=stack, **overrides
        )


def login(
    email: Annotated[str | None, typer.Option(help="your email (asked if missing)")] = None,
    password: Annotated[str | None, typer.Option(help="your password (asked if missing)")] = None,
    new_password: Annotated[
        str | None, typer.Option(help="the new password, when the account must set one")
    ] = None,
    api_url: Annotated[
        str | None, typer.Option(help=f"the API (default: the saved one, else {config.LOCAL_API_URL})")
    ] = None,
    profile: Annotated[str | None, typer.Option(help="AWS profile, to read the stack outputs")] = None,
    region: Annotated[str | None, typer.Option(help="AWS region of the user pool")] = None,
    stack: Annotated[
        str, typer.Option(help="the CloudFormation stack to read ids from")
    ] = config.DEFAULT_STACK,
    user_pool_id: Annotated[str | None, typer.Option(help="Cognito user pool id")] = None,
    client_id: Annotated[str | None, typer.Option(help="Cognito app client id")] = None,
    cognito_endpoint: Annotated[str | None, typer.Option(help="Cognito endpoint URL")] = None,
) -> None:
    """Sign in with Cognito and remember the API and the tokens."""
    overrides = {
        "profile": profile,
        "region": region,
        "user_pool_id": user_pool_id,
        "client_id": client_id,
        "cognito_endpoint": cognito_endpoint,
    }
    settings = _settings_for_login(api_url, stack, overrides)
    email = email or typer.prompt("Email")
    password = password or typer.prompt("Password", hide_input=True)

    def ask_new_password() -> str:
        if new_password:
            return new_password
        if not sys.stdin.isatty():
            raise IntakeError("this account must set a new password: pass --new-password")
        return str(typer.prompt("New password", hide_input=True, confirmation_prompt=True))

    with one_line_errors():
        tokens = sign_in(settings, email, password, ask_new_password)
        config.save_settings(settings)
        config.save_tokens(tokens)
    out.print(f"signed in as [bold]{email}[/] to {settings.api_url}", highlight=False)


def logout() -> None:
    """Forget the saved tokens."""
    with one_line_errors():
        config.clear_tokens()
    out.print("signed out")


def _metadata(title: str | None, description: str | None, tags: str | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"title": title, "description": description}
    if tags:
        metadata["tags"] = [t.strip() for t in tags.split(",") if t.strip()]
    return {k: v for k, v in metadata.items() if v}


def upload(
    files: Annotated[list[Path], typer.Argument(help="files to upload", show_default=False)],
    wait: Annotated[
        bool, typer.Option("--wait", help="wait until each upload is ready, rejected or failed")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="print the results as JSON")] = False,
    jobs: Annotated[int, typer.Option(min=1, max=32, help="uploads at the same time")] = 4,
    content_type: Annotated[
        str | None, typer.Option(help="the type (default: guessed from the name)")
    ] = None,
    title: Annotated[str | None, typer.Option(help="a title for every file")] = None,
    description: Annotated[str | None, typer.Option(help="a description for every file")] = None,
    tags: Annotated[str | None, typer.Option(help="comma-separated tags for every file")] = None,
    timeout: Annotated[float, typer.Option(help="seconds --wait waits for each upload")] = 120,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="continue the interrupted upload of a large file (sends only missing parts)"
        ),
    ] = False,
    parallel: Annotated[
        int, typer.Option(min=1, max=32, help="parts of a large file sent at the same time")
    ] = DEFAULT_PARALLEL,
) -> None:
    """Upload files through presigned requests, several at once, with progress bars.

    Large files (above the API's threshold, 100 MiB by default) go by multipart, in parallel parts;
    an interrupted one continues with --resume.
    """
    api = connect()
    plan = UploadPlan(
        content_type,
        _metadata(title, description, tags),
        wait=wait,
        wait_timeout_s=timeout,
        resume=resume,
        parallel=parallel,
    )
    try:
        with UploadProgress(quiet=json_out) as progress:
            results = upload_files(api, files, plan, progress, jobs=jobs)
    except KeyboardInterrupt:
        again = shlex.join(["intake", "upload", *map(str, files), "--resume"])
        fail(f"interrupted: `{again}` continues the large files where they stopped", code=130)
    print_upload_results(results, as_json=json_out)
    if any(r.error or (wait and r.status != "ready") for r in results):
        raise typer.Exit(1)


def ls(
    status: Annotated[str | None, typer.Option(help="only uploads with this status")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="uploads per page")] = None,
    all_pages: Annotated[bool, typer.Option("--all", help="follow next_cursor to the end")] = False,
    cursor: Annotated[str | None, typer.Option(help="continue from a previous page's next_cursor")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON: {items, next_cursor}")] = False,
) -> None:
    """List your uploads, newest first."""
    api = connect()
    with one_line_errors():
        if all_pages:
            page: dict[str, Any] = {
                "items": list(api.iter_uploads(limit=limit, status=status)),
                "next_cursor": None,
            }
        else:
            page = api.list_uploads(limit=limit, cursor=cursor, status=status)
    if json_out:
        print_json(page)
        return
    print_page(page)


def show(
    upload_id: Annotated[str, typer.Argument(help="the upload id")],
    json_out: Annotated[bool, typer.Option("--json", help="print the record as JSON")] = False,
) -> None:
    """Show one upload: status, reasons, details and links."""
    api = connect()
    with one_line_errors():
        record = api.get_upload(upload_id)
    if json_out:
        print_json(record)
        return
    print_record(record)


def _save(api: IntakeApi, url: str, target: Path) -> int:
    """Download to a hidden file beside `target`, renamed over it once complete."""
    partial = target.with_name(f".{target.name}.part")
    try:
        with partial.open("wb") as handle, one_line_errors():
            size = api.download(url, handle)
        partial.replace(target)
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror}")
    finally:
        partial.unlink(missing_ok=True)
    return size


def get(
    upload_id: Annotated[str, typer.Argument(help="the upload id")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="where to save it ('-' for stdout; default: its name)"),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing file")] = False,
) -> None:
    """Download the original file."""
    api = connect()
    with one_line_errors():
        record = api.get_upload(upload_id)
    url = original_url(record)
    if not url:
        fail(f"upload {upload_id} has no downloadable original (status {record.get('status')})")
    if output is not None and str(output) == "-":
        with one_line_errors():
            api.download(url, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    name = Path(str(record.get("filename") or upload_id)).name
    target = output or Path(name)
    if target.is_dir():
        target = target / name
    if target.exists() and not force:
        fail(f"{target} exists: pass --force to overwrite, or -o to choose another path")
    size = _save(api, url, target)
    out.print(f"saved {target} ({human_size(size)})", highlight=False)


def rm(
    upload_id: Annotated[str, typer.Argument(help="the upload id")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Delete an upload: the file, its thumbnails and its record."""
    api = connect()
    if not yes:
        if not sys.stdin.isatty():
            fail("refusing to delete without confirmation: pass --yes")
        if not typer.confirm(f"Delete upload {upload_id} and its thumbnails?"):
            fail("not deleted")
    with one_line_errors():
        api.delete_upload(upload_id)
    out.print(f"deleted {upload_id}", highlight=False)


class EmailChoice(StrEnum):
    """How finished uploads are announced (the API's Preferences.email)."""

    digest = "digest"
    each = "each"
    none = "none"


_EMAIL_HELP = {
    "digest": "one email for the uploads that finish together",
    "each": "one email per upload",
    "none": "no email",
}


def prefs(
    email: Annotated[
        EmailChoice | None,
        typer.Option(help="digest (the default): one email per burst; each: one per upload; none"),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the preferences as JSON")] = False,
) -> None:
    """Show your preferences, or set how finished uploads are announced (--email)."""
    api = connect()
    with one_line_errors():
        current = api.get_preferences() if email is None else api.put_preferences({"email": email.value})
    if json_out:
        print_json(current)
        return
    value = str(current.get("email"))
    out.print(f"email: {value} ({_EMAIL_HELP.get(value, 'unknown')})", highlight=False)


def register(app: typer.Typer) -> None:
    for command in (login, logout, upload, ls, show, get, rm, prefs):
        app.command()(command)
