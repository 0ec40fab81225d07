"""One read and one write per stage on the index table, and the same record whatever races happen.

A stage reads the record, then writes its result and the settled status in one conditional UpdateItem
(intake.records.Records.record_stage). Here against moto: the calls each stage makes, and stages that
all read the same record before any of them writes (the widest race), in every order.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import boto3
import pytest

from intake.keys import UploadKey
from intake.records import Records, WriteContention, status_key
from intake.status import STAGES, StageResult, Status
from tests.integration.conftest import Cloud
from tests.support.aws import REGION

TABLE = "intake-index"
KEY = UploadKey("owner-a", "u1", "photo.jpg")
MADE = [{"size": s, "key": f"thumbnails/owner-a/u1/{s}.jpg", "width": s, "height": s} for s in (1024, 512)]


class Counting:
    """A DynamoDB client that counts the calls made through it."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def call(**kwargs: Any) -> Any:
            self.calls[name] += 1
            return method(**kwargs)

        return call


def result(stage: str, state: str = "done", version: str = "v1", **details: Any) -> StageResult:
    reasons = ("bad",) if state != "done" else ()
    return StageResult(stage, state, version, "t", reasons, details)  # type: ignore[arg-type]


def pending(records: Records) -> None:
    records.create_pending(KEY, owner_email="a@example.com", content_type="image/jpeg", size=1)


@pytest.mark.usefixtures("cloud")
def test_each_stage_makes_one_read_and_one_write() -> None:
    counting = Counting(boto3.client("dynamodb", region_name=REGION))
    records = Records(TABLE, client=counting)  # type: ignore[arg-type]
    pending(records)
    counting.calls.clear()
    for stage in STAGES:
        details: dict[str, Any] = {"thumbnails": MADE} if stage == "thumbnail" else {}
        settled = records.record_stage(
            KEY, result(stage, **details), {"width": 3} if stage == "validate" else {}
        )
        assert settled.stored
    assert counting.calls == {"get_item": 3, "update_item": 3}
    assert settled.outcome.status == Status.READY and settled.needs_announcement
    record = records.get("u1")
    assert record is not None and record.status == "ready" and record.width == 3
    assert [t.size for t in record.thumbnails] == [1024, 512]
    assert record.rev == 3 and record.status_rev == 3 and record.expires_at_epoch is None
    raw = counting.client.get_item(TableName=TABLE, Key={"upload_id": {"S": "u1"}})["Item"]
    assert raw["status_key"] == {"S": status_key("ready", "u1")}


@pytest.mark.usefixtures("cloud")
def test_a_weaker_or_older_result_is_not_written() -> None:
    counting = Counting(boto3.client("dynamodb", region_name=REGION))
    records = Records(TABLE, client=counting)  # type: ignore[arg-type]
    records.record_stage(KEY, result("index", version="v2"))
    counting.calls.clear()
    for weaker in (result("index", version="v1"), result("index", "failed", version="v2")):
        settled = records.record_stage(KEY, weaker)
        assert not settled.stored and settled.outcome.status == Status.PROCESSING
    assert counting.calls == {"get_item": 2}  # read, nothing to write


WRITES = [
    result("validate"),
    result("thumbnail", thumbnails=MADE),
    result("index"),
    result("thumbnail", "failed"),  # the last attempt of a retry that succeeded meanwhile
]


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(WRITES)))), ids=str)
def test_stages_that_all_read_before_any_writes_end_the_same(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, order: tuple[int, ...]
) -> None:
    """Every stage reads the pending record first; each write after the first loses the race once,
    tries again on the item DynamoDB returned, and the record ends ready, its thumbnails listed."""
    counting = Counting(boto3.client("dynamodb", region_name=REGION))
    records = Records(TABLE, client=counting)  # type: ignore[arg-type]
    pending(records)
    stale = records._get_raw("u1")  # the read every stage makes, all before any write
    monkeypatch.setattr(records, "_get_raw", lambda upload_id: stale)
    announced = [records.record_stage(KEY, WRITES[i]).needs_announcement for i in order]
    record = records.get("u1")
    assert record is not None and record.status == Status.READY
    assert [t.size for t in record.thumbnails] == [1024, 512]
    assert announced.count(True) >= 1
    # one write each, plus one per lost race (every write after the first; none for the weaker one
    # once it has seen the item: it stops without writing)
    assert counting.calls["update_item"] <= 2 * len(WRITES) - 1


@pytest.mark.usefixtures("cloud")
def test_a_write_that_keeps_losing_the_race_raises_for_a_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    records = Records(TABLE)
    pending(records)
    stale = records._get_raw("u1")
    records.record_stage(KEY, result("index"))  # the record moved on
    original = records._write_stage

    def always_stale(key: UploadKey, new: StageResult, results: Any, attributes: Any, current: Any) -> Any:
        return original(key, new, results, attributes, stale)

    monkeypatch.setattr(records, "_write_stage", always_stale)
    with pytest.raises(WriteContention):
        records.record_stage(KEY, result("validate"))
    record = records.get("u1")
    assert record is not None and "validate" not in record.results


@pytest.mark.usefixtures("cloud")
def test_a_stage_write_recreates_a_record_deleted_after_it_was_read(monkeypatch: pytest.MonkeyPatch) -> None:
    records = Records(TABLE)
    pending(records)
    stale = records._get_raw("u1")
    assert records.delete("u1", owner="owner-a")
    monkeypatch.setattr(records, "_get_raw", lambda upload_id: stale)
    settled = records.record_stage(KEY, result("validate", "rejected"))
    assert settled.stored and settled.outcome.status == Status.REJECTED
    record = records.get("u1")
    assert record is not None and record.status == "rejected" and record.owner == "owner-a"
