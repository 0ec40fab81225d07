"""AWS::S3::Bucket: the bucket properties moto's CloudFormation ignores.

moto 5.2.5 builds the bucket from CloudFormation with `moto.s3.models.FakeBucket` but applies only
BucketName, Tags and part of BucketEncryption (it drops BucketKeyEnabled). This model registers for the same type (moto's model map
keeps the last direct CloudFormationModel subclass per type), lets FakeBucket create, update and
delete the bucket, then applies the other properties through moto's S3 backend, as the matching
S3 API calls would:

- NotificationConfiguration (Topic/Queue/LambdaConfigurations, Filter.S3Key.Rules, and
  EventBridgeConfiguration) -> PutBucketNotificationConfiguration. moto then sends the
  s3:TestEvent to each destination and publishes real S3 events on object changes.
- BucketEncryption (SSEAlgorithm, KMSMasterKeyID and BucketKeyEnabled) -> PutBucketEncryption. S3
  then applies the default to every new object, so a PUT or POST without encryption headers reports
  ServerSideEncryption aws:kms with the bucket's key (and its bucket key flag).
- CorsConfiguration -> PutBucketCors
- PublicAccessBlockConfiguration -> PutPublicAccessBlock
- OwnershipControls -> PutBucketOwnershipControls
- LifecycleConfiguration -> PutBucketLifecycleConfiguration
- VersioningConfiguration -> PutBucketVersioning
- LoggingConfiguration (DestinationBucketName, LogFilePrefix) -> PutBucketLogging. moto checks, as S3
  does, that the target bucket exists and that its policy lets logging.s3.amazonaws.com PutObject
  under the prefix; it stores the setting (GetBucketLogging) but writes no log objects.

The object returned to CloudFormation is moto's FakeBucket itself, so `Ref` (bucket name),
`GetAtt Arn/DomainName/DualStackDomainName/RegionalDomainName/WebsiteURL` and stack deletion behave
exactly as in moto. On update, a property removed from the template removes its configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.s3.models import FakeBucket, S3Backend, s3_backends
from moto.utilities.utils import get_partition

from ._model import MotoModelExtension
from ._props import as_bool, warn_unapplied

BUCKET_TYPE = "AWS::S3::Bucket"

# Properties FakeBucket itself applies.
_MOTO_APPLIES = {"BucketName", "Tags"}

_NOTIFICATION_KINDS = (
    # CloudFormation list, its ARN key -> moto's parsed-XML key, its ARN key
    ("TopicConfigurations", "Topic", "TopicConfiguration", "Topic"),
    ("QueueConfigurations", "Queue", "QueueConfiguration", "Queue"),
    ("LambdaConfigurations", "Function", "CloudFunctionConfiguration", "CloudFunction"),
)


def _backend(region_name: str, account_id: str) -> S3Backend:
    return s3_backends[account_id][get_partition(region_name)]


def notification_configuration(cfn: dict[str, Any]) -> dict[str, Any]:
    """NotificationConfiguration in the shape moto's PutBucketNotificationConfiguration parses."""
    config: dict[str, Any] = {}
    for cfn_key, cfn_arn, api_key, api_arn in _NOTIFICATION_KINDS:
        items = []
        for item in cfn.get(cfn_key) or []:
            entry: dict[str, Any] = {api_arn: str(item[cfn_arn]), "Event": [str(item["Event"])]}
            rules = ((item.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
            if rules:
                entry["Filter"] = {
                    "S3Key": {
                        # S3 accepts "Prefix"/"Suffix" in any case and stores them lower-case.
                        "FilterRule": [
                            {"Name": str(r["Name"]).lower(), "Value": str(r["Value"])} for r in rules
                        ]
                    }
                }
            items.append(entry)
        if items:
            config[api_key] = items
    if as_bool((cfn.get("EventBridgeConfiguration") or {}).get("EventBridgeEnabled", False)):
        config["EventBridgeConfiguration"] = {}
    return config


def bucket_encryption(cfn: dict[str, Any]) -> dict[str, Any]:
    """BucketEncryption as moto stores PutBucketEncryption's parsed XML (one rule, string booleans).

    S3 takes one rule; CloudFormation lists rules, so the first is the bucket's default."""
    rule = cfn["ServerSideEncryptionConfiguration"][0]
    default = rule.get("ServerSideEncryptionByDefault") or {}
    apply_default = {"SSEAlgorithm": str(default["SSEAlgorithm"])}
    if default.get("KMSMasterKeyID"):
        apply_default["KMSMasterKeyID"] = str(default["KMSMasterKeyID"])
    api_rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": apply_default}
    if rule.get("BucketKeyEnabled") is not None:
        api_rule["BucketKeyEnabled"] = str(as_bool(rule["BucketKeyEnabled"])).lower()
    return {"Rule": api_rule}


def cors_rules(cfn: dict[str, Any]) -> list[dict[str, Any]]:
    """CorsConfiguration.CorsRules as PutBucketCors rules."""
    rules = []
    for rule in cfn.get("CorsRules") or []:
        api: dict[str, Any] = {
            "AllowedMethod": [str(m) for m in rule["AllowedMethods"]],
            "AllowedOrigin": [str(o) for o in rule["AllowedOrigins"]],
        }
        if rule.get("AllowedHeaders"):
            api["AllowedHeader"] = [str(h) for h in rule["AllowedHeaders"]]
        if rule.get("ExposedHeaders"):
            api["ExposeHeader"] = [str(h) for h in rule["ExposedHeaders"]]
        if rule.get("MaxAge") is not None:
            api["MaxAgeSeconds"] = str(rule["MaxAge"])
        if rule.get("Id"):
            api["ID"] = str(rule["Id"])
        rules.append(api)
    return rules


def public_access_block(cfn: dict[str, Any]) -> dict[str, bool]:
    """PublicAccessBlockConfiguration; an omitted flag is false, as in S3."""
    keys = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    return {key: as_bool(cfn.get(key, False)) for key in keys}


def _lifecycle_filter(rule: dict[str, Any]) -> dict[str, Any]:
    prefix = rule.get("Prefix")
    tags = [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in rule.get("TagFilters") or []]
    if tags and (prefix is not None or len(tags) > 1):
        and_filter: dict[str, Any] = {"Tag": tags}
        if prefix is not None:
            and_filter["Prefix"] = str(prefix)
        return {"And": and_filter}
    if tags:
        return {"Tag": tags[0]}
    return {"Prefix": str(prefix or "")}


# PutBucketLifecycleConfiguration key -> CloudFormation key, in a transition and a noncurrent one.
_TRANSITION_KEYS = {"Days": "TransitionInDays", "Date": "TransitionDate", "StorageClass": "StorageClass"}
_NONCURRENT_TRANSITION_KEYS = {
    "NoncurrentDays": "TransitionInDays",
    "StorageClass": "StorageClass",
    "NewerNoncurrentVersions": "NewerNoncurrentVersions",
}


def _transitions(rule: dict[str, Any], many: str, one: str, keys: dict[str, str]) -> list[dict[str, Any]]:
    """A list of transitions plus its legacy single-item form (Transitions + Transition), for the API."""
    items = list(rule.get(many) or []) + ([rule[one]] if rule.get(one) else [])
    return [{api: item[cfn] for api, cfn in keys.items() if item.get(cfn) is not None} for item in items]


def _expiration(rule: dict[str, Any]) -> dict[str, Any]:
    expiration: dict[str, Any] = {}
    if rule.get("ExpirationInDays") is not None:
        expiration["Days"] = int(rule["ExpirationInDays"])
    if rule.get("ExpirationDate"):
        expiration["Date"] = str(rule["ExpirationDate"])
    if rule.get("ExpiredObjectDeleteMarker") is not None:
        expiration["ExpiredObjectDeleteMarker"] = as_bool(rule["ExpiredObjectDeleteMarker"])
    return expiration


def _noncurrent_expiration(rule: dict[str, Any]) -> dict[str, Any]:
    nve = rule.get("NoncurrentVersionExpiration") or {}
    days = nve.get("NoncurrentDays", rule.get("NoncurrentVersionExpirationInDays"))
    if days is None:
        return {}
    expiration = {"NoncurrentDays": int(days)}
    if nve.get("NewerNoncurrentVersions") is not None:
        expiration["NewerNoncurrentVersions"] = int(nve["NewerNoncurrentVersions"])
    return expiration


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """One LifecycleConfiguration rule as PutBucketLifecycleConfiguration takes it."""
    api: dict[str, Any] = {"Status": str(rule["Status"]), "Filter": _lifecycle_filter(rule)}
    if rule.get("Id"):
        api["ID"] = str(rule["Id"])
    if expiration := _expiration(rule):
        api["Expiration"] = expiration
    if transitions := _transitions(rule, "Transitions", "Transition", _TRANSITION_KEYS):
        api["Transition"] = transitions
    if noncurrent_expiration := _noncurrent_expiration(rule):
        api["NoncurrentVersionExpiration"] = noncurrent_expiration
    if transitions := _transitions(
        rule, "NoncurrentVersionTransitions", "NoncurrentVersionTransition", _NONCURRENT_TRANSITION_KEYS
    ):
        api["NoncurrentVersionTransition"] = transitions
    if rule.get("AbortIncompleteMultipartUpload"):
        api["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        }
    return api


def lifecycle_rules(cfn: dict[str, Any]) -> list[dict[str, Any]]:
    """LifecycleConfiguration.Rules as PutBucketLifecycleConfiguration rules."""
    return [_lifecycle_rule(rule) for rule in cfn.get("Rules") or []]


def bucket_logging(cfn: dict[str, Any]) -> dict[str, Any]:
    """LoggingConfiguration as moto stores PutBucketLogging's LoggingEnabled (no target bucket: off)."""
    if not cfn.get("DestinationBucketName"):
        return {}
    return {
        "TargetBucket": str(cfn["DestinationBucketName"]),
        "TargetPrefix": str(cfn.get("LogFilePrefix", "")),
    }


# Property -> (apply(backend, bucket, value), remove(backend, bucket)) through the S3 backend.
_Apply = Callable[[S3Backend, str, Any], None]
_Remove = Callable[[S3Backend, str], None]
_HANDLERS: dict[str, tuple[_Apply, _Remove]] = {
    "BucketEncryption": (
        lambda b, n, v: b.put_bucket_encryption(n, bucket_encryption(v)),
        lambda b, n: b.delete_bucket_encryption(n),
    ),
    "NotificationConfiguration": (
        lambda b, n, v: b.put_bucket_notification_configuration(n, notification_configuration(v)),
        lambda b, n: b.put_bucket_notification_configuration(n, {}),
    ),
    "CorsConfiguration": (
        lambda b, n, v: b.put_bucket_cors(n, cors_rules(v)),
        lambda b, n: b.delete_bucket_cors(n),
    ),
    "PublicAccessBlockConfiguration": (
        lambda b, n, v: b.put_public_access_block(n, public_access_block(v)),
        lambda b, n: b.delete_public_access_block(n),
    ),
    "OwnershipControls": (
        # moto stores the ObjectOwnership value itself (as its XML handler passes it).
        lambda b, n, v: b.put_bucket_ownership_controls(n, v["Rules"][0]["ObjectOwnership"]),
        lambda b, n: b.delete_bucket_ownership_controls(n),
    ),
    "LifecycleConfiguration": (
        lambda b, n, v: b.put_bucket_lifecycle_configuration(n, lifecycle_rules(v)),
        lambda b, n: b.delete_bucket_lifecycle(n),
    ),
    "LoggingConfiguration": (
        lambda b, n, v: b.put_bucket_logging(n, bucket_logging(v)),
        lambda b, n: b.put_bucket_logging(n, {}),
    ),
    "VersioningConfiguration": (
        lambda b, n, v: b.put_bucket_versioning(n, str(v["Status"])),
        # A bucket cannot go back to unversioned; dropping the property leaves it as it is.
        lambda b, n: None,
    ),
}


def apply_bucket_properties(
    bucket: FakeBucket, props: dict[str, Any], previous: dict[str, Any] | None = None
) -> None:
    """Apply the properties moto skips; on update also remove the ones no longer declared."""
    backend = _backend(bucket.region_name, bucket.account_id)
    for name, (apply, remove) in _HANDLERS.items():
        if props.get(name) is not None:
            apply(backend, bucket.name, props[name])
        elif previous and previous.get(name) is not None:
            remove(backend, bucket.name)
    warn_unapplied(BUCKET_TYPE, props, _MOTO_APPLIES | _HANDLERS.keys())


class S3Bucket(MotoModelExtension, CloudFormationModel):
    """AWS::S3::Bucket: moto's FakeBucket plus the properties it skips (never instantiated)."""

    MOTO = FakeBucket

    @classmethod
    def extend(cls, resource: FakeBucket, props: dict[str, Any], previous: dict[str, Any] | None) -> None:
        apply_bucket_properties(resource, props, previous)
