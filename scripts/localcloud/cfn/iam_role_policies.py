"""AWS::IAM::Role's `Policies`: kept as JSON text, so GetRolePolicy answers them as AWS does.

moto 5.2.5 stores the inline policies a role declares in its own `Policies` property as the template's
dicts, and GetRolePolicy then answers their Python repr (single quotes), which no JSON parser reads
back. IAM keeps every policy document as JSON text and answers it URL-encoded (what moto does for a
policy put through PutRolePolicy): the documents are stored as JSON here.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from moto.iam.models import Role, _serialize_version_datetime

_lock = threading.Lock()
_original: Callable[[Role, str, Any], None] | None = None


def as_json(document: Any) -> str:
    """A policy document as IAM keeps it: JSON text (a YAML date such as `Version: 2012-10-17` as text)."""
    if isinstance(document, str):
        return document
    return json.dumps(document, default=_serialize_version_datetime)


def _put_policy(role: Role, policy_name: str, policy_json: Any) -> None:
    assert _original is not None
    _original(role, policy_name, as_json(policy_json))


def install() -> None:
    """Patch moto's Role (idempotent)."""
    global _original
    with _lock:
        if _original is None:
            _original = Role.put_policy
            Role.put_policy = _put_policy  # type: ignore[method-assign,assignment]
