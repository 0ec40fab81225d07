"""AWS::CloudFront::ResponseHeadersPolicy, kept by the local cloud (moto 5.2.5 has no such API).

As in the CloudFormation reference: `Ref` and `GetAtt Id` give the policy's id, `GetAtt
LastModifiedTime` its last change. The policy (ResponseHeadersPolicyConfig) is kept in the CloudFront
store, where the local CloudFront front reads the headers it adds (localcloud.cdn.headers). A change
updates it in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from moto.core.common_models import CloudFormationModel

from ._cloudfront import STORE, new_policy_id, now_iso
from ._model import LocalModel


class CloudFrontResponseHeadersPolicy(LocalModel, CloudFormationModel):
    """AWS::CloudFront::ResponseHeadersPolicy."""

    TYPE = "AWS::CloudFront::ResponseHeadersPolicy"
    REF = "id"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {"Id": "id", "LastModifiedTime": "last_modified_time"}
    APPLIED = ("ResponseHeadersPolicyConfig",)

    id: str
    last_modified_time: str

    def create(self, name: str) -> None:
        self.id = new_policy_id()
        self.update(self.props)

    def update(self, props: dict[str, Any]) -> None:
        with STORE.lock:
            STORE.response_headers_policies[self.id] = dict(props["ResponseHeadersPolicyConfig"])
        self.last_modified_time = now_iso()

    def remove(self) -> None:
        with STORE.lock:
            STORE.response_headers_policies.pop(self.id, None)
