"""AWS::Logs::LogGroup's `Fn::GetAtt Arn`, as CloudFormation gives it: the group's ARN with `:*` appended
(`arn:aws:logs:<region>:<account>:log-group:<name>:*`, the CloudFormation reference's return value).

moto 5.2.5 gives the ARN without `:*`. The difference matters to IAM: a policy granting
logs:CreateLogStream/PutLogEvents on the `:*` ARN covers the group's streams
(`...:log-group:<name>:log-stream:<stream>`), one on the bare ARN does not. The log group itself, its
DescribeLogGroups entry and its tags, stay moto's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from moto.logs.models import LogGroup

_lock = threading.Lock()
_original: Callable[[Any, str], Any] | None = None


def _get_cfn_attribute(group: Any, attribute_name: str) -> Any:
    assert _original is not None
    if attribute_name == "Arn":
        return f"{group.arn}:*"
    return _original(group, attribute_name)


def install() -> None:
    """Patch moto's LogGroup (idempotent)."""
    global _original
    with _lock:
        if _original is None:
            _original = LogGroup.get_cfn_attribute
            LogGroup.get_cfn_attribute = _get_cfn_attribute  # type: ignore[method-assign,assignment]
