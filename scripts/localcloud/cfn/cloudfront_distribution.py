"""AWS::CloudFront::Distribution, on moto's CloudFront backend.

moto 5.2.5 has the API but no CloudFormation model. As in the CloudFormation reference:
CreateDistribution with DistributionConfig; `Ref` and `GetAtt Id` give the distribution's id,
`GetAtt DomainName` its `<id>.cloudfront.net` name. A change updates it in place (UpdateDistribution);
deleting the resource deletes it (AWS disables it first).

CloudFormation's DistributionConfig differs from the API's (plain lists where the API has
{Quantity, Items}; AcmCertificateArn for ACMCertificateArn); moto gets the API's shape. moto drops
some of what the local CloudFront front needs (each origin's OriginAccessControlId, for one), so the
declared config is also kept in the CloudFront store, where the front reads it (localcloud.cdn).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from moto.core.common_models import CloudFormationModel

from ._cloudfront import STORE, DeployedDistribution, backend
from ._model import LocalModel


def _listed(items: Any) -> dict[str, Any]:
    items = [item for item in items or [] if item is not None]
    return {"Quantity": len(items), "Items": items}


def _behaviour(config: Mapping[str, Any]) -> dict[str, Any]:
    behaviour = dict(config)
    groups = [g for g in behaviour.get("TrustedKeyGroups") or [] if g]
    behaviour["TrustedKeyGroups"] = {"Enabled": bool(groups), **_listed(groups)}
    methods = behaviour.get("AllowedMethods") or ["GET", "HEAD"]
    behaviour["AllowedMethods"] = {
        **_listed(methods),
        "CachedMethods": _listed(behaviour.pop("CachedMethods", None) or ["GET", "HEAD"]),
    }
    return behaviour


def _origin(config: Mapping[str, Any]) -> dict[str, Any]:
    origin = dict(config)
    if "S3OriginConfig" in origin:
        origin["S3OriginConfig"] = {"OriginAccessIdentity": "", **origin["S3OriginConfig"]}
    return origin


def _certificate(config: Mapping[str, Any] | None) -> dict[str, Any]:
    config = dict(config or {"CloudFrontDefaultCertificate": True})
    if "AcmCertificateArn" in config:
        config["ACMCertificateArn"] = config.pop("AcmCertificateArn")
    return config


def api_config(config: Mapping[str, Any], caller_reference: str) -> dict[str, Any]:
    """CloudFormation's DistributionConfig in the shape of the CloudFront API (moto's input)."""
    api = {k: v for k, v in config.items() if v is not None}
    api["CallerReference"] = caller_reference
    api["Origins"] = _listed([_origin(o) for o in config.get("Origins") or []])
    api["DefaultCacheBehavior"] = _behaviour(config["DefaultCacheBehavior"])
    api["CacheBehaviors"] = _listed([_behaviour(b) for b in config.get("CacheBehaviors") or []])
    api["Aliases"] = _listed(config.get("Aliases"))
    api["ViewerCertificate"] = _certificate(config.get("ViewerCertificate"))
    api["IsIPV6Enabled"] = api.pop("IPV6Enabled", True)
    if "Logging" in api:
        api["Logging"] = {"Enabled": True, **api["Logging"]}
    return api


class CloudFrontDistribution(LocalModel, CloudFormationModel):
    """AWS::CloudFront::Distribution."""

    TYPE = "AWS::CloudFront::Distribution"
    REF = "id"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {"Id": "id", "DomainName": "domain_name"}
    APPLIED = ("DistributionConfig", "Tags")

    id: str
    domain_name: str
    caller_reference: str

    def create(self, name: str) -> None:
        self.caller_reference = f"{name}-{uuid.uuid4()}"
        tags = [{"Key": t["Key"], "Value": t.get("Value", "")} for t in self.props.get("Tags") or []]
        created, _, _ = backend(self.account_id, self.region_name).create_distribution(
            api_config(self.props["DistributionConfig"], self.caller_reference), tags
        )
        self.id, self.domain_name = created.distribution_id, created.domain_name
        self._store(created.arn, self.props)

    def update(self, props: dict[str, Any]) -> None:
        updated, _, _ = backend(self.account_id, self.region_name).update_distribution(
            api_config(props["DistributionConfig"], self.caller_reference), self.id, True
        )
        self._store(updated.arn, props)

    def remove(self) -> None:
        with STORE.lock:
            STORE.distributions.pop(self.id, None)
        cloudfront = backend(self.account_id, self.region_name)
        if self.id in cloudfront.distributions:
            cloudfront.delete_distribution(self.id, True)

    def _store(self, arn: str, props: Mapping[str, Any]) -> None:
        deployed = DeployedDistribution(
            self.id, arn, self.domain_name, self.account_id, dict(props["DistributionConfig"])
        )
        with STORE.lock:
            STORE.distributions[self.id] = deployed
