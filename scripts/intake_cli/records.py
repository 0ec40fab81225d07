"""The upload records ops reads through `intake.records.Records`: by status (a Query per shard of the
by_status_shard index, merged, never a Scan), and by upload id for the dead letters. Timestamps are the index's format.
Records read as of now: `expired` (a pending upload past its TTL, never stored) is the stored
`pending` records past `expires_at_epoch`, and `pending` leaves those out (see intake.records).

The records' fields are read here only (`upload_row`, `dead_letter_fields`); the rest of the CLI gets
plain dicts in the --json shapes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from intake_cli.errors import OpsError
from intake_cli.target import Deployment

if TYPE_CHECKING:  # imported when used: pydantic and boto3's DynamoDB types are slow to load
    from intake.records import Records, UploadRecord

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PAGE = 100


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


def _records(deployment: Deployment, table: str) -> Records:
    from intake.records import Records

    return Records(table, client=deployment.target.client("dynamodb"))


def _by_status(records: Records, status: str, since: str | None) -> Iterator[UploadRecord]:
    cursor = None
    while True:
        page = records.list_by_status(status, since=since, limit=_PAGE, cursor=cursor)
        yield from page.items
        cursor = page.next_cursor
        if not cursor:
            return


def upload_row(record: UploadRecord) -> dict[str, Any]:
    """A record as `intake ops uploads` shows it."""
    return {
        "upload_id": record.upload_id,
        "owner": record.owner,
        "filename": record.filename,
        "key": record.key,
        "status": record.status.value,
        "reasons": list(record.status_reasons),
        "updated_at": record.updated_at,
        "created_at": record.created_at,
    }


def dead_letter_fields(record: UploadRecord) -> dict[str, Any]:
    """What a dead letter's row takes from its upload's record."""
    return {
        "key": record.key,
        "owner": record.owner,
        "status": record.status.value,
        "status_reasons": list(record.status_reasons),
    }


def uploads_by_status(
    deployment: Deployment, status: str, *, since: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Upload records with `status` (updated since `since`), newest first, at most `limit`."""
    records = _records(deployment, deployment.output("IndexTableName"))
    return [upload_row(item) for item in islice(_by_status(records, status, since), limit)]


def backfill_status_keys(deployment: Deployment) -> dict[str, int]:
    """Give each record written before the sharded status index its `status_key`, so that index lists
    it (a stack migrating from by_status, README). A Scan, once; a record a stage rewrites meanwhile
    gets its key from that write and is left alone (the update is conditional)."""
    from intake.status_shards import status_key

    client: Any = deployment.target.client("dynamodb")
    table = deployment.output("IndexTableName")
    counts = {"updated": 0, "left": 0}
    pages = client.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="attribute_not_exists(status_key)",
        ProjectionExpression="upload_id, #status",
        ExpressionAttributeNames={"#status": "status"},
    )
    for item in (item for page in pages for item in page.get("Items", [])):
        status = item.get("status", {}).get("S")
        try:
            client.update_item(
                TableName=table,
                Key={"upload_id": item["upload_id"]},
                UpdateExpression="SET status_key = :key",
                ConditionExpression="#status = :status AND attribute_not_exists(status_key)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":key": {"S": status_key(status or "", item["upload_id"]["S"])},
                    ":status": {"S": status or ""},
                },
            )
        except (ClientError, ValueError) as exc:  # changed meanwhile, or no status to key on
            if (
                isinstance(exc, ClientError)
                and exc.response["Error"]["Code"] != "ConditionalCheckFailedException"
            ):
                raise
            counts["left"] += 1
            continue
        counts["updated"] += 1
    return counts


def record_lookup(
    deployment: Deployment, on_error: Callable[[str], None]
) -> Callable[[set[str]], dict[str, dict[str, Any]]]:
    """Upload id -> its `dead_letter_fields`, where the index can be read: the dead letters matter
    more than their status, so a failure is told to `on_error` and gives no more records."""

    def lookup(upload_ids: set[str]) -> dict[str, dict[str, Any]]:
        table = deployment.outputs.get("IndexTableName")
        if not table or not upload_ids:
            return {}
        records = _records(deployment, table)
        found = {}
        try:
            for upload_id in upload_ids:
                item = records.get(upload_id)
                if item:
                    found[upload_id] = dead_letter_fields(item)
        except ClientError as exc:
            on_error(f"cannot read the upload records ({exc}); showing the messages only")
        return found

    return lookup


# --- announcing again ----------------------------------------------------------------------------


def finished_message(record: UploadRecord) -> tuple[str | None, str]:
    """The upload.finished message that announces the record's outcome, with what is done with it:
    (message JSON, "published"), (None, "already announced"), or an OpsError if there is no final
    outcome to announce (pure)."""
    from intake.events import UploadFinished
    from intake.status import FINAL_STATUSES, derive

    outcome = derive(record.results)
    if outcome.status not in FINAL_STATUSES or outcome.version is None:
        raise OpsError(
            f"upload {record.upload_id} is {record.status.value}: only a final outcome "
            "(ready, rejected or failed) is announced"
        )
    if record.announced(outcome):
        return None, "already announced"
    message = UploadFinished(upload_id=record.upload_id, status=outcome.status, version=outcome.version)
    return message.model_dump_json(), "published"


def announce(deployment: Deployment, upload_id: str) -> dict[str, Any]:
    """Publish the upload's upload.finished to FinishedTopic again, unless its owner was told already:
    notify then announces it once, as the owner's preference says (a duplicate is harmless there)."""
    table, topic = deployment.output("IndexTableName"), deployment.output("FinishedTopicArn")
    record = _records(deployment, table).get(upload_id)
    if record is None:
        raise OpsError(f"no upload {upload_id!r} in {table}")
    message, result = finished_message(record)
    if message is not None:
        deployment.target.client("sns").publish(TopicArn=topic, Message=message)
    return {"upload_id": upload_id, "status": record.status.value, "result": result}
