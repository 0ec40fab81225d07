"""Every IAM policy in the templates as plain JSON, with plausible ARNs in place of the intrinsics.

An offline auditor reads policy JSON, not CloudFormation: this resolves !Ref, !GetAtt, !Sub, !Join,
!Select, !Split, !If (conditions evaluated from the parameters) and nested stacks' outputs for one
plausible deployment (account 123456789012, us-east-1, stack "intake"). Each resource gets the name
its properties give it, or "<stack>-<logical id>"; a !GetAtt Arn or !Ref gives the ARN or id of that
resource's type. What a policy grants is unchanged, only spelled out.

Only the standard library and PyYAML: it runs in the scanner's virtualenv and in the tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = ROOT / "infra" / "cloudformation"
TEMPLATES = (TEMPLATE_DIR / "intake.yaml", TEMPLATE_DIR / "consumer.yaml")
ACCOUNT, REGION, PARTITION, STACK = "123456789012", "us-east-1", "aws", "intake"
# intake.yaml's parameters without a default, as a deployment passes them.
DEPLOYMENT_PARAMETERS = {
    "ArtifactBucket": f"intake-artifacts-{ACCOUNT}-{REGION}",
    "ArtifactPrefix": "intake/0123abcd",
    "WebOrigin": "https://intake.example.com",
    "SigningPublicKey": "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----",
}
NO_VALUE = object()  # AWS::NoValue: the key or list item is left out
# Where a policy sits in a resource's properties, by resource type; "Policies" is a role's list.
POLICY_PROPERTIES = {
    "AWS::IAM::Role": ("identity", ("Policies",)),
    "AWS::IAM::Policy": ("identity", ("PolicyDocument",)),
    "AWS::IAM::ManagedPolicy": ("identity", ("PolicyDocument",)),
    "AWS::S3::BucketPolicy": ("resource", ("PolicyDocument",)),
    "AWS::SQS::QueuePolicy": ("resource", ("PolicyDocument",)),
    "AWS::SNS::TopicPolicy": ("resource", ("PolicyDocument",)),
    "AWS::KMS::Key": ("resource", ("KeyPolicy",)),
}
# A role's trust policy: a resource policy on the role (AssumeRolePolicyDocument).
TRUST = ("AWS::IAM::Role", "AssumeRolePolicyDocument")


# What !Ref and the ARN of a resource are, by type: (the property that names it, Ref, Arn); {name} is
# that property's value or "<stack>-<logical id>".
PHYSICAL = {
    "AWS::S3::Bucket": ("BucketName", "{name}", "arn:{p}:s3:::{name}"),
    "AWS::SQS::Queue": (
        "QueueName",
        "https://sqs.{r}.amazonaws.com/{a}/{name}",
        "arn:{p}:sqs:{r}:{a}:{name}",
    ),
    "AWS::SNS::Topic": ("TopicName", "arn:{p}:sns:{r}:{a}:{name}", "arn:{p}:sns:{r}:{a}:{name}"),
    "AWS::KMS::Key": (
        "",
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:{p}:kms:{r}:{a}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    ),
    "AWS::KMS::Alias": ("AliasName", "{name}", "arn:{p}:kms:{r}:{a}:{name}"),
    "AWS::DynamoDB::Table": ("TableName", "{name}", "arn:{p}:dynamodb:{r}:{a}:table/{name}"),
    "AWS::Lambda::Function": ("FunctionName", "{name}", "arn:{p}:lambda:{r}:{a}:function:{name}"),
    "AWS::Lambda::LayerVersion": (
        "LayerName",
        "arn:{p}:lambda:{r}:{a}:layer:{name}:1",
        "arn:{p}:lambda:{r}:{a}:layer:{name}:1",
    ),
    "AWS::IAM::Role": ("RoleName", "{name}", "arn:{p}:iam::{a}:role/{name}"),
    "AWS::IAM::ManagedPolicy": (
        "ManagedPolicyName",
        "arn:{p}:iam::{a}:policy/{name}",
        "arn:{p}:iam::{a}:policy/{name}",
    ),
    "AWS::Logs::LogGroup": ("LogGroupName", "{name}", "arn:{p}:logs:{r}:{a}:log-group:{name}:*"),
    "AWS::Cognito::UserPool": ("", "{r}_AbCdEfGhI", "arn:{p}:cognito-idp:{r}:{a}:userpool/{r}_AbCdEfGhI"),
    "AWS::CloudFront::Distribution": (
        "",
        "E2ABCDEFGHIJKL",
        "arn:{p}:cloudfront::{a}:distribution/E2ABCDEFGHIJKL",
    ),
    "AWS::CloudWatch::Alarm": ("AlarmName", "{name}", "arn:{p}:cloudwatch:{r}:{a}:alarm:{name}"),
    "AWS::ApiGateway::RestApi": ("", "a1b2c3d4e5", "arn:{p}:apigateway:{r}::/restapis/a1b2c3d4e5"),
    "AWS::WAFv2::WebACL": (
        "Name",
        "{name}|0a1b2c3d|REGIONAL",
        "arn:{p}:wafv2:{r}:{a}:regional/webacl/{name}/0a1b2c3d",
    ),
    "AWS::SES::EmailIdentity": ("EmailIdentity", "{name}", "arn:{p}:ses:{r}:{a}:identity/{name}"),
    "AWS::SSM::Parameter": ("Name", "{name}", "arn:{p}:ssm:{r}:{a}:parameter/{path}"),
}


@dataclass(frozen=True)
class RenderedPolicy:
    label: str  # "Validate/FunctionRole.Policies[worker]", "DataKey.KeyPolicy"
    kind: str  # "identity", "resource" or "trust" (a role's AssumeRolePolicyDocument)
    source: str  # the template file the policy is written in
    resource: str  # its logical id there
    path: str  # where in the resource's properties: "PolicyDocument", "Policies[].PolicyDocument", ...
    document: dict[str, Any]
    subject: str = ""  # what "*" stands for: a key policy's key, a trust policy's role (their ARNs)


class _Loader(yaml.SafeLoader):
    """CloudFormation's YAML: short tags (!Ref, !Sub, ...) become their long forms."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_Loader.add_multi_constructor("!", _tag)


def load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(path.read_text(), Loader=_Loader)  # a SafeLoader
    return loaded


# The intrinsics whose arguments are resolved first (If, GetAtt and Sub are Stack's own).
_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "Equals": lambda a: str(a[0]) == str(a[1]),
    "Not": lambda a: not a[0],
    "And": all,
    "Or": any,
    "Join": lambda a: str(a[0]).join(str(i) for i in a[1]),
    "Select": lambda a: a[1][int(a[0])],
    "Split": lambda a: str(a[1]).split(str(a[0])),
    "GetAZs": lambda _: [f"{REGION}a", f"{REGION}b"],
    "ImportValue": lambda a: f"imported-{a}",
    "Base64": lambda a: a,
}


def _name(logical_id: str, stack: str) -> str:
    return f"{stack}-{logical_id}".lower()[:63]


class Stack:
    """One template with its parameters; nested stacks are rendered on demand for their outputs."""

    def __init__(self, path: Path, parameters: Mapping[str, Any], name: str = STACK) -> None:
        self.path, self.name = path, name
        self.template = load(path)
        self.parameters: dict[str, Any] = {}
        for key, spec in self.template.get("Parameters", {}).items():
            if key in parameters:
                self.parameters[key] = parameters[key]
            elif "Default" in spec:
                self.parameters[key] = spec["Default"]
            else:
                raise KeyError(f"{path.name}: no value for parameter {key}")
        self._children: dict[str, Stack] = {}

    # -- intrinsics ---------------------------------------------------------------------------------

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            [(key, arg)] = value.items()
            if key == "Ref":
                return self.ref(str(arg))
            if key == "Condition" and isinstance(arg, str):
                return self.condition(arg)
            if key.startswith("Fn::"):
                return self.function(key[4:], arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def function(self, name: str, arg: Any) -> Any:
        if name == "If":
            condition, then, otherwise = arg
            return self.resolve(then if self.condition(condition) else otherwise)
        if name == "GetAtt":
            logical, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
            return self.attribute(str(logical), str(self.resolve(attribute)))
        if name == "Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
            return self.substitute(text, extra)
        if name not in _FUNCTIONS:
            raise ValueError(f"{self.path.name}: Fn::{name} is not rendered")
        return _FUNCTIONS[name](self.resolve(arg))

    def substitute(self, text: str, extra: Mapping[str, Any]) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in extra:
                return str(extra[name])
            if "." in name:
                logical, attribute = name.split(".", 1)
                return str(self.attribute(logical, attribute))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!][^}]*)\}", one, text)

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::StackName": self.name,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{self.name}/"
            "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            value = self.parameters[name]
            spec = self.template["Parameters"][name]
            return value.split(",") if spec.get("Type") == "CommaDelimitedList" else value
        return self.physical(name)[0]

    # -- resources ----------------------------------------------------------------------------------

    def physical(self, logical: str) -> tuple[str, str]:
        """(what !Ref gives, the ARN) of a resource, plausibly."""
        resource = self.template["Resources"][logical]
        kind, props = resource["Type"], resource.get("Properties", {})
        name_key, ref, arn = PHYSICAL.get(
            kind, ("", "{name}", f"arn:{{p}}:{kind.split('::')[1].lower()}:{{r}}:{{a}}:{{name}}")
        )
        name = str(self.resolve(props[name_key])) if name_key in props else _name(logical, self.name)
        values = {"name": name, "a": ACCOUNT, "r": REGION, "p": PARTITION, "path": name.lstrip("/")}
        return ref.format(**values), arn.format(**values)

    def attribute(self, logical: str, attribute: str) -> Any:
        resource = self.template["Resources"][logical]
        if resource["Type"] == "AWS::CloudFormation::Stack" and attribute.startswith("Outputs."):
            child = self.child(logical)
            return child.resolve(child.template["Outputs"][attribute.split(".", 1)[1]]["Value"])
        ref, arn = self.physical(logical)
        if attribute in ("Arn", "TopicArn", "KeyArn"):
            return arn
        if attribute == "QueueName":
            return arn.rsplit(":", 1)[-1]
        if attribute == "QueueUrl":
            return ref
        if attribute == "TopicName":
            return arn.rsplit(":", 1)[-1]
        if attribute == "StreamArn":
            return f"{arn}/stream/2024-01-01T00:00:00.000"
        if attribute in ("ProviderURL", "RegionalDomainName", "DomainName"):
            return f"{ref}.example.com"
        return f"{ref}-{attribute}".lower()

    def child(self, logical: str) -> Stack:
        if logical not in self._children:
            props = self.template["Resources"][logical]["Properties"]
            url = self.resolve(props["TemplateURL"])
            parameters = self.resolve(props.get("Parameters", {}))
            self._children[logical] = Stack(
                TEMPLATE_DIR / str(url).rsplit("/", 1)[-1], parameters, f"{self.name}-{logical}-ABC123"
            )
        return self._children[logical]

    def nested(self) -> Iterator[tuple[str, Stack]]:
        for logical, resource in self.template.get("Resources", {}).items():
            if resource.get("Type") == "AWS::CloudFormation::Stack" and self.exists(logical):
                yield logical, self.child(logical)

    def exists(self, logical: str) -> bool:
        condition = self.template["Resources"][logical].get("Condition")
        return condition is None or self.condition(condition)

    # -- policies -----------------------------------------------------------------------------------

    def policies(self, prefix: str = "") -> Iterator[RenderedPolicy]:
        for logical, resource in self.template.get("Resources", {}).items():
            kind = resource.get("Type")
            if not self.exists(logical):
                continue
            props = resource.get("Properties", {})
            where = f"{prefix}{logical}"
            if kind in POLICY_PROPERTIES:
                policy_kind, (prop,) = POLICY_PROPERTIES[kind]
                if prop == "Policies":
                    for inline in self.resolve(props.get("Policies", [])):
                        label = f"{where}.Policies[{inline['PolicyName']}]"
                        yield RenderedPolicy(
                            label,
                            policy_kind,
                            self.path.name,
                            logical,
                            "Policies[].PolicyDocument",
                            inline["PolicyDocument"],
                        )
                elif prop in props:
                    document = self.resolve(props[prop])
                    if isinstance(document, str):
                        document = json.loads(document)
                    subject = self.physical(logical)[1] if kind == "AWS::KMS::Key" else ""
                    label = f"{where}.{prop}"
                    yield RenderedPolicy(label, policy_kind, self.path.name, logical, prop, document, subject)
            if kind == TRUST[0] and TRUST[1] in props:
                document = self.resolve(props[TRUST[1]])
                role = self.physical(logical)[1]
                label = f"{where}.{TRUST[1]}"
                yield RenderedPolicy(label, "trust", self.path.name, logical, TRUST[1], document, role)
        for logical, child in self.nested():
            yield from child.policies(f"{prefix}{logical}/")


def rendered(parameters: Mapping[str, Any] | None = None) -> list[RenderedPolicy]:
    """Every policy of intake.yaml and of the consumer stacks it nests, rendered."""
    return list(Stack(TEMPLATES[0], {**DEPLOYMENT_PARAMETERS, **(parameters or {})}).policies())


def written(path: Path) -> set[tuple[str, str]]:
    """(resource, property path) of every policy document written in a template: any mapping with
    a Statement, found by walking the resources (so a policy in a new place is noticed)."""
    found: set[tuple[str, str]] = set()

    def walk(value: Any, logical: str, trail: str) -> None:
        if isinstance(value, dict):
            statements = value.get("Statement")
            items = statements if isinstance(statements, list) else [statements]
            if statements and all(isinstance(i, dict) and "Effect" in i for i in items):
                found.add((logical, trail))  # a policy; a WAF rule's Statement has no Effect
                return
            for key, inner in value.items():
                walk(inner, logical, f"{trail}.{key}" if trail else key)
        elif isinstance(value, list):
            for inner in value:
                walk(inner, logical, f"{trail}[]")

    for logical, resource in load(path).get("Resources", {}).items():
        walk(resource.get("Properties", {}), logical, "")
    return found
