"""AWS::KMS::Key: the key properties moto's CloudFormation gets wrong or ignores.

moto 5.2.5 creates the key from CloudFormation but stores KeyPolicy as the template's object rather
than the policy text (and fails on Tags), so DescribeKey (which parses the policy) fails with HTTP 500 and GetKeyPolicy
returns an object instead of a JSON string. It also reads EnableKeyRotation and Enabled without
CloudFormation's boolean coercion ("true"/"false"), and ignores template updates (policy, rotation,
description) altogether. This model registers for the same type, lets moto's Key create and delete
the key, and then applies, as PutKeyPolicy, EnableKeyRotation/DisableKeyRotation,
EnableKey/DisableKey, UpdateKeyDescription and TagResource would, on create and on update:

- KeyPolicy (an object or JSON text) -> the key's policy, as JSON text;
- EnableKeyRotation -> the rotation status (GetKeyRotationStatus);
- Enabled -> the key state (Enabled/Disabled);
- Description, Tags.

KeySpec and KeyUsage other than the defaults (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT), RotationPeriodInDays
(moto has no rotation period) and PendingWindowInDays (moto deletes a key at once) are not emulated;
they are logged, never skipped silently.
`Ref` is the key id and `GetAtt Arn` the key ARN, as moto gives them. AWS::KMS::Alias needs nothing:
moto creates, updates and deletes it.
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.kms.models import Key, kms_backends

from ._model import MotoModelExtension
from ._props import as_bool, json_text, tag_dict, warn_unapplied

KEY_TYPE = "AWS::KMS::Key"

_DEFAULTS = {"KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT"}
_APPLIED = {"KeyPolicy", "EnableKeyRotation", "Enabled", "Description", "Tags"}


def apply_key_properties(key: Key, props: dict[str, Any]) -> None:
    """Apply the key's properties on create and update (moto's create applied them only in part)."""
    key.policy = json_text(props["KeyPolicy"]) if props.get("KeyPolicy") else key.generate_default_policy()
    key.key_rotation_status = as_bool(props.get("EnableKeyRotation", False))
    key.enabled = as_bool(props.get("Enabled", True))
    key.key_state = "Enabled" if key.enabled else "Disabled"
    key.description = str(props.get("Description") or "")
    if props.get("Tags"):
        kms_backends[key.account_id][key.region].tag_resource(key.id, tag_dict(props["Tags"]))
    declared_defaults = {k for k, v in _DEFAULTS.items() if str(props.get(k, v)) == v}
    warn_unapplied(KEY_TYPE, props, _APPLIED | declared_defaults)


class KMSKey(MotoModelExtension, CloudFormationModel):
    """AWS::KMS::Key: moto's Key with its policy as text, updates and coerced flags (never instantiated)."""

    MOTO = Key

    @classmethod
    def create(cls, name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str) -> Any:
        """moto's create, given the policy as text so that the key never holds an object, and without
        Tags (moto hands CloudFormation's Key/Value pairs to a tagger that reads TagKey/TagValue)."""
        resource = dict(cloudformation_json)
        props = dict(resource.get("Properties") or {})
        # KeyPolicy is optional in CloudFormation (AWS then gives the default policy); moto requires it.
        props["KeyPolicy"] = json_text(props["KeyPolicy"]) if props.get("KeyPolicy") else ""
        props.pop("Tags", None)
        resource["Properties"] = props
        return cls.MOTO.create_from_cloudformation_json(name, resource, account_id, region_name)

    @classmethod
    def extend(cls, resource: Key, props: dict[str, Any], previous: dict[str, Any] | None) -> None:
        apply_key_properties(resource, props)
