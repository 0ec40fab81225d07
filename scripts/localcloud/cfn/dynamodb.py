"""AWS::DynamoDB::Table: the table properties moto's CloudFormation ignores.

moto 5.2.5 creates the table (keys, GSIs/LSIs, billing mode, streams, tags) but drops
TimeToLiveSpecification and PointInTimeRecoverySpecification, ignores template updates, and reads
SSESpecification in the API's shape (`Enabled`), not CloudFormation's (`SSEEnabled`), so a table
encrypted with a KMS key reports no SSEDescription. This model registers for the same type, lets
moto's Table create and delete the table, and applies TTL and point-in-time recovery as
UpdateTimeToLive and UpdateContinuousBackups would, and SSESpecification as DynamoDB does:
SSEEnabled true is SSE-KMS with KMSMasterKeyId (key id, key ARN, alias or alias ARN; DescribeTable
reports the key's ARN) or, without it, the AWS managed key alias/aws/dynamodb; false or absent is
the AWS owned key (no SSEDescription). On create and on update.
The object returned is moto's Table: `Ref` (name) and `GetAtt Arn/StreamArn` are moto's.
moto records the TTL setting (DescribeTimeToLive) but never expires items.
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.kms.models import kms_backends

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


def sse_specification(table: Table, cfn: dict[str, Any] | None) -> dict[str, Any] | None:
    """SSESpecification as moto's Table keeps it (the UpdateTable/CreateTable API shape)."""
    if not cfn or not as_bool(cfn.get("SSEEnabled", False)):
        return None
    key_id = cfn.get("KMSMasterKeyId")
    if not key_id:
        return {"Enabled": True, "SSEType": "KMS"}  # moto fills in alias/aws/dynamodb's key
    kms = kms_backends[table.account_id][table.region_name]
    key = kms.describe_key(str(key_id))  # raises NotFound like DynamoDB's ValidationException
    return {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key.arn}


def apply_table_properties(table: Table, props: dict[str, Any]) -> None:
    backend = dynamodb_backends[table.account_id][table.region_name]
    sse = sse_specification(table, props.get("SSESpecification"))
    if sse is not None and "KMSMasterKeyId" not in sse:
        sse["KMSMasterKeyId"] = table._get_default_encryption_key(table.account_id, table.region_name)
    table.sse_specification = sse
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
