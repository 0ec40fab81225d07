"""AWS WAF in front of the stage: the rate-based rules of the WebACL associated with it.

WAF evaluates a request before API Gateway routes or authorizes it. The rules run in priority order;
a rate-based rule counts the request under its aggregate key and, once the key has sent more than
`Limit` requests within the rule's `EvaluationWindowSec` (default 300 s), applies its action: Block
ends the evaluation with API Gateway's WAF_FILTERED response (403 {"message": "Forbidden"}), Count
goes on. Aggregate keys, as WAF forms them:

- `IP`: the client address; `CONSTANT`: one key for every request;
- `CUSTOM_KEYS`: the tuple of the listed keys (`Header`, `QueryArgument`, `Cookie` by name after the
  text transformations NONE / LOWERCASE; `IP`, `HTTPMethod`, `UriPath`, `QueryString`). A request
  that lacks one of them is not counted by that rule, as WAF does.

Not emulated (logged when the ACL is read): the managed rule groups (they only exist), other
statements, scope-down statements, FORWARDED_IP, custom responses. Differences from WAF, on
purpose: WAF counts in about 10 s steps and starts blocking within a minute or so; here the count is
exact and takes effect on the request that crosses the limit. The ACL is read through the WAFv2 API
(GetWebACLForResource on the stage's ARN) at most once per `refresh_s`, so an UpdateWebACL or a new
association applies to the next requests, as it does on AWS within about a minute.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import unquote

from .messages import Request

__all__ = ["Firewall", "RateCounter", "RateRule", "Verdict", "WebAcl", "acl_reader"]

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


@dataclass(frozen=True)
class WebAcl:
    arn: str
    name: str
    rules: tuple[RateRule, ...]  # by priority
    not_enforced: tuple[str, ...]  # the other rules (managed rule groups...): they only exist

    @classmethod
    def from_api(cls, acl: Mapping[str, Any]) -> WebAcl:
        rules, others = [], []
        for rule in acl.get("Rules") or []:
            parsed = rate_rule(rule)
            if parsed is None:
                others.append(str(rule["Name"]))
            else:
                rules.append(parsed)
        rules.sort(key=lambda r: r.priority)
        return cls(str(acl["ARN"]), str(acl["Name"]), tuple(rules), tuple(others))


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
        for rule in acl.rules:
            key = rule.key_of(request)
            if key is None:
                continue
            if self.counter.hit(rule.name, key, rule.window_s, rule.limit) > rule.limit:
                if rule.action == "Block":
                    return Verdict(acl.arn, rule.name)
                log.info("WAF %s: rule %s counts %s over its limit", acl.name, rule.name, key)
        return Verdict(acl.arn)


def acl_reader(wafv2: Any, stage_arn: str) -> Callable[[], WebAcl | None]:
    """Reads the WebACL associated with the stage (GetWebACLForResource on the stage's ARN)."""

    def read() -> WebAcl | None:
        acl = wafv2.get_web_acl_for_resource(ResourceArn=stage_arn).get("WebACL")
        return WebAcl.from_api(acl) if acl else None

    return read
