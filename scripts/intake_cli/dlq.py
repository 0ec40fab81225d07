"""Dead-letter queues: peek, redrive, purge (saving first) and replay, as plain functions on SQS clients.

Nothing here loses a message: peek hands every message back at once, redrive deletes a dead letter
only after its copy was sent, a purge with a file deletes only what is safely on disk, and replay
validates the whole file before it sends anything. Duplicates are possible when a command is killed
half-way; the consumers are idempotent, losses are what must never happen.

Saved file: one JSON object a line, `{"queue", "message_id", "body", "message_attributes",
"attributes", "saved_at"}`, binary attribute values as `{"base64": ...}`.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from intake_cli.errors import OpsError
from intake_cli.records import iso
from intake_cli.target import Deployment

BATCH = 10  # SQS batch and receive limit
MOVE_TASK_POLL_S = 2

# upload ids -> where each stands: {key, owner, status, status_reasons} (records.record_lookup)
RecordLookup = Callable[[set[str]], Mapping[str, Mapping[str, Any]]]


def _ms_iso(value: str | None) -> str | None:
    return iso(datetime.fromtimestamp(int(value) / 1000, UTC)) if value else None


# --- what a dead letter is about -------------------------------------------------------------------


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


def describe_dead_letters(
    consumer: str, messages: Sequence[Mapping[str, Any]], lookup: RecordLookup | None = None
) -> list[dict[str, Any]]:
    """A row an upload a message is about, with its record's status where `lookup` finds it."""
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
    wanted = {r["upload_id"] for r in rows if r.get("upload_id")}
    records = lookup(wanted) if lookup and wanted else {}
    for row in rows:
        record = records.get(row.get("upload_id", ""))
        if record:
            row.setdefault("key", record["key"])
            row.setdefault("owner", record["owner"])
            row["status"] = record["status"]
            row["status_reasons"] = record["status_reasons"]
    return rows


# --- the saved-file format ---------------------------------------------------------------------


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


# --- SQS ----------------------------------------------------------------------------------------


def _receive(
    sqs: Any, url: str, count: int, visibility_timeout: int, wait_s: int = 1
) -> list[dict[str, Any]]:
    response = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=max(1, min(BATCH, count)),
        VisibilityTimeout=visibility_timeout,
        WaitTimeSeconds=wait_s,  # a long poll asks every SQS server, so "nothing" means empty
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    return list(response.get("Messages", []))


def _release(sqs: Any, url: str, handles: Sequence[str]) -> None:
    """Make received messages visible again at once."""
    for start in range(0, len(handles), BATCH):
        entries = [
            {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
            for i, h in enumerate(handles[start : start + BATCH])
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
        want = BATCH if limit is None else min(BATCH, limit - result.moved)
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


def queue_counts(sqs: Any, url: str) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def _move_task(sqs: Any, dlq_arn: str, queue_arn: str) -> dict[str, Any]:
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=queue_arn)["TaskHandle"]
    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=1)["Results"]
        task = tasks[0] if tasks else {}
        if task.get("Status") in ("COMPLETED", "FAILED", "CANCELLED"):
            break
        time.sleep(MOVE_TASK_POLL_S)
    if task.get("Status") != "COMPLETED":
        raise OpsError(f"message move task {handle} {task.get('Status')}: {task.get('FailureReason', '')}")
    return {"method": "StartMessageMoveTask", "moved": int(task.get("ApproximateNumberOfMessagesMoved", 0))}


def _drain_to_file(sqs: Any, url: str, consumer: str, path: Path) -> tuple[int, int]:
    """Save every message to ``path``, then delete exactly those: (saved, deleted)."""
    saved: list[dict[str, Any]] = []
    try:
        while True:
            batch = _receive(sqs, url, BATCH, visibility_timeout=300)
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
    for start in range(0, len(saved), BATCH):
        chunk = saved[start : start + BATCH]
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
        response = sqs.delete_message_batch(QueueUrl=url, Entries=entries)
        deleted += len(response.get("Successful", []))
    return len(saved), deleted


# --- the operations --------------------------------------------------------------------------------


def peek(
    deployment: Deployment, consumer: str, limit: int, lookup: RecordLookup | None = None
) -> list[dict[str, Any]]:
    """Up to `limit` dead letters of `consumer`, described down to the upload, all left in the DLQ."""
    messages = peek_messages(deployment.target.client("sqs"), deployment.dlq_url(consumer), limit)
    return describe_dead_letters(consumer, messages, lookup)


def redrive(
    deployment: Deployment,
    consumer: str,
    *,
    limit: int | None = None,
    visibility_timeout: int = 60,
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Dead letters back to their queue: StartMessageMoveTask where the endpoint has it (and no
    `limit`), else receive -> send -> delete, never deleting before the copy is sent."""
    sqs = deployment.target.client("sqs")
    dlq_url, queue_url = deployment.dlq_url(consumer), deployment.queue_url(consumer)
    if limit is None:
        dlq_arn = _queue_arn(sqs, dlq_url)
        if move_task_supported(deployment.target.client("sqs", retries=1), dlq_arn):
            return _move_task(sqs, dlq_arn, _queue_arn(sqs, queue_url))
    result = move_messages(
        sqs, dlq_url, queue_url, limit=limit, visibility_timeout=visibility_timeout, on_progress=on_progress
    )
    return {"method": "copy", "moved": result.moved, "not_deleted": result.not_deleted}


def dlq_depth(deployment: Deployment, consumer: str) -> int:
    """Messages in the DLQ, visible or in flight."""
    visible, in_flight = queue_counts(deployment.target.client("sqs"), deployment.dlq_url(consumer))
    return visible + in_flight


def purge_to_file(deployment: Deployment, consumer: str, path: Path) -> tuple[int, int]:
    """Save the DLQ's messages to the new file `path`, then delete exactly those: (saved, deleted)."""
    return _drain_to_file(deployment.target.client("sqs"), deployment.dlq_url(consumer), consumer, path)


def purge(deployment: Deployment, consumer: str) -> None:
    """Empty the DLQ for good."""
    deployment.target.client("sqs").purge_queue(QueueUrl=deployment.dlq_url(consumer))


def replay(deployment: Deployment, consumer: str, messages: Sequence[SavedMessage], *, into_dlq: bool) -> int:
    """Send saved messages to the consumer's queue (or its DLQ); how many were sent. A batch that
    fails stops the replay with the line to resume from."""
    url = deployment.dlq_url(consumer) if into_dlq else deployment.queue_url(consumer)
    sqs = deployment.target.client("sqs")
    sent = 0
    for start in range(0, len(messages), BATCH):
        chunk = messages[start : start + BATCH]
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
    return sent
