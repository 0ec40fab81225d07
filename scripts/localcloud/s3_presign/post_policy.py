"""Browser-based uploads (POST, SigV4): the form's signature, the policy's expiry and every condition.

Follows "Browser-Based Uploads Using POST (AWS Signature Version 4)" and "Creating a POST policy":
the form signs the base64 policy; the policy has an `expiration` and `conditions`, each an exact
match (`{"field": "value"}` or `["eq", "$field", "value"]`), a prefix (`["starts-with", "$field",
"prefix"]`; for Content-Type every comma-separated type must have it) or `["content-length-range",
min, max]`. `${filename}` in a field is replaced by the uploaded file's name first. Every form field
but policy, x-amz-signature, file and x-ignore-* must be named by a condition. Field names are not
case-sensitive; values are.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import S3Error
from .sigv4 import (
    ALGORITHM,
    Credential,
    Secrets,
    same_signature,
    signature,
    signature_mismatch,
    unknown_access_key,
    v2_refused,
)

EXEMPT_FIELDS = frozenset({"policy", "x-amz-signature", "file"})
SIGNED_POST_FIELDS = ("policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature")
V2_POST_FIELDS = ("awsaccesskeyid", "signature")


@dataclass(frozen=True)
class Condition:
    op: str  # "eq", "starts-with" or "content-length-range"
    field: str  # lower case, without "$"; "" for content-length-range
    value: str = ""
    low: int = 0
    high: int = 0
    label: str = ""  # the field as the policy spells it, for messages

    def describe(self) -> str:
        """The condition as S3 quotes it in "Policy Condition failed: [...]"."""
        if self.op == "content-length-range":
            return f'["content-length-range", {self.low}, {self.high}]'
        return json.dumps([self.op, f"${self.label or self.field}", self.value], ensure_ascii=False)

    def holds(self, values: Mapping[str, str]) -> bool:
        value = values.get(self.field)
        if value is None:  # a condition on a field the form does not have fails
            return False
        if self.op == "eq":
            return value == self.value
        if self.field == "content-type":
            return all(part.strip().startswith(self.value) for part in value.split(","))
        return value.startswith(self.value)


@dataclass(frozen=True)
class Policy:
    expiration: datetime
    conditions: tuple[Condition, ...]

    @property
    def size_ranges(self) -> tuple[Condition, ...]:
        return tuple(c for c in self.conditions if c.op == "content-length-range")

    @property
    def max_size(self) -> int | None:
        return min((c.high for c in self.size_ranges), default=None)


def _invalid(message: str) -> S3Error:
    return S3Error(400, "InvalidPolicyDocument", f"Invalid Policy: {message}")


def _length(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(value)
    return int(value)


def _condition(raw: Any) -> list[Condition]:
    text = json.dumps(raw, ensure_ascii=False)
    if isinstance(raw, dict) and raw:
        if not all(isinstance(v, str) for v in raw.values()):
            raise _invalid(f"Invalid Simple-Condition: value must be a string: {text}")
        return [Condition("eq", str(k).lower(), v, label=str(k)) for k, v in raw.items()]
    if isinstance(raw, list) and len(raw) == 3 and isinstance(raw[0], str):
        op = raw[0].lower()
        if op == "content-length-range":
            try:
                low, high = _length(raw[1]), _length(raw[2])
            except ValueError:
                raise _invalid(f"Invalid content-length-range: {text}") from None
            return [Condition(op, "", low=low, high=high)]
        if op in ("eq", "starts-with"):
            field, value = raw[1], raw[2]
            if not (isinstance(field, str) and field.startswith("$") and isinstance(value, str)):
                raise _invalid(f"Invalid '{op}' condition: {text}")
            return [Condition(op, field[1:].lower(), value, label=field[1:])]
    raise _invalid(f"Invalid condition: {text}")


def parse_policy(policy_b64: str) -> Policy:
    try:
        document = json.loads(base64.b64decode(policy_b64, validate=True))
    except (binascii.Error, ValueError):
        raise _invalid("Invalid JSON.") from None
    if not isinstance(document, dict):
        raise _invalid("Invalid JSON.")
    if "expiration" not in document:
        raise _invalid("Policy missing expiration.")
    if not isinstance(document.get("conditions"), list):
        raise _invalid("Policy missing conditions.")
    try:
        expiration = datetime.fromisoformat(str(document["expiration"]))
    except ValueError:
        raise _invalid(f"Invalid 'expiration' value: '{document['expiration']}'") from None
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=UTC)
    conditions = tuple(c for raw in document["conditions"] for c in _condition(raw))
    return Policy(expiration, conditions)


def policy_failed(reason: str) -> S3Error:
    return S3Error(403, "AccessDenied", f"Invalid according to Policy: {reason}")


def expand(fields: Mapping[str, str], filename: str | None) -> dict[str, str]:
    """`${filename}` -> the file's name, without any path the browser sent (S3's rule)."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    return {field: value.replace("${filename}", name) for field, value in fields.items()}


def check_conditions(policy: Policy, fields: Mapping[str, str], bucket: str, now: datetime) -> None:
    """Expiry, then every condition but the size (known once the file is read), then extra fields."""
    if now >= policy.expiration:
        raise policy_failed("Policy expired.")
    values = {**fields, "bucket": bucket}
    for condition in policy.conditions:
        if condition.op != "content-length-range" and not condition.holds(values):
            raise policy_failed(f"Policy Condition failed: {condition.describe()}")
    covered = {c.field for c in policy.conditions}
    extra = [
        name
        for name in fields
        if name not in EXEMPT_FIELDS and not name.startswith("x-ignore-") and name not in covered
    ]
    if extra:
        raise policy_failed(f"Extra input fields: {', '.join(extra)}")


def check_size(policy: Policy, size: int) -> None:
    for condition in policy.size_ranges:
        if size > condition.high:
            raise entity_too_large(size, condition.high)
        if size < condition.low:
            raise S3Error(
                400,
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size",
                {"ProposedSize": size, "MinSizeAllowed": condition.low},
            )


def entity_too_large(size: int, limit: int) -> S3Error:
    return S3Error(
        400,
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size",
        {"ProposedSize": size, "MaxSizeAllowed": limit},
    )


def is_signed(fields: Mapping[str, str]) -> bool:
    """A form with no signature fields at all is an anonymous POST, which the emulator handles."""
    return any(name in fields for name in (*SIGNED_POST_FIELDS, *V2_POST_FIELDS))


def _missing(name: str) -> S3Error:
    return S3Error(
        400,
        "InvalidArgument",
        f"Bucket POST must contain a field named '{name}'.  If it is specified, please check the order of the fields.",
        {"ArgumentName": name, "ArgumentValue": ""},
    )


def verify_post(
    fields: Mapping[str, str], filename: str | None, bucket: str, secrets: Secrets, now: datetime
) -> Policy:
    """Check a signed POST form (lower-case field names) as S3 does, all but the file's size.

    Returns the policy, whose content-length-range the caller applies to the file it then reads.
    """
    if all(name in fields for name in V2_POST_FIELDS) and "x-amz-signature" not in fields:
        raise v2_refused()
    for name in ("key", *SIGNED_POST_FIELDS):
        if name not in fields:
            raise _missing(name)
    if fields["x-amz-algorithm"] != ALGORITHM:
        raise S3Error(
            400,
            "InvalidArgument",
            f'X-Amz-Algorithm only supports "{ALGORITHM}"',
            {"ArgumentName": "x-amz-algorithm", "ArgumentValue": fields["x-amz-algorithm"]},
        )
    credential = Credential.parse(fields["x-amz-credential"])
    if credential is None or credential.service != "s3":
        raise S3Error(
            400,
            "InvalidArgument",
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
            'expecting "<YOUR-AKID>/YYYYMMDD/REGION/s3/aws4_request".',
            {"ArgumentName": "x-amz-credential", "ArgumentValue": fields["x-amz-credential"]},
        )
    secret = secrets(credential.access_key_id)
    if secret is None:
        raise unknown_access_key(credential.access_key_id)
    policy_b64 = fields["policy"]
    if not same_signature(signature(credential.key(secret), policy_b64), fields["x-amz-signature"]):
        raise signature_mismatch(credential.access_key_id, policy_b64, fields["x-amz-signature"])
    policy = parse_policy(policy_b64)
    check_conditions(policy, expand(fields, filename), bucket, now)
    return policy
