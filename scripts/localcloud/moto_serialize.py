"""moto's response serializer with its attribute aliases worked out once per shape, not per value.

Why: moto serializes every response by walking the operation's output shape; for every member of every
structure it builds a chain of alias providers (explicit alias, shape name, the key, shape prefix, class
prefix, model name) and asks each whether it applies. A DynamoDB item is a map of AttributeValue
structures with ten members each, so one UpdateItem with ReturnValues asks that question hundreds of
times. Under the bench's load this was a quarter of the emulator's samples.

The aliases depend only on the object's class, the shape, the shape's parent and the key (an object
with a ``Meta`` of its own, set on the instance, is rare and keeps the slow path), so the list of keys
to try is remembered for that combination. For a plain ``dict`` (what DynamoDB, SQS and most JSON
services return) with no response transformer in play, the value is then picked as moto's picker picks
it from a dict, the first of those keys present, without building a picker context per member; anything
else goes through moto's own code.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from moto.core.serialize import (
    AttributePicker,
    AttributePickerContext,
    ResponseSerializer,
    XFormedAttributePicker,
)

_ORIGINALS: dict[type[AttributePicker], Any] = {
    AttributePicker: AttributePicker.get_possible_keys,
    XFormedAttributePicker: XFormedAttributePicker.get_possible_keys,
}
_ORIGINAL_GET_VALUE = ResponseSerializer.get_value
_MISSING = object()
_lock = threading.Lock()
_installed = False
# (picker class, alias providers, object class, shape, shape's parent, key) -> the keys to try, in order.
_KEYS: dict[tuple[Any, ...], tuple[str, ...]] = {}


def _memo(cls: type[AttributePicker]) -> Callable[[AttributePicker, AttributePickerContext], Iterator[str]]:
    original = _ORIGINALS[cls]

    def get_possible_keys(self: AttributePicker, context: AttributePickerContext) -> Iterator[str]:
        obj, shape = context.obj, context.shape
        if "Meta" in getattr(obj, "__dict__", ()):  # an instance's own aliases: not cacheable by class
            return iter(original(self, context))
        memo_key = (
            cls,
            tuple(self.alias_providers),
            type(obj),
            shape,  # botocore shapes hash by identity, and moto keeps its service models for good
            getattr(shape, "parent", None),
            context.key,
        )
        keys = _KEYS.get(memo_key)
        if keys is None:
            keys = _KEYS[memo_key] = tuple(original(self, context))
        return iter(keys)

    return get_possible_keys


def _plain_keys(serializer: ResponseSerializer, shape: Any, key: str) -> tuple[str, ...] | None:
    """The keys moto's picker tries on a plain dict for this member, or None when that needs moto's way."""
    picker = serializer._value_picker
    if type(picker) not in _ORIGINALS or picker.response_transformers:
        return None
    memo_key = (type(picker), tuple(picker.alias_providers), dict, shape, getattr(shape, "parent", None), key)
    keys = _KEYS.get(memo_key)
    if keys is None:
        context = AttributePickerContext(obj={}, key=key, shape=shape)
        keys = tuple(picker.get_possible_keys(context))
    return None if any("." in k for k in keys) else keys  # a dotted key is a path: moto's way


def _get_value(serializer: ResponseSerializer, value: Any, key: str, shape: Any) -> Any:
    if type(value) is dict:
        keys = _plain_keys(serializer, shape, key)
        if keys is not None:
            for candidate in keys:
                found = value.get(candidate, _MISSING)
                if found is not _MISSING:
                    return found
            return None
    return _ORIGINAL_GET_VALUE(serializer, value, key, shape)


def install() -> None:
    """Memoize the keys each picker tries, and pick from plain dicts directly (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        for cls in _ORIGINALS:
            cls.get_possible_keys = _memo(cls)  # type: ignore[method-assign,assignment]
        ResponseSerializer.get_value = _get_value  # type: ignore[method-assign,assignment]
        _installed = True


@contextlib.contextmanager
def moto_own() -> Iterator[None]:
    """moto's own serializer for a while (for the test that the fast path changes no answer)."""
    patched = {cls: cls.get_possible_keys for cls in _ORIGINALS}
    patched_get_value = ResponseSerializer.get_value
    for cls, original in _ORIGINALS.items():
        cls.get_possible_keys = original  # type: ignore[method-assign]
    ResponseSerializer.get_value = _ORIGINAL_GET_VALUE  # type: ignore[method-assign]
    try:
        yield
    finally:
        for cls, method in patched.items():
            cls.get_possible_keys = method  # type: ignore[method-assign]
        ResponseSerializer.get_value = patched_get_value  # type: ignore[method-assign]
