"""The invoke permission check: does the function's resource policy let this API call it (SourceArn)?"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["invoke_permitted"]


def _arn_like(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def _allows_api_gateway(statement: Mapping[str, Any]) -> bool:
    principal = statement.get("Principal")
    service = principal.get("Service") if isinstance(principal, dict) else principal
    return (
        statement.get("Effect") == "Allow"
        and service == "apigateway.amazonaws.com"
        and statement.get("Action") in ("lambda:InvokeFunction", "lambda:*")
    )


def invoke_permitted(policy: Mapping[str, Any], source_arn: str, account_id: str) -> bool:
    """Whether a function's resource policy lets API Gateway call it from `source_arn`."""
    for statement in policy.get("Statement", []):
        if not _allows_api_gateway(statement):
            continue
        condition = statement.get("Condition") or {}
        arn = (condition.get("ArnLike") or {}).get("AWS:SourceArn")
        account = (condition.get("StringEquals") or {}).get("AWS:SourceAccount")
        if (arn is None or _arn_like(arn, source_arn)) and account in (None, account_id):
            return True
    return False
