"""JSON-protocol requests (X-Amz-Target: "<Service>.<Operation>") as checks: DynamoDB, SQS, KMS, SSM,
CloudWatch Logs; other JSON services by their operation on "*"."""

from __future__ import annotations

from typing import Any

from . import resources
from .checks import Caller, Check, base_context, kms_checks

_DDB_READS = {"GetItem", "Query", "Scan", "BatchGetItem"}
_DDB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
_SQS_BATCH = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
# SQS operations whose (encrypted) messages pass through KMS on the caller's behalf.
_SQS_KMS = {
    "SendMessage": ("kms:GenerateDataKey", "kms:Decrypt"),
    "SendMessageBatch": ("kms:GenerateDataKey", "kms:Decrypt"),
    "ReceiveMessage": ("kms:Decrypt",),
}


def _table_arn(caller: Caller, table: str) -> str:
    if table.startswith("arn:"):
        return table
    return f"arn:aws:dynamodb:{caller.region}:{caller.account}:table/{table}"


def _dynamodb_targets(operation: str, body: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(action, table, resource suffix) for each table the operation touches."""
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(operation, table, "") for table in body.get("RequestItems", {})]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        found = []
        for item in body.get("TransactItems", []):
            for kind, inner in item.items():
                action = "GetItem" if kind == "Get" else _TRANSACT_ACTIONS.get(kind, kind)
                found.append((action, str(inner.get("TableName", "")), ""))
        return found
    suffix = f"/index/{body['IndexName']}" if body.get("IndexName") else ""
    return [(operation, str(body.get("TableName", "")), suffix)]


def dynamodb(operation: str, body: dict[str, Any], caller: Caller) -> list[Check]:
    context = base_context(caller)
    found: list[Check] = []
    for action, table, suffix in _dynamodb_targets(operation, body):
        found.append(Check(f"dynamodb:{action}", _table_arn(caller, table) + suffix, context))
        key = resources.table_key(caller.account, caller.region, table.rsplit("/", 1)[-1])
        if operation in _DDB_READS:
            found += kms_checks(caller, key, ("kms:Decrypt",), "dynamodb")
        elif operation in _DDB_WRITES:
            # A write encrypts with the table key, which DynamoDB decrypts first (Decrypt) as for reads.
            found += kms_checks(caller, key, ("kms:GenerateDataKey", "kms:Decrypt"), "dynamodb")
    return found


def sqs(operation: str, body: dict[str, Any], caller: Caller) -> list[Check]:
    url = str(body.get("QueueUrl", ""))
    name = url.rstrip("/").rsplit("/", 1)[-1] if url else str(body.get("QueueName", ""))
    arn = f"arn:aws:sqs:{caller.region}:{caller.account}:{name}"
    policy, key = resources.queue(caller.account, caller.region, name) if name else (None, None)
    # IAM has no batch actions for SQS: SendMessageBatch is authorized as sqs:SendMessage, and so on.
    action = _SQS_BATCH.get(operation, operation)
    found = [Check(f"sqs:{action}", arn, base_context(caller), policy)]
    return found + kms_checks(caller, key, _SQS_KMS.get(operation, ()), "sqs")


def kms(operation: str, body: dict[str, Any], caller: Caller) -> list[Check]:
    key_id = body.get("KeyId")
    if not key_id and operation == "Decrypt" and body.get("CiphertextBlob"):
        # A symmetric ciphertext names its key: KMS evaluates that key's policy without a KeyId.
        key_id = resources.ciphertext_key(str(body["CiphertextBlob"]))
    if not key_id:
        return [Check(f"kms:{operation}", "*", base_context(caller))]
    region = str(key_id).split(":")[3] if str(key_id).startswith("arn:") else caller.region
    arn, policy = resources.key(caller.account, region, str(key_id))
    return [Check(f"kms:{operation}", arn, base_context(caller), key_policy=policy)]


def ssm(operation: str, body: dict[str, Any], caller: Caller) -> list[Check]:
    """Parameter reads on the parameter's ARN; a SecureString read WithDecryption also needs kms:Decrypt
    through SSM, which passes the parameter's ARN as the encryption context."""
    names = [str(n) for n in body.get("Names", [])] or ([str(body["Name"])] if body.get("Name") else [])
    if not names:
        return [Check(f"ssm:{operation}", "*", base_context(caller))]
    found: list[Check] = []
    for name in names:
        arn = f"arn:aws:ssm:{caller.region}:{caller.account}:parameter/{name.lstrip('/')}"
        found.append(Check(f"ssm:{operation}", arn, base_context(caller)))
        if body.get("WithDecryption"):
            key = resources.parameter_key(caller.account, caller.region, name)
            for check in kms_checks(caller, key, ("kms:Decrypt",), "ssm"):
                context = {**check.context, "kms:EncryptionContext:PARAMETER_ARN": arn}
                found.append(Check(check.action, check.resource, context, key_policy=check.key_policy))
    return found


def logs(operation: str, body: dict[str, Any], caller: Caller) -> list[Check]:
    """CloudWatch Logs on the log group's ARN, or the stream's for operations on one stream (IAM
    evaluates them there: a grant on the group's ``log-group:<name>:*`` ARN, as GetAtt Arn gives it,
    covers its streams)."""
    group = body.get("logGroupName")
    if not group:
        return [Check(f"logs:{operation}", "*", base_context(caller))]
    arn = f"arn:aws:logs:{caller.region}:{caller.account}:log-group:{group}"
    if body.get("logStreamName"):
        arn += f":log-stream:{body['logStreamName']}"
    return [Check(f"logs:{operation}", arn, base_context(caller))]


_PREFIXES = {"DynamoDB": dynamodb, "AmazonSQS": sqs, "TrentService": kms, "AmazonSSM": ssm, "Logs_": logs}
_SERVICE_PREFIX = {"GraniteServiceVersion20100801": "cloudwatch"}


def checks(target: str, body: dict[str, Any], caller: Caller) -> list[Check]:
    prefix, _, operation = target.partition(".")
    for name, parse in _PREFIXES.items():
        if prefix.startswith(name):
            return parse(operation, body, caller)
    service = _SERVICE_PREFIX.get(prefix, prefix.split("_", 1)[0].lower())
    return [Check(f"{service}:{operation}", "*", base_context(caller))]
