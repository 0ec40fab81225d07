"""The local WAF's managed rule groups and statements (localcloud.api.waf, waf_rules), on the template's
own web ACLs: the documented size and header rules block, the template's overrides and label rule
hold, and every group and rule the template names is one the local WAF knows."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.api.messages import Request
from localcloud.api.waf import Firewall, StatementRule, Verdict, WebAcl
from localcloud.api.waf_rules import MANAGED_GROUPS
from localcloud.cfn.wafv2 import coerced
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
