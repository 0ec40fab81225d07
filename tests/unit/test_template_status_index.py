"""The IndexTable's sharded status index, its migration layout, and each consumer's MaximumConcurrency."""

from __future__ import annotations

from typing import Any

import pytest

from intake.record import UploadRecord
from intake.status_shards import INDEX
from tests.support.aws import table_definition, template
from tests.support.templates import effective_template


def indexes(parameters: dict[str, str] | None = None) -> dict[str, Any]:
    return {i["IndexName"]: i for i in table_definition("IndexTable", parameters)["GlobalSecondaryIndexes"]}


def test_the_status_index_is_sharded_and_the_old_one_only_kept_while_migrating() -> None:
    current, migrating = indexes(), indexes({"KeepLegacyStatusIndex": "true"})
    assert set(current) == {"by_owner", INDEX}
    assert set(migrating) == {"by_owner", INDEX, "by_status"}
    # one GSI created or deleted per deploy: the layouts differ by exactly the old index
    assert {k: v for k, v in migrating.items() if k != "by_status"} == current
    assert [k["AttributeName"] for k in current[INDEX]["KeySchema"]] == ["status_key", "updated_at"]
    for parameters in (None, {"KeepLegacyStatusIndex": "true"}):
        definition = table_definition("IndexTable", parameters)
        keyed = {k["AttributeName"] for i in definition["GlobalSecondaryIndexes"] for k in i["KeySchema"]}
        defined = {a["AttributeName"] for a in definition["AttributeDefinitions"]}
        assert defined == keyed | {"upload_id"}  # DynamoDB refuses unused attribute definitions


def test_the_status_index_projects_what_a_listed_record_needs() -> None:
    projection = indexes()[INDEX]["Projection"]
    assert projection["ProjectionType"] == "INCLUDE"
    required = {name for name, field in UploadRecord.model_fields.items() if field.is_required()}
    keys = {"upload_id", "status_key", "updated_at"}
    # the record's required fields, what `intake ops uploads` shows, the TTL the expired filter reads
    assert (
        required | {"status", "status_reasons", "expires_at_epoch"}
        <= set(projection["NonKeyAttributes"]) | keys
    )


@pytest.mark.parametrize(
    ("stack", "parameter"),
    [
        ("Validate", "ValidateMaxConcurrency"),
        ("Thumbnail", "ThumbnailMaxConcurrency"),
        ("Index", "IndexMaxConcurrency"),
        ("Notify", "NotifyMaxConcurrency"),
    ],
)
def test_each_consumers_maximum_concurrency_is_a_parameter(stack: str, parameter: str) -> None:
    loaded = template()
    passed = loaded["Resources"][stack]["Properties"]["Parameters"]["MaximumConcurrency"]
    assert passed == {"Ref": parameter}
    assert 2 <= int(loaded["Parameters"][parameter]["Default"]) <= 10  # a small deployment's default
    mapping = effective_template()["Resources"][f"{stack}EventSourceMapping"]["Properties"]
    assert "MaximumConcurrency" in mapping["ScalingConfig"]
