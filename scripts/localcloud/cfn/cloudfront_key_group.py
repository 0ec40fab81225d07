"""AWS::CloudFront::KeyGroup, on moto's CloudFront backend.

moto 5.2.5 has the API but no CloudFormation model. As in the CloudFormation reference: CreateKeyGroup
with KeyGroupConfig (Name, Items = public key ids, Comment); `Ref` and `GetAtt Id` give its id. A change
updates it in place (UpdateKeyGroup), so the distributions that trust it keep trusting it.
Items that are `AWS::NoValue` (a key slot that does not exist) are left out, as CloudFormation does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from moto.core.common_models import CloudFormationModel

from ._cloudfront import backend, now_iso
from ._model import LocalModel


def _items(props: Mapping[str, Any]) -> list[str]:
    return [str(item) for item in props["KeyGroupConfig"].get("Items") or [] if item]


class CloudFrontKeyGroup(LocalModel, CloudFormationModel):
    """AWS::CloudFront::KeyGroup."""

    TYPE = "AWS::CloudFront::KeyGroup"
    REF = "id"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {"Id": "id", "LastModifiedTime": "last_modified_time"}
    APPLIED = ("KeyGroupConfig",)
    ALREADY_GONE = (KeyError,)

    id: str
    last_modified_time: str

    def create(self, name: str) -> None:
        group = backend(self.account_id, self.region_name).create_key_group(
            name=str(self.props["KeyGroupConfig"]["Name"]), items=_items(self.props)
        )
        self.id, self.last_modified_time = group.id, now_iso()

    def update(self, props: dict[str, Any]) -> None:
        group = backend(self.account_id, self.region_name).get_key_group(self.id)
        group.name, group.items = str(props["KeyGroupConfig"]["Name"]), _items(props)
        self.last_modified_time = now_iso()

    def remove(self) -> None:
        del backend(self.account_id, self.region_name).key_groups[self.id]
