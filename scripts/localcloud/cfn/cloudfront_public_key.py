"""AWS::CloudFront::PublicKey, on moto's CloudFront backend.

moto 5.2.5 has the API but no CloudFormation model. As in the CloudFormation reference: CreatePublicKey
with PublicKeyConfig (CallerReference, Name, EncodedKey, Comment); `Ref` and `GetAtt Id` give the key's
id, which is the key pair id of the URLs it verifies. CloudFront can only change a public key's
comment, so any other change replaces the key (a new id).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from moto.core.common_models import CloudFormationModel

from ._cloudfront import backend
from ._model import LocalModel


def _identity(props: Mapping[str, Any]) -> tuple[str, ...]:
    config = props.get("PublicKeyConfig") or {}
    return tuple(str(config.get(k, "")).strip() for k in ("CallerReference", "Name", "EncodedKey"))


class CloudFrontPublicKey(LocalModel, CloudFormationModel):
    """AWS::CloudFront::PublicKey."""

    TYPE = "AWS::CloudFront::PublicKey"
    REF = "id"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {"Id": "id", "CreatedTime": "created_time"}
    APPLIED = ("PublicKeyConfig",)

    id: str
    created_time: str

    def create(self, name: str) -> None:
        config = self.props["PublicKeyConfig"]
        key = backend(self.account_id, self.region_name).create_public_key(
            caller_ref=str(config["CallerReference"]),
            name=str(config["Name"]),
            encoded_key=str(config["EncodedKey"]),
        )
        key.comment = str(config.get("Comment") or "")
        self.id, self.created_time = key.id, str(key.created_time)

    def replaced_by(self, props: Mapping[str, Any]) -> bool:
        return _identity(props) != _identity(self.props)

    def update(self, props: dict[str, Any]) -> None:  # only the comment can change in place
        key = backend(self.account_id, self.region_name).get_public_key(self.id)
        key.comment = str(props["PublicKeyConfig"].get("Comment") or "")

    def remove(self) -> None:
        backend(self.account_id, self.region_name).delete_public_key(self.id)
