"""AWS::S3::BucketPolicy, and bucket-policy conditions that moto's S3 enforcement ignores.

moto 5.2.5 skips AWS::S3::BucketPolicy. As in the CloudFormation reference, the resource calls
PutBucketPolicy(Bucket, PolicyDocument); its physical id (`Ref`) is the bucket name; deleting it
calls DeleteBucketPolicy.

Storing the policy alone would lock the local cloud out of its own buckets: moto enforces a bucket
policy on object requests but does not evaluate `Condition` (documented: "Conditions are not taken
into account"), so the usual TLS-only statement
`Deny s3:* if aws:SecureTransport = false` denies every GET and PUT. `install()` therefore makes
moto evaluate the conditions of bucket-policy statements against the local request context. The
emulator endpoint (http://127.0.0.1:4566) stands in for AWS's HTTPS endpoint, so in that context
`aws:SecureTransport` is "true". Keys absent from the context follow IAM's rules: the condition is
false, except for `...IfExists`, `Null` and the negated operators (StringNot*, ArnNot*).
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.s3.exceptions import MissingBucket
from moto.s3.models import FakeBucket, S3Backend, s3_backends
from moto.utilities.utils import get_partition

from ._model import LocalModel
from ._props import json_text

#: What a request to the local emulator looks like to a bucket policy.
LOCAL_REQUEST_CONTEXT: dict[str, str] = {"aws:SecureTransport": "true"}


class S3BucketPolicy(LocalModel, CloudFormationModel):
    """AWS::S3::BucketPolicy."""

    TYPE = "AWS::S3::BucketPolicy"
    REF = "bucket"
    REPLACING = ("Bucket",)
    ALREADY_GONE = (MissingBucket,)  # the bucket may already be gone

    bucket: str

    @property
    def _backend(self) -> S3Backend:
        return s3_backends[self.account_id][get_partition(self.region_name)]

    def create(self, name: str) -> None:
        self.bucket = str(self.props["Bucket"])
        self.update(self.props)

    def update(self, props: dict[str, Any]) -> None:
        self._backend.put_bucket_policy(self.bucket, json_text(props["PolicyDocument"]).encode())

    def remove(self) -> None:
        self._backend.delete_bucket_policy(self.bucket)


# ---------------------------------------------------------------------------------------------------
# Condition-aware bucket-policy enforcement
# ---------------------------------------------------------------------------------------------------

_NEGATED = ("StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike")


def _values(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in items]


def _matches(operator: str, expected: list[str], actual: str) -> bool:
    if operator in ("StringEquals", "ArnEquals", "StringNotEquals", "ArnNotEquals"):
        hit = actual in expected
    elif operator in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        hit = actual.lower() in (e.lower() for e in expected)
    elif operator in ("StringLike", "ArnLike", "StringNotLike", "ArnNotLike"):
        hit = any(fnmatch.fnmatchcase(actual, e) for e in expected)
    elif operator == "Bool":
        hit = actual.lower() in (e.lower() for e in expected)
    else:  # Numeric*, Date*, IpAddress, ...: nothing in the local context to compare
        return False
    return not hit if operator in _NEGATED else hit


def condition_holds(condition: dict[str, Any], context: dict[str, str]) -> bool:
    """Whether a policy statement's Condition block is true for a request context (IAM semantics)."""
    for raw_operator, tests in condition.items():
        operator = raw_operator.split(":", 1)[-1]  # ForAnyValue:/ForAllValues: on single values
        if_exists = operator.endswith("IfExists")
        operator = operator.removesuffix("IfExists")
        for key, expected in tests.items():
            actual = next((v for k, v in context.items() if k.lower() == key.lower()), None)
            if operator == "Null":
                if (actual is None) != (_values(expected)[0].lower() == "true"):
                    return False
            elif actual is None:
                if not (if_exists or operator in _NEGATED):
                    return False
            elif not _matches(operator, _values(expected), actual):
                return False
    return True


def _get_permission(self: FakeBucket, action: str, resource: str) -> PermissionResult:
    """FakeBucket.get_permission, keeping only the statements whose Condition holds locally."""
    if self.policy is None:
        return PermissionResult.NEUTRAL
    document = json.loads(self.policy.decode())
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    applicable = [
        {k: v for k, v in s.items() if k != "Condition"}
        for s in statements
        if condition_holds(s.get("Condition") or {}, LOCAL_REQUEST_CONTEXT)
    ]
    if not applicable:
        return PermissionResult.NEUTRAL
    policy = IAMPolicy(json.dumps({**document, "Statement": applicable}))
    return policy.is_action_permitted(action, resource)


def install_condition_aware_enforcement() -> None:
    """Make moto evaluate bucket-policy conditions (idempotent)."""
    if getattr(FakeBucket.get_permission, "__localcloud__", False):
        return
    _get_permission.__localcloud__ = True  # type: ignore[attr-defined]
    FakeBucket.get_permission = _get_permission  # type: ignore[method-assign]
