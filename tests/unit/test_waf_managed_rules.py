"""The local WAF's managed rule groups and statements (localcloud.api.waf, waf_rules), on the template's
own web ACLs: the documented size and header rules block, the template's overrides and label rule
hold (the CloudFront ACL's text-match rules on the query and path spare the signed download URLs),
and every group and rule the template names is one the local WAF knows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from intake.keys import thumbnail_key
from intake.signing import CloudFrontUrls
from intake.uploads import parse_new_upload, upload_terms
from localcloud.api import waf
from localcloud.api.messages import Request
from localcloud.api.waf import Firewall, StatementRule, Verdict, WebAcl
from localcloud.api.waf_rules import MANAGED_GROUPS, ManagedRule
from localcloud.cfn.wafv2 import coerced
from tests.support import signing
from tests.support.templates import PARENT_PATH, load

ARN = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/intake-api/abc"
TEMPLATE = load(PARENT_PATH)
ACLS = ("ApiWebAcl", "CloudFrontWebAcl")
COMMON = "AWSManagedRulesCommonRuleSet"


def resolved(value: Any) -> Any:
    """The template's rules as GetWebACL gives them: Ref/Sub stand-ins, the API's types."""
    if isinstance(value, dict):
        if "Ref" in value:
            return 1000  # rate limits: never reached here
        if "Fn::Sub" in value:
            return "metric"
        return {k: resolved(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolved(v) for v in value]
    return value


def template_rules(acl: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = coerced(resolved(TEMPLATE["Resources"][acl]["Properties"]["Rules"]))
    return rules


def inspect(acl_rules: list[dict[str, Any]], request: Request) -> Verdict:
    acl = WebAcl.from_api({"ARN": ARN, "Name": "intake-api", "Rules": acl_rules})
    return Firewall(lambda: acl).inspect(request)


def request(
    method: str = "GET",
    path: str = "/v1/uploads",
    *,
    query: str = "",
    body: bytes = b"",
    headers: list[tuple[str, str]] | None = None,
) -> Request:
    sent = [("User-Agent", "intake-cli/1.0"), ("Authorization", "Bearer t")] if headers is None else headers
    return Request(method, path, [], sent, body, "10.0.0.1", raw_query=query)


def blocked_by(acl: str, req: Request) -> str | None:
    return inspect(template_rules(acl), req).blocked_by


# -- the documented, deterministic rules ------------------------------------------------------------


@pytest.mark.parametrize("acl", ACLS)
def test_normal_requests_pass(acl: str) -> None:
    assert blocked_by(acl, request()) is None
    assert blocked_by(acl, request("POST", body=b"x" * 8192, query="q=" + "a" * 2046)) is None
    assert blocked_by(acl, request(path="/" + "p" * 1023)) is None


@pytest.mark.parametrize("acl", ACLS)
@pytest.mark.parametrize(
    ("req", "rule"),
    [
        (request("POST", body=b"x" * 8193), "SizeRestrictions_BODY"),
        (request(query="q=" + "a" * 2047), "SizeRestrictions_QUERYSTRING"),
        (request(path="/" + "p" * 1024), "SizeRestrictions_URIPATH"),
        (request(path="/%E4%B8%AD" * 114), "SizeRestrictions_URIPATH"),  # the raw, encoded path counts
        (
            request(headers=[("User-Agent", "x"), ("Cookie", "c=" + "v" * 10239)]),
            "SizeRestrictions_Cookie_HEADER",
        ),
        (request(headers=[("Authorization", "Bearer t")]), "NoUserAgent_HEADER"),
        (request("PROPFIND"), "PROPFIND_METHOD"),
    ],
)
def test_the_documented_rules_block_past_their_limits(acl: str, req: Request, rule: str) -> None:
    blocked = blocked_by(acl, req)
    if acl == "ApiWebAcl" and rule == "SizeRestrictions_BODY":
        assert blocked == "BodySize"  # the group's rule counts; the template's rule blocks on its label
    else:
        assert blocked in (f"{COMMON}/{rule}", f"AWSManagedRulesKnownBadInputsRuleSet/{rule}")


def test_a_completion_listing_400_parts_passes_the_api_acl_and_other_big_bodies_do_not() -> None:
    parts = ",".join(f'{{"part_number":{n},"etag":"\\"{"0" * 32}\\""}}' for n in range(1, 401))
    body = f'{{"parts":[{parts}]}}'.encode()
    assert len(body) > 8192
    assert blocked_by("ApiWebAcl", request("POST", "/v1/uploads/u/complete", body=body)) is None
    assert blocked_by("ApiWebAcl", request("POST", "/v1/uploads", body=body)) == "BodySize"
    assert blocked_by("ApiWebAcl", request("PUT", "/v1/uploads/u/complete", body=body)) == "BodySize"
    # Without the template's scoping, the group itself blocks it.
    assert inspect([group()], request("POST", "/v1/uploads/u/complete", body=body)).blocked_by == (
        f"{COMMON}/SizeRestrictions_BODY"
    )


# -- overrides, exclusions, scope-down, labels ------------------------------------------------------


def group(**spec: Any) -> dict[str, Any]:
    override = spec.pop("override", "None")
    return {
        "Name": COMMON,
        "Priority": 0,
        "OverrideAction": {override: {}},
        "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": COMMON, **spec}},
    }


BIG = request("POST", body=b"x" * 9000)


def test_overrides_exclusions_and_a_counting_group_do_not_block() -> None:
    assert inspect([group()], BIG).blocked_by == f"{COMMON}/SizeRestrictions_BODY"
    count = {"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}
    assert inspect([group(RuleActionOverrides=[count])], BIG).blocked_by is None
    assert inspect([group(ExcludedRules=[{"Name": "SizeRestrictions_BODY"}])], BIG).blocked_by is None
    assert inspect([group(override="Count")], BIG).blocked_by is None
    # Allow ends the evaluation: the later body rule never sees the request.
    allow = {"Name": "NoUserAgent_HEADER", "ActionToUse": {"Allow": {}}}
    assert (
        inspect(
            [group(RuleActionOverrides=[allow])], request("POST", body=b"x" * 9000, headers=[])
        ).blocked_by
        is None
    )


def test_a_scope_down_statement_limits_the_group_to_matching_requests() -> None:
    only_get = {
        "ByteMatchStatement": {
            "FieldToMatch": {"Method": {}},
            "PositionalConstraint": "EXACTLY",
            "SearchString": b"GET",
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
        }
    }
    assert inspect([group(ScopeDownStatement=only_get)], BIG).blocked_by is None
    assert inspect([group(ScopeDownStatement=only_get)], request(headers=[])).blocked_by is not None


def test_a_label_of_a_counted_rule_is_seen_by_a_later_rule() -> None:
    count = {"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}
    on_label = {
        "Name": "BigBodiesExceptUploads",
        "Priority": 1,
        "Action": {"Block": {}},
        "Statement": {
            "LabelMatchStatement": {"Scope": "NAMESPACE", "Key": "awswaf:managed:aws:core-rule-set"}
        },
    }
    assert inspect([group(RuleActionOverrides=[count]), on_label], BIG).blocked_by == "BigBodiesExceptUploads"
    assert inspect([group(RuleActionOverrides=[count]), on_label], request()).blocked_by is None


def test_the_template_scopes_the_body_text_match_rules_to_everything_but_post_uploads() -> None:
    """The text-match rules never match locally; their labels stand in for a match here."""
    rules = [r for r in template_rules("ApiWebAcl") if r["Name"] == "BodyTextMatch"]
    label = "awswaf:managed:aws:core-rule-set:CrossSiteScripting_Body"
    acl = WebAcl.from_api({"ARN": ARN, "Name": "intake-api", "Rules": rules})
    [rule] = acl.rules
    assert isinstance(rule, StatementRule)
    assert rule.test(request("POST", "/v1/uploads/u/complete"), frozenset({label}))
    assert not rule.test(request("POST", "/v1/uploads"), frozenset({label}))
    assert not rule.test(request("POST", "/v1/uploads/u/complete"), frozenset())
    common = next(r for r in template_rules("ApiWebAcl") if r["Name"] == COMMON)
    overrides = common["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"]
    counted = {o["Name"] for o in overrides if "Count" in o["ActionToUse"]}
    assert counted == {
        "CrossSiteScripting_BODY",
        "GenericLFI_BODY",
        "GenericRFI_BODY",
        "SizeRestrictions_BODY",
    }
    labels = {r.label for r in MANAGED_GROUPS[COMMON] if r.name in counted - {"SizeRestrictions_BODY"}}
    keys = {
        s["LabelMatchStatement"]["Key"]
        for s in rules[0]["Statement"]["AndStatement"]["Statements"][0]["OrStatement"]["Statements"]
    }
    assert keys == labels  # the rule blocks on exactly the labels of the rules made to count


# -- the template names only what the local WAF knows -----------------------------------------------


@pytest.mark.parametrize("acl", ACLS)
def test_every_managed_group_and_rule_the_template_names_is_known_locally(acl: str) -> None:
    problems = []
    for rule in template_rules(acl):
        spec = rule["Statement"].get("ManagedRuleGroupStatement")
        if spec is None:
            continue
        known = MANAGED_GROUPS.get(spec["Name"]) if spec["VendorName"] == "AWS" else None
        if known is None:
            problems.append(f"{acl} {rule['Name']}: the local WAF does not know group {spec['Name']}")
            continue
        named = [r["Name"] for r in spec.get("ExcludedRules", []) + spec.get("RuleActionOverrides", [])]
        problems += [
            f"{acl} {rule['Name']}: no rule {n} in {spec['Name']}"
            for n in named
            if n not in {r.name for r in known}
        ]
    parsed = WebAcl.from_api({"ARN": ARN, "Name": acl, "Rules": template_rules(acl)})
    problems += [f"{acl}: rule {name} is not enforced locally" for name in parsed.not_enforced]
    assert problems == []


# -- the CloudFront ACL's text-match rules on the query and the URI path ----------------------------

#: The Common group's text-match rules that inspect the query or the URI path: their patterns are not
#: published, so the local WAF knows them by name only (no test).
QUERY_PATH_TEXT_RULES = {
    r.name
    for r in MANAGED_GROUPS[COMMON]
    if r.matches is None and r.name.rpartition("_")[2] in {"QUERYARGUMENTS", "QUERYSTRING", "URIPATH"}
}
HOSTILE_LOOKING_NAMES = [
    "<img src=x onerror=1>.jpg",
    "<script>alert(1)</script>.png",
    "..%2f..%2fetc.jpg",
    "....//....//etc passwd.jpg",
    "http:evil.png",
    "https://evil.example/x.png",
    "169.254.169.254 latest meta-data.jpg",
    "boot.ini.jpg",
    "server.log.png",
    "javascript:alert(1).webp",
    "photo.jpg",
]


def signed_paths() -> set[str]:
    """The path prefixes whose behaviours serve signed URLs only (TrustedKeyGroups)."""
    config = TEMPLATE["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    return {
        "/" + b["PathPattern"].removesuffix("*")
        for b in config.get("CacheBehaviors", [])
        if b.get("TrustedKeyGroups")
    }


def test_the_local_waf_knows_the_query_and_path_text_match_rules_aws_documents() -> None:
    assert {
        f"{stem}_{part}"
        for stem in (
            "CrossSiteScripting",
            "GenericLFI",
            "GenericRFI",
            "EC2MetaDataSSRF",
            "RestrictedExtensions",
        )
        for part in ("QUERYARGUMENTS", "URIPATH")
    } == QUERY_PATH_TEXT_RULES


def test_the_cdn_acl_counts_the_query_and_path_text_match_rules_and_blocks_their_labels_off_the_signed_paths() -> (
    None
):
    rules = TEMPLATE["Resources"]["CloudFrontWebAcl"]["Properties"]["Rules"]
    common = next(r for r in rules if r["Name"] == COMMON)
    overrides = common["Statement"]["ManagedRuleGroupStatement"].get("RuleActionOverrides", [])
    counted = {o["Name"] for o in overrides if "Count" in o["ActionToUse"]}
    assert counted >= QUERY_PATH_TEXT_RULES
    labels = {r.label for r in MANAGED_GROUPS[COMMON] if r.name in counted}
    # One blocking rule after the group, on exactly those labels.
    on_labels = [
        r
        for r in rules
        if r["Priority"] > common["Priority"] and "LabelMatchStatement" in str(r["Statement"])
    ]
    [rule] = on_labels
    assert "Block" in rule["Action"]
    [any_label, not_signed] = rule["Statement"]["AndStatement"]["Statements"]
    assert {s["LabelMatchStatement"]["Key"] for s in any_label["OrStatement"]["Statements"]} == labels
    prefixes = {
        s["ByteMatchStatement"]["SearchString"]
        for s in not_signed["NotStatement"]["Statement"]["OrStatement"]["Statements"]
        if s["ByteMatchStatement"]["PositionalConstraint"] == "STARTS_WITH"
        and s["ByteMatchStatement"]["FieldToMatch"] == {"UriPath": {}}
    }
    assert prefixes == signed_paths() == {"/uploads/", "/thumbnails/"}
    # And it evaluates so: a label blocks everywhere but under the signed prefixes.
    [parsed] = WebAcl.from_api({"ARN": ARN, "Name": "intake-cdn", "Rules": coerced(resolved([rule]))}).rules
    assert isinstance(parsed, StatementRule)
    for label in labels:
        seen = frozenset({label})
        assert not parsed.test(request(path="/uploads/u/1/x.jpg"), seen)
        assert not parsed.test(request(path="/thumbnails/u/1/128.jpg"), seen)
        for path in ("/", "/index.html", "/uploads", "/thumbnailsx/a", "/app.js"):
            assert parsed.test(request(path=path), seen), (label, path)


@pytest.mark.parametrize("name", HOSTILE_LOOKING_NAMES)
def test_a_download_url_of_any_accepted_name_passes_the_cdn_acl_even_if_its_text_match_rules_match(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The text-match rules never match locally; here each one on the query and path matches every
    request, the worst AWS could do, and the API's URLs still pass while the page's paths do not."""
    pessimistic = {
        group: tuple(
            ManagedRule(r.name, r.label, lambda _r: True) if r.name in QUERY_PATH_TEXT_RULES else r
            for r in rules
        )
        for group, rules in MANAGED_GROUPS.items()
    }
    monkeypatch.setattr(waf, "MANAGED_GROUPS", pessimistic)
    body = json.dumps({"filename": name, "content_type": "image/jpeg", "size": 1000})
    upload = parse_new_upload(body, allowed_content_types=frozenset({"image/jpeg"}), max_bytes=10**9)
    owner, upload_id = "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9", "a" * 32
    key = upload_terms(owner, upload_id, upload).key.key
    urls = CloudFrontUrls("https://d111111abcdef8.cloudfront.net", "K2JCJMDEHXQW5F", signing.private_pem)
    expires = datetime.now(UTC) + timedelta(hours=1)
    for url in (
        urls.url(key, expires_at=expires, download_name=upload.filename),
        urls.url(thumbnail_key(owner, upload_id, 256), expires_at=expires),
    ):
        parts = urlsplit(url)
        assert blocked_by("CloudFrontWebAcl", request(path=parts.path, query=parts.query)) is None, url
    assert blocked_by("CloudFrontWebAcl", request(path="/index.html", query="q=1")) is not None
