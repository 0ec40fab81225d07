"""The AWS::Include transform inside resource properties (`Fn::Transform` with Name AWS::Include).

moto 5.2.5 expands AWS::Include only in the Mappings section and passes it through anywhere else. As in
the CloudFormation reference ("AWS::Include transform"): `Location` is an `s3://bucket/key` URI (it may
use Fn::Sub over parameters); the file is a YAML or JSON snippet whose intrinsic functions must be in
long form (`Fn::Sub:`, not `!Sub`), and it replaces the `Fn::Transform` node. The template uses it for
the REST API's Body (the OpenAPI document).

The snippet's intrinsic functions are resolved like the rest of the resource, when the resource is
created (moto's resource map creates referenced resources on demand, so no ordering is needed).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import yaml
from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.s3.models import s3_backends

_lock = threading.Lock()
_original: Callable[[Any, Any], Any] | None = None


def _include_location(node: Any) -> Any | None:
    """The Location of an AWS::Include `Fn::Transform` node, or None for any other node."""
    if not isinstance(node, dict) or set(node) != {"Fn::Transform"}:
        return None
    transform = node["Fn::Transform"]
    if not isinstance(transform, dict) or transform.get("Name") != "AWS::Include":
        return None
    return (transform.get("Parameters") or {}).get("Location")


def split_s3_uri(location: str) -> tuple[str, str]:
    if not isinstance(location, str) or not location.startswith("s3://") or "/" not in location[5:]:
        raise ValidationError(message=f"AWS::Include Location must be s3://bucket/key, not {location!r}")
    bucket, key = location[5:].split("/", 1)
    return bucket, key


def read_snippet(account_id: str, partition: str, location: str) -> Any:
    """The parsed snippet at `location` in the emulator's S3."""
    bucket, key = split_s3_uri(location)
    try:
        stored = s3_backends[account_id][partition].get_object(bucket, key)
    except Exception as exc:  # moto raises service errors (MissingBucket, MissingKey)
        raise ValidationError(message=f"AWS::Include: cannot read {location}: {exc}") from exc
    if stored is None:
        raise ValidationError(message=f"AWS::Include: {location} does not exist")
    try:
        return yaml.safe_load(stored.value)
    except yaml.YAMLError as exc:
        # Short-form tags (!Sub) land here too: AWS::Include does not accept them either.
        raise ValidationError(message=f"AWS::Include: {location} is not valid YAML/JSON: {exc}") from exc


def _clean_json(resource_json: Any, resources_map: Any) -> Any:
    assert _original is not None
    location = _include_location(resource_json)
    if location is None:
        return _original(resource_json, resources_map)
    resolved = _original(location, resources_map)
    snippet = read_snippet(resources_map._account_id, resources_map["AWS::Partition"], resolved)
    return _original(snippet, resources_map)


def install() -> None:
    """Route moto's intrinsic-function resolution through the AWS::Include expansion. Idempotent."""
    global _original
    with _lock:
        if _original is None:
            _original = parsing.clean_json
            # clean_json recurses through the module global, so nested nodes come back here too.
            parsing.clean_json = _clean_json
