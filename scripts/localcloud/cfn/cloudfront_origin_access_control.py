"""AWS::CloudFront::OriginAccessControl, on moto's CloudFront backend.

moto 5.2.5 has the API but no CloudFormation model. As in the CloudFormation reference:
CreateOriginAccessControl with OriginAccessControlConfig; `Ref` and `GetAtt Id` give its id. A change
updates it in place; deleting the resource deletes it. The local CloudFront front signs nothing (it
reads the origin bucket in-process), but checks the bucket policy as S3 would for a request the
origin access control signed (localcloud.cdn.origin).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from moto.core.common_models import CloudFormationModel

from ._cloudfront import backend
from ._model import LocalModel


class CloudFrontOriginAccessControl(LocalModel, CloudFormationModel):
    """AWS::CloudFront::OriginAccessControl."""

    TYPE = "AWS::CloudFront::OriginAccessControl"
    REF = "id"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {"Id": "id"}
    APPLIED = ("OriginAccessControlConfig",)
    ALREADY_GONE = (KeyError,)

    id: str

    def create(self, name: str) -> None:
        control = backend(self.account_id, self.region_name).create_origin_access_control(
            dict(self.props["OriginAccessControlConfig"])
        )
        self.id = control.id

    def update(self, props: dict[str, Any]) -> None:
        backend(self.account_id, self.region_name).update_origin_access_control(
            self.id, dict(props["OriginAccessControlConfig"])
        )

    def remove(self) -> None:
        backend(self.account_id, self.region_name).delete_origin_access_control(self.id)
