"""IAM condition operators, as AWS's policy reference documents them, for the ones Intake's template
uses (and their close relatives): String*, Arn*, Bool, Null, Numeric*, with ...IfExists and the
ForAnyValue:/ForAllValues: set qualifiers.

A condition block is an AND of its operators, an operator an AND of its keys, and a key an OR of its
values. Context keys are case-insensitive (``aws:SourceArn`` == ``aws:sourcearn``); a key missing from
the request makes a positive operator false, a negated one true, and any ...IfExists operator true;
ForAllValues holds on a missing key or an empty set, ForAnyValue never does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

ContextValue = str | bool | int | float | list[str]
Context = Mapping[str, ContextValue]


class UnsupportedCondition(ValueError):
    """An operator this evaluator does not implement: refused loudly rather than guessed."""


@lru_cache(maxsize=4096)
def _glob(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    # IAM's * and ? match across every character, "/" and ":" included; no [] classes.
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", 0 if case_sensitive else re.IGNORECASE | re.DOTALL)


def glob_match(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    return bool(_glob(pattern, case_sensitive).match(value))


def _arn_like(pattern: str, value: str) -> bool:
    # ArnLike compares the six colon-separated parts one by one; wildcards stay inside a part,
    # except in the last one (the resource), which may hold further colons.
    p_parts, v_parts = pattern.split(":", 5), value.split(":", 5)
    if len(p_parts) != 6 or len(v_parts) != 6:
        return False
    return all(glob_match(p, v) for p, v in zip(p_parts, v_parts, strict=True))


def _str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


Compare = Callable[[str, str], bool]

_COMPARE: dict[str, Compare] = {
    "stringequals": lambda p, v: p == v,
    "stringequalsignorecase": lambda p, v: p.lower() == v.lower(),
    "stringlike": lambda p, v: glob_match(p, v),
    "arnequals": lambda p, v: p == v,
    "arnlike": _arn_like,
    "bool": lambda p, v: p.lower() == v.lower(),
    "numericequals": lambda p, v: _number(p) is not None and _number(p) == _number(v),
    "numericlessthan": lambda p, v: None not in (_number(p), _number(v)) and float(v) < float(p),
    "numericlessthanequals": lambda p, v: None not in (_number(p), _number(v)) and float(v) <= float(p),
    "numericgreaterthan": lambda p, v: None not in (_number(p), _number(v)) and float(v) > float(p),
    "numericgreaterthanequals": lambda p, v: None not in (_number(p), _number(v)) and float(v) >= float(p),
}
_NEGATED = {
    "stringnotequals": "stringequals",
    "stringnotequalsignorecase": "stringequalsignorecase",
    "stringnotlike": "stringlike",
    "arnnotequals": "arnequals",
    "arnnotlike": "arnlike",
    "numericnotequals": "numericequals",
}


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [_str(v) for v in value]
    return [_str(value)]


def _lookup(context: Context, key: str) -> list[str] | None:
    lowered = key.lower()
    for name, value in context.items():
        if name.lower() == lowered:
            return _as_list(value)
    return None


def _null(patterns: list[str], present: list[str] | None) -> bool:
    # Null: "true" means the key must be absent, "false" that it must be present.
    absent = present is None or present == []
    return any((p.lower() == "true") == absent for p in patterns)


def _empty(present: list[str] | None) -> bool:
    # IAM's "null data set": no key, an empty list, or an empty string.
    return present is None or all(v == "" for v in present)


def _key_matches(operator: str, patterns: list[str], present: list[str] | None) -> bool:
    qualifier, _, base = operator.rpartition(":")
    qualifier, base = qualifier.lower(), base.lower()
    if_exists = base.endswith("ifexists")
    if if_exists:
        base = base[: -len("ifexists")]
    if base == "null":
        return _null(patterns, present)
    negated = base in _NEGATED
    compare = _COMPARE.get(_NEGATED.get(base, base))
    if compare is None:
        raise UnsupportedCondition(f"condition operator {operator!r} is not supported")
    if qualifier not in ("", "forallvalues", "foranyvalue"):
        raise UnsupportedCondition(f"set qualifier of {operator!r} is not supported")

    # A negated operator holds for one request value when that value matches none of the policy's
    # values (so several policy values act as an AND, as the IAM reference says).
    def holds(value: str) -> bool:
        matched = any(compare(p, value) for p in patterns)
        return not matched if negated else matched

    if qualifier == "forallvalues":
        # True when every request value holds, and also for a missing key or an empty data set.
        return _empty(present) or all(holds(v) for v in present or [])
    if qualifier == "foranyvalue":
        # True when at least one request value holds; false for a missing key, negated or not.
        return present is not None and any(holds(v) for v in present)
    if present is None:
        # A missing key: a positive operator is false, a negated one true, ...IfExists true.
        return if_exists or negated
    return all(holds(v) for v in present) if negated else any(holds(v) for v in present)


def conditions_hold(block: Mapping[str, Mapping[str, Any]] | None, context: Context) -> bool:
    """True when every operator of a statement's Condition block holds for ``context``."""
    if not block:
        return True
    for operator, keys in block.items():
        for key, values in keys.items():
            if not _key_matches(operator, _as_list(values), _lookup(context, key)):
                return False
    return True


def any_glob(patterns: Iterable[str], value: str, *, case_sensitive: bool = True) -> bool:
    return any(glob_match(p, value, case_sensitive=case_sensitive) for p in patterns)


__all__ = ["Context", "UnsupportedCondition", "any_glob", "conditions_hold", "glob_match"]
