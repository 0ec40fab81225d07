"""WAF and access logs on the local cloud: the API stage's WebACL as deployed, its rate-based rules
enforced by the local API front, and the stage's JSON access log lines in moto's CloudWatch Logs.

The session's one cloud is shared with every e2e and browser test, so it is deployed with the
template's per-user limit (1000 per 300 s) and a per-IP limit raised for the session (every local
client is 127.0.0.1; tests/e2e/conftest.py E2E_PARAMETERS). To see a rule block, a test lowers
the rule's Limit through the WAFv2 API (UpdateWebACL, as an operator would; WAF's minimum is 10) and
restores it afterwards; the front re-reads the stage's WebACL at most once a second.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests
from urllib3.util import SKIP_HEADER

from localcloud.cloud import LocalCloud
from tests.e2e.conftest import E2E_PARAMETERS, wait_for
from tests.e2e.test_api import User, final, new_user, post_file, presign
from tests.support import images

pytestmark = pytest.mark.e2e
SMALL_LIMIT = 10  # WAF's minimum Limit
REFRESH_S = 1.2  # the front reads the ACL at most once a second


def stage_arn(cloud: LocalCloud) -> str:
    return f"arn:aws:apigateway:us-east-1::/restapis/{cloud.outputs['ApiId']}/stages/v1"


def web_acl(cloud: LocalCloud) -> dict[str, Any]:
    found = cloud.client("wafv2").get_web_acl_for_resource(ResourceArn=stage_arn(cloud))["WebACL"]
    assert found, "no WebACL is associated with the API stage"
    return found  # type: ignore[no-any-return]


def rule(acl: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in acl["Rules"] if r["Name"] == name)


def set_limits(cloud: LocalCloud, limits: dict[str, int]) -> None:
    """UpdateWebACL with new Limits for the named rate-based rules (the rest as it is)."""
    wafv2 = cloud.client("wafv2")
    acl = web_acl(cloud)
    rules = copy.deepcopy(acl["Rules"])
    for r in rules:
        if r["Name"] in limits:
            r["Statement"]["RateBasedStatement"]["Limit"] = limits[r["Name"]]
    for r in rules:  # the response's empty optional members are not valid input
        for key in [k for k, v in r.items() if v is None]:
            del r[key]
    wafv2.update_web_acl(
        Name=acl["Name"],
        Scope="REGIONAL",
        Id=acl["Id"],
        DefaultAction=acl["DefaultAction"],
        Rules=rules,
        VisibilityConfig=acl["VisibilityConfig"],
        LockToken=wafv2.get_web_acl(Name=acl["Name"], Scope="REGIONAL", Id=acl["Id"])["LockToken"],
    )
    time.sleep(REFRESH_S)


@pytest.fixture
def limits(cloud: LocalCloud) -> Iterator[dict[str, int]]:
    """The deployed limits; whatever a test lowers is restored afterwards."""
    acl = web_acl(cloud)
    deployed = {
        name: rule(acl, name)["Statement"]["RateBasedStatement"]["Limit"]
        for name in ("PerIpRateLimit", "PerUserRateLimit")
    }
    yield deployed
    set_limits(cloud, deployed)


def list_uploads(cloud: LocalCloud, user: User) -> requests.Response:
    return requests.get(f"{cloud.api_url}/uploads?limit=1", headers=user.auth, timeout=30)


def test_the_stage_has_the_templates_web_acl(cloud: LocalCloud) -> None:
    acl = web_acl(cloud)
    listed = cloud.client("wafv2").list_web_acls(Scope="REGIONAL")["WebACLs"]
    assert acl["ARN"] in {a["ARN"] for a in listed}
    assert cloud.outputs["ApiWebAclArn"] == acl["ARN"]
    stage = cloud.client("apigateway").get_stage(restApiId=cloud.outputs["ApiId"], stageName="v1")
    assert stage["webAclArn"] == acl["ARN"]
    per_ip = rule(acl, "PerIpRateLimit")["Statement"]["RateBasedStatement"]
    per_user = rule(acl, "PerUserRateLimit")["Statement"]["RateBasedStatement"]
    expected_ip_limit = int(E2E_PARAMETERS["ApiRateLimitPerIp"])  # the deploy's parameter
    assert (per_ip["AggregateKeyType"], per_ip["Limit"], per_ip["EvaluationWindowSec"]) == (
        "IP",
        expected_ip_limit,
        300,
    )
    assert per_user["CustomKeys"][0]["Header"]["Name"] == "Authorization"
    assert per_user["Limit"] == 1000
    managed = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"] for r in acl["Rules"] if "Managed" in r["Name"]
    }
    assert managed == {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}
    # us-east-1: the stack also made the CLOUDFRONT-scope ACL for the distribution.
    cdn = cloud.client("wafv2").list_web_acls(Scope="CLOUDFRONT")["WebACLs"]
    assert cloud.outputs["CloudFrontWebAclArn"] in {a["ARN"] for a in cdn}


def test_the_per_user_rule_blocks_one_user_and_lets_the_others_through(
    cloud: LocalCloud, limits: dict[str, int]
) -> None:
    greedy, other = new_user(cloud), new_user(cloud)
    set_limits(cloud, {"PerUserRateLimit": SMALL_LIMIT})
    invocations = cloud.api.invocations if cloud.api else 0
    statuses = [list_uploads(cloud, greedy).status_code for _ in range(SMALL_LIMIT)]
    assert statuses == [200] * SMALL_LIMIT
    blocked = list_uploads(cloud, greedy)
    assert blocked.status_code == 403
    assert blocked.json() == {"message": "Forbidden"}
    assert blocked.headers["x-amzn-ErrorType"] == "ForbiddenException"
    assert cloud.api is not None and cloud.api.invocations == invocations + SMALL_LIMIT  # never reached
    assert list_uploads(cloud, other).status_code == 200  # same IP, another user
    assert list_uploads(cloud, greedy).status_code == 403  # still over the limit in this window
    set_limits(cloud, {"PerUserRateLimit": limits["PerUserRateLimit"]})
    assert list_uploads(cloud, greedy).status_code == 200


def test_the_per_ip_rule_blocks_every_user_from_that_ip(cloud: LocalCloud, limits: dict[str, int]) -> None:
    alice, bob = new_user(cloud), new_user(cloud)
    set_limits(cloud, {"PerIpRateLimit": SMALL_LIMIT})
    # 127.0.0.1 has sent the whole session's requests: at most SMALL_LIMIT more get through.
    statuses = [list_uploads(cloud, alice).status_code for _ in range(SMALL_LIMIT + 1)]
    assert statuses[-1] == 403 and set(statuses) <= {200, 403}
    assert list_uploads(cloud, bob).status_code == 403
    preflight = requests.options(f"{cloud.api_url}/uploads", timeout=30)
    assert preflight.status_code == 403  # WAF comes before the gateway's MOCK integration
    set_limits(cloud, {"PerIpRateLimit": limits["PerIpRateLimit"]})
    assert list_uploads(cloud, bob).status_code == 200


def test_access_log_lines_in_the_stages_json_format(cloud: LocalCloud) -> None:
    user = new_user(cloud)
    response = list_uploads(cloud, user)
    assert response.status_code == 200
    request_id = response.headers["x-amzn-RequestId"]
    logs = cloud.client("logs")
    group = cloud.outputs["ApiAccessLogGroupName"]

    def line() -> dict[str, Any] | None:
        events = logs.filter_log_events(logGroupName=group, filterPattern=f'"{request_id}"')["events"]
        return json.loads(events[0]["message"]) if events else None

    entry = wait_for(line, 10, "the access log line")
    assert entry["requestId"] == request_id
    assert entry["sub"] == user.sub
    assert (entry["method"], entry["path"], entry["resourcePath"]) == ("GET", "/v1/uploads", "/uploads")
    assert entry["status"] == "200" and entry["ip"] == "127.0.0.1"
    assert int(entry["responseLatency"]) >= int(entry["integrationLatency"]) >= 0
    assert entry["waf"] == "WAF_ALLOWED" and entry["webAcl"] == web_acl(cloud)["ARN"]
    assert entry["error"] == "-"


# -- the managed rule groups' documented rules ------------------------------------------------------

MIB = 1024 * 1024


def test_a_complete_listing_400_parts_reaches_the_api_and_gets_its_own_answer(cloud: LocalCloud) -> None:
    """Such a body is over SizeRestrictions_BODY's 8 KB: the template lets it through on this route only."""
    user = new_user(cloud)
    created = requests.post(
        f"{cloud.api_url}/uploads",
        json={"filename": "big.jpg", "content_type": "image/jpeg", "size": 400 * 5 * MIB},
        headers=user.auth,
        timeout=30,
    )
    assert created.status_code == 201, created.text
    upload_id, plan = created.json()["upload_id"], created.json()["upload"]
    assert plan["part_count"] == 400
    parts = [{"part_number": n, "etag": f'"{n:032x}"'} for n in range(1, 401)]
    body = json.dumps({"parts": parts})
    assert len(body.encode()) > 8192
    invocations = cloud.api.invocations if cloud.api else 0
    answer = requests.post(
        f"{cloud.api_url}/uploads/{upload_id}/complete",
        data=body,
        headers={**user.auth, "Content-Type": "application/json"},
        timeout=60,
    )
    assert (answer.status_code, answer.json()) == (
        400,
        {"message": "part 1 has not been uploaded yet: upload it, then complete again"},
    )
    assert cloud.api is not None and cloud.api.invocations == invocations + 1  # the API answered
    # The same body on another route is WAF's: 403 before the API.
    blocked = requests.post(f"{cloud.api_url}/uploads", data=body, headers=user.auth, timeout=60)
    assert (blocked.status_code, blocked.json()) == (403, {"message": "Forbidden"})
    assert cloud.api.invocations == invocations + 1
    requests.post(f"{cloud.api_url}/uploads/{upload_id}/abort", headers=user.auth, timeout=30)


@pytest.mark.parametrize(
    ("what", "change"),
    [
        ("no User-Agent", {"headers": {"User-Agent": SKIP_HEADER}}),  # urllib3 adds none
        ("a query over 2 KB", {"params": {"cursor": "c" * 2100}}),
        ("a URI path over 1 KB", {"path": "/uploads/" + "u" * 1100}),
        ("a Cookie header over 10 KB", {"headers": {"Cookie": "c=" + "v" * 10300}}),
    ],
)
def test_the_common_rule_sets_size_and_header_rules_block_with_the_wafs_403(
    cloud: LocalCloud, what: str, change: dict[str, Any]
) -> None:
    user = new_user(cloud)
    invocations = cloud.api.invocations if cloud.api else 0
    answer = requests.get(
        f"{cloud.api_url}{change.get('path', '/uploads')}",
        params=change.get("params"),
        headers={**user.auth, **change.get("headers", {})},
        timeout=30,
    )
    assert (answer.status_code, answer.json()) == (403, {"message": "Forbidden"}), what
    assert answer.headers["x-amzn-ErrorType"] == "ForbiddenException"
    assert cloud.api is not None and cloud.api.invocations == invocations  # never reached


# -- the distribution's web ACL at the CloudFront front ---------------------------------------------


def test_the_download_of_an_original_with_the_longest_cjk_name_passes_the_cdns_acl(cloud: LocalCloud) -> None:
    """255 CJK characters: before the names were bounded by bytes, WAF refused its URL's path and query."""
    user = new_user(cloud)
    body = images.jpeg(64, 48)
    name = "写真" * 125 + "。.jpg"
    created = presign(cloud.api_url, user, body, name)
    assert post_file(created, body).status_code == 204
    item = final(cloud.api_url, user, created["upload_id"])
    assert item["filename"] == name
    download = requests.get(item["download_url"], timeout=30)
    assert download.status_code == 200, download.text
    url = urlsplit(item["download_url"])
    assert len(url.path.encode()) <= 1024 and len(url.query.encode()) <= 2048
    assert download.content == body
    shown = unquote(download.headers["Content-Disposition"].split("''", 1)[1])
    assert shown.endswith(".jpg") and name.startswith(shown[:-4])


def test_the_cdns_acl_blocks_a_path_over_1_kb_with_cloudfronts_403(cloud: LocalCloud) -> None:
    answer = requests.get(f"{cloud.cdn_url}/uploads/{'x' * 1100}.jpg", timeout=30)
    assert answer.status_code == 403 and "Request blocked." in answer.text
    assert answer.headers["X-Cache"] == "Error from cloudfront"
