"""`Records.list_by_status` on the sharded by_status_shard index, against moto, with many shards in use."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from intake.keys import UploadKey
from intake.records import Records
from intake.status import STAGES, StageResult
from intake.status_shards import INDEX, status_shard
from tests.integration.conftest import Cloud, MotoDeployment
from tests.support.aws import REGION, table_definition

TABLE = "intake-index"


def settle(records: Records, upload_id: str, state: str = "done") -> None:
    key = UploadKey("owner-a", upload_id, "a.jpg")
    records.create_pending(key, owner_email=None, content_type="image/jpeg", size=1)
    for stage in STAGES if state == "done" else STAGES[:1]:
        reasons = ("bad",) if state != "done" else ()
        records.record_stage(key, StageResult(stage, state, "v1", "t", reasons))  # type: ignore[arg-type]


def every_page(records: Records, status: str, limit: int, since: str | None = None) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = records.list_by_status(status, since=since, limit=limit, cursor=cursor)
        assert all(r.status == status for r in page.items)
        pages.append([r.upload_id for r in page.items])
        cursor = page.next_cursor
        if not cursor:
            return pages


@pytest.mark.usefixtures("cloud")
def test_a_status_spread_over_shards_is_listed_whole_newest_first_in_pages() -> None:
    records = Records(TABLE)
    ready = [f"r{i:02d}" for i in range(30)]
    for upload_id in ready:
        settle(records, upload_id)
    for upload_id in ("x1", "x2", "x3"):
        settle(records, upload_id, "rejected")
    assert len({status_shard(u) for u in ready}) >= 8  # many shards in use
    updated = {u: records.get(u).updated_at for u in ready}  # type: ignore[union-attr]
    for limit in (1, 4, 7, 30, 100):
        pages = every_page(records, "ready", limit)
        seen = [u for page in pages for u in page]
        assert sorted(seen) == sorted(ready), limit  # each once, none missing
        assert [updated[u] for u in seen] == sorted(updated.values(), reverse=True)
        assert all(len(page) == limit for page in pages[:-1])  # full pages (unfiltered)
    assert sorted(u for page in every_page(records, "rejected", 2) for u in page) == ["x1", "x2", "x3"]
    assert every_page(records, "failed", 5) == [[]]


@pytest.mark.usefixtures("cloud")
def test_since_limits_the_listing_on_every_shard() -> None:
    records = Records(TABLE)
    for upload_id in ("a1", "a2", "a3", "a4", "a5"):
        settle(records, upload_id)
    cut = sorted(records.get(u).updated_at for u in ("a1", "a2", "a3", "a4", "a5"))[2]  # type: ignore[union-attr]
    seen = {u for page in every_page(records, "ready", 2, since=cut) for u in page}
    assert seen == {u for u in ("a1", "a2", "a3", "a4", "a5") if records.get(u).updated_at >= cut}  # type: ignore[union-attr]


@pytest.mark.usefixtures("cloud")
def test_a_cursor_works_only_for_its_listing() -> None:
    records = Records(TABLE)
    for upload_id in ("b1", "b2", "b3"):
        settle(records, upload_id)
    cursor = records.list_by_status("ready", limit=1).next_cursor
    assert cursor
    with pytest.raises(ValueError, match="invalid cursor"):
        records.list_by_status("failed", limit=1, cursor=cursor)
    with pytest.raises(ValueError, match="invalid cursor"):
        records.list_by_status("ready", limit=1, cursor="bm90IGEgY3Vyc29y")
    owner_cursor = records.list_by_owner("owner-a", limit=1).next_cursor
    assert owner_cursor
    with pytest.raises(ValueError, match="invalid cursor"):
        records.list_by_status("ready", limit=1, cursor=owner_cursor)


@pytest.mark.usefixtures("cloud")
def test_the_index_holds_what_ops_lists_and_every_record_has_its_status_key() -> None:
    records = Records(TABLE)
    settle(records, "c1", "rejected")
    (listed,) = records.list_by_status("rejected").items
    assert (listed.upload_id, listed.owner, listed.filename, listed.key) == (
        "c1",
        "owner-a",
        "a.jpg",
        listed.key,
    )
    assert listed.status_reasons == ("bad",) and listed.created_at and listed.updated_at


def test_the_migration_layout_has_both_indexes(cloud: Cloud) -> None:
    """The first of the two migration deploys (KeepLegacyStatusIndex=true): old and new GSI side by side."""
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(
        TableName="migrating", **table_definition("IndexTable", {"KeepLegacyStatusIndex": "true"})
    )
    indexes = {
        i["IndexName"]
        for i in client.describe_table(TableName="migrating")["Table"]["GlobalSecondaryIndexes"]
    }
    assert indexes == {"by_owner", INDEX, "by_status"}
    current = {i["IndexName"] for i in table_definition("IndexTable")["GlobalSecondaryIndexes"]}
    assert current == {"by_owner", INDEX}


def test_the_migration_backfill_keys_old_records_for_the_new_index(cloud: Cloud) -> None:
    """Records written before by_status_shard have no status_key: `intake ops backfill-status-keys`."""
    from intake_cli.records import backfill_status_keys, uploads_by_status

    records = Records(TABLE)
    for upload_id in ("o1", "o2", "o3", "o4"):
        settle(records, upload_id, "rejected")
    for upload_id in ("o1", "o2", "o3"):  # as the old code wrote them
        cloud.dynamodb.update_item(
            TableName=TABLE, Key={"upload_id": {"S": upload_id}}, UpdateExpression="REMOVE status_key"
        )
    cloud.dynamodb.put_item(TableName=TABLE, Item={"upload_id": {"S": "odd"}})  # no status at all

    deployment: Any = MotoDeployment({"IndexTableName": TABLE})
    assert [r["upload_id"] for r in uploads_by_status(deployment, "rejected")] == ["o4"]
    assert backfill_status_keys(deployment) == {"updated": 3, "left": 1}
    assert sorted(r["upload_id"] for r in uploads_by_status(deployment, "rejected")) == [
        "o1",
        "o2",
        "o3",
        "o4",
    ]
    assert backfill_status_keys(deployment) == {"updated": 0, "left": 1}  # once is enough
