"""The sharded status key and the cursor of a listing across its shards: pure, no AWS.

A status alone would be five hash keys, and every new upload lands on `ready` at the same moment, so
at 1,000 uploads/s one GSI partition would take them all (docs/scaling.md). Each record stores
`status_key = "<status>#<shard>"`, its shard a stable hash of its id (one of `STATUS_SHARDS`), and the
`by_status_shard` index is keyed on it (sort key `updated_at`): a status is spread over 16 keys.

Listing one status queries every shard (records.py, in parallel) and `merge`s the pages, newest
update first. The cursor holds a position per shard: `None` (not read yet), `"done"` (read to its
end) or the index key to resume after. It is opaque to callers (URL-safe base64 of JSON), names the
listing it belongs to (status and `since`), and is checked before use: a bad one is a ValueError.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from intake.status import Status
from intake.text import quoted

STATUS_SHARDS = 16
INDEX = "by_status_shard"
INDEX_KEY = ("upload_id", "status_key", "updated_at")  # the index's key plus the table's
DONE = "done"
_VERSION = 1

Position = dict[str, Any] | str | None  # an ExclusiveStartKey, DONE, or None: from the top
RawItem = dict[str, Any]  # an item as DynamoDB returns it (typed values)


def status_shard(upload_id: str) -> int:
    """The record's shard of its status (0..STATUS_SHARDS-1): stable, from the id alone."""
    return zlib.crc32(upload_id.encode()) % STATUS_SHARDS


def status_key(status: Status | str, upload_id: str) -> str:
    """`<status>#<shard>`: the hash key of the by_status_shard index."""
    return f"{Status(status).value}#{status_shard(upload_id)}"


def shard_key(status: Status | str, shard: int) -> str:
    return f"{Status(status).value}#{shard}"


@dataclass(frozen=True)
class ShardRead:
    """One shard's Query result: its items (newest first) and where it stops (None: at its end)."""

    shard: int
    items: list[RawItem]
    after: dict[str, Any] | None


def start() -> list[Position]:
    return [None] * STATUS_SHARDS


def merge(
    reads: Sequence[ShardRead], positions: Sequence[Position], limit: int
) -> tuple[list[RawItem], list[Position]]:
    """The newest `limit` items of the shards' reads, and every shard's position after them.

    A shard that stopped short of `limit` items with more to read (a filter, or DynamoDB's 1 MB page)
    has unread items no newer than where it stopped: nothing older than that is taken from any shard,
    so pages are in order across pages too (a page may then be short; its cursor goes on).
    """
    cutoff = max((r.after["updated_at"]["S"] for r in reads if r.after and len(r.items) < limit), default="")
    candidates = [(item["updated_at"]["S"], r.shard, i) for r in reads for i, item in enumerate(r.items)]
    candidates.sort(key=lambda c: c[0], reverse=True)  # stable: a shard's own order is kept
    taken = [c for c in candidates if c[0] >= cutoff][:limit]
    by_shard = {r.shard: r for r in reads}
    used = dict.fromkeys(by_shard, 0)
    for _, shard, _ in taken:
        used[shard] += 1
    moved = list(positions)
    for shard, count in used.items():
        read = by_shard[shard]
        if count == len(read.items):
            moved[shard] = read.after if read.after is not None else DONE
        elif count:
            moved[shard] = {name: read.items[count - 1][name] for name in INDEX_KEY}
    return [by_shard[shard].items[i] for _, shard, i in taken], moved


def exhausted(positions: Sequence[Position]) -> bool:
    return all(p == DONE for p in positions)


def encode(positions: Sequence[Position], status: str, since: str | None) -> str:
    body = {"v": _VERSION, "status": status, "since": since, "shards": list(positions)}
    return base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode()


def decode(cursor: str, status: str, since: str | None) -> list[Position]:
    """The positions in `cursor`, if it is a cursor of this listing (status, since); else ValueError."""
    try:
        body = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise ValueError("invalid cursor: not a cursor of a status listing") from exc
    if not isinstance(body, dict) or body.get("v") != _VERSION or not isinstance(body.get("shards"), list):
        raise ValueError("invalid cursor: not a cursor of a status listing")
    if (body.get("status"), body.get("since")) != (status, since):
        raise ValueError(
            f"invalid cursor: it continues the listing of status {_shown(body.get('status'))}"
            f" since {_shown(body.get('since'))}, not {_shown(status)} since {_shown(since)}"
        )
    shards: list[Any] = body["shards"]
    stored = Status.PENDING if status == Status.EXPIRED else Status(status)
    if len(shards) != STATUS_SHARDS or not all(_valid(p, shard_key(stored, i)) for i, p in enumerate(shards)):
        raise ValueError("invalid cursor: its shard positions are malformed")
    return shards


def _shown(value: Any) -> str:
    return quoted(value) if isinstance(value, str) else "none" if value is None else "(malformed)"


def _valid(position: Any, key: str) -> bool:
    if position is None or position == DONE:
        return True
    if not isinstance(position, Mapping) or set(position) != set(INDEX_KEY):
        return False
    typed = all(
        isinstance(v, Mapping) and set(v) == {"S"} and isinstance(v["S"], str) and 0 < len(v["S"]) <= 1024
        for v in position.values()
    )
    return typed and position["status_key"]["S"] == key
