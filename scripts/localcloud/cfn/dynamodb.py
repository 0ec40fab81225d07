"""AWS::DynamoDB::Table: the table properties moto's CloudFormation ignores.

moto 5.2.5 creates the table (keys, GSIs/LSIs, billing mode, streams, SSE, tags) but drops
TimeToLiveSpecification and PointInTimeRecoverySpecification, and ignores template updates. This
model registers for the same type, lets moto's Table create and delete the table, and applies
those two as UpdateTimeToLive and UpdateContinuousBackups would, on create and on update.
The object returned is moto's Table: `Ref` (name) and `GetAtt Arn/StreamArn` are moto's.
moto records the TTL setting (DescribeTimeToLive) but never expires items.
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table

from ._model import MotoModelExtension
from ._props import as_bool, as_int, warn_unapplied

TABLE_TYPE = "AWS::DynamoDB::Table"

# Properties moto's Table.create_from_cloudformation_json applies.
_MOTO_APPLIES = {
    "TableName",
    "KeySchema",
    "AttributeDefinitions",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "ProvisionedThroughput",
    "StreamSpecification",
    "Tags",
    "DeletionProtectionEnabled",
    "SSESpecification",
    "WarmThroughput",
    "BillingMode",
}


def apply_table_properties(table: Table, props: dict[str, Any]) -> None:
    backend = dynamodb_backends[table.account_id][table.region_name]
    ttl = props.get("TimeToLiveSpecification")
    if ttl is not None:
        backend.update_time_to_live(
            table.name, {"AttributeName": str(ttl["AttributeName"]), "Enabled": as_bool(ttl["Enabled"])}
        )
    pitr = props.get("PointInTimeRecoverySpecification")
    if pitr is not None:
        spec: dict[str, Any] = {
            "PointInTimeRecoveryEnabled": as_bool(pitr.get("PointInTimeRecoveryEnabled", False))
        }
        if pitr.get("RecoveryPeriodInDays") is not None:
            spec["RecoveryPeriodInDays"] = as_int(pitr["RecoveryPeriodInDays"])
        backend.update_continuous_backups(table.name, spec)
    warn_unapplied(
        TABLE_TYPE, props, _MOTO_APPLIES | {"TimeToLiveSpecification", "PointInTimeRecoverySpecification"}
    )


class DynamoDBTable(MotoModelExtension, CloudFormationModel):
    """AWS::DynamoDB::Table: moto's Table plus TTL and point-in-time recovery (never instantiated)."""

    MOTO = Table

    @classmethod
    def extend(cls, resource: Table, props: dict[str, Any], previous: dict[str, Any] | None) -> None:
        apply_table_properties(resource, props)
