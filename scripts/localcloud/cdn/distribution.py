"""One deployed distribution as the front needs it: which behaviour a path falls under, the public keys
that behaviour trusts, its origin bucket, the query strings it forwards, and its response headers.

Read from the CloudFront store the local CloudFormation models keep (localcloud.cfn._cloudfront) and
moto's CloudFront backend (key groups, public keys), at each request, so a stack update shows at once.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from localcloud.cfn._cloudfront import STORE, DeployedDistribution, backend


@dataclass(frozen=True)
class Behaviour:
    origin_bucket: str
    trusted_keys: dict[str, str] | None  # key pair id -> public key PEM; None: public
    forwarded_query: frozenset[str]
    response_headers: Mapping[str, Any] | None  # the ResponseHeadersPolicyConfig
    allowed_methods: frozenset[str]


def bucket_of(domain_name: str) -> str:
    """`<bucket>.s3.<region>.amazonaws.com` (or `<bucket>.s3.amazonaws.com`) -> the bucket."""
    return domain_name.split(".s3.", 1)[0].split(".s3-", 1)[0]


def matches(pattern: str, path: str) -> bool:
    """CloudFront path patterns: case-sensitive, `*` and `?` wildcards, the leading slash optional."""
    return fnmatch.fnmatchcase(path.lstrip("/"), pattern.lstrip("/").replace("[", "[[]"))


def select(distribution_ids: list[str], host: str) -> DeployedDistribution | None:
    """The distribution a request for `host` reaches: by its domain name or alias, else the first."""
    with STORE.lock:
        deployed = [STORE.distributions[i] for i in distribution_ids if i in STORE.distributions]
    for distribution in deployed:
        names = {distribution.domain_name, *(distribution.config.get("Aliases") or [])}
        if host.split(":", 1)[0] in names:
            return distribution
    return deployed[0] if deployed else None


def _trusted_keys(distribution: DeployedDistribution, groups: list[str]) -> dict[str, str] | None:
    if not groups:
        return None
    cloudfront = backend(distribution.account_id, "us-east-1")
    keys: dict[str, str] = {}
    for group_id in groups:
        group = cloudfront.key_groups.get(group_id)
        for key_id in group.items if group else []:
            if key_id in cloudfront.public_keys:
                keys[key_id] = cloudfront.public_keys[key_id].encoded_key
    return keys


def _forwarded(cache_policy_id: str | None) -> frozenset[str]:
    with STORE.lock:
        policy = STORE.cache_policies.get(cache_policy_id or "") or {}
    query = (policy.get("ParametersInCacheKeyAndForwardedToOrigin") or {}).get("QueryStringsConfig") or {}
    if query.get("QueryStringBehavior") == "whitelist":
        return frozenset(query.get("QueryStrings") or [])
    return frozenset()


def behaviour(distribution: DeployedDistribution, path: str) -> Behaviour:
    """The first cache behaviour whose pattern matches `path`, else the default one."""
    config = distribution.config
    chosen = next(
        (b for b in config.get("CacheBehaviors") or [] if matches(str(b["PathPattern"]), path)),
        config["DefaultCacheBehavior"],
    )
    origin = next(o for o in config["Origins"] if o["Id"] == chosen["TargetOriginId"])
    with STORE.lock:
        headers = STORE.response_headers_policies.get(str(chosen.get("ResponseHeadersPolicyId") or ""))
    return Behaviour(
        origin_bucket=bucket_of(str(origin["DomainName"])),
        trusted_keys=_trusted_keys(distribution, [g for g in chosen.get("TrustedKeyGroups") or [] if g]),
        forwarded_query=_forwarded(chosen.get("CachePolicyId")),
        response_headers=headers,
        allowed_methods=frozenset(chosen.get("AllowedMethods") or ["GET", "HEAD"]),
    )
