"""The project's templates as one: intake.yaml with each nested stack expanded in place.

intake.yaml instantiates infra/cloudformation/consumer.yaml once per consumer (nested stacks
`Validate`, `Thumbnail`, `Index`, `Notify`). The tests read the *effective* template: every nested
stack resource is replaced by its child's resources, named "<stack logical id><child logical id>"
(the child's `Queue` in `Validate` is `ValidateQueue`), as the local cloud's Deployment.resources
names them. Inside the expanded resources:

- `Ref` to a child parameter is the value the parent passes (or the parameter's Default), so
  `!Ref SourceTopicArn` in `Validate` reads `{"Ref": "UploadEventsTopic"}`;
- `Ref`/`Fn::GetAtt` to a child resource, and `DependsOn`, get the prefix;
- `Fn::Sub` strings get both rewrites (`${ConsumerName}` -> `validate`, `${Queue.Arn}` ->
  `${ValidateQueue.Arn}`, `${PipelineName}` given `!Ref AWS::StackName` -> `${AWS::StackName}`).

Everywhere in the template, `Fn::GetAtt [Stack, Outputs.Name]` and `${Stack.Outputs.Name}` become the
child output's value, so `!GetAtt Validate.Outputs.QueueUrl` reads `{"Ref": "ValidateQueue"}`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = ROOT / "infra" / "cloudformation"
PARENT_PATH = TEMPLATE_DIR / "intake.yaml"
STACK_TYPE = "AWS::CloudFormation::Stack"

Template = dict[str, Any]
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def load(path: Path) -> Template:
    """A template as plain dicts/lists; short tags (!Ref, !Sub, ...) become their long forms."""
    loaded: Template = json.loads(json.dumps(cfn_yaml.load(str(path))))
    return loaded


def template_file(stack: dict[str, Any]) -> str:
    """The file name a nested stack's TemplateURL ends with (a literal URL or an Fn::Sub)."""
    url = stack["Properties"]["TemplateURL"]
    if isinstance(url, dict):
        sub = url["Fn::Sub"]
        url = sub if isinstance(sub, str) else sub[0]
    return str(url).rsplit("/", 1)[-1]


def effective_template(
    parent: Template | None = None, children: dict[str, Template] | None = None
) -> Template:
    """`parent` (default: intake.yaml) with its nested stacks expanded. The child templates are read
    from infra/cloudformation/ by file name, unless `children` (file name -> template) has them."""
    result = copy.deepcopy(parent if parent is not None else load(PARENT_PATH))
    children = dict(children or {})
    resources: dict[str, Any] = result["Resources"]
    outputs: dict[tuple[str, str], Any] = {}
    for logical_id, stack in [(k, v) for k, v in resources.items() if v.get("Type") == STACK_TYPE]:
        name = template_file(stack)
        if name not in children:
            children[name] = load(TEMPLATE_DIR / name)
        expanded, child_outputs = expand(logical_id, children[name], stack["Properties"])
        del resources[logical_id]
        resources.update(expanded)
        outputs.update({(logical_id, key): value for key, value in child_outputs.items()})
    resolved: Template = _resolve_outputs(result, outputs)
    return resolved


def expand(prefix: str, child: Template, properties: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The child's resources and output values, renamed and rewritten into the parent's terms."""
    given = properties.get("Parameters", {})
    params: dict[str, Any] = {}
    for name, declared in child.get("Parameters", {}).items():
        if name not in given and "Default" not in declared:
            raise ValueError(f"nested stack {prefix} does not pass the child parameter {name}")
        params[name] = given.get(name, declared.get("Default"))
    unknown = set(given) - set(params)
    if unknown:
        raise ValueError(f"nested stack {prefix} passes undeclared parameters {sorted(unknown)}")
    local = set(child["Resources"])
    resources = {}
    for name, resource in child["Resources"].items():
        rewritten = _rewrite(resource, prefix, local, params)
        depends = rewritten.get("DependsOn")
        if isinstance(depends, str):
            rewritten["DependsOn"] = prefix + depends
        elif isinstance(depends, list):
            rewritten["DependsOn"] = [prefix + name for name in depends]
        resources[prefix + name] = rewritten
    outputs = {k: _rewrite(o["Value"], prefix, local, params) for k, o in child.get("Outputs", {}).items()}
    return resources, outputs


def _rewrite(node: Any, prefix: str, local: set[str], params: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_rewrite(item, prefix, local, params) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"}:
        name = node["Ref"]
        if name in params:
            return copy.deepcopy(params[name])
        return {"Ref": prefix + name} if name in local else node
    if set(node) == {"Fn::GetAtt"}:
        target, attribute = _getatt_parts(node["Fn::GetAtt"])
        return {"Fn::GetAtt": [prefix + target if target in local else target, attribute]}
    if set(node) == {"Fn::Sub"}:
        sub = node["Fn::Sub"]
        if isinstance(sub, str):
            return {"Fn::Sub": _rewrite_sub(sub, prefix, local, params, set())}
        text, variables = sub
        return {
            "Fn::Sub": [
                _rewrite_sub(text, prefix, local, params, set(variables)),
                _rewrite(variables, prefix, local, params),
            ]
        }
    return {key: _rewrite(value, prefix, local, params) for key, value in node.items()}


def _rewrite_sub(text: str, prefix: str, local: set[str], params: dict[str, Any], skip: set[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        head, _, attribute = name.partition(".")
        if head in skip:
            return match.group(0)
        if head in params and not attribute:
            return _as_sub_text(params[head])
        if head in local:
            return "${" + prefix + name + "}"
        return match.group(0)

    return _SUB_VARIABLE.sub(replace, text)


def _as_sub_text(value: Any) -> str:
    """A value (literal, Ref or GetAtt) as the text Fn::Sub puts in its place."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return "${" + str(value["Ref"]) + "}"
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        target, attribute = _getatt_parts(value["Fn::GetAtt"])
        return "${" + target + "." + attribute + "}"
    raise ValueError(f"cannot put {value!r} into an Fn::Sub string")


def _getatt_parts(value: Any) -> tuple[str, str]:
    if isinstance(value, str):
        target, _, attribute = value.partition(".")
        return target, attribute
    return str(value[0]), str(value[1])


def _resolve_outputs(node: Any, outputs: dict[tuple[str, str], Any]) -> Any:
    """Replace `Fn::GetAtt [Stack, Outputs.Name]` / `${Stack.Outputs.Name}` by the output's value."""
    if isinstance(node, list):
        return [_resolve_outputs(item, outputs) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Fn::GetAtt"}:
        target, attribute = _getatt_parts(node["Fn::GetAtt"])
        if attribute.startswith("Outputs."):
            return copy.deepcopy(outputs[(target, attribute.removeprefix("Outputs."))])
    if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], (str, list)):
        sub = node["Fn::Sub"]
        text = sub if isinstance(sub, str) else sub[0]

        def replace(match: re.Match[str]) -> str:
            target, _, attribute = match.group(1).partition(".")
            if attribute.startswith("Outputs."):
                return _as_sub_text(outputs[(target, attribute.removeprefix("Outputs."))])
            return match.group(0)

        text = _SUB_VARIABLE.sub(replace, text)
        return {"Fn::Sub": text if isinstance(sub, str) else [text, _resolve_outputs(sub[1], outputs)]}
    return {key: _resolve_outputs(value, outputs) for key, value in node.items()}


def set_at(path: list[Any], value: Any) -> Callable[[Template], None]:
    """A mutation of a template (for the tests that break one on purpose): the node at `path` set to
    `value`."""

    def mutate(t: Template) -> None:
        node: Any = t
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate
