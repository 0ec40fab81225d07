"""The upload index in DynamoDB: one schema, one repository, all table access goes through here.

Item: `upload_id` (key), `owner`, `filename` (the name the user gave; the key has a safe form),
`created_at`, `updated_at`, `status`, `status_key`, `status_reasons`, `status_version`, `thumbnails`
(settled together from the stage results), `stage_<validate|thumbnail|index>` (see status.py), `rev`
(bumped by every stage write), `status_rev` (the rev the status was derived from: since stage writes
settle the status themselves, always `rev`), `notified`, and descriptive attributes.
Reads return an UploadRecord (record.py), whose fields are these names. GSIs: `by_owner` (owner,
created_at) and `by_status_shard` (status_key = `<status>#<shard>`, updated_at; status_shards.py).
Every read is a GetItem or a Query, never a Scan.

A stage write is one consistent GetItem and one UpdateItem (`record_stage`): the result and the status
derived from all the results, on the condition that `rev` is still the one read; a lost race retries
on the item DynamoDB returns with the failed condition, without reading again.

Abandoned uploads: `create_pending` sets `expires_at_epoch` (the table's TTL attribute) and the first
stage write removes it. Every read returns the record as of now (`UploadRecord.read_at`), so a pending
record past its TTL reads as `expired` until DynamoDB deletes it. `expired` is not stored, so it has no
index entry of its own: listing it queries `pending` and keeps the items past their TTL (a filter, read
on until the page is full); listing `pending` leaves them out the same way.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from intake import aws
from intake import status_shards as shards
from intake.dynamo_types import TypeDeserializer, TypeSerializer
from intake.keys import UploadKey
from intake.record import Multipart, UploadRecord
from intake.status import Outcome, StageResult, Status, derive, listed_thumbnails, supersedes
from intake.status_shards import STATUS_SHARDS, status_key

__all__ = [
    "STATUS_SHARDS",
    "Multipart",
    "Page",
    "Records",
    "Settled",
    "UploadRecord",
    "WriteContention",
    "decode_cursor",
    "encode_cursor",
    "now_iso",
    "status_key",
]

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _to_dynamo(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(_plain(v)) for k, v in values.items()}


def _plain(value: Any) -> Any:
    """DynamoDB has no floats and no tuples; enums (Status) are stored as their words."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _from_dynamo(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _python(_deserializer.deserialize(v)) for k, v in item.items()}


def _python(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_python(v) for v in value]
    if isinstance(value, dict):
        return {k: _python(v) for k, v in value.items()}
    return value


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


@dataclass(frozen=True)
class Settled:
    """The record after a stage write: its outcome, and whether its owner still has to hear of it.

    `stored` is False when a newer or stronger result of the stage was there already: the write did
    nothing, and `outcome` is the record's as it stands.
    """

    outcome: Outcome
    needs_announcement: bool
    stored: bool = True


@dataclass(frozen=True)
class Page:
    items: list[UploadRecord]
    next_cursor: str | None


TTL_ATTRIBUTE = "expires_at_epoch"  # the IndexTable's TimeToLiveSpecification.AttributeName
MULTIPART_ATTRIBUTE = "multipart"  # an open multipart upload (record.Multipart)
_EXPRESSION_NAMES = {"#ttl": TTL_ATTRIBUTE, "#status": "status"}


def _names_in(expression: str) -> dict[str, str]:
    """The attribute names an update expression uses, of those that need a placeholder."""
    return {name: value for name, value in _EXPRESSION_NAMES.items() if name in expression}


_MAX_WRITE_ATTEMPTS = 10  # a stage write that loses the race this often raises (SQS retries it)


class WriteContention(Exception):
    """A stage write kept losing the race with other writes of the same record."""


def _unchanged(current: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """The condition that the record is still `current` (stage writes bump its `rev`)."""
    if current is None:
        return "attribute_not_exists(upload_id)", {}
    if "rev" in current:
        return "rev = :rev", {":rev": current["rev"]}
    return "attribute_exists(upload_id) AND attribute_not_exists(rev)", {}  # written before rev existed


def _record_or_none(item: Mapping[str, Any] | None) -> UploadRecord | None:
    return UploadRecord.from_item(item) if item else None


class Records:
    def __init__(
        self, table: str, client: DynamoDBClient | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.table = table
        self._client = client
        self.clock = clock  # epoch seconds: when a pending record's TTL has passed

    @property
    def client(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()

    # --- writes -----------------------------------------------------------------------------------

    def create_pending(
        self,
        key: UploadKey,
        *,
        filename: str | None = None,
        owner_email: str | None,
        content_type: str,
        size: int,
        title: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        expires_at_epoch: int | None = None,
        multipart: Multipart | None = None,
    ) -> UploadRecord:
        """The pending record of a presigned upload; `expires_at_epoch` is its TTL if the object never comes.

        `filename` is the name the user gave (the key's name is its safe form, and the default);
        `multipart` is the S3 multipart upload of a large one (until it is completed or aborted).
        """
        now = now_iso()
        item: dict[str, Any] = {
            "upload_id": key.upload_id,
            "owner": key.owner,
            "filename": filename or key.filename,
            "key": key.key,
            "declared_content_type": content_type,
            "declared_size": size,
            "status": Status.PENDING.value,
            "status_key": status_key(Status.PENDING, key.upload_id),
            "status_reasons": [],
            "created_at": now,
            "updated_at": now,
            "rev": 0,
            "status_rev": 0,
            "tags": tags or [],
        }
        if expires_at_epoch is not None:
            item[TTL_ATTRIBUTE] = expires_at_epoch
        if multipart is not None:
            item[MULTIPART_ATTRIBUTE] = multipart.model_dump()
        item.update(
            {
                k: v
                for k, v in {"owner_email": owner_email, "title": title, "description": description}.items()
                if v
            }
        )
        self.client.put_item(
            TableName=self.table,
            Item=_to_dynamo(item),
            ConditionExpression="attribute_not_exists(upload_id)",
        )
        return UploadRecord.from_item(item)

    def record_stage(
        self, key: UploadKey, result: StageResult, attributes: Mapping[str, Any] | None = None
    ) -> Settled:
        """Store one stage's result and settle the status in one conditional write (see Settled.stored).

        One consistent GetItem, then one UpdateItem that writes the result together with the status
        derived from all the stored results, on the condition that the record is still the one read
        (its `rev`). A concurrent stage write makes the condition fail; DynamoDB then returns the item
        as it stands, so the next attempt needs no read: one read and one write per stage, one more
        write per lost race. The stored results are a pure fold (status.supersedes), so the record
        ends the same in any order.
        """
        current = self._get_raw(key.upload_id)
        for _ in range(_MAX_WRITE_ATTEMPTS):
            stored = _record_or_none(current)
            results = stored.results if stored else {}
            if not supersedes(result, results.get(result.stage)):
                return Settled(derive(results), needs_announcement=False, stored=False)
            merged = {**results, result.stage: result}
            try:
                written = self._write_stage(key, result, merged, attributes or {}, current)
            except ClientError as exc:
                if not _conditional_failed(exc):
                    raise
                item = cast("Mapping[str, Any] | None", exc.response.get("Item"))
                current = _from_dynamo(item) if item else None
                continue
            outcome = derive(merged)
            return Settled(outcome, outcome.final and not written.announced(outcome))
        raise WriteContention(f"upload {key.upload_id}: {_MAX_WRITE_ATTEMPTS} stage writes lost the race")

    def _get_raw(self, upload_id: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table, Key={"upload_id": {"S": upload_id}}, ConsistentRead=True
        ).get("Item")
        return _from_dynamo(item) if item else None

    def _write_stage(
        self,
        key: UploadKey,
        result: StageResult,
        results: Mapping[str, StageResult],
        attributes: Mapping[str, Any],
        current: Mapping[str, Any] | None,
    ) -> UploadRecord:
        """The one UpdateItem of a stage: its result, the settled status, on the condition of `current`."""
        outcome = derive(results)
        rev = int(current.get("rev", 0)) if current else 0
        values: dict[str, Any] = {
            ":result": result.to_item(),
            ":owner": key.owner,
            ":filename": key.filename,
            ":key": key.key,
            ":now": now_iso(),
            ":status": outcome.status.value,
            ":status_key": status_key(outcome.status, key.upload_id),
            ":reasons": list(outcome.reasons),
            ":version": outcome.version or "",
            ":thumbnails": listed_thumbnails(results),
            ":next": rev + 1,
        }
        names = {"#stage": f"stage_{result.stage}", "#owner": "owner", "#key": "key", "#status": "status"}
        names["#ttl"] = TTL_ATTRIBUTE
        sets = [
            "#stage = :result",
            "#owner = if_not_exists(#owner, :owner)",
            "filename = if_not_exists(filename, :filename)",
            "#key = if_not_exists(#key, :key)",
            "created_at = if_not_exists(created_at, :now)",
            "updated_at = :now",
            "#status = :status",
            "status_key = :status_key",
            "status_reasons = :reasons",
            "status_version = :version",
            "thumbnails = :thumbnails",
            "rev = :next",
            "status_rev = :next",
        ]
        for i, (name, value) in enumerate(attributes.items()):
            names[f"#a{i}"] = name
            values[f":a{i}"] = value
            sets.append(f"#a{i} = :a{i}")
        condition, expected = _unchanged(current)
        values.update(expected)
        response = self.client.update_item(
            TableName=self.table,
            Key={"upload_id": {"S": key.upload_id}},
            # The object arrived: the record is no longer abandoned, so its TTL goes.
            UpdateExpression="SET " + ", ".join(sets) + " REMOVE #ttl",
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=_to_dynamo(values),
            ReturnValues="ALL_NEW",  # free: the `notified` a concurrent notify may have set
            ReturnValuesOnConditionCheckFailure="ALL_OLD",  # free: the item to try again with
        )
        return UploadRecord.from_item(_from_dynamo(response["Attributes"]))

    # --- multipart uploads: the open S3 upload id, removed when it ends ---------------------------

    def _update_multipart(
        self,
        upload_id: str,
        s3_upload_id: str,
        expression: str,
        values: Mapping[str, Any],
        names: Mapping[str, str] | None = None,
    ) -> bool:
        """Update the record only while it still holds this open multipart upload; False otherwise."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"upload_id": {"S": upload_id}},
                UpdateExpression=expression,
                ConditionExpression="#mp.s3_upload_id = :mp",
                ExpressionAttributeNames={"#mp": MULTIPART_ATTRIBUTE, **(names or {})}
                | _names_in(expression),
                ExpressionAttributeValues=_to_dynamo({":mp": s3_upload_id, **values}),
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def extend_multipart(self, upload_id: str, s3_upload_id: str, *, expires_at_epoch: int) -> bool:
        """A client still works on the upload (it asked for part URLs): push its pending TTL back."""
        return self._update_multipart(
            upload_id,
            s3_upload_id,
            "SET #ttl = :ttl, updated_at = :now",
            {":ttl": expires_at_epoch, ":now": now_iso()},
        )

    def end_multipart(self, upload_id: str, s3_upload_id: str) -> bool:
        """The multipart upload was completed: the record is an ordinary pending upload from now on
        (the stages take it from the ObjectCreated events). False if it was no longer open."""
        return self._update_multipart(upload_id, s3_upload_id, "REMOVE #mp", {})

    def reject_multipart(self, upload_id: str, s3_upload_id: str, refusal: StageResult) -> bool:
        """The multipart upload was refused and aborted: the record ends `rejected` with the refusal's
        reasons, the refusal stored as its stage result (uploads.refusal), so the status derives from the
        results as every stage write's does, and notify announces it like any rejection.

        No object was made, so no stage will ever write the record: this status stays, the TTL goes
        (a rejected record keeps its verdict, as the stages' do). False if it was no longer open.
        """
        outcome = derive({refusal.stage: refusal})
        values = {
            ":status": outcome.status.value,
            ":status_key": status_key(outcome.status, upload_id),
            ":reasons": list(outcome.reasons),
            ":version": outcome.version or "",
            ":result": refusal.to_item(),
            ":one": 1,
            ":now": now_iso(),
        }
        expression = (
            "SET #status = :status, status_key = :status_key, status_reasons = :reasons,"
            " status_version = :version, #stage = :result, rev = rev + :one, status_rev = rev + :one,"
            " updated_at = :now REMOVE #mp, #ttl"
        )
        return self._update_multipart(
            upload_id, s3_upload_id, expression, values, names={"#stage": f"stage_{refusal.stage}"}
        )

    def mark_notified(self, upload_id: str, *, version: str, status: Status, detail: str) -> None:
        self._update_existing(
            upload_id,
            "SET notified = :n REMOVE notify_error",
            {":n": {"version": version, "status": Status(status).value, "detail": detail, "at": now_iso()}},
        )

    def mark_notify_failed(self, upload_id: str, detail: str) -> None:
        self._update_existing(upload_id, "SET notify_error = :e", {":e": {"detail": detail, "at": now_iso()}})

    def _update_existing(self, upload_id: str, expression: str, values: dict[str, Any]) -> None:
        """Update a record, but never recreate one the owner deleted meanwhile."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"upload_id": {"S": upload_id}},
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(upload_id)",
                ExpressionAttributeValues=_to_dynamo(values),
            )
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise

    def delete(self, upload_id: str, *, owner: str) -> bool:
        """Delete the owner's record. False if there is none, or it belongs to someone else."""
        try:
            self.client.delete_item(
                TableName=self.table,
                Key={"upload_id": {"S": upload_id}},
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    # --- reads ------------------------------------------------------------------------------------

    def get(self, upload_id: str) -> UploadRecord | None:
        response = self.client.get_item(
            TableName=self.table, Key={"upload_id": {"S": upload_id}}, ConsistentRead=True
        )
        item = response.get("Item")
        return _record(item).read_at(self.clock()) if item else None

    def list_by_owner(
        self, owner: str, *, limit: int = 20, cursor: str | None = None, status: str | None = None
    ) -> Page:
        """The owner's records, newest first, optionally only those with `status`.

        A cursor is only accepted for the owner it was made for (ValueError otherwise), so nobody can
        page through another owner's records.
        """
        if cursor is not None:
            _check_owner_cursor(cursor, owner)
        if status is None:
            return self._query("by_owner", "#k = :k", {"#k": "owner"}, {":k": owner}, limit, cursor)
        expression, names, values = self._status_filter(status)
        query = _Query(
            "by_owner", "#owner = :owner", names | {"#owner": "owner"}, values | {":owner": owner}, expression
        )
        return self._filtered(query, limit, cursor, _OWNER_KEY)

    def list_by_status(
        self, status: str, *, since: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> Page:
        """Records with `status`, newest update first; `expired` and `pending` as the module docstring says.

        One Query per shard of the status (status_shards), in parallel, merged; the cursor holds each
        shard's position (ValueError if it is not one of this listing). Items are what the index
        projects: what ops lists, not the stage results.
        """
        stored = Status.PENDING if status in (Status.EXPIRED, Status.PENDING) else Status(status)
        positions = shards.decode(cursor, status, since) if cursor else shards.start()
        condition, names, values = "#k = :k", {"#k": "status_key"}, {}
        if since:
            condition += " AND updated_at >= :since"
            values[":since"] = since
        query = _Query(shards.INDEX, condition, names, values, "")
        if stored == Status.PENDING:
            expression, ttl_names, ttl_values = self._ttl_filter(Status(status))
            query = _Query(shards.INDEX, condition, names | ttl_names, values | ttl_values, expression)
        client = self.client
        todo = [shard for shard, position in enumerate(positions) if position != shards.DONE]

        def read(shard: int) -> shards.ShardRead:
            shard_query = query.where({":k": shards.shard_key(stored, shard)})
            position = positions[shard]
            start = position if isinstance(position, dict) else None
            items, after = self._read(client, shard_query, start, limit, shards.INDEX_KEY)
            return shards.ShardRead(shard, items, after)

        with ThreadPoolExecutor(max_workers=min(len(todo), STATUS_SHARDS) or 1) as pool:
            reads = list(pool.map(read, todo))
        items, moved = shards.merge(reads, positions, limit)
        next_cursor = None if shards.exhausted(moved) else shards.encode(moved, status, since)
        now = self.clock()
        return Page([_record(i).read_at(now) for i in items], next_cursor)

    def _status_filter(self, status: str) -> tuple[str, dict[str, str], dict[str, Any]]:
        """A FilterExpression for records that read as `status` (expired and pending look at the TTL)."""
        if status not in (Status.EXPIRED, Status.PENDING):
            return "#status = :status", {"#status": "status"}, {":status": status}
        expression, names, values = self._ttl_filter(Status(status))
        names["#status"], values[":status"] = "status", Status.PENDING.value
        return f"#status = :status AND ({expression})", names, values

    def _ttl_filter(self, status: Status) -> tuple[str, dict[str, str], dict[str, Any]]:
        """Among stored `pending` records: those past their TTL (expired) or not (pending)."""
        names, values = {"#ttl": TTL_ATTRIBUTE}, {":now": int(self.clock())}
        if status == Status.EXPIRED:
            return "#ttl <= :now", names, values
        return "attribute_not_exists(#ttl) OR #ttl > :now", names, values

    def _filtered(self, query: _Query, limit: int, cursor: str | None, key_names: tuple[str, ...]) -> Page:
        items, after = self._read(
            self.client, query, decode_cursor(cursor) if cursor else None, limit, key_names
        )
        return self._page(items, after)

    def _read(
        self,
        client: DynamoDBClient,
        query: _Query,
        start: Mapping[str, Any] | None,
        limit: int,
        key_names: tuple[str, ...],
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Up to `limit` items of `query` after `start`, and the key to resume after them (None: the end).

        A filter applies after Limit, so a filtered query reads on until it has `limit` items (a bounded
        number of reads) and resumes after the last item it returns: pages never skip a match.
        """
        items: list[dict[str, Any]] = []
        for _ in range(_MAX_FILTERED_READS if query.filter else 1):
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": query.index,
                "KeyConditionExpression": query.condition,
                "ExpressionAttributeNames": query.names,
                "ExpressionAttributeValues": _to_dynamo(query.values),
                "ScanIndexForward": False,  # newest first
                "Limit": max(limit, _FILTERED_READ_SIZE) if query.filter else limit,
            }
            if query.filter:
                kwargs["FilterExpression"] = query.filter
            if start:
                kwargs["ExclusiveStartKey"] = start
            response = client.query(**kwargs)
            page, start = response.get("Items", []), response.get("LastEvaluatedKey")
            for i, raw in enumerate(page):
                items.append(raw)
                if len(items) == limit:
                    more = i < len(page) - 1 or start is not None
                    return items, _index_key(raw, key_names) if more else None
            if not start:
                break
        return items, dict(start) if start else None

    def _query(
        self,
        index: str,
        condition: str,
        names: dict[str, str],
        values: dict[str, Any],
        limit: int,
        cursor: str | None,
    ) -> Page:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": _to_dynamo(values),
            "ScanIndexForward": False,  # newest first
            "Limit": limit,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = decode_cursor(cursor)
        response = self.client.query(**kwargs)
        last = response.get("LastEvaluatedKey")
        return self._page(response.get("Items", []), last)

    def _page(self, raw_items: list[dict[str, Any]], last_key: Mapping[str, Any] | None) -> Page:
        now = self.clock()
        records = [_record(i).read_at(now) for i in raw_items]
        return Page(records, encode_cursor(last_key) if last_key else None)


@dataclass(frozen=True)
class _Query:
    """A Query on an index with a FilterExpression (names and values of both expressions)."""

    index: str
    condition: str
    names: dict[str, str]
    values: dict[str, Any]
    filter: str  # "" for none

    def where(self, values: dict[str, Any]) -> _Query:
        return _Query(self.index, self.condition, self.names, self.values | values, self.filter)


def _record(raw_item: Mapping[str, Any]) -> UploadRecord:
    return UploadRecord.from_item(_from_dynamo(raw_item))


_MAX_FILTERED_READS = 10
_FILTERED_READ_SIZE = 100
_OWNER_KEY = ("upload_id", "owner", "created_at")  # by_owner's index key plus the table key


def _index_key(raw_item: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: raw_item[name] for name in names}


def _check_owner_cursor(cursor: str, owner: str) -> None:
    key = decode_cursor(cursor)
    well_formed = set(key) == set(_OWNER_KEY) and all(
        isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) and 0 < len(v["S"]) <= 1024
        for v in key.values()
    )
    if not well_formed or key["owner"]["S"] != owner:
        raise ValueError("invalid cursor")


def encode_cursor(key: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("invalid cursor") from exc
    if not isinstance(key, dict):
        raise ValueError("invalid cursor")
    return key
