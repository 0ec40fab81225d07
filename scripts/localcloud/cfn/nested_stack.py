"""AWS::CloudFormation::Stack outputs: `Fn::GetAtt [Stack, Outputs.Name]` and `${Stack.Outputs.Name}`.

moto 5.2.5 creates nested stacks from their TemplateURL (an S3 URL in the emulator) but its stack
model has no `get_cfn_attribute`, so any `Fn::GetAtt` on a nested stack fails; and its `Fn::Sub`
splits `${Stack.Outputs.Name}` at every dot, asking for the attribute "Outputs". As in the
CloudFormation reference ("AWS::CloudFormation::Stack", return values): `Outputs.NestedStackOutputName`
is the value of that output of the nested stack, in `Fn::GetAtt` and in `Fn::Sub` alike.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.cloudformation.models import Stack

_lock = threading.Lock()
_original: Callable[[Any, Any], Any] | None = None
_OUTPUTS = "Outputs."


def stack_output(stack: Stack, attribute_name: str) -> Any:
    """`Fn::GetAtt` on a stack: only `Outputs.<name>`, the value of that output."""
    if not attribute_name.startswith(_OUTPUTS):
        raise UnformattedGetAttTemplateException()
    name = attribute_name.removeprefix(_OUTPUTS)
    output = stack.output_map[name] if name in stack.output_map.outputs else None
    if output is None:
        raise UnformattedGetAttTemplateException()
    return output.value


def _dotted_outputs(node: Any) -> Any:
    """`Fn::GetAtt [Stack, Outputs, Name]` (moto's split of `${Stack.Outputs.Name}`) as [Stack, Outputs.Name]."""
    if isinstance(node, dict) and set(node) == {"Fn::GetAtt"}:
        parts = node["Fn::GetAtt"]
        if isinstance(parts, list) and len(parts) == 3 and parts[1] == "Outputs":
            return {"Fn::GetAtt": [parts[0], _OUTPUTS + str(parts[2])]}
    return node


def _clean_json(resource_json: Any, resources_map: Any) -> Any:
    assert _original is not None
    return _original(_dotted_outputs(resource_json), resources_map)


def install() -> None:
    """Give moto's stack model its `Outputs.<name>` attributes. Idempotent."""
    global _original
    with _lock:
        if _original is None:
            Stack.get_cfn_attribute = stack_output  # type: ignore[attr-defined]
            _original = parsing.clean_json
            # clean_json recurses through the module global, so Fn::Sub's GetAtt comes back here too.
            parsing.clean_json = _clean_json
