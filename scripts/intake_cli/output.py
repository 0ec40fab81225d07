"""Everything the CLI prints: the rich tables, the --json output, the progress bars and the errors.

Results go to stdout (`out`), progress, warnings and errors to stderr (`err`). An expected failure is
one `error: ...` line on stderr and exit code 1 (`fail`, `one_line_errors`), never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TransferSpeedColumn
from rich.table import Table

from intake import signatures
from intake_cli.api import UploadResult, original_url, reasons_of, thumbnails_of
from intake_cli.errors import IntakeError
from intake_cli.multipart import resumed_note

out = Console()
err = Console(stderr=True)

STATUS_STYLE = {"ready": "green", "rejected": "yellow", "failed": "red", "processing": "cyan"}
ALARM_STYLE = {"ALARM": "bold red", "OK": "green", "INSUFFICIENT_DATA": "yellow"}


# --- errors ---------------------------------------------------------------------------------------


def error(message: str) -> None:
    """One `error:` line on stderr."""
    err.print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    error(message)
    raise typer.Exit(code)


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/] {message}")


@contextmanager
def one_line_errors() -> Iterator[None]:
    """An expected failure inside becomes its one `error:` line and exit code 1."""
    try:
        yield
    except IntakeError as exc:
        fail(str(exc))


# --- JSON -----------------------------------------------------------------------------------------


def print_json(value: Any) -> None:
    """The client commands' --json: rich's JSON (highlighted on a terminal)."""
    out.print_json(json.dumps(value))


def echo_json(value: Any) -> None:
    """The ops commands' --json: plain JSON, timestamps as strings."""
    typer.echo(json.dumps(value, indent=2, default=str))


# --- the client commands ----------------------------------------------------------------------------


def status_markup(status: Any) -> str:
    word = str(status)
    return f"[{STATUS_STYLE.get(word, 'default')}]{word}[/]"


def human_size(size: Any) -> str:
    if not isinstance(size, int | float):
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""


def when(iso: Any) -> str:
    """'2026-05-01T10:20:30.123Z' -> '2026-05-01 10:20:30' (UTC, as stored)."""
    return str(iso or "").replace("T", " ").split(".")[0].removesuffix("Z")


def _size_of(record: Mapping[str, Any]) -> Any:
    return record.get("size", record.get("declared_size"))


def file_label(record: Mapping[str, Any]) -> str:
    """A short label for a file that has no thumbnails because it is no image ('PDF', 'MP4'); else ''."""
    content_type = str(record.get("content_type") or record.get("declared_content_type") or "")
    if not content_type or content_type.startswith("image/"):
        return ""
    known = signatures.BY_TYPE.get(content_type)
    return known.label if known else content_type.split("/")[-1][:4].upper()


def _file_cell(record: Mapping[str, Any]) -> str:
    label = file_label(record)
    name = str(record.get("filename", ""))
    return f"{name} [{label}]" if label else name


def print_page(page: Mapping[str, Any]) -> None:
    """`intake ls`: one page of uploads, and how to get the next."""
    items = page.get("items", [])
    table = Table(title=f"{len(items)} uploads", title_justify="left")
    for column in ("upload id", "file", "status", "size", "created (UTC)", "reasons"):
        table.add_column(column, no_wrap=column in ("upload id", "created (UTC)"), overflow="fold")
    for item in items:
        table.add_row(
            str(item.get("upload_id", "")),
            escape(_file_cell(item)),
            status_markup(item.get("status", "")),
            human_size(_size_of(item)),
            when(item.get("created_at")),
            "; ".join(reasons_of(item)),
        )
    out.print(table)
    if page.get("next_cursor"):
        out.print(f"more: intake ls --cursor {page['next_cursor']}   (or --all)", highlight=False)


def print_record(record: Mapping[str, Any]) -> None:
    """`intake show`: one upload, field by field (empty fields left out)."""
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    pixels = f"{record['width']}x{record['height']}" if record.get("width") else ""
    rows = [
        ("upload id", record.get("upload_id")),
        ("file", record.get("filename")),
        ("status", status_markup(record.get("status", ""))),
        ("reasons", "; ".join(reasons_of(record))),
        ("type", record.get("content_type") or record.get("declared_content_type")),
        ("size", human_size(_size_of(record))),
        ("pixels", pixels),
        ("title", record.get("title")),
        ("description", record.get("description")),
        ("tags", ", ".join(record.get("tags") or [])),
        ("created (UTC)", when(record.get("created_at"))),
        ("updated (UTC)", when(record.get("updated_at"))),
        ("original", original_url(record)),
    ]
    for thumb in thumbnails_of(record):
        rows.append((f"thumbnail {thumb.get('size', '')}", thumb.get("url") or thumb.get("key")))
    if file_label(record) and not thumbnails_of(record):
        rows.append(("thumbnails", f"none ({file_label(record)} file)"))
    for name, value in rows:
        if value:
            table.add_row(name, str(value))
    out.print(table)


class UploadProgress:
    """One progress bar a file on stderr (none with --json or without a terminal)."""

    def __init__(self, *, quiet: bool) -> None:
        self._progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TextColumn("{task.fields[state]}"),
            console=err,
            transient=quiet,
            disable=quiet or not err.is_terminal,
        )

    def __enter__(self) -> UploadProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(None, None, None)

    def add(self, name: str) -> TaskID:
        return self._progress.add_task(name, total=None, state="")

    def started(self, task: TaskID, size: int) -> None:
        self._progress.update(task, total=size, state="uploading")

    def advance(self, task: TaskID, sent: int) -> None:
        self._progress.advance(task, sent)

    def state(self, task: TaskID, text: str) -> None:
        self._progress.update(task, state=text)

    def status(self, task: TaskID, status: str) -> None:
        self.state(task, status_markup(status))

    def failed(self, task: TaskID) -> None:
        self.state(task, "[red]error[/]")


def print_upload_results(results: Sequence[UploadResult], *, as_json: bool) -> None:
    if as_json:
        print_json([r.as_json() for r in results])
        return
    for r in results:
        if r.error:
            error(f"{r.file}: {r.error}")
        else:
            why = f" ({'; '.join(r.reasons)})" if r.reasons else ""
            out.print(f"{r.file} -> {r.upload_id} {status_markup(r.status)}{why}{_parts(r)}", highlight=False)


def _parts(result: UploadResult) -> str:
    """', 10 parts' for a multipart upload; ', resumed: 4 of 10 parts already uploaded' when resumed."""
    summary = result.multipart or {}
    count, held = summary.get("part_count"), summary.get("parts_held")
    if not count:
        return ""
    return f", {resumed_note(held, count)}" if held else f", {count} parts"


# --- the ops commands -------------------------------------------------------------------------------


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}m" if seconds < 7200 else f"{seconds / 3600:.1f}h"


def print_status(report: Mapping[str, Any], stack: str) -> None:
    """`intake ops status`: the queues, then the alarms."""
    queues = Table(title=f"Queues of stack {stack}")
    for column in ("queue", "visible", "in flight", "oldest message", "DLQ", "DLQ in flight"):
        queues.add_column(column, justify="left" if column == "queue" else "right")
    for q in report["queues"]:
        queues.add_row(
            q["queue"],
            str(q["visible"]),
            str(q["in_flight"]),
            _age(q["oldest_age_s"]),
            f"[bold red]{q['dlq_visible']}[/]" if q["dlq_visible"] else "0",
            str(q["dlq_in_flight"]),
        )
    out.print(queues)
    alarms = Table(title="Alarms")
    for column in ("alarm", "state", "since", "reason"):
        alarms.add_column(column, overflow="fold")
    for a in report["alarms"]:
        since = (
            a["since"].strftime("%Y-%m-%d %H:%M:%S") if isinstance(a["since"], datetime) else str(a["since"])
        )
        style = ALARM_STYLE.get(a["state"], "")
        alarms.add_row(a["logical_id"] or a["name"], f"[{style}]{a['state']}[/]", since, a["reason"])
    out.print(alarms)
    denials = report.get("denials")
    if denials is not None:
        count, recent = int(denials.get("count", 0)), denials.get("recent") or []
        line = (
            f"Permission denials on the local cloud: [bold red]{count}[/]"
            if count
            else "No permission denials"
        )
        out.print(line + ("" if denials.get("enforcing", True) else " (enforcement is off)"))
        for d in recent[-5:]:
            out.print(
                f"  {d.get('principal')} -> {d.get('action')} on {d.get('resource')} ({d.get('reason')})"
            )


def print_dead_letters(consumer: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """`intake ops dlq peek`: one row an upload (a message about several uploads gives several)."""
    if not rows:
        out.print(f"The {consumer} DLQ is empty.")
        return
    table = Table(title=f"{consumer} DLQ: {len({r['message_id'] for r in rows})} message(s)")
    for column in ("upload id", "owner", "key", "receives", "first failure", "status"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            r.get("upload_id", "-"),
            r.get("owner") or "-",
            r.get("key") or r.get("error", "-"),
            str(r["receive_count"]),
            r["first_failure_at"] or "-",
            r.get("status", "-"),
        )
    out.print(table)


def print_uploads_by_status(status: str, since: str | None, rows: Sequence[Mapping[str, Any]]) -> None:
    """`intake ops uploads`: the records, newest first."""
    if not rows:
        out.print(f"No {status} uploads" + (f" since {since}." if since else "."))
        return
    table = Table(title=f"{status} uploads" + (f" since {since}" if since else ""))
    for column in ("updated", "upload id", "owner", "filename", "reasons"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(r["updated_at"], r["upload_id"], r["owner"], r["filename"], "; ".join(r["reasons"]))
    out.print(table)
