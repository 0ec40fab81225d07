"""`intake ops`: what ops people need when an alarm fires, on AWS and on the local cloud alike.

Every command finds the queues, the table and the alarms from the CloudFormation stack (outputs and
resources), so it needs only where the stack is: the local cloud by default (``$AWS_ENDPOINT_URL``,
else http://127.0.0.1:4566), or AWS with ``--aws`` / ``--profile`` (and ``--region``, ``--stack``).

Nothing here loses a message: peek hands every message back at once, redrive deletes a dead letter
only after its copy was sent, purge with ``--save`` deletes only what is safely on disk, and replay
validates the whole file before it sends anything. Duplicates are possible when a command is killed
half-way; the consumers are idempotent, losses are what must never happen.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import boto3
import typer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError
from rich.console import Console
from rich.table import Table

__all__ = ["app", "move_messages", "parse_since", "peek_messages"]

LOCAL_ENDPOINT = "http://127.0.0.1:4566"
LOCAL_REGION = "us-east-1"
DEFAULT_STACK = "intake"
CONSUMERS = ("validate", "thumbnail", "index", "notify")
_BATCH = 10  # SQS batch and receive limit

out = Console()
err = Console(stderr=True)
T = TypeVar("T")


class Queue(StrEnum):
    VALIDATE = "validate"
    THUMBNAIL = "thumbnail"
    INDEX = "index"
    NOTIFY = "notify"


class Status(StrEnum):
    FAILED = "failed"
    REJECTED = "rejected"
    PENDING = "pending"
    PROCESSING = "processing"
    READY = "ready"


class OpsError(Exception):
    """A problem the operator can act on; the message says what to do."""


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


# --------------------------------------------------------------------------------------------------
# Where the stack lives
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    endpoint: str | None  # None: AWS
    region: str
    stack: str
    profile: str | None = None

    def describe(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint or "aws", "region": self.region, "stack": self.stack}

    @cached_property
    def session(self) -> boto3.session.Session:
        session = boto3.session.Session(profile_name=self.profile, region_name=self.region)
        if self.endpoint and session.get_credentials() is None:  # the local cloud takes any key
            session = boto3.session.Session(
                aws_access_key_id="test", aws_secret_access_key="test", region_name=self.region
            )
        return session

    def client(self, service: str, *, retries: int = 3) -> Any:
        config = Config(  # type: ignore[call-arg]
            retries={"mode": "standard", "total_max_attempts": retries},
            connect_timeout=5,
            read_timeout=30,
            ignore_configured_endpoint_urls=self.endpoint is None,  # --aws means AWS, whatever the env says
        )
        return self.session.client(service, endpoint_url=self.endpoint, config=config)  # type: ignore[call-overload]


def make_target(
    endpoint: str | None, aws: bool, profile: str | None, region: str | None, stack: str
) -> Target:
    if endpoint and (aws or profile):
        raise OpsError("--endpoint talks to an emulator; --aws/--profile to AWS: pick one")
    use_aws = aws or profile is not None
    if not use_aws:
        endpoint = (endpoint or os.environ.get("AWS_ENDPOINT_URL") or LOCAL_ENDPOINT).rstrip("/")
    if not region:
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        region = (
            boto3.session.Session(profile_name=profile).region_name if use_aws else None
        ) or LOCAL_REGION
    return Target(endpoint=None if use_aws else endpoint, region=region, stack=stack, profile=profile)


class Stack:
    """The stack's outputs and resources, read once."""

    def __init__(self, target: Target) -> None:
        self.target = target
        cloudformation = target.client("cloudformation")
        try:
            stacks = cloudformation.describe_stacks(StackName=target.stack)["Stacks"]
        except ClientError as exc:
            if "does not exist" in str(exc):
                where = target.endpoint or f"AWS {target.region}"
                hint = " (is the local cloud running? `make up`)" if target.endpoint else ""
                raise OpsError(f"stack {target.stack!r} not found at {where}{hint}") from exc
            raise
        self.outputs: dict[str, str] = {
            o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])
        }
        self.resources: list[dict[str, Any]] = []
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=target.stack):
            self.resources.extend(page["StackResourceSummaries"])

    def output(self, key: str) -> str:
        try:
            return self.outputs[key]
        except KeyError:
            raise OpsError(
                f"stack {self.target.stack!r} has no output {key!r}: is it an Intake stack?"
            ) from None

    def queue_url(self, consumer: str) -> str:
        return self.output(f"{consumer.capitalize()}QueueUrl")

    def dlq_url(self, consumer: str) -> str:
        return self.output(f"{consumer.capitalize()}DLQUrl")

    def alarms(self) -> dict[str, str]:
        """Alarm name -> logical id, for every alarm of the stack."""
        return {
            r["PhysicalResourceId"]: r["LogicalResourceId"]
            for r in self.resources
            if r["ResourceType"] == "AWS::CloudWatch::Alarm" and r.get("PhysicalResourceId")
        }


def _run(action: Callable[[], T]) -> T:
    """Turn what can go wrong talking to AWS into one clear line and a non-zero exit."""
    try:
        return action()
    except OpsError as exc:
        fail(str(exc))
    except EndpointConnectionError as exc:
        fail(
            f"cannot reach {exc.kwargs.get('endpoint_url', 'the endpoint')}: is the local cloud running (`make up`)?"
        )
    except NoCredentialsError:
        fail("no AWS credentials: pass --profile, or configure the default credentials")
    except ClientError as exc:
        error = exc.response.get("Error", {})
        fail(f"{exc.operation_name} failed: {error.get('Code')}: {error.get('Message')}")
    except BotoCoreError as exc:
        fail(str(exc))


# Options every command takes.
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


def _stack(endpoint: str | None, aws: bool, profile: str | None, region: str | None, stack: str) -> Stack:
    return _run(lambda: Stack(make_target(endpoint, aws, profile, region, stack)))


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=str))


# --------------------------------------------------------------------------------------------------
# Pure helpers
# --------------------------------------------------------------------------------------------------

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def iso(moment: datetime) -> str:
    """The timestamp format of the index (records.now_iso), so string comparison orders by time."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_since(text: str, now: datetime) -> str:
    """'30m', '1h', '2d', '1w' before ``now``, or an ISO 8601 date/time (UTC if no offset)."""
    value = text.strip()
    match = _RELATIVE.match(value.lower())
    if match:
        return iso(now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))}))
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise OpsError(f"--since {text!r}: use a duration such as 30m, 1h, 2d, or an ISO date/time") from None
    return iso(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _ms_iso(value: str | None) -> str | None:
    return iso(datetime.fromtimestamp(int(value) / 1000, UTC)) if value else None


def decode_dead_letter(consumer: str, body: str) -> list[dict[str, Any]]:
    """What one dead message is about, down to the upload(s); an 'error' entry when it is not decodable."""
    from intake.events import UploadFinished, object_created_events
    from intake.keys import InvalidKey, parse_upload_key

    if consumer == "notify":
        try:
            finished = UploadFinished.model_validate_json(body)
        except ValueError as exc:
            return [{"error": f"not an upload.finished message: {str(exc).splitlines()[0]}"}]
        return [{"upload_id": finished.upload_id, "outcome": finished.status}]
    try:
        events = object_created_events(body)
    except ValueError as exc:
        return [{"error": str(exc)}]
    if not events:
        return [{"error": "no ObjectCreated record (s3:TestEvent?)"}]
    uploads: list[dict[str, Any]] = []
    for event in events:
        entry: dict[str, Any] = {"key": event.key, "bucket": event.bucket}
        try:
            key = parse_upload_key(event.key)
            entry.update(owner=key.owner, upload_id=key.upload_id, filename=key.filename)
        except InvalidKey as exc:
            entry["error"] = f"not an upload key: {exc}"
        uploads.append(entry)
    return uploads


def _sendable_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """Message attributes as received, in the shape SendMessage takes (no empty list fields)."""
    return {
        name: {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
        for name, value in (attributes or {}).items()
    }


def saved_line(consumer: str, message: Mapping[str, Any], saved_at: str) -> str:
    """One JSONL line of a saved dead letter (binary attribute values in base64)."""
    attributes: dict[str, Any] = {}
    for name, value in _sendable_attributes(message.get("MessageAttributes")).items():
        if "BinaryValue" in value:
            value = {**value, "BinaryValue": {"base64": base64.b64encode(value["BinaryValue"]).decode()}}
        attributes[name] = value
    return json.dumps(
        {
            "queue": consumer,
            "message_id": message["MessageId"],
            "body": message["Body"],
            "message_attributes": attributes,
            "attributes": message.get("Attributes", {}),
            "saved_at": saved_at,
        },
        ensure_ascii=False,
    )


@dataclass(frozen=True)
class SavedMessage:
    line: int
    body: str
    message_attributes: dict[str, Any] = field(default_factory=dict)


def read_saved(path: Path) -> list[SavedMessage]:
    """Every message of a saved file, or an error naming the first bad line (nothing is sent then)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise OpsError(f"cannot read {path}: {exc.strerror}") from exc
    messages = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            doc = json.loads(raw)
            if not isinstance(doc, dict) or not isinstance(doc.get("body"), str):
                raise ValueError("expected an object with a string 'body'")
            attributes = doc.get("message_attributes") or {}
            if not isinstance(attributes, dict):
                raise ValueError("'message_attributes' must be an object")
            for name, value in attributes.items():
                if not isinstance(value, dict) or not isinstance(value.get("DataType"), str):
                    raise ValueError(f"message attribute {name!r} has no DataType")
                binary = value.get("BinaryValue")
                if isinstance(binary, dict):
                    attributes[name] = {
                        **value,
                        "BinaryValue": base64.b64decode(binary["base64"], validate=True),
                    }
        except (ValueError, KeyError, TypeError) as exc:
            raise OpsError(f"{path}:{number}: not a saved message ({exc}); nothing was sent") from exc
        messages.append(SavedMessage(number, doc["body"], attributes))
    return messages


# --------------------------------------------------------------------------------------------------
# SQS operations
# --------------------------------------------------------------------------------------------------


def _receive(
    sqs: Any, url: str, count: int, visibility_timeout: int, wait_s: int = 1
) -> list[dict[str, Any]]:
    response = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=max(1, min(_BATCH, count)),
        VisibilityTimeout=visibility_timeout,
        WaitTimeSeconds=wait_s,  # a long poll asks every SQS server, so "nothing" means empty
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    return list(response.get("Messages", []))


def _release(sqs: Any, url: str, handles: Sequence[str]) -> None:
    """Make received messages visible again at once."""
    for start in range(0, len(handles), _BATCH):
        entries = [
            {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
            for i, h in enumerate(handles[start : start + _BATCH])
        ]
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)


def peek_messages(sqs: Any, url: str, limit: int, *, visibility_timeout: int = 30) -> list[dict[str, Any]]:
    """Up to ``limit`` messages without deleting them: each is visible again when this returns.

    Receiving counts as a receive (ApproximateReceiveCount); a DLQ has no redrive policy, so that
    moves nothing. The messages stay hidden while we page (so each is read once) and are released
    at the end, or after ``visibility_timeout`` if this process dies.
    """
    seen: dict[str, dict[str, Any]] = {}
    handles: list[str] = []
    try:
        while len(seen) < limit:
            batch = _receive(sqs, url, limit - len(seen), visibility_timeout)
            handles += [m["ReceiptHandle"] for m in batch]
            fresh = [m for m in batch if m["MessageId"] not in seen]
            for message in fresh:
                seen[message["MessageId"]] = message
            if not fresh:
                break
    finally:
        _release(sqs, url, handles)
    return list(seen.values())


@dataclass
class MoveResult:
    moved: int = 0
    not_deleted: int = 0  # copied but still in the source: they will be moved again (a duplicate)


def _send_batch(sqs: Any, url: str, messages: Sequence[Mapping[str, Any]]) -> tuple[set[str], list[str]]:
    """Send copies; returns the ids sent and the failures' descriptions."""
    entries = []
    for i, message in enumerate(messages):
        entry: dict[str, Any] = {"Id": str(i), "MessageBody": message["Body"]}
        attributes = _sendable_attributes(message.get("MessageAttributes"))
        if attributes:
            entry["MessageAttributes"] = attributes
        trace = (message.get("Attributes") or {}).get("AWSTraceHeader")
        if trace:
            entry["MessageSystemAttributes"] = {
                "AWSTraceHeader": {"DataType": "String", "StringValue": trace}
            }
        entries.append(entry)
    try:
        response = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    except ClientError as exc:
        if "BatchRequestTooLong" not in str(exc.response.get("Error", {}).get("Code")):
            raise
        sent, failures = set(), []  # over the batch size limit together: one by one
        for entry in entries:
            single = {k: v for k, v in entry.items() if k != "Id"}
            try:
                sqs.send_message(QueueUrl=url, **single)
                sent.add(entry["Id"])
            except ClientError as one:
                failures.append(f"{messages[int(entry['Id'])]['MessageId']}: {one}")
        return sent, failures
    sent = {s["Id"] for s in response.get("Successful", [])}
    failures = [
        f"{messages[int(f['Id'])]['MessageId']}: {f.get('Code')} {f.get('Message', '')}"
        for f in response.get("Failed", [])
    ]
    return sent, failures


def move_messages(
    sqs: Any,
    source_url: str,
    target_url: str,
    *,
    limit: int | None = None,
    visibility_timeout: int = 60,
    on_progress: Callable[[int], None] | None = None,
) -> MoveResult:
    """Receive -> send a copy -> delete the original only once the copy was accepted.

    Killed at any point, every message is in the source (visible again after ``visibility_timeout``)
    or in the target, or in both: never in neither.
    """
    result = MoveResult()
    while limit is None or result.moved < limit:
        want = _BATCH if limit is None else min(_BATCH, limit - result.moved)
        batch = _receive(sqs, source_url, want, visibility_timeout)
        if not batch:
            break
        sent, failures = _send_batch(sqs, target_url, batch)
        done = [m for i, m in enumerate(batch) if str(i) in sent]
        if done:
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)]
            response = sqs.delete_message_batch(QueueUrl=source_url, Entries=entries)
            result.not_deleted += len(response.get("Failed", []))
            result.moved += len(done)
        if failures:
            _release(sqs, source_url, [m["ReceiptHandle"] for i, m in enumerate(batch) if str(i) not in sent])
            raise OpsError(
                f"{len(failures)} message(s) could not be sent and stay in the source queue"
                f" ({result.moved} moved so far): " + "; ".join(failures[:3])
            )
        if on_progress is not None:
            on_progress(result.moved)
    return result


def _queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def move_task_supported(sqs: Any, dlq_arn: str) -> bool:
    """Whether the endpoint has the DLQ redrive API (StartMessageMoveTask); moto 5.2.5 does not."""
    try:
        sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=1)
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if status >= 500 or code in {"InvalidAction", "UnsupportedOperation", "NotImplemented"}:
            return False
        raise
    return True


def _queue_counts(sqs: Any, url: str) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


# --------------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------------

app = typer.Typer(
    no_args_is_help=True,
    help="Operate the pipeline: queues and alarms, dead letters, failed uploads (see docs/runbook.md).",
)
dlq_app = typer.Typer(no_args_is_help=True, help="Dead-letter queues: peek, redrive, purge, replay.")
app.add_typer(dlq_app, name="dlq")


def _oldest_age(cloudwatch: Any, queue_url: str) -> float | None:
    """ApproximateAgeOfOldestMessage, the latest datapoint of the last 5 minutes (SQS has no such attribute)."""
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace="AWS/SQS",
        MetricName="ApproximateAgeOfOldestMessage",
        Dimensions=[{"Name": "QueueName", "Value": queue_url.rstrip("/").rsplit("/", 1)[-1]}],
        StartTime=now - timedelta(minutes=5),
        EndTime=now,
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    if not points:
        return None
    return float(max(points, key=lambda p: p["Timestamp"])["Maximum"])


def gather_status(stack: Stack) -> dict[str, Any]:
    sqs, cloudwatch = stack.target.client("sqs"), stack.target.client("cloudwatch")
    queues = []
    for consumer in CONSUMERS:
        url, dlq = stack.queue_url(consumer), stack.dlq_url(consumer)
        visible, in_flight = _queue_counts(sqs, url)
        dead, dead_in_flight = _queue_counts(sqs, dlq)
        queues.append(
            {
                "queue": consumer,
                "visible": visible,
                "in_flight": in_flight,
                "dlq_visible": dead,
                "dlq_in_flight": dead_in_flight,
                "oldest_age_s": _oldest_age(cloudwatch, url),
                "queue_url": url,
                "dlq_url": dlq,
            }
        )
    names = stack.alarms()
    alarms = []
    listed = list(names)
    for start in range(0, len(listed), 100):
        for alarm in cloudwatch.describe_alarms(AlarmNames=listed[start : start + 100])["MetricAlarms"]:
            alarms.append(
                {
                    "name": alarm["AlarmName"],
                    "logical_id": names.get(alarm["AlarmName"], ""),
                    "state": alarm["StateValue"],
                    "reason": alarm.get("StateReason", ""),
                    "since": alarm.get("StateUpdatedTimestamp"),
                    "metric": f"{alarm.get('Namespace')}/{alarm.get('MetricName')}",
                }
            )
    alarms.sort(key=lambda a: (a["state"] != "ALARM", a["logical_id"]))
    return {"target": stack.target.describe(), "queues": queues, "alarms": alarms}


_STATE_STYLE = {"ALARM": "bold red", "OK": "green", "INSUFFICIENT_DATA": "yellow"}


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}m" if seconds < 7200 else f"{seconds / 3600:.1f}h"


@app.command()
def status(
    json_: JsonOpt = False,
    endpoint: EndpointOpt = None,
    aws: AwsOpt = False,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    stack: StackOpt = DEFAULT_STACK,
) -> None:
    """Each queue (visible, in flight, dead letters, oldest message) and each alarm with its reason."""
    found = _stack(endpoint, aws, profile, region, stack)
    report = _run(lambda: gather_status(found))
    if json_:
        _echo_json(report)
        return
    queues = Table(title=f"Queues of stack {found.target.stack}")
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
        style = _STATE_STYLE.get(a["state"], "")
        alarms.add_row(a["logical_id"] or a["name"], f"[{style}]{a['state']}[/]", since, a["reason"])
    out.print(alarms)


def _lookup_records(stack: Stack, upload_ids: set[str]) -> dict[str, Any]:
    """The upload records, where the index can be read (the dead letters matter more than their status)."""
    from intake.records import Records

    table = stack.outputs.get("IndexTableName")
    if not table or not upload_ids:
        return {}
    records = Records(table, client=stack.target.client("dynamodb"))
    found = {}
    try:
        for upload_id in upload_ids:
            item = records.get(upload_id)
            if item:
                found[upload_id] = item
    except ClientError as exc:
        err.print(f"[yellow]warning:[/] cannot read the upload records ({exc}); showing the messages only")
    return found


def describe_dead_letters(
    stack: Stack, consumer: str, messages: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    rows = []
    for message in messages:
        attributes = message.get("Attributes", {})
        receives = int(attributes.get("ApproximateReceiveCount", "1")) - 1  # without our own receive
        for upload in decode_dead_letter(consumer, message["Body"]):
            rows.append(
                {
                    "message_id": message["MessageId"],
                    **upload,
                    "receive_count": receives,
                    "first_failure_at": _ms_iso(attributes.get("ApproximateFirstReceiveTimestamp")),
                    "sent_at": _ms_iso(attributes.get("SentTimestamp")),
                }
            )
    records = _lookup_records(stack, {r["upload_id"] for r in rows if r.get("upload_id")})
    for row in rows:
        record = records.get(row.get("upload_id", ""))
        if record:
            row.setdefault("key", record.key)
            row.setdefault("owner", record.owner)
            row["status"] = record.status.value
            row["status_reasons"] = list(record.status_reasons)
    return rows


@dlq_app.command()
def peek(
    queue: Annotated[Queue, typer.Argument(help="the consumer whose DLQ to read")],
    max_: Annotated[int, typer.Option("--max", min=1, max=1000, help="messages to show at most")] = 10,
    json_: JsonOpt = False,
    endpoint: EndpointOpt = None,
    aws: AwsOpt = False,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    stack: StackOpt = DEFAULT_STACK,
) -> None:
    """Show dead messages down to the upload, without deleting them or disturbing their redrive."""
    found = _stack(endpoint, aws, profile, region, stack)
    consumer = queue.value

    def run() -> list[dict[str, Any]]:
        messages = peek_messages(found.target.client("sqs"), found.dlq_url(consumer), max_)
        return describe_dead_letters(found, consumer, messages)

    rows = _run(run)
    if json_:
        _echo_json({"queue": consumer, "dead_letters": rows})
        return
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


@dlq_app.command()
def redrive(
    queue: Annotated[Queue, typer.Argument(help="the consumer whose DLQ to move back to its queue")],
    max_: Annotated[int | None, typer.Option("--max", min=1, help="move at most this many")] = None,
    visibility_timeout: Annotated[
        int, typer.Option(min=1, max=43200, help="seconds a message being moved stays hidden in the DLQ")
    ] = 60,
    json_: JsonOpt = False,
    endpoint: EndpointOpt = None,
    aws: AwsOpt = False,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    stack: StackOpt = DEFAULT_STACK,
) -> None:
    """Move dead messages back to their queue: StartMessageMoveTask where the endpoint has it (and no
    --max), else receive -> send -> delete, never deleting before the copy is sent."""
    found = _stack(endpoint, aws, profile, region, stack)
    consumer = queue.value

    def run() -> dict[str, Any]:
        sqs = found.target.client("sqs")
        dlq_url, queue_url = found.dlq_url(consumer), found.queue_url(consumer)
        if max_ is None:
            dlq_arn = _queue_arn(sqs, dlq_url)
            if move_task_supported(found.target.client("sqs", retries=1), dlq_arn):
                return _move_task(sqs, dlq_arn, _queue_arn(sqs, queue_url))
        progress = err if not json_ else None
        result = move_messages(
            sqs,
            dlq_url,
            queue_url,
            limit=max_,
            visibility_timeout=visibility_timeout,
            on_progress=(lambda n: progress.print(f"moved {n}", highlight=False)) if progress else None,
        )
        return {"method": "copy", "moved": result.moved, "not_deleted": result.not_deleted}

    report = {"queue": consumer, **_run(run)}
    if json_:
        _echo_json(report)
        return
    out.print(
        f"Moved {report['moved']} message(s) from the {consumer} DLQ back to its queue ({report['method']})."
    )
    if report.get("not_deleted"):
        out.print(
            f"[yellow]{report['not_deleted']} of them could not be deleted from the DLQ and will be moved"
            " again by the next redrive (a duplicate; the consumers are idempotent).[/]"
        )


def _move_task(sqs: Any, dlq_arn: str, queue_arn: str) -> dict[str, Any]:
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=queue_arn)["TaskHandle"]
    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=1)["Results"]
        task = tasks[0] if tasks else {}
        if task.get("Status") in ("COMPLETED", "FAILED", "CANCELLED"):
            break
        time.sleep(2)
    if task.get("Status") != "COMPLETED":
        raise OpsError(f"message move task {handle} {task.get('Status')}: {task.get('FailureReason', '')}")
    return {"method": "StartMessageMoveTask", "moved": int(task.get("ApproximateNumberOfMessagesMoved", 0))}


def _drain_to_file(sqs: Any, url: str, consumer: str, path: Path) -> tuple[int, int]:
    """Save every message to ``path``, then delete exactly those: (saved, deleted)."""
    saved: list[dict[str, Any]] = []
    try:
        while True:
            batch = _receive(sqs, url, _BATCH, visibility_timeout=300)
            fresh = [m for m in batch if m["MessageId"] not in {s["MessageId"] for s in saved}]
            saved += fresh
            if not fresh:
                break
        stamp = iso(datetime.now(UTC))
        try:
            with path.open("x", encoding="utf-8") as handle:
                for message in saved:
                    handle.write(saved_line(consumer, message, stamp) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        except FileExistsError:
            raise OpsError(f"{path} exists: choose another file (nothing was deleted)") from None
        except OSError as exc:
            raise OpsError(f"cannot write {path}: {exc.strerror} (nothing was deleted)") from exc
    except BaseException:
        _release(sqs, url, [m["ReceiptHandle"] for m in saved])
        raise
    deleted = 0
    for start in range(0, len(saved), _BATCH):
        chunk = saved[start : start + _BATCH]
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
        response = sqs.delete_message_batch(QueueUrl=url, Entries=entries)
        deleted += len(response.get("Successful", []))
    return len(saved), deleted


@dlq_app.command()
def purge(
    queue: Annotated[Queue, typer.Argument(help="the consumer whose DLQ to empty")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
    save: Annotated[
        Path | None, typer.Option("--save", help="save the messages to this new JSONL file first")
    ] = None,
    endpoint: EndpointOpt = None,
    aws: AwsOpt = False,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    stack: StackOpt = DEFAULT_STACK,
) -> None:
    """Empty a DLQ, after saving its messages to a file if you like (`intake ops dlq replay` sends them back)."""
    found = _stack(endpoint, aws, profile, region, stack)
    consumer = queue.value
    sqs = found.target.client("sqs")
    url = _run(lambda: found.dlq_url(consumer))
    if save is not None and save.exists():
        fail(f"{save} exists: choose another file")
    visible, in_flight = _run(lambda: _queue_counts(sqs, url))
    if visible + in_flight == 0:
        out.print(f"The {consumer} DLQ is empty.")
        return
    if (
        save is None
        and not yes
        and typer.confirm(
            f"Save the {visible + in_flight} message(s) to a file before purging?", default=True
        )
    ):
        default = f"intake-{consumer}-dlq-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.jsonl"
        save = Path(typer.prompt("File", default=default))
    if not yes:
        count = f"the {visible + in_flight} message(s) of the {consumer} DLQ"
        question = f"Save {count} to {save}, then delete them?" if save else f"Delete {count} for good?"
        typer.confirm(question, abort=True)
    if save is not None:
        target = save
        saved, deleted = _run(lambda: _drain_to_file(sqs, url, consumer, target))
        out.print(f"Saved {saved} message(s) to {save} and deleted {deleted} from the {consumer} DLQ.")
        out.print(f"Send them back with: intake ops dlq replay {save} --to {consumer}")
        return
    _run(lambda: sqs.purge_queue(QueueUrl=url))
    out.print(f"Purged the {consumer} DLQ ({visible + in_flight} message(s)).")


@dlq_app.command()
def replay(
    file: Annotated[Path, typer.Argument(help="a file written by `intake ops dlq purge --save`")],
    to: Annotated[Queue, typer.Option("--to", help="the consumer whose queue receives the messages")],
    into_dlq: Annotated[bool, typer.Option("--dlq", help="put them back into the DLQ instead")] = False,
    start_line: Annotated[int, typer.Option(min=1, help="resume from this line of the file")] = 1,
    json_: JsonOpt = False,
    endpoint: EndpointOpt = None,
    aws: AwsOpt = False,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    stack: StackOpt = DEFAULT_STACK,
) -> None:
    """Send saved messages back (body and message attributes as they were)."""
    messages = [m for m in _run(lambda: read_saved(file)) if m.line >= start_line]
    found = _stack(endpoint, aws, profile, region, stack)
    consumer = to.value
    url = _run(lambda: found.dlq_url(consumer) if into_dlq else found.queue_url(consumer))
    sqs = found.target.client("sqs")
    sent = 0

    def run() -> None:
        nonlocal sent
        for start in range(0, len(messages), _BATCH):
            chunk = messages[start : start + _BATCH]
            as_received = [
                {"MessageId": f"line {m.line}", "Body": m.body, "MessageAttributes": m.message_attributes}
                for m in chunk
            ]
            ok, failures = _send_batch(sqs, url, as_received)
            sent += len(ok)
            if failures:
                first = min(m.line for i, m in enumerate(chunk) if str(i) not in ok)
                raise OpsError(
                    f"{len(failures)} message(s) not sent ({'; '.join(failures[:3])}); {sent} sent."
                    f" Resume with --start-line {first} (lines before it may be sent again)"
                )

    _run(run)
    where = f"the {consumer} DLQ" if into_dlq else f"the {consumer} queue"
    if json_:
        _echo_json({"queue": consumer, "dlq": into_dlq, "sent": sent})
        return
    out.print(f"Sent {sent} message(s) from {file} to {where}.")


@app.command()
def uploads(
    status_: Annotated[Status, typer.Option("--status", help="failed or rejected (any record status works)")],
    since: Annotated[
        str | None, typer.Option(help="only those updated since: 30m, 1h, 2d, 1w or an ISO date/time")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="list at most this many")] = 50,
    json_: JsonOpt = False,
    endpoint: EndpointOpt = None,
    aws: AwsOpt = False,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    stack: StackOpt = DEFAULT_STACK,
) -> None:
    """Upload records by status, newest first (a Query on the by_status index, never a Scan)."""
    since_iso = _run(lambda: parse_since(since, datetime.now(UTC))) if since else None
    found = _stack(endpoint, aws, profile, region, stack)

    def run() -> list[Any]:
        from intake.records import Records

        records = Records(found.output("IndexTableName"), client=found.target.client("dynamodb"))
        return list(_take(_pages(records, status_.value, since_iso), limit))

    items = _run(run)
    rows = [
        {
            "upload_id": item.upload_id,
            "owner": item.owner,
            "filename": item.filename,
            "key": item.key,
            "status": item.status.value,
            "reasons": list(item.status_reasons),
            "updated_at": item.updated_at,
            "created_at": item.created_at,
        }
        for item in items
    ]
    if json_:
        _echo_json({"status": status_.value, "since": since_iso, "uploads": rows})
        return
    if not rows:
        out.print(f"No {status_.value} uploads" + (f" since {since_iso}." if since_iso else "."))
        return
    table = Table(title=f"{status_.value} uploads" + (f" since {since_iso}" if since_iso else ""))
    for column in ("updated", "upload id", "owner", "filename", "reasons"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(r["updated_at"], r["upload_id"], r["owner"], r["filename"], "; ".join(r["reasons"]))
    out.print(table)


def _pages(records: Any, status: str, since: str | None) -> Iterator[Any]:
    cursor = None
    while True:
        page = records.list_by_status(status, since=since, limit=100, cursor=cursor)
        yield from page.items
        cursor = page.next_cursor
        if not cursor:
            return


def _take(items: Iterator[T], n: int) -> Iterator[T]:
    for i, item in enumerate(items):
        if i >= n:
            return
        yield item


if __name__ == "__main__":  # pragma: no cover
    app(sys.argv[1:])
