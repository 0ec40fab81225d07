"""AWS::CloudFront::CachePolicy, kept by the local cloud (moto 5.2.5 has no such API).

As in the CloudFormation reference: `Ref` and `GetAtt Id` give the policy's id. The policy
(CachePolicyConfig) is kept in the CloudFront store: the local CloudFront front forwards to the origin
the query strings its ParametersInCacheKeyAndForwardedToOrigin names (localcloud.cdn.origin). The local
front caches nothing, so the TTLs only exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from moto.core.common_models import CloudFormationModel

from ._cloudfront import STORE, new_policy_id, now_iso
from ._model import LocalModel


class CloudFrontCachePolicy(LocalModel, CloudFormationModel):
    """AWS::CloudFront::CachePolicy."""

    TYPE = "AWS::CloudFront::CachePolicy"
    REF = "id"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {"Id": "id", "LastModifiedTime": "last_modified_time"}
    APPLIED = ("CachePolicyConfig",)

    id: str
    last_modified_time: str

    def create(self, name: str) -> None:
        self.id = new_policy_id()
        self.update(self.props)

    def update(self, props: dict[str, Any]) -> None:
        with STORE.lock:
            STORE.cache_policies[self.id] = dict(props["CachePolicyConfig"])
        self.last_modified_time = now_iso()

    def remove(self) -> None:
        with STORE.lock:
            STORE.cache_policies.pop(self.id, None)
