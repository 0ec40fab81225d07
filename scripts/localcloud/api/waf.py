"""AWS WAF in front of the stage (and of the CloudFront front): the rules of the WebACL associated with it.

WAF evaluates a request before API Gateway routes or authorizes it. The rules run in priority order,
each adding its labels for the rules after it. A rule's Block ends the evaluation with the 403 of the
front (API Gateway's WAF_FILTERED response, 403 {"message": "Forbidden"}), Allow ends it allowed,
Count goes on. Emulated:

- AWS managed rule groups (`managed`): the documented, deterministic rules of the groups the template
  uses (size restrictions, NoUserAgent_HEADER, PROPFIND_METHOD), with the rule's OverrideAction,
  ExcludedRules, RuleActionOverrides and ScopeDownStatement; their text-match rules (cross-site
  scripting, LFI, RFI, bad bots, Log4j...) are not (no published patterns): they never match here.
  A group this module does not know is logged and not enforced.
- Custom rules whose statement is a ByteMatch (UriPath, QueryString, Method, SingleHeader), a
  LabelMatch, a SizeConstraint, or And/Or/Not of those (`statements`).
- Rate-based rules: a rate-based rule counts the request under its aggregate key and, once the key has sent more than
`Limit` requests within the rule's `EvaluationWindowSec` (default 300 s), applies its action: Block
ends the evaluation with API Gateway's WAF_FILTERED response (403 {"message": "Forbidden"}), Count
goes on. Aggregate keys, as WAF forms them:

- `IP`: the client address; `CONSTANT`: one key for every request;
- `CUSTOM_KEYS`: the tuple of the listed keys (`Header`, `QueryArgument`, `Cookie` by name after the
  text transformations NONE / LOWERCASE; `IP`, `HTTPMethod`, `UriPath`, `QueryString`). A request
  that lacks one of them is not counted by that rule, as WAF does.

Not emulated (logged when the ACL is read): other statements, a rate rule's scope-down statement,
FORWARDED_IP, custom responses. Differences from WAF, on
purpose: WAF counts in about 10 s steps and starts blocking within a minute or so; here the count is
exact and takes effect on the request that crosses the limit. The ACL is read through the WAFv2 API
(GetWebACLForResource on the stage's ARN) at most once per `refresh_s`, so an UpdateWebACL or a new
association applies to the next requests, as it does on AWS within about a minute.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import unquote

from .messages import Request
from .waf_rules import MANAGED_GROUPS, ManagedRule, NotEmulated, Statement, statement

__all__ = [
    "Firewall",
    "GroupRule",
    "RateCounter",
    "RateRule",
    "StatementRule",
    "Verdict",
    "WebAcl",
    "acl_reader",
    "parse_rule",
]

log = logging.getLogger("localcloud.api")

DEFAULT_WINDOW_S = 300
#: A part of an aggregate key: (kind, name, text transformations).
KeyPart = tuple[str, str, tuple[str, ...]]
_TRANSFORMS: Mapping[str, Callable[[str], str]] = {"NONE": lambda v: v, "LOWERCASE": str.lower}


@dataclass(frozen=True)
class RateRule:
    """A rate-based rule: more than `limit` requests per key within `window_s` trigger `action`."""

    name: str
    priority: int
    limit: int
    window_s: int
    keys: tuple[KeyPart, ...]  # () for CONSTANT
    action: str  # "Block" | "Count"

    def key_of(self, request: Request) -> tuple[str, ...] | None:
        """The request's aggregate key, or None when a part is missing (WAF does not count it)."""
        values = []
        for kind, name, transforms in self.keys:
            value = _key_value(request, kind, name)
            if value is None:
                return None
            for transform in transforms:
                value = _TRANSFORMS[transform](value)
            values.append(value)
        return tuple(values)


def _key_value(request: Request, kind: str, name: str) -> str | None:
    if kind == "IP":
        return request.client_ip
    if kind == "HTTPMethod":
        return request.method
    if kind == "UriPath":
        return unquote(request.path)
    if kind == "QueryString":
        return "&".join(f"{k}={v}" for k, v in request.query) or None
    if kind == "Header":
        return request.header(name)
    if kind == "QueryArgument":
        return next((v for k, v in request.query if k.lower() == name.lower()), None)
    if kind == "Cookie":
        cookie = SimpleCookie(request.header("Cookie") or "")
        return cookie[name].value if name in cookie else None
    return None


_CUSTOM_KEYS = {"IP", "HTTPMethod", "UriPath", "QueryString", "Header", "QueryArgument", "Cookie"}


def _custom_keys(rule_name: str, custom: Iterable[Mapping[str, Any]]) -> tuple[KeyPart, ...] | None:
    parts = []
    for key in custom:
        [(kind, spec)] = key.items()
        if kind not in _CUSTOM_KEYS:
            log.warning(
                "WAF rule %s: custom key %s is not emulated; the rule is not enforced", rule_name, kind
            )
            return None
        spec = spec or {}
        transforms = tuple(
            str(t["Type"])
            for t in sorted(spec.get("TextTransformations", []), key=lambda t: int(t["Priority"]))
        )
        unknown = [t for t in transforms if t not in _TRANSFORMS]
        if unknown:
            log.warning("WAF rule %s: text transformations %s applied as NONE", rule_name, unknown)
        parts.append((kind, str(spec.get("Name", "")), tuple(t for t in transforms if t in _TRANSFORMS)))
    return tuple(parts)


def rate_rule(rule: Mapping[str, Any]) -> RateRule | None:
    """The rate-based rule a WebACL rule (GetWebACL's form) declares; None for any other rule."""
    statement = (rule.get("Statement") or {}).get("RateBasedStatement")
    if not isinstance(statement, dict):
        return None
    name, aggregate = str(rule["Name"]), str(statement.get("AggregateKeyType", "IP"))
    if statement.get("ScopeDownStatement"):
        log.warning("WAF rule %s: the scope-down statement is not emulated (every request counts)", name)
    keys: tuple[KeyPart, ...] | None
    if aggregate == "IP":
        keys = (("IP", "", ()),)
    elif aggregate == "CONSTANT":
        keys = ()
    elif aggregate == "CUSTOM_KEYS":
        keys = _custom_keys(name, statement.get("CustomKeys") or [])
    else:
        log.warning(
            "WAF rule %s: aggregate key %s is not emulated; the rule is not enforced", name, aggregate
        )
        keys = None
    if keys is None:
        return None
    action = "Count" if "Count" in (rule.get("Action") or {}) else "Block"
    window = int(statement.get("EvaluationWindowSec") or DEFAULT_WINDOW_S)
    return RateRule(name, int(rule.get("Priority", 0)), int(statement["Limit"]), window, keys, action)


_ACTIONS = ("Block", "Allow", "Count", "Captcha", "Challenge")


def _action(action: Mapping[str, Any] | None, default: str = "Block") -> str:
    """A rule's action by name; CAPTCHA and Challenge block here (no browser token is ever solved)."""
    name = next((a for a in _ACTIONS if a in (action or {})), default)
    return "Block" if name in ("Captcha", "Challenge") else name


@dataclass(frozen=True)
class GroupRule:
    """A managed rule group: its emulated rules, each with the action the web ACL gives it."""

    name: str
    priority: int
    group: str
    rules: tuple[ManagedRule, ...]
    actions: Mapping[str, str]  # rule name -> "Block" | "Count" | "Allow" after overrides
    scope: Statement | None = None  # ScopeDownStatement: only matching requests are evaluated

    def evaluate(self, request: Request, labels: set[str]) -> tuple[str, str] | None:
        """Adds the labels of the rules that match; the first terminating (action, rule name), if any."""
        if self.scope is not None and not self.scope(request, frozenset(labels)):
            return None
        for rule in self.rules:
            if rule.matches is None or not rule.matches(request):
                continue
            labels.add(rule.label)
            action = self.actions.get(rule.name, "Block")
            if action != "Count":
                return action, rule.name
        return None


@dataclass(frozen=True)
class StatementRule:
    """A rule with its own statement (ByteMatch, LabelMatch, SizeConstraint, And/Or/Not)."""

    name: str
    priority: int
    test: Statement
    action: str
    labels: tuple[str, ...]  # RuleLabels, added when it matches


def _group_rule(rule: Mapping[str, Any], spec: Mapping[str, Any]) -> GroupRule | None:
    name, group = str(rule["Name"]), str(spec.get("Name"))
    known = MANAGED_GROUPS.get(group) if spec.get("VendorName") == "AWS" else None
    if known is None:
        log.warning("WAF rule %s: managed rule group %s is not emulated", name, group)
        return None
    names = {r.name for r in known}
    actions: dict[str, str] = {}
    for excluded in spec.get("ExcludedRules") or []:
        actions[str(excluded["Name"])] = "Count"
    for override in spec.get("RuleActionOverrides") or []:
        actions[str(override["Name"])] = _action(override.get("ActionToUse"))
    unknown = sorted(set(actions) - names)
    if unknown:  # WAF refuses an ACL naming a rule its group lacks
        log.warning("WAF rule %s: %s has no rules %s", name, group, ", ".join(unknown))
    if "Count" in (rule.get("OverrideAction") or {}):
        actions = dict.fromkeys(names, "Count")
    scope = None
    if spec.get("ScopeDownStatement"):
        try:
            scope = statement(spec["ScopeDownStatement"])
        except NotEmulated as exc:
            log.warning("WAF rule %s: scope-down (%s) not emulated; every request is evaluated", name, exc)
    return GroupRule(name, int(rule.get("Priority", 0)), group, known, actions, scope)


def _statement_rule(rule: Mapping[str, Any]) -> StatementRule | None:
    name = str(rule["Name"])
    try:
        test = statement(rule["Statement"])
    except (NotEmulated, KeyError, ValueError) as exc:
        log.warning("WAF rule %s: statement (%s) not emulated; the rule is not enforced", name, exc)
        return None
    labels = tuple(str(label["Name"]) for label in rule.get("RuleLabels") or [])
    return StatementRule(name, int(rule.get("Priority", 0)), test, _action(rule.get("Action")), labels)


AclRule = RateRule | GroupRule | StatementRule


def parse_rule(rule: Mapping[str, Any]) -> AclRule | None:
    """A web ACL rule (GetWebACL's form) as the local WAF evaluates it; None if it is not enforced."""
    spec = rule.get("Statement") or {}
    if "RateBasedStatement" in spec:
        return rate_rule(rule)
    if "ManagedRuleGroupStatement" in spec:
        return _group_rule(rule, spec["ManagedRuleGroupStatement"])
    return _statement_rule(rule)


@dataclass(frozen=True)
class WebAcl:
    arn: str
    name: str
    rules: tuple[AclRule, ...] = field(compare=False)  # by priority
    not_enforced: tuple[str, ...]  # the rules the local WAF cannot evaluate: they only exist
    source: str = ""  # the rules as read: two reads are the same ACL when these are

    @classmethod
    def from_api(cls, acl: Mapping[str, Any]) -> WebAcl:
        rules: list[AclRule] = []
        others = []
        for rule in acl.get("Rules") or []:
            parsed = parse_rule(rule)
            if parsed is None:
                others.append(str(rule["Name"]))
            else:
                rules.append(parsed)
        rules.sort(key=lambda r: r.priority)
        source = json.dumps(acl.get("Rules") or [], sort_keys=True, default=str)
        return cls(str(acl["ARN"]), str(acl["Name"]), tuple(rules), tuple(others), source)


class RateCounter:
    """Requests per (rule, key) within a sliding window. Keeps at most limit + 1 times per key: enough to
    tell whether the key is over its limit."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._hits: dict[tuple[str, tuple[str, ...]], deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, rule: str, key: tuple[str, ...], window_s: float, limit: int) -> int:
        """Counts one request now; returns the key's requests within the window (at most limit + 1)."""
        now = self.clock()
        with self._lock:
            times = self._hits.get((rule, key))
            if times is None or times.maxlen != limit + 1:
                times = self._hits[(rule, key)] = deque(times or (), maxlen=limit + 1)
            while times and times[0] <= now - window_s:
                times.popleft()
            times.append(now)
            return len(times)

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


@dataclass(frozen=True)
class Verdict:
    """What WAF decided: `blocked_by` the terminating rule (None: allowed), the ACL's ARN (None: no ACL)."""

    acl_arn: str | None
    blocked_by: str | None = None

    @property
    def response_code(self) -> str:
        """$context.wafResponseCode"""
        return "WAF_BLOCK" if self.blocked_by else "WAF_ALLOWED"


class Firewall:
    """The WebACL associated with the stage, read through `read_acl` at most every `refresh_s`."""

    def __init__(
        self,
        read_acl: Callable[[], WebAcl | None],
        *,
        refresh_s: float = 1.0,
        counter: RateCounter | None = None,
    ) -> None:
        self.read_acl, self.refresh_s = read_acl, refresh_s
        self.counter = counter or RateCounter()
        self._acl: WebAcl | None = None
        self._read_at: float | None = None
        self._lock = threading.Lock()

    def acl(self) -> WebAcl | None:
        now = time.monotonic()
        with self._lock:
            if self._read_at is None or now - self._read_at >= self.refresh_s:
                self._read_at = now
                try:
                    acl = self.read_acl()
                except Exception:  # keep enforcing the last ACL read, as WAF keeps the one it has
                    log.warning("could not read the stage's WebACL; keeping the last one", exc_info=True)
                    return self._acl
                if acl is not None and acl != self._acl and acl.not_enforced:
                    log.info("WAF %s: rules not enforced locally: %s", acl.name, ", ".join(acl.not_enforced))
                self._acl = acl
            return self._acl

    def inspect(self, request: Request) -> Verdict:
        acl = self.acl()
        if acl is None:
            return Verdict(None)
        labels: set[str] = set()
        for rule in acl.rules:
            if isinstance(rule, RateRule):
                key = rule.key_of(request)
                if key is None:
                    continue
                if self.counter.hit(rule.name, key, rule.window_s, rule.limit) > rule.limit:
                    if rule.action == "Block":
                        return Verdict(acl.arn, rule.name)
                    log.info("WAF %s: rule %s counts %s over its limit", acl.name, rule.name, key)
                continue
            if isinstance(rule, GroupRule):
                ended = rule.evaluate(request, labels)
                if ended is None:
                    continue
                action, by = ended[0], f"{rule.name}/{ended[1]}"
            else:
                if not rule.test(request, frozenset(labels)):
                    continue
                labels.update(rule.labels)
                action, by = rule.action, rule.name
            if action == "Block":
                return Verdict(acl.arn, by)
            if action == "Allow":
                return Verdict(acl.arn)
            log.info("WAF %s: rule %s counts %s %s", acl.name, by, request.method, request.path)
        return Verdict(acl.arn)


def acl_reader(wafv2: Any, stage_arn: str) -> Callable[[], WebAcl | None]:
    """Reads the WebACL associated with the stage (GetWebACLForResource on the stage's ARN)."""

    def read() -> WebAcl | None:
        acl = wafv2.get_web_acl_for_resource(ResourceArn=stage_arn).get("WebACL")
        return WebAcl.from_api(acl) if acl else None

    return read
