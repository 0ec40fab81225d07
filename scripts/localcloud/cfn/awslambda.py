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

from localcloud.cfn._props import RefAndAttributes

from ._props import as_int, parse_arn, properties_of, tag_dict, warn_unapplied

FUNCTION_TYPE = "AWS::Lambda::Function"
LAYER_VERSION_TYPE = "AWS::Lambda::LayerVersion"

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


def _apply_logging_config(function: LambdaFunction, props: dict[str, Any]) -> None:
    log_group = (props.get("LoggingConfig") or {}).get("LogGroup")
    function.logs_group_name = str(log_group) if log_group else f"/aws/lambda/{function.function_name}"


class LambdaFunctionWithAllProperties(CloudFormationModel):
    """AWS::Lambda::Function: moto's LambdaFunction, created with every property (never instantiated)."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return "FunctionName"

    @staticmethod
    def cloudformation_type() -> str:
        return FUNCTION_TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return LambdaFunction.has_cfn_attr(attr)

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> LambdaFunction:
        props = properties_of(cloudformation_json)
        function = get_backend(account_id, region_name).create_function(function_spec(resource_name, props))
        _apply_logging_config(function, props)
        warn_unapplied(
            FUNCTION_TYPE,
            props,
            {
                *_FUNCTION_PASSTHROUGH,
                "Code",
                "FunctionName",
                "Handler",
                "Role",
                "Runtime",
                "KmsKeyArn",
                "Tags",
                "LoggingConfig",
            },
        )
        return function

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: LambdaFunction,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> LambdaFunction:
        props = properties_of(cloudformation_json)
        if "FunctionName" in props and props["FunctionName"] != original_resource.function_name:
            new = cls.create_from_cloudformation_json(
                str(props["FunctionName"]), cloudformation_json, account_id, region_name
            )
            original_resource.delete(account_id, region_name)
            return new
        # moto updates configuration (incl. Layers) and code; set what its update skips.
        function: LambdaFunction = LambdaFunction.update_from_cloudformation_json(
            original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
        spec = function_spec(function.function_name, props)
        function.architectures = spec.get("Architectures", ["x86_64"])
        function.tracing_config = spec.get("TracingConfig") or {"Mode": "PassThrough"}
        function.ephemeral_storage = (spec.get("EphemeralStorage") or {}).get("Size", 512)
        function.kms_key_arn = spec.get("KMSKeyArn")
        function.tags = spec.get("Tags") or {}
        function.reserved_concurrency = spec.get("ReservedConcurrentExecutions")
        _apply_logging_config(function, props)
        return function

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        get_backend(account_id, region_name).delete_function(resource_name)


class LambdaLayerVersion(RefAndAttributes, CloudFormationModel):
    """AWS::Lambda::LayerVersion."""

    REF = "arn"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {"LayerVersionArn": "arn"}

    def __init__(self, arn: str) -> None:
        self.arn = arn

    @staticmethod
    def cloudformation_name_type() -> str:
        return "LayerName"

    @staticmethod
    def cloudformation_type() -> str:
        return LAYER_VERSION_TYPE

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> LambdaLayerVersion:
        props = properties_of(cloudformation_json)
        # moto's own LayerVersion model answers the name-property lookup ("LayerVersion"), so
        # resource_name is always the generated name: honour LayerName here.
        spec: dict[str, Any] = {
            "LayerName": str(props.get("LayerName") or resource_name),
            "Content": props["Content"],
        }
        for name in ("Description", "CompatibleRuntimes", "CompatibleArchitectures", "LicenseInfo"):
            if name in props:
                spec[name] = props[name]
        layer_version = get_backend(account_id, region_name).publish_layer_version(spec)
        warn_unapplied(LAYER_VERSION_TYPE, props, {"LayerName", *spec})
        return cls(layer_version.arn)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: LambdaLayerVersion,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> LambdaLayerVersion:
        new = cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
        original_resource.delete(account_id, region_name)
        return new

    def delete(self, account_id: str, region_name: str) -> None:
        # arn:aws:lambda:<region>:<account>:layer:<name>:<version>
        parsed = parse_arn(self.arn)
        _, name, version = parsed.resource.split(":")
        get_backend(parsed.account, parsed.region).delete_layer_version(name, version)
