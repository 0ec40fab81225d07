"""AWS::Lambda::Function and AWS::Lambda::LayerVersion: what moto's CloudFormation drops.

moto 5.2.5 creates both types, but:

- Function: only Code, FunctionName, Handler, Role, Runtime, Description, MemorySize, Publish,
  Timeout, VpcConfig, Environment and ReservedConcurrentExecutions reach CreateFunction; Layers,
  Architectures, TracingConfig, EphemeralStorage, KmsKeyArn, PackageType, ImageConfig, Tags and
  LoggingConfig are dropped. This model passes them all to moto's CreateFunction, so
  GetFunction(Configuration) reports them as AWS does (LoggingConfig.LogGroup becomes the group the
  function logs to; moto does not return LoggingConfig in the configuration). The object returned
  is moto's LambdaFunction: `Ref` (name), `GetAtt Arn`, update and delete are moto's.
- LayerVersion: `Ref` gave nothing (no physical id, so `Layers: [!Ref Layer]` could not resolve),
  LayerName and CompatibleArchitectures were ignored. Here `Ref` and `GetAtt LayerVersionArn` give
  the layer version ARN; every property change publishes a new version and deletes the old one
  (all LayerVersion properties require replacement).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, ClassVar

from moto.awslambda.models import LambdaFunction
from moto.awslambda.utils import get_backend
from moto.core.common_models import CloudFormationModel

from ._model import LocalModel, MotoModelExtension
from ._props import as_int, parse_arn, properties_of, tag_dict, warn_unapplied

FUNCTION_TYPE = "AWS::Lambda::Function"

_FUNCTION_PASSTHROUGH = (
    "Description",
    "MemorySize",
    "Publish",
    "Timeout",
    "VpcConfig",
    "Environment",
    "ReservedConcurrentExecutions",
    "Layers",
    "Architectures",
    "TracingConfig",
    "EphemeralStorage",
    "PackageType",
    "ImageConfig",
)

_FUNCTION_APPLIED = (
    *_FUNCTION_PASSTHROUGH, "Code", "FunctionName", "Handler", "Role", "Runtime", "KmsKeyArn", "Tags", "LoggingConfig",
)  # fmt: skip


def function_spec(function_name: str, props: dict[str, Any]) -> dict[str, Any]:
    """CreateFunction's request from the function's CloudFormation properties."""
    spec: dict[str, Any] = {
        "FunctionName": function_name,
        "Code": dict(props["Code"]),
        "Handler": props.get("Handler"),
        "Role": props["Role"],
        "Runtime": props.get("Runtime"),
    }
    for name in _FUNCTION_PASSTHROUGH:
        if name in props:
            spec[name] = props[name]
    for name in ("MemorySize", "Timeout", "ReservedConcurrentExecutions"):
        if name in spec:
            spec[name] = as_int(spec[name])
    if "KmsKeyArn" in props:
        spec["KMSKeyArn"] = props["KmsKeyArn"]
    if "Tags" in props:
        spec["Tags"] = tag_dict(props["Tags"])
    if "ZipFile" in spec["Code"]:
        # In CloudFormation, Code.ZipFile is the handler's source text (index.py), not a zip.
        zipped = LambdaFunction._create_zipfile_from_plaintext_code(spec["Code"]["ZipFile"])
        spec["Code"]["ZipFile"] = base64.b64encode(zipped)
    return spec


class LambdaFunctionWithAllProperties(MotoModelExtension, CloudFormationModel):
    """AWS::Lambda::Function: moto's LambdaFunction, created with every property (never instantiated)."""

    MOTO = LambdaFunction

    @classmethod
    def create(
        cls, name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> LambdaFunction:
        props = properties_of(cloudformation_json)
        function = get_backend(account_id, region_name).create_function(function_spec(name, props))
        warn_unapplied(FUNCTION_TYPE, props, _FUNCTION_APPLIED)
        return function

    @classmethod
    def update(
        cls, resource: LambdaFunction, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> LambdaFunction:
        # moto updates configuration (incl. Layers) and code; set what its update skips.
        function: LambdaFunction = super().update(resource, cloudformation_json, account_id, region_name)
        spec = function_spec(function.function_name, properties_of(cloudformation_json))
        function.architectures = spec.get("Architectures", ["x86_64"])
        function.tracing_config = spec.get("TracingConfig") or {"Mode": "PassThrough"}
        function.ephemeral_storage = (spec.get("EphemeralStorage") or {}).get("Size", 512)
        function.kms_key_arn = spec.get("KMSKeyArn")
        function.tags = spec.get("Tags") or {}
        function.reserved_concurrency = spec.get("ReservedConcurrentExecutions")
        return function

    @classmethod
    def extend(cls, resource: LambdaFunction, props: dict[str, Any], previous: dict[str, Any] | None) -> None:
        # LoggingConfig.LogGroup: the group the function logs to.
        log_group = (props.get("LoggingConfig") or {}).get("LogGroup")
        resource.logs_group_name = str(log_group) if log_group else f"/aws/lambda/{resource.function_name}"

    @classmethod
    def remove(
        cls, name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        get_backend(account_id, region_name).delete_function(name)  # LambdaFunction has no delete by name


class LambdaLayerVersion(LocalModel, CloudFormationModel):
    """AWS::Lambda::LayerVersion."""

    TYPE = "AWS::Lambda::LayerVersion"
    NAME_TYPE = "LayerName"
    REF = "arn"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {"LayerVersionArn": "arn"}

    arn: str

    def create(self, name: str) -> None:
        # moto's own LayerVersion model answers the name-property lookup ("LayerVersion"), so
        # name is always the generated name: honour LayerName here.
        spec: dict[str, Any] = {
            "LayerName": str(self.props.get("LayerName") or name),
            "Content": self.props["Content"],
        }
        for key in ("Description", "CompatibleRuntimes", "CompatibleArchitectures", "LicenseInfo"):
            if key in self.props:
                spec[key] = self.props[key]
        self.arn = get_backend(self.account_id, self.region_name).publish_layer_version(spec).arn
        warn_unapplied(self.TYPE, self.props, {"LayerName", *spec})

    def replaced_by(self, props: Mapping[str, Any]) -> bool:
        return True  # every LayerVersion property requires replacement: a new version

    def remove(self) -> None:
        # arn:aws:lambda:<region>:<account>:layer:<name>:<version>
        _, name, version = parse_arn(self.arn).resource.split(":")
        get_backend(self.account_id, self.region_name).delete_layer_version(name, version)
