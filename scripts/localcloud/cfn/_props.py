"""Small helpers shared by the resource modules: CloudFormation property coercion, ARNs and backends.

CloudFormation hands resolved properties to the models as YAML/JSON scalars: a `Number` parameter
arrives as an int, a literal may be a string ("60", "true"). AWS coerces them to the property's
declared type; these helpers do the same, so the models see the types the service API expects.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, TypeVar

logger = logging.getLogger("localcloud.cfn")
B = TypeVar("B")


def as_bool(value: Any) -> bool:
    """A CloudFormation Boolean: true/false, or the strings "true"/"false" (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def as_int(value: Any) -> int:
    """A CloudFormation Integer given as int, float or numeric string."""
    return int(float(value)) if isinstance(value, str) else int(value)


def as_float(value: Any) -> float:
    """A CloudFormation Double given as number or numeric string."""
    return float(value)


def json_text(value: Any) -> str:
    """A CloudFormation `Json` property (an object in the template) as the JSON text the API takes."""
    return value if isinstance(value, str) else json.dumps(value)


def tag_dict(tags: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """CloudFormation `Tags` ([{Key, Value}]) as a plain mapping."""
    return {str(tag["Key"]): str(tag.get("Value", "")) for tag in tags or []}


def properties_of(cloudformation_json: Mapping[str, Any]) -> dict[str, Any]:
    """The resolved `Properties` of a resource (moto passes the whole resource JSON)."""
    props = cloudformation_json.get("Properties") or {}
    return dict(props)


def warn_unapplied(resource_type: str, props: Mapping[str, Any], applied: Iterable[str]) -> None:
    """Log the properties the local cloud does not reproduce, so nothing is skipped silently."""
    skipped = sorted(set(props) - set(applied))
    if skipped:
        logger.warning("%s: properties not emulated locally: %s", resource_type, ", ".join(skipped))


class Arn(NamedTuple):
    partition: str
    service: str
    region: str
    account: str
    resource: str


def parse_arn(arn: str) -> Arn:
    """Split `arn:partition:service:region:account:resource` (resource may contain ':')."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: {arn!r}")
    return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])


def backend_for_arn(backends: Mapping[str, Mapping[str, B]], arn: str) -> B:
    """The backend (of a moto `BackendDict`) that owns an ARN: its account and region."""
    parsed = parse_arn(arn)
    return backends[parsed.account][parsed.region]
