"""Reading a stack never creates its resources, and lists none whose Condition is false.

moto 5.2.5's `ResourceMap` is lazy: looking up a logical id that is not created yet creates it. Its
reads go through that lookup: a stack's `outputs` (DescribeStacks) evaluate every output's value, and
its `stack_resources` (ListStackResources, DescribeStackResource(s)) walk the whole map. The moto
server answers each request on a thread of its own, so a DescribeStacks while CreateStack runs creates,
on the reader's thread, the resources that CreateStack's thread has not reached yet; CreateStack then
creates them a second time: a second KMS key, a second nested stack, or a log group that "already
exists" (that error, a JSON body, then answers the DescribeStacks, whose protocol is XML), or a stage
before its deployment. moto also iterates its dict of stacks while CreateStack adds nested stacks to it.

As AWS answers:

- a stack's outputs appear once it is created (none while CREATE_IN_PROGRESS);
- ListStackResources lists the resources created so far, and no row for a resource whose Condition
  is false (moto lists a blank one: no type, no ids);
- a read never creates: during one, a lookup of a resource not created yet raises instead, and the
  outputs that need it are left out;
- DescribeStacks and a lookup by name read a snapshot of the stacks, not the dict CreateStack grows.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend, Stack

_lock = threading.Lock()
_installed = False
_ORIGINAL_GETITEM = parsing.ResourceMap.__getitem__
_ORIGINAL_OUTPUTS = Stack.outputs
# The statuses in which AWS answers a stack without outputs: they are not evaluated yet.
_NOT_CREATED = frozenset({"CREATE_PENDING", "CREATE_IN_PROGRESS", "CREATE_FAILED", "ROLLBACK_IN_PROGRESS"})
_reading = threading.local()


class NotCreatedYet(LookupError):
    """A read looked up a resource that the stack's create or update has not created yet."""


@contextlib.contextmanager
def read_only() -> Iterator[None]:
    """Lookups on this thread return what exists and create nothing (nested reads allowed)."""
    depth = getattr(_reading, "depth", 0)
    _reading.depth = depth + 1
    try:
        yield
    finally:
        _reading.depth = depth


def _getitem(resource_map: parsing.ResourceMap, key: str) -> Any:
    if getattr(_reading, "depth", 0) and key not in resource_map._parsed_resources:
        resource_json = resource_map._resource_json_map.get(key)
        if resource_json:
            condition = resource_json.get("Condition")
            if condition and not resource_map.lazy_condition_map[condition]:
                return None  # never created: what moto's lookup answers for it too
            raise NotCreatedYet(key)
    return _ORIGINAL_GETITEM(resource_map, key)


def outputs(stack: Stack) -> list[dict[str, Any]] | None:
    """The stack's outputs, once it is created; evaluated without creating anything."""
    if stack.status in _NOT_CREATED:
        return None
    with read_only():
        try:
            return _ORIGINAL_OUTPUTS.fget(stack)  # type: ignore[no-any-return,attr-defined]
        except NotCreatedYet:
            return None  # an update is adding what an output names: AWS too answers it afterwards


def stack_resources(stack: Stack) -> list[Any]:
    """The resources created so far, in template order; none for a false Condition."""
    resource_map = stack.resource_map
    created = dict(resource_map._parsed_resources)
    return [created[key] for key in list(resource_map.resources) if created.get(key) is not None]


def describe_stacks(backend: CloudFormationBackend, name_or_stack_id: str) -> list[Stack]:
    """moto's DescribeStacks over a snapshot of its stacks."""
    stacks = list(backend.stacks.values())
    if not name_or_stack_id:
        return stacks
    for stack in stacks:
        if name_or_stack_id in (stack.name, stack.stack_id):
            return [stack]
    for stack in list(backend.deleted_stacks.values()):
        if stack.stack_id == name_or_stack_id:
            return [stack]
    raise ValidationError(name_or_stack_id)


def get_stack(backend: CloudFormationBackend, name_or_stack_id: str) -> Stack:
    """moto's lookup by id (deleted stacks included) or by name (live ones only), over a snapshot."""
    live = dict(backend.stacks)
    every = {**dict(backend.deleted_stacks), **live}
    if name_or_stack_id in every:
        return every[name_or_stack_id]
    for stack in live.values():
        if stack.name == name_or_stack_id:
            return stack
    raise ValidationError(name_or_stack_id)


def install() -> None:
    """Patch moto's stack reads (idempotent)."""
    global _installed
    with _lock:
        if not _installed:
            parsing.ResourceMap.__getitem__ = _getitem  # type: ignore[method-assign]
            Stack.outputs = property(outputs)  # type: ignore[method-assign,assignment]
            Stack.stack_resources = property(stack_resources)  # type: ignore[method-assign,assignment]
            CloudFormationBackend.describe_stacks = describe_stacks  # type: ignore[method-assign,assignment]
            CloudFormationBackend.get_stack = get_stack  # type: ignore[method-assign,assignment]
            _installed = True
