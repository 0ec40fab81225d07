"""AWS::CloudFront::ResponseHeadersPolicy, kept by the local cloud (moto 5.2.5 has no such API).

As in the CloudFormation reference: `Ref` and `GetAtt Id` give the policy's id, `GetAtt
LastModifiedTime` its last change. The policy (ResponseHeadersPolicyConfig) is kept in the CloudFront
store, where the local CloudFront front reads the headers it adds (localcloud.cdn.headers). A change
updates it in place.
"""

from __future__ import annotations

from moto.core.common_models import CloudFormationModel

from ._cloudfront import StoredPolicy
from ._model import LocalModel


class CloudFrontResponseHeadersPolicy(StoredPolicy, LocalModel, CloudFormationModel):
    """AWS::CloudFront::ResponseHeadersPolicy."""

    TYPE = "AWS::CloudFront::ResponseHeadersPolicy"
    CONFIG = "ResponseHeadersPolicyConfig"
    STORED_IN = "response_headers_policies"
    APPLIED = ("ResponseHeadersPolicyConfig",)
