"""moto's DynamoDB update expressions validated on a fresh parse instead of a deep copy of the parse.

Why: moto's ``Validator`` (UpdateItem's update expression) works on ``copy.deepcopy`` of the syntax tree
it is given, so that validating cannot change the caller's tree. ``deepcopy`` walks every node and
token generically; profiled under the bench's 200-upload batch it was an eighth of the emulator's
samples (UpdateItem is the product's most frequent call), while parsing the expression's text again
costs a seventh of that.

Every tree moto validates comes straight from ``UpdateExpressionParser.make(text)`` and is never changed
afterwards (only the validators' copies are), so parsing ``text`` again gives a tree equal to the copy.
``make`` notes the text on the tree it returns; the validator parses that text again when the note is
there and deep-copies as before when it is not.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.dynamodb.parsing import expressions as _expressions
from moto.dynamodb.parsing.validators import Validator

UpdateExpressionParser: Any = _expressions.UpdateExpressionParser  # type: ignore[attr-defined]

_SOURCE = "_localcloud_source"  # the attribute that notes the text a tree was parsed from
_ORIGINAL_MAKE = UpdateExpressionParser.make.__func__
_ORIGINAL_INIT = Validator.__init__
_lock = threading.Lock()
_installed = False


def _make(cls: Any, expression_str: str) -> Any:
    tree = _ORIGINAL_MAKE(cls, expression_str)
    setattr(tree, _SOURCE, expression_str)
    return tree


def _init(self: Validator, expression: Any, *args: Any, **kwargs: Any) -> None:
    source = getattr(expression, _SOURCE, None)
    if not isinstance(source, str):
        _ORIGINAL_INIT(self, expression, *args, **kwargs)
        return
    # moto's __init__ with a tree that cannot be the caller's: its deepcopy of that is cheap (a stub).
    _ORIGINAL_INIT(self, _Fresh(source), *args, **kwargs)


class _Fresh:
    """Stands for a tree in ``Validator.__init__``: its deep copy is a new parse of the text."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return _ORIGINAL_MAKE(UpdateExpressionParser, self.source)


def install() -> None:
    """Idempotent."""
    global _installed
    with _lock:
        if _installed:
            return
        UpdateExpressionParser.make = classmethod(_make)
        Validator.__init__ = _init  # type: ignore[method-assign]
        _installed = True


def original_parse(expression_str: str) -> Any:
    """moto's own parse, without the note (for the test that the validators' trees are unchanged)."""
    return _ORIGINAL_MAKE(UpdateExpressionParser, expression_str)
