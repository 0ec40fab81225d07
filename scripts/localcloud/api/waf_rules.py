"""WAF rule statements and the AWS managed rule groups, as far as they are deterministic.

The managed groups: AWS documents each rule's name, label and what it inspects, and publishes the
thresholds of the size rules; it does not publish the patterns of the text-match rules. So the size
restrictions and the header/method rules are evaluated exactly; the others are known by name (an
override or exclusion naming them is valid) and never match here. Documented values (AWS WAF
Developer Guide, "Baseline rule groups", core rule set):

- SizeRestrictions_QUERYSTRING: a query string over 2,048 bytes;
- SizeRestrictions_Cookie_HEADER: a Cookie header over 10,240 bytes;
- SizeRestrictions_BODY: a body over 8 KB (8,192 bytes);
- SizeRestrictions_URIPATH: a URI path over 1,024 bytes;
- NoUserAgent_HEADER: no User-Agent header.

Sizes are of the request as the client sent it (the path and query still percent-encoded), as WAF
counts a component before any text transformation; the rules' own transformations are not published.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from .messages import Request

__all__ = ["MANAGED_GROUPS", "ManagedRule", "Statement", "statement"]

log = logging.getLogger("localcloud.api")

CORE = "awswaf:managed:aws:core-rule-set:"
BAD_INPUTS = "awswaf:managed:aws:known-bad-inputs:"


@dataclass(frozen=True)
class ManagedRule:
    """One rule of a managed group: its name, the label it adds, and its test (None: not emulated)."""

    name: str
    label: str
    matches: Callable[[Request], bool] | None = None


def _over(limit: int, size: Callable[[Request], int]) -> Callable[[Request], bool]:
    return lambda request: size(request) > limit


def _query_bytes(request: Request) -> int:
    return len(request.raw_query.encode())


def _path_bytes(request: Request) -> int:
    return len(request.path.encode())


def _cookie_bytes(request: Request) -> int:
    return len((request.header("Cookie") or "").encode())


#: How a rule name's request-component suffix is spelled in its label (GenericLFI_BODY: GenericLFI_Body).
_LABEL_SUFFIXES = {
    "BODY": "Body", "COOKIE": "Cookie", "HEADER": "Header", "URIPATH": "URIPath",
    "QUERYSTRING": "QueryString", "QUERYARGUMENTS": "QueryArguments",
}  # fmt: skip


def _text_rules(prefix: str, names: str) -> tuple[ManagedRule, ...]:
    """Rules known by name (and label) only: their patterns are not published."""
    rules = []
    for name in names.split():
        stem, _, part = name.rpartition("_")
        label = f"{stem}_{_LABEL_SUFFIXES.get(part, part)}"
        rules.append(ManagedRule(name, prefix + label.removeprefix("UserAgent_")))  # BadBots_Header
    return tuple(rules)


#: The managed groups the local WAF knows, their rules in the group's order.
MANAGED_GROUPS: Mapping[str, tuple[ManagedRule, ...]] = {
    "AWSManagedRulesCommonRuleSet": (
        ManagedRule(
            "NoUserAgent_HEADER", CORE + "NoUserAgent_Header", lambda r: r.header("User-Agent") is None
        ),
        *_text_rules(CORE, "UserAgent_BadBots_HEADER"),
        ManagedRule(
            "SizeRestrictions_QUERYSTRING", CORE + "SizeRestrictions_QueryString", _over(2048, _query_bytes)
        ),
        ManagedRule(
            "SizeRestrictions_Cookie_HEADER",
            CORE + "SizeRestrictions_Cookie_Header",
            _over(10240, _cookie_bytes),
        ),
        ManagedRule(
            "SizeRestrictions_BODY", CORE + "SizeRestrictions_Body", _over(8192, lambda r: len(r.body))
        ),
        ManagedRule("SizeRestrictions_URIPATH", CORE + "SizeRestrictions_URIPath", _over(1024, _path_bytes)),
        *_text_rules(
            CORE,
            """
            EC2MetaDataSSRF_BODY EC2MetaDataSSRF_COOKIE EC2MetaDataSSRF_URIPATH EC2MetaDataSSRF_QUERYARGUMENTS
            GenericLFI_QUERYARGUMENTS GenericLFI_URIPATH GenericLFI_BODY
            RestrictedExtensions_URIPATH RestrictedExtensions_QUERYARGUMENTS
            GenericRFI_QUERYARGUMENTS GenericRFI_BODY GenericRFI_URIPATH
            CrossSiteScripting_COOKIE CrossSiteScripting_QUERYARGUMENTS CrossSiteScripting_BODY CrossSiteScripting_URIPATH
            """,
        ),
    ),
    "AWSManagedRulesKnownBadInputsRuleSet": (
        *_text_rules(
            BAD_INPUTS,
            """
            JavaDeserializationRCE_HEADER JavaDeserializationRCE_BODY JavaDeserializationRCE_URIPATH
            JavaDeserializationRCE_QUERYSTRING Host_localhost_HEADER
            """,
        ),
        ManagedRule("PROPFIND_METHOD", BAD_INPUTS + "PROPFIND_Method", lambda r: r.method == "PROPFIND"),
        *_text_rules(
            BAD_INPUTS,
            """
            ExploitablePaths_URIPATH Log4JRCE_HEADER Log4JRCE_QUERYSTRING Log4JRCE_BODY Log4JRCE_URIPATH ReactJSRCE_BODY
            """,
        ),
    ),
}


# --- statements ------------------------------------------------------------------------------------

#: A statement: whether the request, with the labels added so far, matches.
Statement = Callable[[Request, frozenset[str]], bool]


class NotEmulated(ValueError):
    """A statement (or a part of one) the local WAF does not evaluate."""


def _field(request: Request, field: Mapping[str, Any]) -> str:
    [(kind, spec)] = field.items()
    if kind == "UriPath":
        return request.path
    if kind == "QueryString":
        return request.raw_query
    if kind == "Method":
        return request.method
    if kind == "SingleHeader":
        return request.header(str(spec["Name"])) or ""
    if kind == "Body":
        return request.body.decode("utf-8", "replace")
    raise NotEmulated(f"field {kind}")


_TRANSFORMS: Mapping[str, Callable[[str], str]] = {
    "NONE": lambda v: v,
    "LOWERCASE": str.lower,
    "URL_DECODE": unquote,
}


def _transformed(value: str, transformations: Sequence[Mapping[str, Any]]) -> str:
    for step in sorted(transformations, key=lambda t: int(t.get("Priority", 0))):
        kind = str(step["Type"])
        if kind not in _TRANSFORMS:
            raise NotEmulated(f"text transformation {kind}")
        value = _TRANSFORMS[kind](value)
    return value


_POSITIONS: Mapping[str, Callable[[str, str], bool]] = {
    "EXACTLY": lambda v, s: v == s,
    "STARTS_WITH": str.startswith,
    "ENDS_WITH": str.endswith,
    "CONTAINS": lambda v, s: s in v,
}
_COMPARISONS: Mapping[str, Callable[[int, int], bool]] = {
    "EQ": int.__eq__, "NE": int.__ne__, "LE": int.__le__, "LT": int.__lt__, "GE": int.__ge__, "GT": int.__gt__,
}  # fmt: skip


def _search_string(spec: Mapping[str, Any]) -> str:
    """The API carries SearchString as a blob (boto3 gives bytes); tolerate text too."""
    raw = spec["SearchString"]
    if isinstance(raw, bytes):
        return raw.decode()
    try:
        return base64.b64decode(str(raw), validate=True).decode()
    except ValueError:
        return str(raw)


def statement(spec: Mapping[str, Any]) -> Statement:
    """The statement `spec` (GetWebACL's form) as a test; NotEmulated for what it cannot evaluate."""
    [(kind, body)] = spec.items()
    if kind == "AndStatement":
        parts = [statement(s) for s in body["Statements"]]
        return lambda r, labels: all(p(r, labels) for p in parts)
    if kind == "OrStatement":
        parts = [statement(s) for s in body["Statements"]]
        return lambda r, labels: any(p(r, labels) for p in parts)
    if kind == "NotStatement":
        inner = statement(body["Statement"])
        return lambda r, labels: not inner(r, labels)
    if kind == "LabelMatchStatement":
        key, scope = str(body["Key"]), str(body.get("Scope", "LABEL"))
        if scope == "NAMESPACE":
            prefix = key if key.endswith(":") else key + ":"
            return lambda r, labels: any(label.startswith(prefix) for label in labels)
        return lambda r, labels: key in labels
    if kind == "ByteMatchStatement":
        search, position = _search_string(body), str(body["PositionalConstraint"])
        if position not in _POSITIONS:
            raise NotEmulated(f"positional constraint {position}")
        field, steps = body["FieldToMatch"], body.get("TextTransformations") or []
        _transformed("", steps)  # unknown transformations fail now, not per request
        return lambda r, labels: _POSITIONS[position](_transformed(_field(r, field), steps), search)
    if kind == "SizeConstraintStatement":
        size, compare = int(body["Size"]), _COMPARISONS[str(body["ComparisonOperator"])]
        field, steps = body["FieldToMatch"], body.get("TextTransformations") or []
        _transformed("", steps)
        return lambda r, labels: compare(len(_transformed(_field(r, field), steps).encode()), size)
    raise NotEmulated(kind)
