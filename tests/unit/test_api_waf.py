"""The local API front's WAF (localcloud.api.waf: rate counter, rate-based rules, the firewall) and its
access log lines (localcloud.api.access_log), without a server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localcloud.api.access_log import AccessLog, log_group_of, render
from localcloud.api.messages import Request
from localcloud.api.waf import Firewall, RateCounter, RateRule, WebAcl, rate_rule

ARN = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/intake-api/abc"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def request(ip: str = "10.0.0.1", token: str | None = None, **extra: Any) -> Request:
    headers = [("Authorization", token)] if token is not None else []
    headers += list(extra.get("headers", []))
    return Request("GET", extra.get("path", "/uploads"), extra.get("query", []), headers, b"", ip)


def rate(
    name: str, priority: int, limit: int, statement: dict[str, Any], action: str = "Block"
) -> dict[str, Any]:
    return {
        "Name": name,
        "Priority": priority,
        "Action": {action: {}},
        "Statement": {"RateBasedStatement": {"Limit": limit, **statement}},
        "VisibilityConfig": {
            "SampledRequestsEnabled": True,
            "CloudWatchMetricsEnabled": True,
            "MetricName": name,
        },
    }


PER_IP = rate("PerIpRateLimit", 0, 20, {"AggregateKeyType": "IP", "EvaluationWindowSec": 60})
PER_USER = rate(
    "PerUserRateLimit",
    1,
    10,
    {
        "AggregateKeyType": "CUSTOM_KEYS",
        "EvaluationWindowSec": 60,
        "CustomKeys": [
            {"Header": {"Name": "Authorization", "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}
        ],
    },
)
MANAGED = {
    "Name": "AWSManagedRulesCommonRuleSet",
    "Priority": 2,
    "OverrideAction": {"None": {}},
    "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesCommonRuleSet"}},
}


def acl(*rules: dict[str, Any]) -> WebAcl:
    return WebAcl.from_api({"ARN": ARN, "Name": "intake-api", "Rules": list(rules)})


def firewall(*rules: dict[str, Any]) -> tuple[Firewall, Clock]:
    clock = Clock()
    return Firewall(lambda: acl(*rules), counter=RateCounter(clock)), clock


# -- the rate counter --------------------------------------------------------------------------------


def test_the_counter_counts_within_the_window_only() -> None:
    clock = Clock()
    counter = RateCounter(clock)
    assert [counter.hit("r", ("a",), 60, 100) for _ in range(3)] == [1, 2, 3]
    clock.now += 30
    assert counter.hit("r", ("a",), 60, 100) == 4
    clock.now += 30  # the first three are now exactly one window old: out
    assert counter.hit("r", ("a",), 60, 100) == 2
    clock.now += 61
    assert counter.hit("r", ("a",), 60, 100) == 1


def test_the_counter_keeps_keys_and_rules_apart_and_resets() -> None:
    counter = RateCounter(Clock())
    counter.hit("r", ("a",), 60, 100)
    counter.hit("r", ("a",), 60, 100)
    assert counter.hit("r", ("b",), 60, 100) == 1
    assert counter.hit("other", ("a",), 60, 100) == 1
    counter.reset()
    assert counter.hit("r", ("a",), 60, 100) == 1


def test_the_counter_keeps_no_more_than_it_needs() -> None:
    counter = RateCounter(Clock())
    counts = [counter.hit("r", ("a",), 60, 3) for _ in range(10)]
    assert counts == [1, 2, 3, 4, 4, 4, 4, 4, 4, 4]  # over the limit is all that matters


# -- rules as WAF reads them -------------------------------------------------------------------------


def test_rate_rules_are_read_by_priority_and_unknown_rules_only_exist() -> None:
    unknown = {
        **MANAGED,
        "Name": "Other",
        "Statement": {"ManagedRuleGroupStatement": {"VendorName": "X", "Name": "Y"}},
    }
    parsed = acl(MANAGED, PER_USER, PER_IP, unknown)
    assert [r.name for r in parsed.rules] == [
        "PerIpRateLimit",
        "PerUserRateLimit",
        "AWSManagedRulesCommonRuleSet",
    ]
    assert parsed.not_enforced == ("Other",)
    per_user = parsed.rules[1]
    assert isinstance(per_user, RateRule)
    assert (per_user.limit, per_user.window_s, per_user.action) == (10, 60, "Block")
    assert per_user.key_of(request(token="Bearer t1")) == ("Bearer t1",)
    assert per_user.key_of(request()) is None  # no Authorization header: not counted by this rule
    per_ip = parsed.rules[0]
    assert isinstance(per_ip, RateRule) and per_ip.key_of(request(ip="10.9.9.9")) == ("10.9.9.9",)


def test_custom_keys_combine_and_transform() -> None:
    rule = rate_rule(
        rate(
            "r",
            0,
            10,
            {
                "AggregateKeyType": "CUSTOM_KEYS",
                "CustomKeys": [
                    {
                        "Header": {
                            "Name": "x-user",
                            "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}],
                        }
                    },
                    {"HTTPMethod": {}},
                    {
                        "QueryArgument": {
                            "Name": "tenant",
                            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
                        }
                    },
                ],
            },
        )
    )
    assert rule is not None and rule.window_s == 300  # WAF's default window
    key = rule.key_of(request(headers=[("X-User", "ALICE")], query=[("tenant", "t1")]))
    assert key == ("alice", "GET", "t1")
    assert rule.key_of(request(headers=[("X-User", "ALICE")])) is None


def test_unemulated_keys_leave_the_rule_unenforced() -> None:
    assert rate_rule(rate("r", 0, 10, {"AggregateKeyType": "FORWARDED_IP"})) is None
    assert (
        rate_rule(
            rate("r", 0, 10, {"AggregateKeyType": "CUSTOM_KEYS", "CustomKeys": [{"JA3Fingerprint": {}}]})
        )
        is None
    )
    assert rate_rule(MANAGED) is None


# -- the firewall --------------------------------------------------------------------------------------


def test_one_user_is_blocked_after_the_limit_and_others_pass() -> None:
    wall, _ = firewall(PER_IP, PER_USER)
    verdicts = [wall.inspect(request(token="alice")) for _ in range(11)]
    assert [v.blocked_by for v in verdicts] == [None] * 10 + ["PerUserRateLimit"]
    assert verdicts[-1].response_code == "WAF_BLOCK" and verdicts[0].response_code == "WAF_ALLOWED"
    assert verdicts[-1].acl_arn == ARN
    assert wall.inspect(request(token="bob")).blocked_by is None
    assert wall.inspect(request()).blocked_by is None  # no Authorization header: only the IP rule counts


def test_the_block_ends_with_the_window() -> None:
    wall, clock = firewall(PER_USER)
    for _ in range(10):
        wall.inspect(request(token="alice"))
    assert wall.inspect(request(token="alice")).blocked_by == "PerUserRateLimit"
    clock.now += 61
    assert wall.inspect(request(token="alice")).blocked_by is None


def test_the_ip_rule_blocks_every_user_of_that_ip() -> None:
    wall, _ = firewall(PER_IP, PER_USER)
    for i in range(20):
        assert wall.inspect(request(token=f"user{i}")).blocked_by is None
    assert wall.inspect(request(token="newcomer")).blocked_by == "PerIpRateLimit"
    assert wall.inspect(request(ip="10.0.0.2", token="newcomer")).blocked_by is None


def test_a_count_rule_never_blocks() -> None:
    counting = rate("Watch", 0, 10, {"AggregateKeyType": "IP", "EvaluationWindowSec": 60}, action="Count")
    wall, _ = firewall(counting)
    assert all(wall.inspect(request()).blocked_by is None for _ in range(30))


def test_no_acl_allows_everything_and_the_acl_is_reread() -> None:
    reads: list[int] = []
    current: dict[str, WebAcl | None] = {"acl": None}

    def read() -> WebAcl | None:
        reads.append(1)
        return current["acl"]

    wall = Firewall(read, refresh_s=0)
    verdict = wall.inspect(request())
    assert verdict.acl_arn is None and verdict.blocked_by is None
    current["acl"] = acl(rate("Tiny", 0, 1, {"AggregateKeyType": "CONSTANT"}))
    assert wall.inspect(request()).blocked_by is None
    assert wall.inspect(request(ip="10.1.1.1")).blocked_by == "Tiny"  # one key for everyone
    assert len(reads) == 3
    cached = Firewall(read, refresh_s=3600)
    cached.inspect(request())
    cached.inspect(request())
    assert len(reads) == 4


# -- access log lines ----------------------------------------------------------------------------------

FORMAT = (
    '{"requestId":"$context.requestId","sub":"$context.authorizer.claims.sub",'
    '"ua":"$context.identity.userAgent","status":"$context.status"}'
)


def test_lines_substitute_variables_and_dash_what_is_missing() -> None:
    line = render(FORMAT, {"requestId": "r-1", "status": 200, "identity.userAgent": 'curl "8"\\x'})
    assert json.loads(line) == {"requestId": "r-1", "sub": "-", "ua": 'curl "8"\\x', "status": "200"}


def test_the_log_group_is_read_from_the_destination_arn() -> None:
    assert log_group_of("arn:aws:logs:us-east-1:1:log-group:/aws/apigateway/x:*") == "/aws/apigateway/x"
    assert log_group_of("arn:aws:logs:us-east-1:1:log-group:/aws/apigateway/x") == "/aws/apigateway/x"
    assert log_group_of("arn:aws:firehose:us-east-1:1:deliverystream/amazon-apigateway-x") is None


class FakeLogs:
    class exceptions:
        class ResourceAlreadyExistsException(Exception):
            pass

    def __init__(self) -> None:
        self.streams: list[str] = []
        self.events: list[tuple[str, str, str]] = []

    def create_log_stream(self, logGroupName: str, logStreamName: str) -> None:
        self.streams.append(logStreamName)

    def put_log_events(self, logGroupName: str, logStreamName: str, logEvents: list[dict[str, Any]]) -> None:
        self.events += [(logGroupName, logStreamName, e["message"]) for e in logEvents]


@pytest.mark.parametrize("lines", [1, 3])
def test_lines_go_to_one_stream_of_the_group(lines: int) -> None:
    logs = FakeLogs()
    access = AccessLog(logs, "arn:aws:logs:us-east-1:1:log-group:/g:*", FORMAT, "api_v1")
    for i in range(lines):
        access.write({"requestId": f"r-{i}"})
    assert logs.streams == ["api_v1"]
    assert [(g, s, json.loads(m)["requestId"]) for g, s, m in logs.events] == [
        ("/g", "api_v1", f"r-{i}") for i in range(lines)
    ]
