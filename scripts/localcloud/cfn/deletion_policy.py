"""`DeletionPolicy: RetainExceptOnCreate` on stack deletion, as CloudFormation treats it: like Retain.

moto 5.2.5's stack deletion keeps only the resources whose DeletionPolicy is exactly `Retain`, so it
would delete a `RetainExceptOnCreate` one. CloudFormation deletes such a resource only when the
operation that created it rolls back; the local stack engine never rolls a creation back (a failed
create stays failed), so here the policy always keeps the resource on deletion.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from moto.cloudformation import parsing

_lock = threading.Lock()
_original: Callable[[Any], None] | None = None


def _delete(resource_map: Any) -> None:
    assert _original is not None
    specs: dict[str, Any] = resource_map._resource_json_map
    kept = {
        name: spec
        for name, spec in specs.items()
        if isinstance(spec, dict) and spec.get("DeletionPolicy") == "RetainExceptOnCreate"
    }
    for name, spec in kept.items():
        specs[name] = {**spec, "DeletionPolicy": "Retain"}
    try:
        _original(resource_map)
    finally:
        specs.update(kept)


def install() -> None:
    """Patch moto's ResourceMap.delete (idempotent)."""
    global _original
    with _lock:
        if _original is None:
            _original = parsing.ResourceMap.delete
            parsing.ResourceMap.delete = _delete  # type: ignore[method-assign,assignment]
