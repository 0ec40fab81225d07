"""What the evaluator needs from the emulator's own state (same process): a role's identity policies,
a resource's policy and the KMS key that encrypts it. Every lookup tolerates a missing resource (the
emulator then answers its own NotFound) by returning None or nothing."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from .policy import Policy

PARTITION = "aws"


@contextlib.contextmanager
def _missing() -> Iterator[None]:
    # moto raises its own NotFound classes (and KeyError) for unknown names: all mean "no such thing".
    with contextlib.suppress(Exception):
        yield


def role_policies(account: str, role_name: str) -> list[Policy]:
    """Inline policies (including AWS::IAM::Policy resources, which moto stores as inline policies of
    the roles they name) and the default versions of attached managed policies."""
    from moto.iam.models import iam_backends

    policies: list[Policy] = []
    with _missing():
        role = iam_backends[account][PARTITION].get_role(role_name)
        for name, document in role.policies.items():
            policies.append(Policy.parse(f"role/{role_name}:{name}", document))
        for arn, managed in role.managed_policies.items():
            versions = [v for v in getattr(managed, "versions", []) if getattr(v, "is_default", False)]
            if versions:
                policies.append(Policy.parse(f"{arn}", versions[0].document))
    return policies


def _s3_bucket(account: str, bucket: str) -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[account][PARTITION].buckets.get(bucket)


def bucket_policy(account: str, bucket: str) -> Policy | None:
    with _missing():
        found = _s3_bucket(account, bucket)
        if found is not None and found.policy:
            return Policy.parse(f"bucket policy of {bucket}", found.policy.decode())
    return None


def bucket_default_key(account: str, bucket: str) -> str | None:
    """The KMS key of the bucket's default encryption (SSE-KMS), if any."""
    with _missing():
        found = _s3_bucket(account, bucket)
        rule = (found.encryption or {}).get("Rule", {}) if found is not None else {}
        rule = rule[0] if isinstance(rule, list) else rule
        default = rule.get("ApplyServerSideEncryptionByDefault", {})
        if default.get("SSEAlgorithm") == "aws:kms":
            return str(default.get("KMSMasterKeyID") or "alias/aws/s3")
    return None


def object_key(account: str, bucket: str, key: str) -> str | None:
    """The KMS key an existing object is encrypted with (SSE-KMS), if any."""
    with _missing():
        found = _s3_bucket(account, bucket)
        stored = found.keys.get(key) if found is not None else None
        if stored is not None and stored.encryption == "aws:kms":
            return str(stored.kms_key_id or "alias/aws/s3")
    return None


def multipart_key(account: str, bucket: str, upload_id: str) -> str | None:
    """The KMS key a multipart upload in progress encrypts its parts with (SSE-KMS), if any: the one
    its CreateMultipartUpload asked for, or else the bucket's default."""
    with _missing():
        found = _s3_bucket(account, bucket)
        upload = found.multiparts.get(upload_id) if found is not None else None
        if upload is not None and upload.sse_encryption == "aws:kms":
            return str(upload.kms_key_id or "alias/aws/s3")
        if upload is not None and upload.sse_encryption:
            return None  # SSE-S3
    return bucket_default_key(account, bucket)


def bucket_region(account: str, bucket: str) -> str:
    """The bucket's region (us-east-1 when it is unknown)."""
    with _missing():
        found = _s3_bucket(account, bucket)
        if found is not None:
            return str(found.region_name)
    return "us-east-1"


def object_exists(account: str, bucket: str, key: str) -> bool:
    """Whether the key exists (True when the bucket does not: S3 then answers NoSuchBucket)."""
    with _missing():
        found = _s3_bucket(account, bucket)
        return found is None or found.keys.get(key) is not None
    return True


def topic(account: str, region: str, arn: str) -> tuple[Policy | None, str | None]:
    """The topic's policy and KMS key."""
    from moto.sns.models import sns_backends

    with _missing():
        found = sns_backends[account][region].get_topic(arn)
        return Policy.parse(f"topic policy of {arn.rsplit(':', 1)[-1]}", found.policy), (
            found.kms_master_key_id or None
        )
    return None, None


def queue(account: str, region: str, name: str) -> tuple[Policy | None, str | None]:
    """The queue's policy and KMS key."""
    from moto.sqs.models import sqs_backends

    with _missing():
        found = sqs_backends[account][region].get_queue(name)
        policy = Policy.parse(f"queue policy of {name}", found.policy) if found.policy else None
        return policy, getattr(found, "kms_master_key_id", None) or None
    return None, None


def table_key(account: str, region: str, table: str) -> str | None:
    from moto.dynamodb.models import dynamodb_backends

    with _missing():
        sse = dynamodb_backends[account][region].get_table(table).sse_specification or {}
        if sse.get("Enabled") or sse.get("SSEEnabled"):
            return str(sse.get("KMSMasterKeyId") or "") or None
    return None


def parameter_key(account: str, region: str, name: str) -> str | None:
    """The KMS key of a SecureString parameter (None for other types or an unknown name)."""
    from moto.ssm.models import ssm_backends

    with _missing():
        found = ssm_backends[account][region].get_parameter(name)
        if found is not None and found.parameter_type == "SecureString":
            return str(found.keyid or "alias/aws/ssm")
    return None


def ciphertext_key(blob: str) -> str | None:
    """The key id a symmetric ciphertext (base64, as a JSON request carries it) names, if any: KMS
    finds the key from the ciphertext itself, so Decrypt needs no KeyId."""
    import base64
    import binascii

    from moto.kms.utils import KEY_ID_LEN, _deserialize_ciphertext_blob

    try:
        raw = base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) < KEY_ID_LEN:
        return None
    with _missing():
        found = _deserialize_ciphertext_blob(raw).key_id
        return found.decode("ascii") if isinstance(found, bytes) else str(found)
    return None


def key(account: str, region: str, key_id: str) -> tuple[str, Policy | None]:
    """(the key's ARN, its key policy) for any key id, ARN or alias; the given id if unknown."""
    from moto.kms.models import kms_backends

    with _missing():
        backend = kms_backends[account][region]
        found = backend.keys[backend.any_id_to_key_id(key_id)]
        return found.arn, Policy.parse(f"key policy of {found.id}", json.loads(found.policy))
    return key_id, None
