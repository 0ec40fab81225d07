"""Static checks of the Delivery block of intake.yaml (CloudFront signed URLs), in the style of
test_template.py: each check returns its problems; the real template has none, and each mutation of a
copy is noticed."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.templates import set_at
from tests.unit.test_template import (
    Problems,
    Template,
    _drop,
    as_list,
    is_tls_deny,
    load_template,
    props,
    role_policies,
    statements,
)

R, P = "Resources", "Properties"
RESTRICTED = {"thumbnails/*": ("thumbnails", "ThumbnailBucket"), "uploads/*": ("uploads", "UploadBucket")}
ORIGIN_BUCKETS = {"thumbnails": "ThumbnailBucket", "uploads": "UploadBucket", "web": "WebBucket"}
DISTRIBUTION_ARN = "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}"
KEY_PARAMETER = "/${AWS::StackName}/cloudfront/signing-key-${SigningKeySlot}"


@pytest.fixture(scope="module")
def pristine() -> Template:
    return load_template()


@pytest.fixture
def template(pristine: Template) -> Template:
    return copy.deepcopy(pristine)


def _config(t: Template) -> dict[str, Any]:
    config: dict[str, Any] = props(t, "Distribution")["DistributionConfig"]
    return config


def _if_branches(value: Any) -> list[Any]:
    """Both branches of an Fn::If (or the value itself)."""
    if isinstance(value, dict) and "Fn::If" in value:
        return [value["Fn::If"][1], value["Fn::If"][2]]
    return [value]


def check_web_bucket(t: Template) -> Problems:
    problems: Problems = []
    p = props(t, "WebBucket")
    block = p.get("PublicAccessBlockConfiguration", {})
    for flag in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
        if block.get(flag) is not True:
            problems.append(f"WebBucket {flag} is not true")
    upload_encryption = props(t, "UploadBucket").get("BucketEncryption")
    if not p.get("BucketEncryption") or p.get("BucketEncryption") != upload_encryption:
        problems.append("WebBucket is not encrypted as the other buckets")
    if not any(is_tls_deny(s) for s in statements(props(t, "WebBucketPolicy")["PolicyDocument"])):
        problems.append("WebBucketPolicy has no TLS-only deny")
    return problems


def check_origin_access(t: Template) -> Problems:
    problems: Problems = []
    oac = props(t, "OriginAccessControl")["OriginAccessControlConfig"]
    wanted = {"OriginAccessControlOriginType": "s3", "SigningBehavior": "always", "SigningProtocol": "sigv4"}
    problems += [f"OriginAccessControl {k} is not {v}" for k, v in wanted.items() if oac.get(k) != v]
    origins = {o["Id"]: o for o in _config(t)["Origins"]}
    for origin_id, bucket in ORIGIN_BUCKETS.items():
        origin = origins.get(origin_id, {})
        if origin.get("DomainName") != {"Fn::GetAtt": [bucket, "RegionalDomainName"]}:
            problems.append(f"origin {origin_id} is not {bucket}")
        if origin.get("OriginAccessControlId") != {"Fn::GetAtt": ["OriginAccessControl", "Id"]}:
            problems.append(f"origin {origin_id} is not reached through OriginAccessControl")
        if origin.get("S3OriginConfig", {}).get("OriginAccessIdentity") != "":
            problems.append(f"origin {origin_id} uses a legacy origin access identity")
        policy = next(
            r[P]["PolicyDocument"]
            for r in t[R].values()
            if r["Type"] == "AWS::S3::BucketPolicy" and r[P]["Bucket"] == {"Ref": bucket}
        )
        grants = [
            s
            for s in statements(policy)
            if s.get("Effect") == "Allow" and s.get("Principal") == {"Service": "cloudfront.amazonaws.com"}
        ]
        if [as_list(s["Action"]) for s in grants] != [["s3:GetObject"]] or any(
            s.get("Condition") != {"StringEquals": {"AWS:SourceArn": {"Fn::Sub": DISTRIBUTION_ARN}}}
            for s in grants
        ):
            problems.append(f"{bucket} policy does not grant GetObject to this distribution only")
    return problems


def check_behaviours(t: Template) -> Problems:
    problems: Problems = []
    config = _config(t)
    default = config["DefaultCacheBehavior"]
    behaviours = {b["PathPattern"]: b for b in config.get("CacheBehaviors", [])}
    if default.get("TargetOriginId") != "web" or default.get("TrustedKeyGroups"):
        problems.append("the default behaviour is not the public page")
    for pattern, (origin, _) in RESTRICTED.items():
        b = behaviours.get(pattern, {})
        if b.get("TargetOriginId") != origin or b.get("TrustedKeyGroups") != [{"Ref": "SigningKeyGroup"}]:
            problems.append(f"{pattern} is not restricted to SigningKeyGroup on origin {origin}")
    for b in [default, *behaviours.values()]:
        where = b.get("PathPattern", "default")
        if b.get("ViewerProtocolPolicy") != "redirect-to-https":
            problems.append(f"behaviour {where} does not redirect to HTTPS")
        if b.get("ResponseHeadersPolicyId") != {"Ref": "SecurityHeadersPolicy"}:
            problems.append(f"behaviour {where} lacks SecurityHeadersPolicy")
        if set(b.get("AllowedMethods", [])) - {"GET", "HEAD", "OPTIONS"}:
            problems.append(f"behaviour {where} allows writes")
    downloads = behaviours.get("uploads/*", {}).get("CachePolicyId")
    query = props(t, "DownloadCachePolicy")["CachePolicyConfig"]["ParametersInCacheKeyAndForwardedToOrigin"]
    if downloads != {"Ref": "DownloadCachePolicy"} or query["QueryStringsConfig"].get("QueryStrings") != [
        "response-content-disposition"
    ]:
        problems.append("uploads/* does not forward response-content-disposition (attachment downloads)")
    return problems


def check_viewer_tls(t: Template) -> Problems:
    problems: Problems = []
    cert = _config(t)["ViewerCertificate"]
    if not (isinstance(cert, dict) and cert.get("Fn::If", [None])[0] == "HasCdnAlias"):
        return ["ViewerCertificate is not conditional on the alternate domain"]
    acm, default = _if_branches(cert)
    if acm.get("MinimumProtocolVersion") != "TLSv1.2_2021" or acm.get("SslSupportMethod") != "sni-only":
        problems.append("the ACM certificate path does not require TLSv1.2_2021 (sni-only)")
    if acm.get("AcmCertificateArn") != {"Ref": "CdnCertificateArn"}:
        problems.append("the ACM certificate is not CdnCertificateArn")
    if default != {"CloudFrontDefaultCertificate": True}:
        problems.append("the default path is not CloudFront's default certificate")
    return problems


def check_headers(t: Template) -> Problems:
    headers = props(t, "SecurityHeadersPolicy")["ResponseHeadersPolicyConfig"].get(
        "SecurityHeadersConfig", {}
    )
    problems: Problems = []
    hsts = headers.get("StrictTransportSecurity", {})
    if int(hsts.get("AccessControlMaxAgeSec", 0)) < 31536000 or hsts.get("IncludeSubdomains") is not True:
        problems.append("HSTS is missing or shorter than a year")
    if "ContentTypeOptions" not in headers:
        problems.append("nosniff is missing")
    if headers.get("FrameOptions", {}).get("FrameOption") != "DENY":
        problems.append("frame options are not DENY")
    if not headers.get("ReferrerPolicy", {}).get("ReferrerPolicy"):
        problems.append("referrer policy is missing")
    csp = json.dumps(headers.get("ContentSecurityPolicy", {}).get("ContentSecurityPolicy", ""))
    if "frame-ancestors 'none'" not in csp or "script-src 'self'" not in csp:
        problems.append("the CSP does not lock scripts to the page and forbid framing")
    return problems


def check_optional_features(t: Template) -> Problems:
    config, problems = _config(t), []
    wanted = {
        "Aliases": "HasCdnAlias",
        "Logging": "HasCdnAccessLogs",
        "WebACLId": "HasCloudFrontWebAcl",
    }
    for key, condition in wanted.items():
        if not (isinstance(config.get(key), dict) and config[key].get("Fn::If", [None])[0] == condition):
            problems.append(f"{key} is not optional through {condition}")
    if _if_branches(config.get("WebACLId"))[0] != {"Ref": "CloudFrontWebAclArn"}:
        problems.append("WebACLId is not CloudFrontWebAclArn")
    for origin in config["Origins"]:
        shield = origin.get("OriginShield", {})
        if not (isinstance(shield, dict) and shield.get("Fn::If", [None])[0] == "HasOriginShield"):
            problems.append(f"origin {origin['Id']} has no optional Origin Shield")
    if t["Parameters"].get("CloudFrontWebAclArn", {}).get("Default") != "":
        problems.append("CloudFrontWebAclArn is not optional")
    return problems


def check_signing_keys(t: Template) -> Problems:
    problems: Problems = []
    items = props(t, "SigningKeyGroup")["KeyGroupConfig"]["Items"]
    refs = [b for item in items for b in _if_branches(item) if b != {"Ref": "AWS::NoValue"}]
    if refs != [{"Ref": "SigningPublicKeyA"}, {"Ref": "SigningPublicKeyB"}]:
        problems.append("SigningKeyGroup does not hold both key slots")
    for slot in ("A", "B"):
        key = props(t, f"SigningPublicKey{slot}")["PublicKeyConfig"]["EncodedKey"]
        if {json.dumps(b) for b in _if_branches(key)} != {
            json.dumps({"Ref": "SigningPublicKey"}),
            json.dumps({"Ref": "PreviousSigningPublicKey"}),
        }:
            problems.append(f"SigningPublicKey{slot} is not SigningPublicKey/PreviousSigningPublicKey")
    if "Default" in t["Parameters"].get("SigningPublicKey", {"Default": ""}):
        problems.append("SigningPublicKey must be passed in (no default)")
    return problems


def check_api_access(t: Template) -> Problems:
    problems: Problems = []
    env = props(t, "ApiFunction")["Environment"]["Variables"]
    for name in ("CDN_URL", "SIGNING_KEY_PAIR_ID", "SIGNING_KEY_PARAMETER"):
        if name not in env:
            problems.append(f"ApiFunction lacks {name}")
    allowed = [
        s
        for policy in role_policies(t, "ApiFunctionRole")
        for s in statements(policy["PolicyDocument"])
        if s.get("Effect") == "Allow"
    ]
    ssm = [s for s in allowed if any(a.startswith("ssm:") for a in as_list(s["Action"]))]
    if [as_list(s["Action"]) for s in ssm] != [["ssm:GetParameter"]] or KEY_PARAMETER not in json.dumps(
        ssm[0]["Resource"]
    ):
        problems.append("ApiFunctionRole may read more than the signing key parameter")
    # The signing key's decrypt: only through SSM, only for that parameter (the role's other DataKey
    # rights, through S3 and DynamoDB, are test_template.py's kms_rights check).
    key_reads = [
        s
        for s in allowed
        if "kms:Decrypt" in as_list(s["Action"])
        and "kms:EncryptionContext:PARAMETER_ARN" in s.get("Condition", {}).get("StringEquals", {})
    ]
    if not key_reads:
        problems.append("ApiFunctionRole cannot decrypt the signing key parameter")
    for s in key_reads:
        via = s["Condition"]["StringEquals"].get("kms:ViaService")
        if via != {"Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"}:
            problems.append("ApiFunctionRole may decrypt the signing key other than through SSM")
        if KEY_PARAMETER not in json.dumps(
            s["Condition"]["StringEquals"]["kms:EncryptionContext:PARAMETER_ARN"]
        ):
            problems.append("ApiFunctionRole may decrypt other parameters than the signing key")
    return problems


def check_outputs(t: Template) -> Problems:
    wanted = ("CdnUrl", "DistributionId", "SigningKeyPairId", "SigningKeyParameterName", "WebBucketName")
    return [f"output {o} is missing" for o in wanted if o not in t["Outputs"]]


CHECKS: dict[str, Callable[[Template], Problems]] = {
    "web_bucket": check_web_bucket,
    "origin_access": check_origin_access,
    "behaviours": check_behaviours,
    "viewer_tls": check_viewer_tls,
    "headers": check_headers,
    "optional_features": check_optional_features,
    "signing_keys": check_signing_keys,
    "api_access": check_api_access,
    "outputs": check_outputs,
}


@pytest.mark.parametrize("check", list(CHECKS))
def test_delivery_property(template: Template, check: str) -> None:
    assert CHECKS[check](template) == []


def _remove(path: list[Any]) -> Callable[[Template], None]:
    def mutate(t: Template) -> None:
        node: Any = t
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


def _behaviour(index: int, key: str, value: Any = None) -> Callable[[Template], None]:
    path: list[Any] = [R, "Distribution", P, "DistributionConfig", "CacheBehaviors", index, key]
    return _remove(path) if value is None else set_at(path, value)


DC = [R, "Distribution", P, "DistributionConfig"]
SECURITY = [R, "SecurityHeadersPolicy", P, "ResponseHeadersPolicyConfig", "SecurityHeadersConfig"]
API_ROLE_STATEMENTS = [R, "ApiFunctionRole", P, "Policies", 0, "PolicyDocument", "Statement"]


def _role_statement(sid: str, key: str, value: Any) -> Callable[[Template], None]:
    def mutate(t: Template) -> None:
        for st in props(t, "ApiFunctionRole")["Policies"][0]["PolicyDocument"]["Statement"]:
            if st.get("Sid") == sid:
                st[key] = value

    return mutate


MUTATIONS: list[tuple[str, str, Callable[[Template], None]]] = [
    ("public web bucket", "web_bucket", set_at([R, "WebBucket", P, "PublicAccessBlockConfiguration"], {})),
    ("plain web bucket", "web_bucket", _drop([R, "WebBucket", P, "BucketEncryption"])),
    (
        "oac signs sometimes",
        "origin_access",
        set_at([R, "OriginAccessControl", P, "OriginAccessControlConfig", "SigningBehavior"], "no-override"),
    ),
    ("origin without oac", "origin_access", set_at([*DC, "Origins", 1, "OriginAccessControlId"], "")),
    (
        "any distribution reads",
        "origin_access",
        _remove([R, "ThumbnailBucketPolicy", P, "PolicyDocument", "Statement", 1, "Condition"]),
    ),
    ("thumbnails unsigned", "behaviours", _behaviour(0, "TrustedKeyGroups")),
    ("originals over http", "behaviours", _behaviour(1, "ViewerProtocolPolicy", "allow-all")),
    ("no security headers", "behaviours", _drop([*DC, "DefaultCacheBehavior", "ResponseHeadersPolicyId"])),
    ("no attachment", "behaviours", _behaviour(1, "CachePolicyId", "658327ea-f89d-4fab-a63d-7e88639e58f6")),
    (
        "old TLS",
        "viewer_tls",
        set_at([*DC, "ViewerCertificate", "Fn::If", 1, "MinimumProtocolVersion"], "TLSv1"),
    ),
    ("no HSTS", "headers", _drop([*SECURITY, "StrictTransportSecurity"])),
    ("framing allowed", "headers", set_at([*SECURITY, "FrameOptions", "FrameOption"], "SAMEORIGIN")),
    ("no waf hook", "optional_features", _drop([*DC, "WebACLId"])),
    ("no origin shield", "optional_features", _remove([*DC, "Origins", 0, "OriginShield"])),
    (
        "one key slot",
        "signing_keys",
        set_at([R, "SigningKeyGroup", P, "KeyGroupConfig", "Items"], [{"Ref": "SigningPublicKeyA"}]),
    ),
    ("no cdn url", "api_access", _drop([R, "ApiFunction", P, "Environment", "Variables", "CDN_URL"])),
    ("every parameter", "api_access", _role_statement("ReadSigningKeyParameter", "Resource", "*")),
    ("decrypt anywhere", "api_access", _role_statement("DecryptSigningKeyThroughSsm", "Condition", {})),
    ("no key pair id output", "outputs", _drop(["Outputs", "SigningKeyPairId"])),
]


@pytest.mark.parametrize(
    ("check", "mutate"), [(c, m) for _, c, m in MUTATIONS], ids=[n for n, _, _ in MUTATIONS]
)
def test_delivery_check_detects_broken_template(
    template: Template, check: str, mutate: Callable[[Template], None]
) -> None:
    mutate(template)
    assert CHECKS[check](template), f"check {check!r} did not notice the mutation"
