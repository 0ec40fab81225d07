"""Helpers for mock_aws tests: resources shaped like the template's, events shaped like AWS's."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote_plus

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "cloudformation" / "intake.yaml"
ACCOUNT = "123456789012"
REGION = "us-east-1"


def template() -> dict[str, Any]:
    loaded, matches = decode(str(TEMPLATE))
    assert not matches and loaded is not None, matches
    return dict(loaded)


def table_definition(logical_id: str, parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """The CreateTable arguments for a template table (so tests use the one real schema), its
    `Fn::If`s decided by the parameters' defaults or `parameters`."""
    loaded = template()
    values = {k: str(p.get("Default", "")) for k, p in loaded["Parameters"].items()} | (parameters or {})
    props = _decided(loaded["Resources"][logical_id]["Properties"], loaded["Conditions"], values)
    keys = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")
    return {k: json.loads(json.dumps(props[k])) for k in keys if k in props}


_NO_VALUE = object()


def _decided(value: Any, conditions: dict[str, Any], parameters: dict[str, str]) -> Any:
    """`value` with each `Fn::If` on an `Fn::Equals [Ref parameter, literal]` condition decided."""
    if isinstance(value, list):
        decided = [_decided(v, conditions, parameters) for v in value]
        return [v for v in decided if v is not _NO_VALUE]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"} and value["Ref"] == "AWS::NoValue":
        return _NO_VALUE
    if set(value) == {"Fn::If"}:
        name, then, otherwise = value["Fn::If"]
        left, right = conditions[name]["Fn::Equals"]
        holds = parameters[left["Ref"]] == str(right)
        return _decided(then if holds else otherwise, conditions, parameters)
    return {k: _decided(v, conditions, parameters) for k, v in value.items()}


def load_handler(name: str) -> ModuleType:
    """Import functions/<name>/handler.py fresh, as Lambda would at a cold start."""
    path = ROOT / "functions" / name / "handler.py"
    spec = importlib.util.spec_from_file_location(f"handler_{name}_{uuid.uuid4().hex}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Context:
    """The parts of the Lambda context that powertools reads."""

    function_name = "test"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:test"
    log_group_name = "/aws/lambda/test"
    log_stream_name = "stream"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def s3_event_body(
    bucket: str, key: str, *, size: int = 1, etag: str = "etag", time: str = "2026-11-21T10:00:00.000Z"
) -> str:
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": REGION,
                    "eventTime": time,
                    "eventName": "ObjectCreated:Put",
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                        "object": {"key": quote_plus(key), "size": size, "eTag": etag},
                    },
                }
            ]
        }
    )


def sqs_event(*bodies: str, receive_count: int = 1, queue: str = "q") -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "handle",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": str(receive_count),
                    "SentTimestamp": "1700000000000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1700000000000",
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
                "awsRegion": REGION,
            }
            for body in bodies
        ]
    }
