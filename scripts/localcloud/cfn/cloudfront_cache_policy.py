"""AWS::CloudFront::CachePolicy, kept by the local cloud (moto 5.2.5 has no such API).

As in the CloudFormation reference: `Ref` and `GetAtt Id` give the policy's id. The policy
(CachePolicyConfig) is kept in the CloudFront store: the local CloudFront front forwards to the origin
the query strings its ParametersInCacheKeyAndForwardedToOrigin names (localcloud.cdn.origin). The local
front caches nothing, so the TTLs only exist.
"""

from __future__ import annotations

from moto.core.common_models import CloudFormationModel

from ._cloudfront import StoredPolicy
from ._model import LocalModel


class CloudFrontCachePolicy(StoredPolicy, LocalModel, CloudFormationModel):
    """AWS::CloudFront::CachePolicy."""

    TYPE = "AWS::CloudFront::CachePolicy"
    CONFIG = "CachePolicyConfig"
    STORED_IN = "cache_policies"
    APPLIED = ("CachePolicyConfig",)
