"""`intake ops`: what ops people need when an alarm fires, on AWS and on the local cloud alike.

Every command finds the queues, the table and the alarms from the CloudFormation stack, so it needs
only where the stack is: the target options (`--endpoint`, `--aws`, `--profile`, `--region`,
`--stack`), declared once here and added to each command by `with_target`, which puts the target in
`ctx.obj`. The work is done by plain functions (dlq, status, records); this module parses options and
prints (output).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from intake.status import CONSUMERS, Status
from intake_cli import dlq, records
from intake_cli.errors import OpsError
from intake_cli.output import (
    echo_json,
    err,
    error,
    fail,
    one_line_errors,
    out,
    print_dead_letters,
    print_status,
    print_uploads_by_status,
    warn,
)
from intake_cli.status import gather_status
from intake_cli.target import (
    LOCAL_ENDPOINT,
    Deployment,
    TargetOptions,
    explained_aws_errors,
    make_target,
    read_deployment,
)
from intake_tools.session import DEFAULT_STACK

F = TypeVar("F", bound=Callable[..., Any])

# The choices of the QUEUE argument: the consumers, each with a queue and a DLQ.
Queue = StrEnum("Queue", {name.upper(): name for name in CONSUMERS})  # type: ignore[misc]

# --- the target: where the stack is ---------------------------------------------------------------

EndpointOpt = Annotated[
    str | None,
    typer.Option("--endpoint", help=f"emulator endpoint (default: $AWS_ENDPOINT_URL, else {LOCAL_ENDPOINT})"),
]
AwsOpt = Annotated[
    bool, typer.Option("--aws", help="talk to AWS (default credentials) instead of the local cloud")
]
ProfileOpt = Annotated[str | None, typer.Option("--profile", help="AWS profile (implies --aws)")]
RegionOpt = Annotated[str | None, typer.Option("--region", help="AWS region (default: the profile's)")]
StackOpt = Annotated[str, typer.Option("--stack", envvar="INTAKE_STACK", help="CloudFormation stack name")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]

_TARGET_OPTIONS = [
    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
    for name, annotation, default in [
        ("endpoint", EndpointOpt, None),
        ("aws", AwsOpt, False),
        ("profile", ProfileOpt, None),
        ("region", RegionOpt, None),
        ("stack", StackOpt, DEFAULT_STACK),
    ]
]


@dataclass
class Ops:
    """The context object of an ops command: its target, and the stack read once, when first needed."""

    options: TargetOptions
    _deployment: Deployment | None = field(default=None, init=False)

    @property
    def deployment(self) -> Deployment:
        if self._deployment is None:
            self._deployment = read_deployment(make_target(self.options))
        return self._deployment


def with_target(command: F) -> F:
    """Give an ops command the target options and an `Ops` in ctx.obj made from them; the command
    takes `ctx: typer.Context` first. (Options of the `ops` group's callback would be taken only
    before the command name; the README, the runbook and scripts put them after it.)"""
    signature = inspect.signature(command, eval_str=True)

    @functools.wraps(command)
    def wrapper(ctx: typer.Context, **kwargs: Any) -> Any:
        ctx.obj = Ops(TargetOptions(**{p.name: kwargs.pop(p.name) for p in _TARGET_OPTIONS}))
        return command(ctx, **kwargs)

    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), *_TARGET_OPTIONS]
    )
    return wrapper  # type: ignore[return-value]


def deployment(ctx: typer.Context) -> Deployment:
    ops: Ops = ctx.obj
    return ops.deployment


@contextmanager
def ops_errors() -> Iterator[None]:
    """An OpsError or a botocore failure: one `error:` line and exit code 1."""
    with one_line_errors(), explained_aws_errors():
        yield


# --- the commands ---------------------------------------------------------------------------------

app = typer.Typer(
    no_args_is_help=True,
    help="Operate the pipeline: queues and alarms, dead letters, failed uploads (see docs/runbook.md).",
)
dlq_app = typer.Typer(no_args_is_help=True, help="Dead-letter queues: peek, redrive, purge, replay.")
app.add_typer(dlq_app, name="dlq")


@app.command()
@with_target
def status(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Each queue (visible, in flight, dead letters, oldest message) and each alarm with its reason."""
    with ops_errors():
        report = gather_status(deployment(ctx))
    if json_:
        echo_json(report)
        return
    print_status(report, deployment(ctx).target.stack)


@dlq_app.command()
@with_target
def peek(
    ctx: typer.Context,
    queue: Annotated[Queue, typer.Argument(help="the consumer whose DLQ to read")],
    max_: Annotated[int, typer.Option("--max", min=1, max=1000, help="messages to show at most")] = 10,
    json_: JsonOpt = False,
) -> None:
    """Show dead messages down to the upload, without deleting them or disturbing their redrive."""
    consumer = queue.value
    with ops_errors():
        found = deployment(ctx)
        rows = dlq.peek(found, consumer, max_, records.record_lookup(found, on_error=warn))
    if json_:
        echo_json({"queue": consumer, "dead_letters": rows})
        return
    print_dead_letters(consumer, rows)


@dlq_app.command()
@with_target
def redrive(
    ctx: typer.Context,
    queue: Annotated[Queue, typer.Argument(help="the consumer whose DLQ to move back to its queue")],
    max_: Annotated[int | None, typer.Option("--max", min=1, help="move at most this many")] = None,
    visibility_timeout: Annotated[
        int, typer.Option(min=1, max=43200, help="seconds a message being moved stays hidden in the DLQ")
    ] = 60,
    json_: JsonOpt = False,
) -> None:
    """Move dead messages back to their queue: StartMessageMoveTask where the endpoint has it (and no
    --max), else receive -> send -> delete, never deleting before the copy is sent."""
    consumer = queue.value
    progress = None if json_ else (lambda n: err.print(f"moved {n}", highlight=False))
    with ops_errors():
        moved = dlq.redrive(
            deployment(ctx), consumer, limit=max_, visibility_timeout=visibility_timeout, on_progress=progress
        )
    report = {"queue": consumer, **moved}
    if json_:
        echo_json(report)
        return
    out.print(
        f"Moved {report['moved']} message(s) from the {consumer} DLQ back to its queue ({report['method']})."
    )
    if report.get("not_deleted"):
        out.print(
            f"[yellow]{report['not_deleted']} of them could not be deleted from the DLQ and will be moved"
            " again by the next redrive (a duplicate; the consumers are idempotent).[/]"
        )


def _confirm_purge(consumer: str, count: int, save: Path | None) -> Path | None:
    """Ask whether to save first (and where), then to go ahead; the file to save to, if any."""
    if save is None and typer.confirm(f"Save the {count} message(s) to a file before purging?", default=True):
        default = f"intake-{consumer}-dlq-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.jsonl"
        save = Path(typer.prompt("File", default=default))
    what = f"the {count} message(s) of the {consumer} DLQ"
    question = f"Save {what} to {save}, then delete them?" if save else f"Delete {what} for good?"
    typer.confirm(question, abort=True)
    return save


@dlq_app.command()
@with_target
def purge(
    ctx: typer.Context,
    queue: Annotated[Queue, typer.Argument(help="the consumer whose DLQ to empty")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
    save: Annotated[
        Path | None, typer.Option("--save", help="save the messages to this new JSONL file first")
    ] = None,
) -> None:
    """Empty a DLQ, after saving its messages to a file if you like (`intake ops dlq replay` sends them back)."""
    consumer = queue.value
    with ops_errors():
        found = deployment(ctx)
        found.dlq_url(consumer)
    if save is not None and save.exists():
        fail(f"{save} exists: choose another file")
    with ops_errors():
        count = dlq.dlq_depth(found, consumer)
    if count == 0:
        out.print(f"The {consumer} DLQ is empty.")
        return
    if not yes:
        save = _confirm_purge(consumer, count, save)
    if save is None:
        with ops_errors():
            dlq.purge(found, consumer)
        out.print(f"Purged the {consumer} DLQ ({count} message(s)).")
        return
    with ops_errors():
        saved, deleted = dlq.purge_to_file(found, consumer, save)
    out.print(f"Saved {saved} message(s) to {save} and deleted {deleted} from the {consumer} DLQ.")
    out.print(f"Send them back with: intake ops dlq replay {save} --to {consumer}")


@dlq_app.command()
@with_target
def replay(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="a file written by `intake ops dlq purge --save`")],
    to: Annotated[Queue, typer.Option("--to", help="the consumer whose queue receives the messages")],
    into_dlq: Annotated[bool, typer.Option("--dlq", help="put them back into the DLQ instead")] = False,
    start_line: Annotated[int, typer.Option(min=1, help="resume from this line of the file")] = 1,
    json_: JsonOpt = False,
) -> None:
    """Send saved messages back (body and message attributes as they were)."""
    consumer = to.value
    with ops_errors():
        messages = [m for m in dlq.read_saved(file) if m.line >= start_line]
        sent = dlq.replay(deployment(ctx), consumer, messages, into_dlq=into_dlq)
    if json_:
        echo_json({"queue": consumer, "dlq": into_dlq, "sent": sent})
        return
    where = f"the {consumer} DLQ" if into_dlq else f"the {consumer} queue"
    out.print(f"Sent {sent} message(s) from {file} to {where}.")


@app.command("backfill-status-keys")
@with_target
def backfill_status_keys(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Migration: give records written before the sharded status index their status_key (a Scan, once)."""
    with ops_errors():
        counts = records.backfill_status_keys(deployment(ctx))
    if json_:
        echo_json(counts)
        return
    out.print(
        f"status_key set on {counts['updated']} record(s); {counts['left']} left (rewritten meanwhile)."
    )


@app.command()
@with_target
def uploads(
    ctx: typer.Context,
    status_: Annotated[
        Status,
        typer.Option(
            "--status",
            help="failed, rejected, or expired (abandoned: pending past its TTL); any record status works",
        ),
    ],
    since: Annotated[
        str | None, typer.Option(help="only those updated since: 30m, 1h, 2d, 1w or an ISO date/time")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="list at most this many")] = 50,
    json_: JsonOpt = False,
) -> None:
    """Upload records by status, newest first (a Query per shard of the by_status_shard index, never a Scan).

    `expired` is derived, not stored: it queries `pending` and keeps the records past their TTL.
    """
    with ops_errors():
        since_iso = records.parse_since(since, datetime.now(UTC)) if since else None
        rows = records.uploads_by_status(deployment(ctx), status_.value, since=since_iso, limit=limit)
    if json_:
        echo_json({"status": status_.value, "since": since_iso, "uploads": rows})
        return
    print_uploads_by_status(status_.value, since_iso, rows)


@app.command()
@with_target
def announce(
    ctx: typer.Context,
    upload_ids: Annotated[list[str], typer.Argument(help="the uploads to announce", metavar="UPLOAD_ID...")],
    json_: JsonOpt = False,
) -> None:
    """Announce uploads whose owners were not told of their outcome (docs/runbook.md): publish each
    one's upload.finished again. An upload already announced is left alone; one that cannot be
    announced is said in an `error:` line, the others are still done, and the exit code is 1."""
    rows: list[dict[str, Any]] = []
    refused: list[str] = []
    with ops_errors():
        for upload_id in upload_ids:
            try:
                rows.append(records.announce(deployment(ctx), upload_id))
            except OpsError as exc:
                refused.append(str(exc))
    if json_:
        echo_json({"announced": rows, "errors": refused})
    else:
        for row in rows:
            out.print(f"{row['upload_id']} ({row['status']}): {row['result']}")
    for message in refused:
        error(message)
    if refused:
        raise typer.Exit(1)
