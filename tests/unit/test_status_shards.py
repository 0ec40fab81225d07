"""The sharded status key and the listing across shards: merge order, positions and the cursor."""

from __future__ import annotations

import base64
import json
import random
from typing import Any

import pytest

from intake import status_shards as shards
from intake.status_shards import DONE, STATUS_SHARDS, Position, ShardRead


def test_the_status_key_is_stable_and_spreads_ids_over_every_shard() -> None:
    assert shards.status_key("ready", "abc") == shards.status_key("ready", "abc")
    ids = [f"{i:032x}" for i in range(400)]
    used = {shards.status_shard(i) for i in ids}
    assert used == set(range(STATUS_SHARDS))
    key = shards.status_key("failed", ids[0])
    assert key.startswith("failed#") and 0 <= int(key.split("#")[1]) < STATUS_SHARDS
    with pytest.raises(ValueError):
        shards.status_key("nonsense", "abc")


def item(upload_id: str, updated_at: str, status: str = "ready") -> dict[str, Any]:
    return {
        "upload_id": {"S": upload_id},
        "status_key": {"S": shards.status_key(status, upload_id)},
        "updated_at": {"S": updated_at},
    }


def key_of(raw: dict[str, Any]) -> dict[str, Any]:
    return {name: raw[name] for name in shards.INDEX_KEY}


def test_merge_takes_the_newest_and_moves_each_shard_past_what_it_took() -> None:
    a = [item("a1", "2026-01-05"), item("a2", "2026-01-02")]
    b = [item("b1", "2026-01-04"), item("b2", "2026-01-03")]
    reads = [ShardRead(0, a, key_of(a[-1])), ShardRead(1, b, None), ShardRead(2, [], None)]
    taken, positions = shards.merge(reads, shards.start(), limit=2)
    assert [t["upload_id"]["S"] for t in taken] == ["a1", "b1"]
    assert positions[0] == key_of(a[0]) and positions[1] == key_of(b[0]) and positions[2] == DONE
    assert positions[3] is None  # not read yet
    taken, positions = shards.merge(reads, shards.start(), limit=10)
    assert [t["upload_id"]["S"] for t in taken] == ["a1", "b1", "b2", "a2"]
    assert positions[0] == key_of(a[-1]) and positions[1] == DONE


def test_a_shard_cut_short_holds_back_older_items_of_the_others() -> None:
    """Shard 0 stopped after one item (a filter, or 1 MB) with more to read: nothing older than where
    it stopped is taken, or its unread items would come out of order on the next page."""
    a = [item("a1", "2026-01-05")]
    b = [item("b1", "2026-01-04"), item("b2", "2026-01-01")]
    stop = key_of(item("a9", "2026-01-03"))
    taken, positions = shards.merge([ShardRead(0, a, stop), ShardRead(1, b, None)], shards.start(), limit=3)
    assert [t["upload_id"]["S"] for t in taken] == ["a1", "b1"]
    assert positions[0] == stop and positions[1] == key_of(b[0])


def paged(data: dict[int, list[dict[str, Any]]], limit: int, short: int, seed: int) -> list[str]:
    """Page through shards held in memory as DynamoDB would serve them; a read may stop early."""
    rng = random.Random(seed)
    positions: list[Position] = shards.start()
    seen: list[str] = []
    for _ in range(500):
        reads = []
        for shard, position in enumerate(positions):
            if position == DONE:
                continue
            rows = data.get(shard, [])
            begin = (
                0 if position is None else next(i for i, r in enumerate(rows) if key_of(r) == position) + 1
            )
            count = min(limit, rng.randint(1, short)) if short else limit
            chunk = rows[begin : begin + count]
            after = key_of(chunk[-1]) if chunk and begin + len(chunk) < len(rows) else None
            reads.append(ShardRead(shard, chunk, after))
        taken, positions = shards.merge(reads, positions, limit)
        assert len(taken) <= limit
        seen += [t["upload_id"]["S"] for t in taken]
        if shards.exhausted(positions):
            return seen
        cursor = shards.encode(positions, "ready", None)
        positions = shards.decode(cursor, "ready", None)
    raise AssertionError("the listing did not end")


@pytest.mark.parametrize(("limit", "short"), [(1, 0), (3, 0), (7, 0), (50, 0), (5, 2), (10, 3)])
def test_paging_through_every_shard_gives_each_item_once_newest_first(limit: int, short: int) -> None:
    rng = random.Random(limit * 100 + short)
    everything = [item(f"{i:08x}", f"2026-01-01T00:00:{rng.randint(0, 59):02d}.000Z") for i in range(120)]
    data: dict[int, list[dict[str, Any]]] = {}
    for raw in everything:
        data.setdefault(shards.status_shard(raw["upload_id"]["S"]), []).append(raw)
    for rows in data.values():
        rows.sort(key=lambda r: r["updated_at"]["S"], reverse=True)
    assert len(data) > 1
    seen = paged(data, limit, short, seed=limit)
    assert sorted(seen) == sorted(r["upload_id"]["S"] for r in everything)  # each once
    when = {r["upload_id"]["S"]: r["updated_at"]["S"] for r in everything}
    assert [when[s] for s in seen] == sorted((when[s] for s in seen), reverse=True)


def encoded(body: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode()


def test_a_cursor_round_trips_and_belongs_to_its_listing() -> None:
    positions: list[Position] = shards.start()
    positions[3] = key_of(item("x", "2026-01-01", "pending")) | {"status_key": {"S": "pending#3"}}
    positions[5] = DONE
    cursor = shards.encode(positions, "expired", "2026-01-01")
    assert shards.decode(cursor, "expired", "2026-01-01") == positions
    with pytest.raises(ValueError, match="listing of status 'expired'"):
        shards.decode(cursor, "pending", "2026-01-01")
    with pytest.raises(ValueError, match="since"):
        shards.decode(cursor, "expired", None)


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        encoded([1, 2]),
        encoded({"v": 2, "status": "ready", "since": None, "shards": [None] * 16}),
        encoded({"v": 1, "status": "ready", "since": None, "shards": [None] * 15}),
        encoded({"v": 1, "status": "ready", "since": None, "shards": ["later"] + [None] * 15}),
        encoded(
            {"v": 1, "status": "ready", "since": None, "shards": [{"upload_id": {"S": "u"}}] + [None] * 15}
        ),
        # a position in another shard's key, or another status's
        encoded(
            {
                "v": 1,
                "status": "ready",
                "since": None,
                "shards": [
                    {"upload_id": {"S": "u"}, "status_key": {"S": "ready#4"}, "updated_at": {"S": "t"}}
                ]
                + [None] * 15,
            }
        ),
        encoded(
            {
                "v": 1,
                "status": "ready",
                "since": None,
                "shards": [
                    {"upload_id": {"S": "u"}, "status_key": {"S": "failed#0"}, "updated_at": {"N": "1"}}
                ]
                + [None] * 15,
            }
        ),
        # an owner cursor of GET /uploads is not a status cursor
        encoded({"upload_id": {"S": "u"}, "owner": {"S": "o"}, "created_at": {"S": "t"}}),
    ],
)
def test_a_bad_cursor_is_refused_with_a_clear_error(cursor: str) -> None:
    with pytest.raises(ValueError, match=r"^invalid cursor: "):
        shards.decode(cursor, "ready", None)
